package io.flotilla.protocol.composeapp;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class AppUriTest {

  private static final String HEX = "4".repeat(64);

  @Test
  void parsesHostWithPortFactoryAppAndDigest() {
    AppUri uri = AppUri.parse("127.0.0.1:5000/acme/shell-httpd@sha256:" + HEX);
    assertEquals("127.0.0.1:5000", uri.registryHost());
    assertEquals("acme", uri.factory());
    assertEquals("shell-httpd", uri.app());
    assertEquals("acme/shell-httpd", uri.repository());
    assertEquals(HEX, uri.digest().hex());
    assertEquals("127.0.0.1:5000/acme/shell-httpd@sha256:" + HEX, uri.toString());
    assertEquals(
        "hub.foundries.io", AppUri.parse("hub.foundries.io/acme/app@sha256:" + HEX).registryHost());
  }

  @Test
  void refusesUrisThatAreNotPinnedOrHaveTheWrongShape() {
    assertMessage("pinned by digest", "hub/acme/app:latest");
    assertMessage("<host>/<factory>/<app>", "hub/app@sha256:" + HEX);
    assertMessage("<host>/<factory>/<app>", "hub/a/b/c@sha256:" + HEX);
    assertMessage("only sha256", "hub/acme/app@md5:abc");
    assertMessage("invalid app name", "hub/acme/App@sha256:" + HEX);
    assertMessage("invalid factory name", "hub/../app@sha256:" + HEX);
    assertMessage("empty", " ");
  }

  private static void assertMessage(String expected, String uri) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> AppUri.parse(uri));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }
}
