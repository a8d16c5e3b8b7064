package io.flotilla.core.factory;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.core.Rejection;
import io.flotilla.core.auth.ApiToken;
import io.flotilla.core.auth.Scope;
import java.time.Instant;
import java.util.List;
import org.apache.pekko.Done;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResultWithReply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class FactoryTest {

  private static final org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit testKit =
      io.flotilla.core.testing.EntityTestKit.create();

  private EventSourcedBehaviorTestKit<Factory.Command, Factory.Event, Factory.State> factory;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void fresh() {
    factory = EventSourcedBehaviorTestKit.create(testKit.system(), Factory.create("acme"));
  }

  private CommandResultWithReply<
          Factory.Command, Factory.Event, Factory.State, StatusReply<Factory.Summary>>
      create(List<String> platforms) {
    return factory.runCommand(replyTo -> new Factory.Create(platforms, replyTo));
  }

  @Test
  void createsOnceWithDefaultsAndRefusesASecondCreate() {
    var created = create(List.of("amd64-linux", "arm64-linux"));
    assertTrue(created.reply().isSuccess());
    assertEquals(List.of("amd64-linux", "arm64-linux"), created.reply().getValue().platforms());
    assertEquals("main", created.reply().getValue().branchTags().get("main"));
    assertInstanceOf(Factory.Created.class, created.event());

    var again = create(List.of("amd64-linux"));
    assertTrue(again.hasNoEvents());
    assertEquals(
        Rejection.Kind.CONFLICT,
        Rejection.of(new StatusReply.ErrorMessage(again.reply().getError().getMessage()))
            .orElseThrow()
            .kind());
  }

  @Test
  void defaultPlatformIsAmd64() {
    assertEquals(List.of("amd64-linux"), create(null).reply().getValue().platforms());
  }

  @Test
  void refusesBadPlatformsAndBadNames() {
    assertTrue(create(List.of("amd64 linux")).reply().isError());
    assertTrue(create(List.of("a", "a")).reply().isError());
    var badName =
        EventSourcedBehaviorTestKit.<Factory.Command, Factory.Event, Factory.State>create(
            testKit.system(), Factory.create("No_Caps"));
    var result =
        badName.<StatusReply<Factory.Summary>>runCommand(
            replyTo -> new Factory.Create(List.of(), replyTo));
    assertTrue(result.reply().isError());
    assertTrue(result.hasNoEvents());
  }

  @Test
  void commandsOnAMissingFactoryAreNotFound() {
    var get = factory.<StatusReply<Factory.Summary>>runCommand(Factory.Get::new);
    assertEquals(Rejection.Kind.NOT_FOUND, rejection(get.reply()).kind());
    var check =
        factory.<Factory.TokenCheck>runCommand(
            replyTo -> new Factory.CheckToken("x", "y", replyTo));
    assertFalse(check.reply().valid());
  }

  @Test
  void tokensAreCheckedByHashAndStopWorkingWhenRevoked() {
    create(List.of());
    ApiToken token = ApiToken.newFactoryToken("acme");
    var created =
        factory.<StatusReply<Factory.TokenInfo>>runCommand(
            replyTo ->
                new Factory.CreateToken(
                    token.id(),
                    "ci",
                    List.of("targets:read", "containers:push"),
                    token.secretHash(),
                    replyTo));
    assertTrue(created.reply().isSuccess());
    Factory.TokenCreated event = created.eventOfType(Factory.TokenCreated.class);
    assertEquals(token.secretHash(), event.secretHash());
    assertFalse(event.toString().contains(token.secret()), "the secret itself is never stored");

    var valid =
        factory
            .<Factory.TokenCheck>runCommand(
                replyTo -> new Factory.CheckToken(token.id(), token.secretHash(), replyTo))
            .reply();
    assertTrue(valid.allows(Scope.TARGETS_READ));
    assertTrue(valid.allows(Scope.CONTAINERS_PUSH));
    assertFalse(valid.allows(Scope.DEVICES_CREATE));

    var wrongSecret =
        factory
            .<Factory.TokenCheck>runCommand(
                replyTo -> new Factory.CheckToken(token.id(), ApiToken.hash("guess"), replyTo))
            .reply();
    assertFalse(wrongSecret.valid());

    var revoked =
        factory.<StatusReply<Done>>runCommand(
            replyTo -> new Factory.RevokeToken(token.id(), replyTo));
    assertTrue(revoked.reply().isSuccess());
    var afterRevoke =
        factory
            .<Factory.TokenCheck>runCommand(
                replyTo -> new Factory.CheckToken(token.id(), token.secretHash(), replyTo))
            .reply();
    assertFalse(afterRevoke.valid());

    var revokeUnknown =
        factory.<StatusReply<Done>>runCommand(
            replyTo -> new Factory.RevokeToken("0000000000000000", replyTo));
    assertEquals(Rejection.Kind.NOT_FOUND, rejection(revokeUnknown.reply()).kind());
  }

  @Test
  void tokenScopesMustBeKnown() {
    create(List.of());
    var unknown =
        factory.<StatusReply<Factory.TokenInfo>>runCommand(
            replyTo ->
                new Factory.CreateToken("0123456789abcdef", "", List.of("root"), "h", replyTo));
    assertEquals(Rejection.Kind.INVALID, rejection(unknown.reply()).kind());
    var none =
        factory.<StatusReply<Factory.TokenInfo>>runCommand(
            replyTo -> new Factory.CreateToken("0123456789abcdef", "", List.of(), "h", replyTo));
    assertEquals(Rejection.Kind.INVALID, rejection(none.reply()).kind());
  }

  @Test
  void branchTagMappingIsKeptAndSurvivesRecovery() {
    create(List.of());
    var set =
        factory.<StatusReply<Factory.Summary>>runCommand(
            replyTo -> new Factory.SetBranchTag("devel", "beta", replyTo));
    assertEquals("beta", set.reply().getValue().branchTags().get("devel"));
    factory.restart();
    var get = factory.<StatusReply<Factory.Summary>>runCommand(Factory.Get::new);
    assertEquals("beta", get.reply().getValue().branchTags().get("devel"));
    assertEquals("main", get.reply().getValue().branchTags().get("main"));
  }

  private static Rejection rejection(StatusReply<?> reply) {
    return Rejection.of(reply.getError()).orElseThrow();
  }

  private static Rejection.Kind kind(StatusReply<?> reply) {
    assertTrue(reply.isError(), "expected a refusal");
    return Rejection.of(new StatusReply.ErrorMessage(reply.getError().getMessage()))
        .orElseThrow()
        .kind();
  }

  @Test
  void refusesNullsAndTooManyPlatformsWithoutThrowing() {
    java.util.List<String> withNull = new java.util.ArrayList<>();
    withNull.add(null);
    var refused = create(withNull);
    assertTrue(refused.hasNoEvents());
    assertEquals(Rejection.Kind.INVALID, kind(refused.reply()));
    List<String> many =
        java.util.stream.IntStream.rangeClosed(0, io.flotilla.core.Limits.PLATFORMS)
            .mapToObj(i -> "p" + i)
            .toList();
    assertEquals(Rejection.Kind.INVALID, kind(create(many).reply()));
    assertTrue(create(List.of("amd64-linux")).reply().isSuccess());
  }

  @Test
  void refusesRepeatedUnknownOrTooManyScopesAndControlCharactersInDescriptions() {
    create(null);
    java.util.function.BiFunction<String, List<String>, StatusReply<Factory.TokenInfo>> token =
        (description, scopes) ->
            factory
                .<StatusReply<Factory.TokenInfo>>runCommand(
                    replyTo ->
                        new Factory.CreateToken(
                            java.util.UUID.randomUUID().toString(),
                            description,
                            scopes,
                            "hash",
                            replyTo))
                .reply();
    List<String> tenThousand = java.util.Collections.nCopies(10_000, "admin");
    assertEquals(Rejection.Kind.INVALID, kind(token.apply("d", tenThousand)));
    assertEquals(Rejection.Kind.INVALID, kind(token.apply("d", List.of("admin", "admin"))));
    assertEquals(Rejection.Kind.INVALID, kind(token.apply("d", List.of("root"))));
    java.util.List<String> withNull = new java.util.ArrayList<>();
    withNull.add(null);
    assertEquals(Rejection.Kind.INVALID, kind(token.apply("d", withNull)));
    assertEquals(Rejection.Kind.INVALID, kind(token.apply("nul\u0000", List.of("admin"))));
    assertEquals(
        Rejection.Kind.INVALID,
        kind(token.apply("x".repeat(io.flotilla.core.Limits.TEXT + 1), List.of("admin"))));
    List<String> every = java.util.Arrays.stream(Scope.values()).map(Scope::wireName).toList();
    assertTrue(token.apply("two\nlines", every).isSuccess());
  }

  @Test
  void refusesMoreBranchesThanTheLimitButStillRemapsAKnownOne() {
    create(null);
    java.util.function.BiFunction<String, String, StatusReply<Factory.Summary>> map =
        (branch, tag) ->
            factory
                .<StatusReply<Factory.Summary>>runCommand(
                    replyTo -> new Factory.SetBranchTag(branch, tag, replyTo))
                .reply();
    for (int i = 1; i < io.flotilla.core.Limits.BRANCHES; i++) {
      assertTrue(map.apply("b" + i, "t").isSuccess());
    }
    assertEquals(Rejection.Kind.CONFLICT, kind(map.apply("one-too-many", "t")));
    assertTrue(map.apply("main", "other").isSuccess());
  }

  private static final String CLIENT = "2f9a3a8e-5c1b-4b63-9d0a-6f1f0c9d1e11";

  private StatusReply<Done> requestAuthorization(
      String userCode, String deviceCodeHash, Instant expiresAt) {
    return factory
        .<StatusReply<Done>>runCommand(
            replyTo ->
                new Factory.RequestDeviceAuthorization(
                    userCode, deviceCodeHash, CLIENT, expiresAt, replyTo))
        .reply();
  }

  private CommandResultWithReply<Factory.Command, Factory.Event, Factory.State, Factory.DevicePoll>
      poll(String deviceCodeHash, String clientId, ApiToken token, long minimumIntervalMillis) {
    return factory.runCommand(
        replyTo ->
            new Factory.PollDeviceAuthorization(
                deviceCodeHash,
                clientId,
                token.id(),
                token.secretHash(),
                Instant.now().plusSeconds(600),
                minimumIntervalMillis,
                replyTo));
  }

  private StatusReply<Factory.DeviceAuthorization> decide(String userCode, boolean approved) {
    return factory
        .<StatusReply<Factory.DeviceAuthorization>>runCommand(
            replyTo -> new Factory.DecideDeviceAuthorization(userCode, approved, "ops", replyTo))
        .reply();
  }

  @Test
  void anApprovedDeviceAuthorizationIsRedeemedOnceAsAShortLivedDevicesCreateToken() {
    create(null);
    String hash = ApiToken.hash("device code");
    assertTrue(requestAuthorization("BCDF-GHJK", hash, Instant.now().plusSeconds(900)).isSuccess());
    ApiToken token = ApiToken.newFactoryToken("acme");

    assertEquals("authorization_pending", poll(hash, CLIENT, token, 0).reply().error());
    assertEquals("slow_down", poll(hash, CLIENT, token, 60_000).reply().error());
    assertEquals("invalid_grant", poll(hash, "another-client", token, 0).reply().error());
    assertEquals("invalid_grant", poll(ApiToken.hash("guess"), CLIENT, token, 0).reply().error());

    var listed =
        factory.<StatusReply<Factory.DeviceAuthorizations>>runCommand(
            Factory.ListDeviceAuthorizations::new);
    assertEquals(
        List.of("BCDF-GHJK"),
        listed.reply().getValue().authorizations().stream()
            .map(Factory.DeviceAuthorization::userCode)
            .toList());
    assertEquals("pending", listed.reply().getValue().authorizations().get(0).state());

    assertEquals("approved", decide("BCDF-GHJK", true).getValue().state());
    assertEquals("approved", decide("BCDF-GHJK", true).getValue().state(), "idempotent");
    assertEquals(Rejection.Kind.CONFLICT, kind(decide("BCDF-GHJK", false)));
    factory.restart();

    var redeemed = poll(hash, CLIENT, token, 0);
    assertNull(redeemed.reply().error());
    Factory.TokenCreated created = redeemed.eventOfType(Factory.TokenCreated.class);
    assertEquals(List.of("devices:create"), created.scopes());
    assertEquals("BCDF-GHJK", created.deviceAuthorization());
    assertNotNull(created.expiresAt());
    var check =
        factory
            .<Factory.TokenCheck>runCommand(
                replyTo -> new Factory.CheckToken(token.id(), token.secretHash(), replyTo))
            .reply();
    assertTrue(check.allows(Scope.DEVICES_CREATE));
    assertFalse(check.allows(Scope.DEVICES_WRITE));

    ApiToken second = ApiToken.newFactoryToken("acme");
    var again = poll(hash, CLIENT, second, 0);
    assertEquals("invalid_grant", again.reply().error(), "a device code is redeemed once");
    assertTrue(again.hasNoEvents());
    assertEquals(Rejection.Kind.NOT_FOUND, kind(decide("BCDF-GHJK", true)));
  }

  @Test
  void deniedAndExpiredDeviceAuthorizationsGiveTheirErrorsAndExpiredTokensStopWorking()
      throws InterruptedException {
    create(null);
    String denied = ApiToken.hash("denied");
    String expiring = ApiToken.hash("expiring");
    assertTrue(
        requestAuthorization("BCDF-GHJK", denied, Instant.now().plusSeconds(900)).isSuccess());
    assertTrue(
        requestAuthorization("CDFG-HJKL", expiring, Instant.now().plusMillis(300)).isSuccess());
    assertEquals("denied", decide("BCDF-GHJK", false).getValue().state());
    ApiToken token = ApiToken.newFactoryToken("acme");
    assertEquals("access_denied", poll(denied, CLIENT, token, 0).reply().error());

    ApiToken shortLived = ApiToken.newFactoryToken("acme");
    assertTrue(
        requestAuthorization("DFGH-JKLM", ApiToken.hash("short"), Instant.now().plusSeconds(900))
            .isSuccess());
    decide("DFGH-JKLM", true);
    var redeemed =
        factory.<Factory.DevicePoll>runCommand(
            replyTo ->
                new Factory.PollDeviceAuthorization(
                    ApiToken.hash("short"),
                    CLIENT,
                    shortLived.id(),
                    shortLived.secretHash(),
                    Instant.now().plusMillis(300),
                    0,
                    replyTo));
    assertNull(redeemed.reply().error());

    Thread.sleep(400);
    assertEquals("expired_token", poll(expiring, CLIENT, token, 0).reply().error());
    assertEquals(Rejection.Kind.NOT_FOUND, kind(decide("CDFG-HJKL", true)));
    assertFalse(
        factory
            .<Factory.TokenCheck>runCommand(
                replyTo ->
                    new Factory.CheckToken(shortLived.id(), shortLived.secretHash(), replyTo))
            .reply()
            .valid(),
        "an expired token is refused");
  }

  @Test
  void refusesBadDeviceAuthorizationsAndMoreThanTheLimitWaiting() {
    create(null);
    Instant later = Instant.now().plusSeconds(900);
    String hash = ApiToken.hash("x");
    assertEquals(Rejection.Kind.INVALID, kind(requestAuthorization("AAAA-AAAA", hash, later)));
    assertEquals(Rejection.Kind.INVALID, kind(requestAuthorization(null, hash, later)));
    assertEquals(Rejection.Kind.INVALID, kind(requestAuthorization("BCDF-GHJK", "zz", later)));
    assertEquals(
        Rejection.Kind.INVALID,
        kind(requestAuthorization("BCDF-GHJK", hash, Instant.now().minusSeconds(1))));
    var badClient =
        factory
            .<StatusReply<Done>>runCommand(
                replyTo ->
                    new Factory.RequestDeviceAuthorization(
                        "BCDF-GHJK", hash, "x".repeat(129), later, replyTo))
            .reply();
    assertEquals(Rejection.Kind.INVALID, kind(badClient));

    String letters = "BCDFGHJKLMNPQRSTVWXZ";
    for (int i = 0; i < io.flotilla.core.Limits.PENDING_DEVICE_AUTHORIZATIONS; i++) {
      String code =
          "BCDF-"
              + letters.charAt(i / 20 / 20 % 20)
              + letters.charAt(i / 20 % 20)
              + letters.charAt(i % 20)
              + "B";
      assertTrue(requestAuthorization(code, ApiToken.hash("d" + i), later).isSuccess(), code);
    }
    assertEquals(
        Rejection.Kind.CONFLICT,
        kind(requestAuthorization("ZZZZ-ZZZZ", ApiToken.hash("one too many"), later)));
    assertEquals(
        Rejection.Kind.CONFLICT,
        kind(requestAuthorization("BCDF-BBBB", ApiToken.hash("taken"), later)));
  }
}
