package io.flotilla.protocol.device;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.protocol.Json;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DeviceWireTest {

  private static final String TARGETS =
      """
            {"signatures": [{"keyid": "ab12", "method": "ed25519", "sig": "c2ln"}],
             "signed": {"_type": "Targets", "expires": "2027-11-27T00:00:00Z", "version": 352, "unknownField": 1,
              "targets": {
               "amd64-linux-42": {
                 "hashes": {"sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}, "length": 0,
                 "custom": {"name": "amd64-linux", "version": "42", "hardwareIds": ["amd64-linux"], "tags": ["main"],
                            "targetFormat": "OSTREE", "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "x",
                            "containers-sha": "abc123", "somethingNew": {"a": 1},
                            "docker_compose_apps": {"shellhttpd": {"uri": "hub.example:8080/acme/shellhttpd@sha256:4444444444444444444444444444444444444444444444444444444444444444"}}}}}}}
            """;

  @Test
  void readsTargetsAsFioupSeesThem() throws Exception {
    TargetsMetadata meta = Json.mapper().readValue(TARGETS, TargetsMetadata.class);
    assertEquals("Targets", meta.signed().type());
    assertEquals(352, meta.signed().version());
    assertEquals(Instant.parse("2027-11-27T00:00:00Z"), meta.signed().expiresAt());
    TufTarget target = meta.signed().targets().get("amd64-linux-42");
    assertEquals(TufTarget.EMPTY_SHA256, target.hashes().get("sha256"));
    assertEquals(42, target.custom().versionNumber().getAsLong());
    assertEquals("abc123", target.custom().containersSha());
    assertEquals(List.of("amd64-linux"), target.custom().hardwareIds());
    assertTrue(
        target
            .custom()
            .dockerComposeApps()
            .get("shellhttpd")
            .uri()
            .startsWith("hub.example:8080/acme/"));
    assertEquals("ed25519", meta.signatures().get(0).method());
  }

  @Test
  void writesDashedAndUnderscoredNamesExactly() {
    TargetCustom custom =
        new TargetCustom(
            "amd64-linux",
            "7",
            List.of("amd64-linux"),
            List.of("main"),
            TargetCustom.FORMAT_OSTREE,
            null,
            null,
            "c0ffee",
            Map.of("app", new ComposeAppRef("h/f/app@sha256:x")));
    JsonNode node =
        Json.mapper()
            .valueToTree(
                new TargetsSigned(
                    TargetsSigned.TYPE,
                    "2027-01-01T00:00:00Z",
                    3,
                    Map.of("amd64-linux-7", TufTarget.containersOnly(custom))));
    assertEquals("Targets", node.get("_type").asText());
    JsonNode c = node.at("/targets/amd64-linux-7/custom");
    assertEquals("c0ffee", c.get("containers-sha").asText());
    assertTrue(c.has("docker_compose_apps"));
    assertFalse(c.has("createdAt"), "absent optional fields are omitted, not null");
    assertEquals(0, node.at("/targets/amd64-linux-7/length").asInt());
  }

  @Test
  void nonDecimalVersionCannotBeOrdered() {
    assertTrue(
        new TargetCustom(null, "1.2", null, null, null, null, null, null, null)
            .versionNumber()
            .isEmpty());
    assertTrue(
        new TargetCustom(null, null, null, null, null, null, null, null, null)
            .versionNumber()
            .isEmpty());
  }

  @Test
  void eventsKeepNullSuccessOnTheWireAndOnlyCompletedEventsReportSuccess() {
    Instant now = Instant.parse("2026-11-27T10:00:00.123Z");
    DeviceEvent started =
        DeviceEvent.of(
            DeviceEventType.EcuDownloadStarted, now, "01J0ABC", "amd64-linux-42", "42", true, null);
    JsonNode node = Json.mapper().valueToTree(started);
    assertTrue(node.get("event").has("success"));
    assertTrue(node.get("event").get("success").isNull());
    assertEquals("2026-11-27T10:00:00Z", node.get("deviceTime").asText());
    assertEquals("EcuDownloadStarted", node.at("/eventType/id").asText());
    assertEquals(2, node.at("/eventType/version").asInt());
    assertFalse(node.has("acceptable"));

    DeviceEvent completed =
        DeviceEvent.of(
            DeviceEventType.EcuDownloadCompleted,
            now,
            "01J0ABC",
            "t",
            "42",
            false,
            "x".repeat(5000));
    assertEquals(Boolean.FALSE, completed.event().success());
    assertEquals(DeviceEvent.MAX_DETAILS, completed.event().details().length());
    assertTrue(completed.isAcceptable());
  }

  @Test
  void correlationIdsAreRestricted() {
    assertTrue(DeviceEvent.isValidCorrelationId("01HZY-abc_9"));
    assertFalse(DeviceEvent.isValidCorrelationId("a b"));
    assertFalse(DeviceEvent.isValidCorrelationId("../x"));
    assertFalse(DeviceEvent.isValidCorrelationId(""));
    assertFalse(
        new DeviceEvent(
                "",
                null,
                new DeviceEvent.EventType("X", 2),
                new DeviceEvent.EventPayload("ok", null, null, null, null))
            .isAcceptable());
  }

  @Test
  void readsEventArrayWithUnknownFields() throws Exception {
    String json =
        """
                [{"id": "e1", "deviceTime": "2026-11-27T10:00:00Z", "eventType": {"id": "UpdateInitStarted", "version": 2},
                  "event": {"correlationId": "u1", "success": null, "targetName": "t", "version": "1", "details": "{}", "ecu": "x"}}]
                """;
    DeviceEvent[] events = Json.mapper().readValue(json, DeviceEvent[].class);
    assertEquals(
        DeviceEventType.UpdateInitStarted,
        DeviceEventType.fromWire(events[0].eventType().id()).orElseThrow());
    assertNull(events[0].event().success());
  }

  @Test
  void fioconfigAndHubCredsUseCapitalisedNames() throws Exception {
    var config =
        Json.mapper()
            .readValue(
                """
                {"z-50-fioctl.toml": {"Value": "[pacman]\\n tags = \\"main\\"", "OnChanged": ["/h"], "Unencrypted": true}}
                """,
                new com.fasterxml.jackson.core.type.TypeReference<Map<String, ConfigFile>>() {});
    assertTrue(config.get(ConfigFile.FIOCTL_TOML).unencrypted());
    assertEquals(List.of("/h"), config.get(ConfigFile.FIOCTL_TOML).onChanged());
    HubCredentials creds =
        Json.mapper().readValue("{\"Username\": \"u\", \"Secret\": \"s\"}", HubCredentials.class);
    assertEquals("s", creds.secret());
    assertFalse(creds.toString().contains("s]"), "the secret is not printed");
  }

  @Test
  void registrationRequestAndResponse() throws Exception {
    var request =
        new RegistrationRequest(
            "dev-1",
            "u-1",
            "amd64-linux",
            "CSR",
            "/var/sota",
            null,
            Map.of("pacman", Map.of("tags", RegistrationRequest.tomlString("main"))));
    JsonNode node = Json.mapper().valueToTree(request);
    assertEquals("amd64-linux", node.get("hardware-id").asText());
    assertEquals("/var/sota", node.get("sota-config-dir").asText());
    assertEquals("\"main\"", node.at("/overrides/pacman/tags").asText());
    assertFalse(node.has("group"));

    var response =
        Json.mapper()
            .readValue(
                "{\"root.crt\": \"A\", \"client.pem\": \"B\", \"sota.toml\": \"C\"}",
                RegistrationResponse.class);
    assertEquals("B", response.files().get(RegistrationResponse.CLIENT_PEM));
    assertEquals(
        "{\"client.pem\":\"B\",\"root.crt\":\"A\",\"sota.toml\":\"C\"}",
        new String(Json.toBytes(response), StandardCharsets.UTF_8));
    assertFalse(RegistrationResponse.isSafeFileName("../x"));
    assertTrue(RegistrationResponse.isSafeFileName("sota.toml"));
  }

  @Test
  void appsStatesDeviceRecordAndPush() throws Exception {
    AppsStates states =
        new AppsStates(
            null,
            "2026-01-01T00:00:00Z",
            Map.of(
                "app",
                new AppsStates.AppState(
                    "u",
                    AppsStates.HEALTHY,
                    List.of(
                        new AppsStates.ServiceState(
                            "web", "h", "running", "Up", "healthy", "img", null)))));
    JsonNode node = Json.mapper().valueToTree(states);
    assertFalse(node.has("ostree"));
    assertEquals("running", node.at("/apps/app/services/0/state").asText());
    assertTrue(Rfc3339.isValid(states.deviceTime()));
    assertFalse(Rfc3339.isValid("yesterday"));

    DeviceRecord device =
        Json.mapper()
            .readValue(
                """
                {"uuid": "u", "is_prod": true, "docker_apps": ["a"], "last_seen": "2026-01-01T00:00:00Z", "group_name": "g"}
                """,
                DeviceRecord.class);
    assertTrue(device.isProd());
    assertEquals("g", device.groupName());
    assertEquals(Instant.parse("2026-01-01T00:00:00Z"), device.lastSeen());

    assertEquals(
        "{\"type\":\"targets-changed\",\"tag\":\"main\",\"version\":5}",
        new String(Json.toBytes(TargetsChanged.of("main", 5)), StandardCharsets.UTF_8));
    assertEquals(
        "192.168.0.2",
        Json.mapper()
            .valueToTree(new NetworkInfo("h", "m", "192.168.0.2"))
            .get("local_ipv4")
            .asText());
  }

  @Test
  void canonicalJsonSortsKeysAtEveryLevel() {
    byte[] bytes =
        Json.canonical(Map.of("b", 1, "a", Map.of("z", List.of(Map.of("y", 1, "x", 2)), "c", "d")));
    assertEquals(
        "{\"a\":{\"c\":\"d\",\"z\":[{\"x\":2,\"y\":1}]},\"b\":1}",
        new String(bytes, StandardCharsets.UTF_8));
  }
}
