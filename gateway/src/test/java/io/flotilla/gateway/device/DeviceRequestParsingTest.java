package io.flotilla.gateway.device;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.core.device.Device;
import io.flotilla.core.pki.DeviceIdentity;
import java.math.BigInteger;
import java.time.Instant;
import java.util.List;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.junit.jupiter.api.Test;

class DeviceRequestParsingTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final DeviceIdentity DEVICE =
      new DeviceIdentity("acme", "d-1", true, BigInteger.valueOf(255), Instant.now(), "PEM");

  @Test
  void headersBecomeTheContactAndAbsentOnesStayNull() {
    Device.Contact contact =
        DeviceRoutes.contact(
            DEVICE,
            HttpRequest.create("/device")
                .addHeader(RawHeader.create("x-ats-tags", "main"))
                .addHeader(RawHeader.create("x-ats-dockerapps", "a, b,,c")));
    assertEquals("main", contact.tag());
    assertNull(contact.targetName());
    assertEquals(List.of("a", "b", "c"), contact.apps());
    assertEquals("ff", contact.certificateSerial());
    assertTrue(contact.production());
    Device.Contact bare = DeviceRoutes.contact(DEVICE, HttpRequest.create("/device"));
    assertNull(bare.tag());
    assertNull(bare.apps());
    assertThrows(
        IllegalArgumentException.class,
        () ->
            DeviceRoutes.contact(
                DEVICE,
                HttpRequest.create("/").addHeader(RawHeader.create("x-ats-tags", "no spaces"))));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            DeviceRoutes.contact(
                DEVICE,
                HttpRequest.create("/")
                    .addHeader(RawHeader.create("x-ats-dockerapps", "a," + "x".repeat(65)))));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            DeviceRoutes.contact(
                DEVICE,
                HttpRequest.create("/")
                    .addHeader(RawHeader.create("x-ats-target", "t".repeat(256)))));
    String tooMany = String.join(",", java.util.Collections.nCopies(Device.MAX_APPS + 1, "app"));
    IllegalArgumentException overLimit =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                DeviceRoutes.contact(
                    DEVICE,
                    HttpRequest.create("/")
                        .addHeader(RawHeader.create("x-ats-dockerapps", tooMany))));
    assertTrue(
        overLimit.getMessage().contains("more than " + Device.MAX_APPS), overLimit.getMessage());
    String atLimit = String.join(",", java.util.Collections.nCopies(Device.MAX_APPS, "app"));
    assertEquals(
        Device.MAX_APPS,
        DeviceRoutes.contact(
                DEVICE,
                HttpRequest.create("/").addHeader(RawHeader.create("x-ats-dockerapps", atLimit)))
            .apps()
            .size());
  }

  @Test
  void eventsWithoutIdOrWithABadCorrelationIdAreDropped() throws Exception {
    String good =
        "{\"id\":\"e1\",\"deviceTime\":\"t\",\"eventType\":{\"id\":\"EcuDownloadCompleted\",\"version\":2},"
            + "\"event\":{\"correlationId\":\"u_1-A\",\"success\":false,\"targetName\":\"x-1\",\"version\":\"1\",\"details\":{\"k\":1}}}";
    Device.UpdateEvent event = DeviceRoutes.updateEvent(JSON.readTree(good)).orElseThrow();
    assertEquals(Boolean.FALSE, event.success());
    assertEquals("{\"k\":1}", event.details(), "a details object is kept as its JSON text");
    assertTrue(DeviceRoutes.updateEvent(JSON.readTree(good.replace("u_1-A", "u 1"))).isEmpty());
    assertTrue(DeviceRoutes.updateEvent(JSON.readTree(good.replace("u_1-A", ""))).isEmpty());
    assertTrue(DeviceRoutes.updateEvent(JSON.readTree(good.replace("\"e1\"", "\"\""))).isEmpty());
    assertTrue(DeviceRoutes.updateEvent(JSON.readTree("42")).isEmpty());
    String longDetails = good.replace("{\"k\":1}", "\"" + "x".repeat(5000) + "\"");
    assertEquals(
        Device.MAX_DETAILS,
        DeviceRoutes.updateEvent(JSON.readTree(longDetails)).orElseThrow().details().length());
  }
}
