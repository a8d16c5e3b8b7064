package io.flotilla.core.auth;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class ApiTokenTest {

  @Test
  void factoryAndAdminTokensRoundTrip() {
    ApiToken token = ApiToken.newFactoryToken("acme-2");
    ApiToken parsed = ApiToken.parse(token.value()).orElseThrow();
    assertEquals(token, parsed);
    assertFalse(parsed.isAdmin());
    ApiToken admin = ApiToken.parse(ApiToken.newAdminToken().value()).orElseThrow();
    assertTrue(admin.isAdmin());
    assertNotEquals(token.secretHash(), ApiToken.newFactoryToken("acme-2").secretHash());
  }

  @Test
  void malformedTokensDoNotParse() {
    assertTrue(ApiToken.parse(null).isEmpty());
    assertTrue(ApiToken.parse("").isEmpty());
    assertTrue(ApiToken.parse("flt_acme_nothex_abc").isEmpty());
    assertTrue(ApiToken.parse("fla_" + "0".repeat(16)).isEmpty());
  }

  @Test
  void toStringNeverShowsTheSecret() {
    ApiToken token = ApiToken.newFactoryToken("acme");
    assertFalse(token.toString().contains(token.secret()));
  }
}
