package io.flotilla.core.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.flotilla.core.FlotillaCore;
import io.flotilla.core.factory.Factory;
import io.flotilla.core.persistence.Database;
import io.flotilla.core.persistence.SchemaMigration;
import io.flotilla.core.testing.TestDatabases;
import io.flotilla.core.testing.TestNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The access service against real Factory and AdminTokens entities: each kind of credentials, each
 * answer of the rule in docs/architecture.md ("Authorization answers"). Each test makes its own
 * factories and tokens.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class AccessTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final String HINT = "present a token";

  @TempDir static Path dataDir;

  private TestNode node;
  private Access access;

  abstract TestDatabases.Kind kind();

  @BeforeAll
  void start() {
    node = TestNode.start(TestNode.config(TestDatabases.fresh(kind()), dataDir.resolve("node")));
    access = node.core().access();
  }

  @AfterAll
  void stop() {
    node.close();
  }

  @Test
  void noCredentialsAreUnauthenticatedWithTheEdgesHint() throws Exception {
    Decision.Denied denied =
        denied(access.authenticate(new Credentials.Missing(HINT), Access.TOKENS));
    assertEquals(Decision.Denial.UNAUTHENTICATED, denied.denial());
    assertEquals(HINT, denied.detail());
  }

  @Test
  void aMalformedTokenIsUnauthenticated() throws Exception {
    for (String value : List.of("", "flt_not-a-token", "fla_123", "Bearer x")) {
      Decision.Denied denied =
          denied(access.authenticate(new Credentials.Token(value), Access.TOKENS));
      assertEquals(
          new Decision.Denied(Decision.Denial.UNAUTHENTICATED, "the API token is malformed"),
          denied,
          value);
    }
  }

  @Test
  void anUnknownOrRevokedTokenIsUnauthenticated() throws Exception {
    String factory = factory();
    ApiToken revoked = token(factory, Scope.ADMIN);
    node.core()
        .factory(factory)
        .<Done>askWithStatus(replyTo -> new Factory.RevokeToken(revoked.id(), replyTo), WAIT)
        .toCompletableFuture()
        .get(30, TimeUnit.SECONDS);
    ApiToken guessed = new ApiToken(factory, revoked.id(), "0".repeat(64));
    ApiToken ofNoFactory = ApiToken.newFactoryToken("no-such-factory");
    for (ApiToken token : List.of(revoked, guessed, ofNoFactory, ApiToken.newAdminToken())) {
      Decision.Denied denied =
          denied(
              access.authorize(
                  new Credentials.Token(token.value()),
                  Access.TOKENS,
                  factory,
                  Scope.DEVICES_READ));
      assertEquals(
          new Decision.Denied(Decision.Denial.UNAUTHENTICATED, "the API token is not valid"),
          denied,
          token.toString());
    }
  }

  @Test
  void aFactoryTokenIsItsFactorysPrincipalWithItsScopes() throws Exception {
    String factory = factory();
    ApiToken token = token(factory, Scope.TARGETS_READ, Scope.DEVICES_READ);
    Principal principal =
        allowed(access.authenticate(new Credentials.Token(token.value()), Access.TOKENS));
    assertEquals(
        Principal.factoryToken(factory, token.id(), List.of("targets:read", "devices:read")),
        principal);
    assertEquals(
        principal,
        allowed(
            access.authorize(
                new Credentials.Token(token.value()), Access.TOKENS, factory, Scope.DEVICES_READ)));
  }

  @Test
  void aMissingScopeInOnesOwnFactoryIsForbidden() throws Exception {
    String factory = factory();
    ApiToken token = token(factory, Scope.TARGETS_READ);
    Decision.Denied denied =
        denied(
            access.authorize(
                new Credentials.Token(token.value()), Access.TOKENS, factory, Scope.TARGETS_WRITE));
    assertEquals(
        new Decision.Denied(
            Decision.Denial.FORBIDDEN, "the token lacks scope targets:write on factory " + factory),
        denied);
  }

  @Test
  void theAdminScopeGrantsEveryScopeInItsFactoryAndMembershipNeedsNone() throws Exception {
    String factory = factory();
    ApiToken admin = token(factory, Scope.ADMIN);
    for (Scope scope : Scope.values()) {
      allowed(
          access.authorize(new Credentials.Token(admin.value()), Access.TOKENS, factory, scope));
    }
    ApiToken reader = token(factory, Scope.DEVICES_READ);
    allowed(access.authorize(new Credentials.Token(reader.value()), Access.TOKENS, factory, null));
  }

  @Test
  void anotherFactoryIsNotVisibleWhetherOrNotItExists() throws Exception {
    String own = factory();
    String other = factory();
    ApiToken admin = token(own, Scope.ADMIN);
    for (String factory : List.of(other, "never-created")) {
      for (Scope scope : Arrays.asList(Scope.ADMIN, Scope.DEVICES_READ, null)) {
        Decision.Denied denied =
            denied(
                access.authorize(
                    new Credentials.Token(admin.value()), Access.TOKENS, factory, scope));
        assertEquals(
            new Decision.Denied(
                Decision.Denial.NOT_VISIBLE,
                "factory " + factory + " is not visible to this token"),
            denied);
      }
    }
  }

  @Test
  void theServerAdminTokenMayDoAnythingWhereItIsTaken() throws Exception {
    ApiToken admin = adminToken();
    Credentials credentials = new Credentials.Token(admin.value());
    assertEquals(
        Principal.serverAdmin(),
        allowed(access.authorize(credentials, Access.TOKENS, "never-created", Scope.ADMIN)));
    assertEquals(Principal.serverAdmin(), allowed(access.serverAdmin(credentials)));
  }

  @Test
  void theServerAdminTokenIsNoCredentialWhereOnlyFactoryTokensAreTaken() throws Exception {
    Decision.Denied denied =
        denied(
            access.authorize(
                new Credentials.Token(adminToken().value()),
                Access.FACTORY_TOKENS,
                factory(),
                Scope.CONTAINERS_READ));
    assertEquals(Decision.Denial.UNAUTHENTICATED, denied.denial());
    assertEquals(
        "the server admin token is no credential here; use a factory API token", denied.detail());
  }

  @Test
  void serverAdminActionsAreForbiddenToFactoryTokens() throws Exception {
    ApiToken token = token(factory(), Scope.ADMIN);
    assertEquals(
        new Decision.Denied(Decision.Denial.FORBIDDEN, "only the server admin token may do this"),
        denied(access.serverAdmin(new Credentials.Token(token.value()))));
  }

  @Test
  void basicCredentialsCarryTheTokenAsThePasswordUnderAnyUserName() throws Exception {
    String factory = factory();
    ApiToken token = token(factory, Scope.CONTAINERS_PUSH);
    for (String header :
        List.of(basic("x:" + token.value()), basic(":" + token.value()), basic(token.value()))) {
      Credentials credentials = Credentials.basic(Optional.of(header), HINT);
      allowed(access.authorize(credentials, Access.FACTORY_TOKENS, factory, Scope.CONTAINERS_PUSH));
    }
    for (Optional<String> header :
        List.of(
            Optional.<String>empty(),
            Optional.of("Bearer " + token.value()),
            Optional.of("Basic !!!"))) {
      assertEquals(
          new Decision.Denied(Decision.Denial.UNAUTHENTICATED, HINT),
          denied(access.authenticate(Credentials.basic(header, HINT), Access.FACTORY_TOKENS)));
    }
  }

  @Test
  void aDeviceReadsOnlyItsOwnFactorysContainers() {
    Principal device = Principal.device("acme", UUID.randomUUID().toString());
    assertEquals(
        new Decision.Allowed(device), Access.decide(device, "acme", Scope.CONTAINERS_READ));
    assertEquals(
        new Decision.Denied(
            Decision.Denial.FORBIDDEN, "the device lacks scope containers:push on factory acme"),
        Access.decide(device, "acme", Scope.CONTAINERS_PUSH));
    assertEquals(
        Decision.Denial.FORBIDDEN,
        ((Decision.Denied) Access.decide(device, "acme", Scope.DEVICES_READ)).denial());
    assertEquals(
        Access.notVisible("globex"), Access.decide(device, "globex", Scope.CONTAINERS_READ));
  }

  @Test
  void deviceCredentialsAreRecognisedOnlyWhereDevicesAreTaken() throws Exception {
    Credentials notAToken =
        new Credentials.Basic("device/acme/" + UUID.randomUUID(), "1700000000.signature");
    assertEquals(
        new Decision.Denied(Decision.Denial.UNAUTHENTICATED, "the API token is malformed"),
        denied(access.authenticate(notAToken, Access.FACTORY_TOKENS)));
    assertEquals(
        Decision.Denial.UNAUTHENTICATED,
        denied(access.authenticate(notAToken, Access.FACTORY_TOKENS_AND_DEVICES)).denial());
  }

  private String factory() throws Exception {
    String name = "f-" + UUID.randomUUID().toString().substring(0, 8);
    node.core()
        .factory(name)
        .<Factory.Summary>askWithStatus(
            replyTo -> new Factory.Create(List.of("amd64-linux"), replyTo), WAIT)
        .toCompletableFuture()
        .get(30, TimeUnit.SECONDS);
    return name;
  }

  private ApiToken token(String factory, Scope... scopes) throws Exception {
    ApiToken token = ApiToken.newFactoryToken(factory);
    List<String> wireNames = Arrays.stream(scopes).map(Scope::wireName).toList();
    node.core()
        .factory(factory)
        .<Factory.TokenInfo>askWithStatus(
            replyTo ->
                new Factory.CreateToken(token.id(), "test", wireNames, token.secretHash(), replyTo),
            WAIT)
        .toCompletableFuture()
        .get(30, TimeUnit.SECONDS);
    return token;
  }

  private ApiToken adminToken() throws Exception {
    ApiToken token = ApiToken.newAdminToken();
    node.core()
        .adminTokens()
        .<Done>askWithStatus(
            replyTo -> new AdminTokens.Register(token.id(), token.secretHash(), replyTo), WAIT)
        .toCompletableFuture()
        .get(30, TimeUnit.SECONDS);
    return token;
  }

  private static String basic(String userAndPassword) {
    return "Basic "
        + Base64.getEncoder().encodeToString(userAndPassword.getBytes(StandardCharsets.UTF_8));
  }

  private static Principal allowed(CompletionStage<Decision> decision) throws Exception {
    return assertInstanceOf(
            Decision.Allowed.class, decision.toCompletableFuture().get(30, TimeUnit.SECONDS))
        .principal();
  }

  static Decision.Denied denied(CompletionStage<Decision> decision) throws Exception {
    return assertInstanceOf(
        Decision.Denied.class, decision.toCompletableFuture().get(30, TimeUnit.SECONDS));
  }
}

class AccessOnH2Test extends AccessTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.H2;
  }

  /**
   * A node outside any cluster: sharding holds every ask, so a token check gets no answer. Once, on
   * H2: no database is asked.
   */
  @Test
  void aTokenCheckThatGetsNoAnswerIsUnavailable() throws Exception {
    Config config =
        ConfigFactory.parseMap(
                Map.of(
                    "flotilla.ask-timeout", "300ms",
                    // the regions hold the unanswered asks: do not wait for them to hand off on
                    // shutdown
                    "pekko.coordinated-shutdown.phases.cluster-sharding-shutdown-region.timeout",
                        "1s"))
            .withFallback(TestNode.config(TestDatabases.fresh(kind()), dataDir.resolve("alone")));
    Database database = Database.open(config);
    ActorTestKit testKit = null;
    try {
      SchemaMigration.migrate(database, List.of(SchemaMigration.CORE));
      testKit = ActorTestKit.create("flotilla", config);
      Access alone = FlotillaCore.start(testKit.system(), database).access();
      for (ApiToken token : List.of(ApiToken.newFactoryToken("acme"), ApiToken.newAdminToken())) {
        assertEquals(
            new Decision.Denied(
                Decision.Denial.UNAVAILABLE,
                "checking the token did not finish in time; try again"),
            AccessTest.denied(
                alone.authenticate(new Credentials.Token(token.value()), Access.TOKENS)));
      }
    } finally {
      if (testKit != null) {
        testKit.shutdownTestKit();
      }
      database.close();
    }
  }
}

class AccessOnPostgresTest extends AccessTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.POSTGRES;
  }
}
