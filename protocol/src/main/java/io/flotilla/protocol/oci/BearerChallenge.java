package io.flotilla.protocol.oci;

import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A parsed {@code WWW-Authenticate: Bearer realm="...",service="...",scope="..."} challenge. */
public record BearerChallenge(String realm, String service, String scope) {

  private static final Pattern PARAM = Pattern.compile("(\\w+)=\"([^\"]*)\"|(\\w+)=([^,\\s]+)");

  public static Optional<BearerChallenge> parse(String header) {
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return Optional.empty();
    }
    Map<String, String> params = new LinkedHashMap<>();
    Matcher m = PARAM.matcher(header.substring(7));
    while (m.find()) {
      if (m.group(1) != null) {
        params.put(m.group(1).toLowerCase(), m.group(2));
      } else {
        params.put(m.group(3).toLowerCase(), m.group(4));
      }
    }
    String realm = params.get("realm");
    return realm == null
        ? Optional.empty()
        : Optional.of(new BearerChallenge(realm, params.get("service"), params.get("scope")));
  }

  /** The scope to ask the token endpoint for: the challenge's own, else {@code fallback}. */
  public String scopeOr(String fallback) {
    return scope != null ? scope : fallback;
  }

  /** The token endpoint's address for {@link #scopeOr}{@code (fallbackScope)} and the service. */
  public URI tokenUri(String fallbackScope) {
    StringBuilder query =
        new StringBuilder(realm)
            .append(realm.contains("?") ? '&' : '?')
            .append("scope=")
            .append(URLEncoder.encode(scopeOr(fallbackScope), StandardCharsets.UTF_8));
    if (service != null) {
      query.append("&service=").append(URLEncoder.encode(service, StandardCharsets.UTF_8));
    }
    return URI.create(query.toString());
  }
}
