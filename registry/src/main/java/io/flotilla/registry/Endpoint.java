package io.flotilla.registry;

import io.flotilla.registry.auth.RegistryAction;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Which registry endpoint a request path names, and what access each method on it needs. */
record Endpoint(Kind kind, RepositoryName name, String reference) {

  enum Kind {
    BASE,
    TOKEN,
    CATALOG,
    MANIFEST,
    BLOB,
    UPLOAD,
    TAGS,
    REFERRERS
  }

  /** What a caller must be allowed; no repository means any authenticated caller will do. */
  record Requirement(
      Optional<RepositoryName> repository, RegistryAction action, Optional<String> scope) {}

  private static final Pattern MANIFEST = Pattern.compile("(.+)/manifests/([^/]+)");
  private static final Pattern UPLOAD = Pattern.compile("(.+)/blobs/uploads/?([^/]*)");
  private static final Pattern BLOB = Pattern.compile("(.+)/blobs/([^/]+)");
  private static final Pattern TAGS = Pattern.compile("(.+)/tags/list");
  private static final Pattern REFERRERS = Pattern.compile("(.+)/referrers/([^/]+)");

  static Endpoint parse(String path) {
    String rest = path.length() <= 4 ? "" : path.substring(4);
    switch (rest) {
      case "":
        return new Endpoint(Kind.BASE, null, null);
      case "token":
        return new Endpoint(Kind.TOKEN, null, null);
      case "_catalog":
        return new Endpoint(Kind.CATALOG, null, null);
      default:
        break;
    }
    Matcher m;
    if ((m = MANIFEST.matcher(rest)).matches()) {
      return new Endpoint(Kind.MANIFEST, RepositoryName.parse(m.group(1)), m.group(2));
    }
    if ((m = UPLOAD.matcher(rest)).matches()) {
      return new Endpoint(Kind.UPLOAD, RepositoryName.parse(m.group(1)), m.group(2));
    }
    if ((m = BLOB.matcher(rest)).matches()) {
      return new Endpoint(Kind.BLOB, RepositoryName.parse(m.group(1)), m.group(2));
    }
    if ((m = TAGS.matcher(rest)).matches()) {
      return new Endpoint(Kind.TAGS, RepositoryName.parse(m.group(1)), null);
    }
    if ((m = REFERRERS.matcher(rest)).matches()) {
      return new Endpoint(Kind.REFERRERS, RepositoryName.parse(m.group(1)), m.group(2));
    }
    throw new RegistryError(
        ErrorCode.NAME_UNKNOWN, 404, "no such registry endpoint", path, Map.of());
  }

  /**
   * @param mountFrom the {@code from} of a cross-repository mount ({@code POST
   *     .../blobs/uploads/?mount=&from=}): its pull scope is challenged for together with the
   *     target's push, as distribution does, so that a client following the challenge gets a token
   *     that mounts
   */
  Requirement requirement(String method, Optional<String> mountFrom) {
    Set<String> allowed =
        switch (kind) {
          case BASE -> Set.of("GET", "HEAD");
          case TOKEN, CATALOG, TAGS, REFERRERS -> Set.of("GET");
          case MANIFEST -> Set.of("GET", "HEAD", "PUT", "DELETE");
          case BLOB -> Set.of("GET", "HEAD", "DELETE");
          case UPLOAD ->
              reference.isEmpty() ? Set.of("POST") : Set.of("GET", "PATCH", "PUT", "DELETE");
        };
    if (!allowed.contains(method)) {
      throw new RegistryError(
          ErrorCode.UNSUPPORTED,
          405,
          "method not allowed here",
          method,
          Map.of("Allow", String.join(", ", allowed)));
    }
    if (kind == Kind.BASE) {
      return new Requirement(Optional.empty(), RegistryAction.PULL, Optional.empty());
    }
    if (kind == Kind.CATALOG) {
      return new Requirement(
          Optional.empty(), RegistryAction.PULL, Optional.of("registry:catalog:*"));
    }
    boolean reads = method.equals("GET") && kind != Kind.UPLOAD || method.equals("HEAD");
    RegistryAction action =
        reads
            ? RegistryAction.PULL
            : method.equals("DELETE") && kind != Kind.UPLOAD
                ? RegistryAction.DELETE
                : RegistryAction.PUSH;
    String actions = action == RegistryAction.PUSH ? "pull,push" : action.scopeName();
    String scope = "repository:" + name + ":" + actions;
    Optional<RepositoryName> source =
        kind == Kind.UPLOAD && method.equals("POST")
            ? mountFrom.flatMap(RepositoryName::ifValid)
            : Optional.empty();
    if (source.isPresent()) {
      scope += " repository:" + source.get() + ":pull";
    }
    return new Requirement(Optional.of(name), action, Optional.of(scope));
  }
}
