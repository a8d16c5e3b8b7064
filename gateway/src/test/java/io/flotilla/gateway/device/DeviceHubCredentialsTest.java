package io.flotilla.gateway.device;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.core.auth.Principal;
import io.flotilla.core.pki.RevocationCheck;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeviceHubCredentialsTest {

  @TempDir Path dir;

  @Test
  void credentialsNameTheirFactoryUntilTheyExpire() {
    DeviceHubCredentials hub =
        DeviceHubCredentials.open(dir, Duration.ofHours(1), RevocationCheck.NONE);
    Instant now = Instant.parse("2026-11-27T10:00:00Z");
    DeviceHubCredentials.Credentials creds = hub.issue("acme", "d-1", now);
    assertEquals("device/acme/d-1", creds.username());
    assertEquals(
        Optional.of("acme"), hub.verify(creds.username(), creds.secret(), now.plusSeconds(3599)));
    assertTrue(
        hub.verify(creds.username(), creds.secret(), now.plusSeconds(3600)).isEmpty(), "expired");
  }

  @Test
  void forgeriesAndOtherKeysFail() {
    DeviceHubCredentials hub =
        DeviceHubCredentials.open(dir, Duration.ofHours(1), RevocationCheck.NONE);
    Instant now = Instant.now();
    DeviceHubCredentials.Credentials creds = hub.issue("acme", "d-1", now);
    String expiry = creds.secret().substring(0, creds.secret().indexOf('.'));
    String mac = creds.secret().substring(creds.secret().indexOf('.') + 1);
    assertTrue(hub.verify("device/beta/d-1", creds.secret(), now).isEmpty(), "another factory");
    assertTrue(
        hub.verify(creds.username(), (Long.parseLong(expiry) + 86400) + "." + mac, now).isEmpty(),
        "a later expiry");
    assertTrue(hub.verify(creds.username(), "garbage", now).isEmpty());
    assertTrue(hub.verify("admin", creds.secret(), now).isEmpty());
    assertTrue(hub.verify(null, null, now).isEmpty());
    DeviceHubCredentials elsewhere =
        DeviceHubCredentials.open(dir.resolve("other"), Duration.ofHours(1), RevocationCheck.NONE);
    assertTrue(
        elsewhere.verify(creds.username(), creds.secret(), now).isEmpty(), "another node's key");
  }

  @Test
  void genuineCredentialsIdentifyTheirDeviceForTheAccessService() {
    DeviceHubCredentials hub =
        DeviceHubCredentials.open(dir, Duration.ofHours(1), RevocationCheck.NONE);
    DeviceHubCredentials.Credentials creds = hub.issue("acme", "d-1", Instant.now());
    assertEquals(
        Optional.of(Principal.device("acme", "d-1")),
        hub.identify(creds.username(), creds.secret()));
    assertTrue(hub.identify(creds.username(), creds.secret() + "x").isEmpty());
  }

  @Test
  void theKeySurvivesARestartAndIsPrivate() throws Exception {
    DeviceHubCredentials first =
        DeviceHubCredentials.open(dir, Duration.ofHours(1), RevocationCheck.NONE);
    DeviceHubCredentials.Credentials creds = first.issue("acme", "d-1", Instant.now());
    DeviceHubCredentials again =
        DeviceHubCredentials.open(dir, Duration.ofHours(1), RevocationCheck.NONE);
    assertEquals(Optional.of("acme"), again.verify(creds.username(), creds.secret()));
    assertEquals(
        "rw-------",
        PosixFilePermissions.toString(
            Files.getPosixFilePermissions(dir.resolve(DeviceHubCredentials.KEY_FILE))));
  }

  @Test
  void aDecommissionedDevicesCredentialsStopWorking() {
    DeviceHubCredentials hub =
        DeviceHubCredentials.open(
            dir, Duration.ofHours(1), (factory, uuid, serial) -> uuid.equals("gone"));
    DeviceHubCredentials.Credentials creds = hub.issue("acme", "gone", Instant.now());
    assertTrue(hub.verify(creds.username(), creds.secret()).isEmpty());
  }

  @Test
  void appsProxyCapabilitiesNameTheirFactoryUntilTheyExpireAndAreNothingElse() {
    DeviceHubCredentials hub =
        DeviceHubCredentials.open(
            dir, Duration.ofHours(1), (factory, uuid, serial) -> uuid.equals("gone"));
    Instant now = Instant.parse("2026-11-27T10:00:00Z");
    String capability = hub.proxyCapability("acme", "d-1", now.plusSeconds(600));
    assertTrue(
        capability.matches("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+"), "one path segment: " + capability);
    assertEquals(Optional.of("acme"), hub.verifyProxyCapability(capability, now.plusSeconds(599)));
    assertTrue(hub.verifyProxyCapability(capability, now.plusSeconds(600)).isEmpty(), "expired");
    assertTrue(
        hub.verifyProxyCapability(hub.proxyCapability("acme", "gone", now.plusSeconds(600)), now)
            .isEmpty(),
        "decommissioned");

    String payload = capability.substring(0, capability.indexOf('.'));
    String mac = capability.substring(capability.indexOf('.') + 1);
    String otherFactory =
        java.util.Base64.getUrlEncoder()
            .withoutPadding()
            .encodeToString(
                ("beta\nd-1\n" + now.plusSeconds(600).getEpochSecond())
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertTrue(
        hub.verifyProxyCapability(otherFactory + "." + mac, now).isEmpty(),
        "another factory under the same MAC");
    assertTrue(hub.verifyProxyCapability(payload + "." + mac + "x", now).isEmpty());
    assertTrue(hub.verifyProxyCapability("!!!." + mac, now).isEmpty());
    assertTrue(hub.verifyProxyCapability("x".repeat(2000), now).isEmpty());
    assertTrue(hub.verifyProxyCapability("", now).isEmpty());

    DeviceHubCredentials.Credentials creds = hub.issue("acme", "d-1", now);
    assertTrue(
        hub.verify(creds.username(), capability, now).isEmpty(),
        "a capability is no registry secret");
    String credsAsCapability =
        java.util.Base64.getUrlEncoder()
                .withoutPadding()
                .encodeToString(
                    (creds.username() + "\n" + creds.expiresAt().getEpochSecond())
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8))
            + creds.secret().substring(creds.secret().indexOf('.'));
    assertTrue(
        hub.verifyProxyCapability(credsAsCapability, now).isEmpty(),
        "a registry secret is no capability");
  }
}
