package io.flotilla.builder.registry;

import java.net.URI;
import java.util.Optional;
import java.util.Set;

/**
 * How the builder reaches registries. {@code ownHost} is the host name that app URIs and pinned
 * images carry (what devices use); {@code ownBase} is where this node reaches that same registry,
 * which may differ (a node behind a load balancer pushes to itself). Other hosts are external
 * registries, reached over HTTPS unless listed as insecure, anonymously.
 */
public record RegistryEndpoints(
    String ownHost, URI ownBase, String username, String password, Set<String> insecureHosts) {

  public RegistryEndpoints {
    insecureHosts = Set.copyOf(insecureHosts);
  }

  public RegistryEndpoints withPassword(String newPassword) {
    return new RegistryEndpoints(ownHost, ownBase, username, newPassword, insecureHosts);
  }

  public boolean isOwn(String host) {
    return ownHost.equals(host);
  }

  public URI base(String host) {
    if (isOwn(host)) {
      return ownBase;
    }
    return URI.create((insecureHosts.contains(host) ? "http://" : "https://") + host);
  }

  /** Basic credentials for a host: only our own registry gets the build's token. */
  public Optional<String> basicPassword(String host) {
    return isOwn(host) && password != null ? Optional.of(password) : Optional.empty();
  }
}
