package io.flotilla.protocol.device;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Body of {@code POST /apps-states} (§4); the server answers 400 when {@code deviceTime} is not RFC
 * 3339.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record AppsStates(String ostree, String deviceTime, Map<String, AppState> apps) {

  public static final String HEALTHY = "healthy";
  public static final String UNHEALTHY = "unhealthy";

  public AppsStates {
    apps = apps == null ? Map.of() : Collections.unmodifiableMap(new TreeMap<>(apps));
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record AppState(String uri, String state, List<ServiceState> services) {
    public AppState {
      services = services == null ? List.of() : List.copyOf(services);
    }
  }

  /**
   * {@code hash} is the service's {@code io.compose-spec.config-hash}; {@code state}/{@code status}
   * come from the engine.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record ServiceState(
      String name,
      String hash,
      String state,
      String status,
      String health,
      String image,
      String logs) {}
}
