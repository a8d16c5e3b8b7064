package io.flotilla.fleetsim;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.agent.gateway.GatewayException;
import io.flotilla.agent.gateway.Registration;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.device.DevicePaths;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Registers simulated devices exactly as a real one does (§2): its own ECDSA P-256 key and CSR,
 * {@code POST /ota/devices/} with a factory token, the signed certificate kept. A few requests run
 * at once, so registration is limited by the server's signing and journal writes, not by round
 * trips.
 */
final class Registrar {

  private final HttpClient http;
  private final URI endpoint;
  private final String token;
  private final String tag;
  private final String hardwareId;
  private final ExecutorService keyPool;

  Registrar(
      HttpClient http,
      URI api,
      String token,
      String tag,
      String hardwareId,
      ExecutorService keyPool) {
    this.http = http;
    this.endpoint = api.resolve(DevicePaths.REGISTER);
    this.token = token;
    this.tag = tag;
    this.hardwareId = hardwareId;
    this.keyPool = keyPool;
  }

  /**
   * Registers devices until {@code identities} holds {@code target}; writes root.crt from the first
   * answer.
   */
  CompletableFuture<Void> registerUpTo(
      FleetIdentities identities, int target, int concurrency, Path rootCertificate) {
    AtomicInteger remaining = new AtomicInteger(target - identities.size());
    AtomicReference<Throwable> failure = new AtomicReference<>();
    CompletableFuture<?>[] workers =
        new CompletableFuture<?>[Math.max(1, Math.min(concurrency, remaining.get()))];
    for (int i = 0; i < workers.length; i++) {
      workers[i] = next(identities, remaining, failure, rootCertificate);
    }
    return CompletableFuture.allOf(workers)
        .thenRun(
            () -> {
              if (failure.get() != null) {
                throw new java.util.concurrent.CompletionException(failure.get());
              }
            });
  }

  private CompletableFuture<Void> next(
      FleetIdentities identities,
      AtomicInteger remaining,
      AtomicReference<Throwable> failure,
      Path root) {
    if (failure.get() != null || remaining.getAndDecrement() <= 0) {
      return CompletableFuture.completedFuture(null);
    }
    String uuid = UUID.randomUUID().toString();
    return CompletableFuture.supplyAsync(
            () -> Registration.newDeviceKey(uuid, identities.factory()), keyPool)
        .thenCompose(
            key ->
                http.sendAsync(request(uuid, key), HttpResponse.BodyHandlers.ofByteArray())
                    .thenApply(
                        response -> {
                          keep(identities, uuid, key, response, root);
                          return null;
                        }))
        .handle(
            (ok, error) -> {
              if (error != null) {
                failure.compareAndSet(null, error);
              }
              return null;
            })
        .thenCompose(ignored -> next(identities, remaining, failure, root));
  }

  private HttpRequest request(String uuid, Registration.DeviceKey key) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("name", "sim-" + uuid.substring(0, 8));
    body.put("uuid", uuid);
    if (hardwareId != null) {
      body.put("hardware-id", hardwareId);
    }
    body.put("csr", key.csrPem());
    if (tag != null) {
      body.put("overrides", Map.of("pacman", Map.of("tags", "\"" + tag + "\"")));
    }
    return HttpRequest.newBuilder(endpoint)
        .timeout(Duration.ofSeconds(60))
        .header("Authorization", "Bearer " + token)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(Json.toBytes(body)))
        .build();
  }

  private static void keep(
      FleetIdentities identities,
      String uuid,
      Registration.DeviceKey key,
      HttpResponse<byte[]> response,
      Path root) {
    if (response.statusCode() != 201) {
      throw new java.util.concurrent.CompletionException(
          new GatewayException(
              response.statusCode(),
              "registration of "
                  + uuid
                  + " answered "
                  + response.statusCode()
                  + ": "
                  + new String(response.body(), StandardCharsets.UTF_8)));
    }
    try {
      JsonNode files = Json.mapper().readTree(response.body());
      byte[] certificate =
          CertificateFactory.getInstance("X.509")
              .generateCertificate(
                  new ByteArrayInputStream(
                      files.path("client.pem").asText().getBytes(StandardCharsets.US_ASCII)))
              .getEncoded();
      synchronized (Registrar.class) {
        if (!Files.exists(root)) {
          Files.writeString(root, files.path("root.crt").asText());
        }
      }
      identities.add(uuid, certificate, key.keyPair().getPrivate().getEncoded());
    } catch (IOException | java.security.GeneralSecurityException e) {
      throw new java.util.concurrent.CompletionException(e);
    }
  }
}
