package io.flotilla.gateway.device;

import static org.junit.jupiter.api.Assertions.*;

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
    DeviceHubCredentials hub = DeviceHubCredentials.open(dir, Duration.ofHours(1), RevocationCheck.NONE);
    Instant now = Instant.parse("2026-11-27T10:00:00Z");
    DeviceHubCredentials.Credentials creds = hub.issue("acme", "d-1", now);
    assertEquals("device/acme/d-1", creds.username());
    assertEquals(Optional.of("acme"), hub.verify(creds.username(), creds.secret(), now.plusSeconds(3599)));
    assertTrue(hub.verify(creds.username(), creds.secret(), now.plusSeconds(3600)).isEmpty(), "expired");
  }

  @Test
  void forgeriesAndOtherKeysFail() {
    DeviceHubCredentials hub = DeviceHubCredentials.open(dir, Duration.ofHours(1), RevocationCheck.NONE);
    Instant now = Instant.now();
    DeviceHubCredentials.Credentials creds = hub.issue("acme", "d-1", now);
    String expiry = creds.secret().substring(0, creds.secret().indexOf('.'));
    String mac = creds.secret().substring(creds.secret().indexOf('.') + 1);
    assertTrue(hub.verify("device/beta/d-1", creds.secret(), now).isEmpty(), "another factory");
    assertTrue(hub.verify(creds.username(), (Long.parseLong(expiry) + 86400) + "." + mac, now).isEmpty(), "a later expiry");
    assertTrue(hub.verify(creds.username(), "garbage", now).isEmpty());
    assertTrue(hub.verify("admin", creds.secret(), now).isEmpty());
    assertTrue(hub.verify(null, null, now).isEmpty());
    DeviceHubCredentials elsewhere = DeviceHubCredentials.open(dir.resolve("other"), Duration.ofHours(1), RevocationCheck.NONE);
    assertTrue(elsewhere.verify(creds.username(), creds.secret(), now).isEmpty(), "another node's key");
  }

  @Test
  void theKeySurvivesARestartAndIsPrivate() throws Exception {
    DeviceHubCredentials first = DeviceHubCredentials.open(dir, Duration.ofHours(1), RevocationCheck.NONE);
    DeviceHubCredentials.Credentials creds = first.issue("acme", "d-1", Instant.now());
    DeviceHubCredentials again = DeviceHubCredentials.open(dir, Duration.ofHours(1), RevocationCheck.NONE);
    assertEquals(Optional.of("acme"), again.verify(creds.username(), creds.secret()));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(DeviceHubCredentials.KEY_FILE))));
  }

  @Test
  void aDecommissionedDevicesCredentialsStopWorking() {
    DeviceHubCredentials hub = DeviceHubCredentials.open(dir, Duration.ofHours(1), (factory, uuid, serial) -> uuid.equals("gone"));
    DeviceHubCredentials.Credentials creds = hub.issue("acme", "gone", Instant.now());
    assertTrue(hub.verify(creds.username(), creds.secret()).isEmpty());
  }
}
