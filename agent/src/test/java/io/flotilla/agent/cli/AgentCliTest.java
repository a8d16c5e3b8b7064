package io.flotilla.agent.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.flotilla.agent.ExitCode;
import io.flotilla.protocol.Json;
import java.io.IOException;
import java.io.StringReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.atomic.AtomicReference;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentCliTest {

  private static HttpServer server;
  private static final AtomicReference<JsonNode> registered = new AtomicReference<>();
  private static final AtomicReference<String> authorization = new AtomicReference<>();

  @TempDir Path tmp;

  @BeforeAll
  static void startServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/ota/devices/",
        exchange -> {
          authorization.set(exchange.getRequestHeaders().getFirst("Authorization"));
          JsonNode body = Json.mapper().readTree(exchange.getRequestBody());
          registered.set(body);
          byte[] answer =
              Json.toBytes(
                  java.util.Map.of(
                      "root.crt",
                      "CA",
                      "client.pem",
                      "CERT",
                      "sota.toml",
                      "[tls]\nserver = \"https://gw:8443\"\n"));
          exchange.sendResponseHeaders(201, answer.length);
          exchange.getResponseBody().write(answer);
          exchange.close();
        });
    server.start();
  }

  @AfterAll
  static void stopServer() {
    server.stop(0);
  }

  private Path config(String extra) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("conf"));
    Files.writeString(
        dir.resolve("sota.toml"), "[storage]\npath = \"" + tmp.resolve("sota") + "\"\n" + extra);
    return dir;
  }

  @Test
  void commandsThatNeedAnUpdateSayThereIsNone() throws IOException {
    String cfg = config("").toString();
    assertEquals(ExitCode.NO_UPDATE_IN_PROGRESS.code(), AgentCli.run("-c", cfg, "install"));
    assertEquals(ExitCode.NO_UPDATE_IN_PROGRESS.code(), AgentCli.run("-c", cfg, "start"));
    assertEquals(ExitCode.NO_UPDATE_IN_PROGRESS.code(), AgentCli.run("-c", cfg, "cancel"));
    assertEquals(0, AgentCli.run("-c", cfg, "status", "--format", "json"));
    assertEquals(0, AgentCli.run("version"));
  }

  @Test
  void configCheckFailsOnAnOutOfRangeWatermark() throws IOException {
    assertEquals(
        0,
        AgentCli.run(
            "-c", config("[pacman]\nstorage_watermark = 50\n").toString(), "config-check"));
    Files.writeString(tmp.resolve("conf/z-50-fioctl.toml"), "[pacman]\nstorage_watermark = 10\n");
    assertEquals(
        ExitCode.GENERIC.code(),
        AgentCli.run("-c", tmp.resolve("conf").toString(), "config-check"));
  }

  @Test
  void checkWithoutIdentityIsAClearError() throws IOException {
    String cfg =
        config(
                "[tls]\nserver = \"https://127.0.0.1:1\"\n[provision]\nprimary_ecu_hardware_id = \"amd64-linux\"\n")
            .toString();
    assertEquals(ExitCode.GENERIC.code(), AgentCli.run("-c", cfg, "check"));
  }

  @Test
  void registerSendsAP256CsrForUuidAndFactoryAndWritesTheAnsweredFiles() throws Exception {
    Path sota = tmp.resolve("sota");
    int code =
        AgentCli.run(
            "register",
            "--server",
            "http://127.0.0.1:" + server.getAddress().getPort(),
            "--token",
            "tok",
            "--factory",
            "acme",
            "--name",
            "dev-1",
            "--uuid",
            "6c3b2f7e-1111-4222-8333-944445555666",
            "--hw-id",
            "amd64-linux",
            "--tag",
            "main",
            "--apps",
            "web,db",
            "--sota-dir",
            sota.toString());
    assertEquals(0, code);
    assertEquals("Bearer tok", authorization.get());
    JsonNode body = registered.get();
    assertEquals("dev-1", body.get("name").asText());
    assertEquals("amd64-linux", body.get("hardware-id").asText());
    assertEquals("\"main\"", body.at("/overrides/pacman/tags").asText());
    assertEquals("\"web,db\"", body.at("/overrides/pacman/compose_apps").asText());

    PKCS10CertificationRequest csr =
        (PKCS10CertificationRequest)
            new PEMParser(new StringReader(body.get("csr").asText())).readObject();
    assertEquals(
        "6c3b2f7e-1111-4222-8333-944445555666",
        IETFUtils.valueToString(csr.getSubject().getRDNs(BCStyle.CN)[0].getFirst().getValue()));
    assertEquals(
        "acme",
        IETFUtils.valueToString(csr.getSubject().getRDNs(BCStyle.OU)[0].getFirst().getValue()));
    assertTrue(
        csr.isSignatureValid(
            new JcaContentVerifierProviderBuilder()
                .build(
                    new org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest(csr)
                        .getPublicKey())));
    assertEquals(
        "1.2.840.10045.2.1",
        csr.getSubjectPublicKeyInfo().getAlgorithm().getAlgorithm().getId(),
        "an EC key");

    assertEquals("CERT", Files.readString(sota.resolve("client.pem")));
    assertTrue(Files.readString(sota.resolve("sota.toml")).contains("gw:8443"));
    assertTrue(Files.readString(sota.resolve("pkey.pem")).contains("PRIVATE KEY"));
    assertEquals(
        "rw-------",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(sota.resolve("pkey.pem"))));
    assertNotNull(io.flotilla.agent.gateway.AgentTls.readPrivateKey(sota.resolve("pkey.pem")));

    assertEquals(
        ExitCode.GENERIC.code(),
        AgentCli.run(
            "register",
            "--server",
            "http://127.0.0.1:" + server.getAddress().getPort(),
            "--token",
            "tok",
            "--factory",
            "acme",
            "--sota-dir",
            sota.toString()),
        "a registered device is not registered twice");
  }
}
