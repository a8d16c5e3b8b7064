package io.flotilla.registry.auth;

import io.flotilla.registry.Durable;
import io.flotilla.registry.RegistryError;
import io.flotilla.registry.RegistryJson;
import io.flotilla.registry.RepositoryName;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Issues and verifies the registry's bearer tokens: JWTs signed with HMAC-SHA256. The key lives in
 * {@code auth/token-signing.key} under the registry root (mode 0600), so every node sharing the
 * storage verifies tokens any node issued, and no node has to be asked.
 */
public final class TokenService {
  public record Access(String type, String name, List<String> actions) {}

  /** JWT claims; {@code factories} lists the factories whose repositories the catalog may show. */
  public record Claims(
      String iss,
      String sub,
      String aud,
      long iat,
      long exp,
      List<Access> access,
      List<String> factories) {}

  public record IssuedToken(String token, Claims claims) {}

  private static final String HEADER =
      base64("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));
  private static final String KEY_FILE = "token-signing.key";

  private final byte[] key;
  private final String service;
  private final Duration ttl;
  private final Clock clock;

  public TokenService(Path registryRoot, String service, Duration ttl, Clock clock)
      throws IOException {
    this.key = loadOrCreateKey(registryRoot.resolve("auth"));
    this.service = service;
    this.ttl = ttl;
    this.clock = clock;
  }

  /**
   * A token for the requested scopes ({@code repository:<name>:<actions>}, {@code
   * registry:catalog:*}), narrowed to what the principal may do: scopes it may not use are left
   * out, not refused, as registries do.
   */
  public IssuedToken issue(RegistryPrincipal principal, List<String> scopes) {
    List<Access> access = new ArrayList<>();
    for (String scope : scopes) {
      grant(principal, scope).ifPresent(access::add);
    }
    long now = clock.instant().getEpochSecond();
    List<String> factories =
        principal.factories().keySet().stream()
            .filter(f -> principal.allows(f, RegistryAction.PULL))
            .sorted()
            .toList();
    Claims claims =
        new Claims(
            "flotilla-registry",
            principal.subject(),
            service,
            now,
            now + ttl.toSeconds(),
            List.copyOf(access),
            factories);
    return new IssuedToken(sign(claims), claims);
  }

  public Optional<Claims> verify(String token) {
    String[] parts = token.split("\\.", -1);
    if (parts.length != 3 || !parts[0].equals(HEADER)) {
      return Optional.empty();
    }
    byte[] expected = hmac(parts[0] + "." + parts[1]);
    byte[] actual;
    try {
      actual = Base64.getUrlDecoder().decode(parts[2]);
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    if (!MessageDigest.isEqual(expected, actual)) {
      return Optional.empty();
    }
    try {
      Claims claims =
          RegistryJson.MAPPER.readValue(Base64.getUrlDecoder().decode(parts[1]), Claims.class);
      boolean fresh = claims.exp() > clock.instant().getEpochSecond();
      return fresh && service.equals(claims.aud()) ? Optional.of(claims) : Optional.empty();
    } catch (IOException | IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  public static Caller caller(Claims claims) {
    return new Caller() {
      @Override
      public boolean allows(RepositoryName repository, RegistryAction action) {
        return claims.access().stream()
            .anyMatch(
                a ->
                    a.type().equals("repository")
                        && a.name().equals(repository.value())
                        && a.actions().contains(action.scopeName()));
      }

      @Override
      public boolean mayList(String factory) {
        return claims.factories().contains(factory);
      }

      /** Never asked: a token lacking a scope is challenged, wherever the repository is. */
      @Override
      public boolean memberOf(String factory) {
        return claims.factories().contains(factory);
      }

      @Override
      public boolean viaToken() {
        return true;
      }
    };
  }

  private static Optional<Access> grant(RegistryPrincipal principal, String scope) {
    int first = scope.indexOf(':');
    int last = scope.lastIndexOf(':');
    if (first < 0 || last == first) {
      return Optional.empty();
    }
    String type = scope.substring(0, first);
    String name = scope.substring(first + 1, last);
    List<String> requested = List.of(scope.substring(last + 1).split(","));
    if (type.equals("registry") && name.equals("catalog")) {
      return Optional.of(new Access("registry", "catalog", List.of("*")));
    }
    if (!type.equals("repository")) {
      return Optional.empty();
    }
    RepositoryName repository;
    try {
      repository = RepositoryName.parse(name);
    } catch (RegistryError e) {
      return Optional.empty();
    }
    boolean all = requested.contains("*");
    Set<String> granted = new LinkedHashSet<>();
    for (RegistryAction action : RegistryAction.values()) {
      if ((all || requested.contains(action.scopeName()))
          && principal.allows(repository.factory(), action)) {
        granted.add(action.scopeName());
      }
    }
    return granted.isEmpty()
        ? Optional.empty()
        : Optional.of(new Access("repository", name, List.copyOf(granted)));
  }

  private String sign(Claims claims) {
    try {
      String payload = base64(RegistryJson.MAPPER.writeValueAsBytes(claims));
      String unsigned = HEADER + "." + payload;
      return unsigned + "." + base64(hmac(unsigned));
    } catch (IOException e) {
      throw new IllegalStateException("claims always serialize", e);
    }
  }

  private byte[] hmac(String data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(data.getBytes(StandardCharsets.US_ASCII));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JVM has no HmacSHA256", e);
    }
  }

  private static String base64(byte[] bytes) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  /**
   * Several nodes may start at once on fresh storage: each writes a candidate key privately, and a
   * hard link (which fails if the name exists) lets exactly one win; the others read the winner's
   * key.
   */
  private static byte[] loadOrCreateKey(Path dir) throws IOException {
    Path keyFile = dir.resolve(KEY_FILE);
    if (Files.exists(keyFile)) {
      return Files.readAllBytes(keyFile);
    }
    Files.createDirectories(dir);
    Path candidate = dir.resolve(KEY_FILE + "." + UUID.randomUUID());
    byte[] fresh = new byte[32];
    new SecureRandom().nextBytes(fresh);
    Files.createFile(
        candidate,
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    try {
      Files.write(candidate, fresh);
      Durable.sync(candidate);
      Files.createLink(keyFile, candidate);
      return fresh;
    } catch (FileAlreadyExistsException e) {
      return Files.readAllBytes(keyFile);
    } finally {
      Files.deleteIfExists(candidate);
    }
  }
}
