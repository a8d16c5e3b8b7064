package io.flotilla.agent.cli;

import io.flotilla.agent.AgentException;
import io.flotilla.agent.ExitCode;
import io.flotilla.agent.gateway.AgentTls;
import io.flotilla.agent.gateway.DeviceAuthorization;
import io.flotilla.agent.gateway.Registration;
import io.flotilla.agent.store.AtomicFiles;
import io.flotilla.agent.update.UpdateEngine;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.device.DevicePaths;
import io.flotilla.protocol.device.RegistrationRequest;
import io.flotilla.protocol.device.RegistrationResponse;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code register}: makes the device key and CSR, registers with a factory token (or, without one,
 * one an operator grants through the device authorization flow) and writes the answered files (§2).
 */
@Command(
    name = "register",
    description = "Register this device with the server (creates its key and certificate).")
final class RegisterCommand implements Callable<Integer> {

  @Option(
      names = "--server",
      required = true,
      description = "API base URL, e.g. http://flotilla:8080")
  URI server;

  @Option(
      names = "--token",
      description =
          "Factory token with scope devices:create (default: env FLOTILLA_TOKEN; without one,"
              + " an operator approves the device by the user code this prints)")
  String token;

  @Option(names = "--factory", required = true)
  String factory;

  @Option(names = "--name", description = "Device name (default: host name)")
  String name;

  @Option(names = "--uuid", description = "Device uuid (default: a new random one)")
  String uuid;

  @Option(names = "--hw-id", description = "Hardware id (default: <arch>-linux)")
  String hardwareId;

  @Option(names = "--tag", description = "The tag this device follows")
  String tag;

  @Option(names = "--apps", description = "Comma list of apps to run (default: all)")
  String apps;

  @Option(names = "--group")
  String group;

  @Option(
      names = "--ca-file",
      description =
          "PEM file of the CA that issued the API port's certificate, for an https --server whose"
              + " certificate no system root vouches for (a node's own server CA: flotilla-ca.crt)")
  Path caFile;

  @Option(
      names = "--sota-dir",
      defaultValue = "/var/sota",
      description = "Where the identity and sota.toml go")
  Path sotaDir;

  @Override
  public Integer call() throws Exception {
    String given = token != null ? token : System.getenv("FLOTILLA_TOKEN");
    if (Files.exists(sotaDir.resolve(RegistrationResponse.CLIENT_PEM))) {
      throw new AgentException(
          ExitCode.GENERIC,
          "this device is already registered ("
              + sotaDir.resolve(RegistrationResponse.CLIENT_PEM)
              + " exists); remove it first to register again");
    }
    String deviceUuid = uuid != null ? uuid : UUID.randomUUID().toString();
    String deviceName = name != null ? name : InetAddress.getLocalHost().getHostName();
    String hwid =
        hardwareId != null
            ? hardwareId
            : UpdateEngine.goArchitecture(System.getProperty("os.arch")) + "-linux";
    Registration.DeviceKey key = Registration.newDeviceKey(deviceUuid, factory);

    Map<String, Map<String, String>> overrides = new LinkedHashMap<>();
    Map<String, String> pacman = new LinkedHashMap<>();
    if (tag != null) {
      pacman.put("tags", RegistrationRequest.tomlString(tag));
    }
    if (apps != null) {
      pacman.put("compose_apps", RegistrationRequest.tomlString(apps));
    }
    if (!pacman.isEmpty()) {
      overrides.put("pacman", pacman);
    }
    RegistrationRequest request =
        new RegistrationRequest(
            deviceName,
            deviceUuid,
            hwid,
            key.csrPem(),
            sotaDir.toString(),
            group,
            overrides.isEmpty() ? null : overrides);

    HttpClient.Builder client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30));
    if (caFile != null) {
      if (!Files.isReadable(caFile)) {
        throw new AgentException(ExitCode.GENERIC, "--ca-file " + caFile + " cannot be read");
      }
      client.sslContext(AgentTls.serverOnly(caFile));
    }
    HttpClient http = client.build();
    String base = server.toString().replaceAll("/+$", "");
    String secret =
        given != null && !given.isBlank()
            ? given
            : new DeviceAuthorization(http, base, System.out).token(factory, deviceUuid);
    HttpResponse<byte[]> response;
    try {
      response =
          http.send(
              HttpRequest.newBuilder(URI.create(base + DevicePaths.REGISTER))
                  .timeout(Duration.ofSeconds(60))
                  .header("Content-Type", "application/json")
                  .header("Authorization", "Bearer " + secret)
                  .POST(HttpRequest.BodyPublishers.ofByteArray(Json.toBytes(request)))
                  .build(),
              HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new AgentException(
          ExitCode.GENERIC, "cannot reach " + base + DevicePaths.REGISTER + ": " + e, e);
    }
    if (response.statusCode() != 201 && response.statusCode() != 200) {
      throw new AgentException(
          ExitCode.GENERIC,
          "registration refused: "
              + response.statusCode()
              + " "
              + new String(response.body(), StandardCharsets.UTF_8).strip());
    }
    RegistrationResponse files =
        Json.mapper().readValue(response.body(), RegistrationResponse.class);
    write(RegistrationResponse.PKEY_PEM, key.privateKeyPem(), true);
    for (Map.Entry<String, String> file : files.files().entrySet()) {
      if (!RegistrationResponse.isSafeFileName(file.getKey())) {
        throw new AgentException(
            ExitCode.GENERIC, "server answered an unsafe file name: " + file.getKey());
      }
      write(file.getKey(), file.getValue(), false);
    }
    System.out.println(
        "Registered "
            + deviceName
            + " ("
            + deviceUuid
            + ") in factory "
            + factory
            + "; wrote "
            + files.files().keySet()
            + " and "
            + RegistrationResponse.PKEY_PEM
            + " to "
            + sotaDir);
    return 0;
  }

  private void write(String fileName, String content, boolean secret) throws IOException {
    Path file = sotaDir.resolve(fileName);
    AtomicFiles.write(file, content.getBytes(StandardCharsets.UTF_8));
    Files.setPosixFilePermissions(
        file, PosixFilePermissions.fromString(secret ? "rw-------" : "rw-r--r--"));
  }
}
