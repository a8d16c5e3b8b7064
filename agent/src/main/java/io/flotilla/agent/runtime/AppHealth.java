package io.flotilla.agent.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.protocol.composeapp.ComposeAppFormat;
import io.flotilla.protocol.device.AppsStates;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Reads an app's health from its containers for {@code /apps-states}: each service of the installed
 * compose file must have a container carrying its config-hash that is running and not unhealthy.
 */
public final class AppHealth {

  private static final String PROJECT_LABEL = "com.docker.compose.project";
  private static final String SERVICE_LABEL = "com.docker.compose.service";

  private AppHealth() {}

  /** {@code configHashes}: service → expected config-hash, from the installed compose file. */
  public static AppsStates.AppState of(
      DockerEngine engine, String app, String uri, Map<String, String> configHashes)
      throws IOException {
    JsonNode containers = engine.containers(List.of(PROJECT_LABEL + "=" + app));
    List<AppsStates.ServiceState> services = new ArrayList<>();
    boolean healthy = true;
    for (Map.Entry<String, String> service : configHashes.entrySet()) {
      JsonNode container = find(containers, service.getKey(), service.getValue());
      if (container == null) {
        services.add(
            new AppsStates.ServiceState(
                service.getKey(), service.getValue(), "missing", "no container", null, null, null));
        healthy = false;
        continue;
      }
      String state = container.path("State").asText();
      String status = container.path("Status").asText();
      String health =
          status.contains("(unhealthy)")
              ? "unhealthy"
              : status.contains("(healthy)") ? "healthy" : null;
      healthy &= "running".equals(state) && !"unhealthy".equals(health);
      services.add(
          new AppsStates.ServiceState(
              service.getKey(),
              service.getValue(),
              state,
              status,
              health,
              container.path("Image").asText(null),
              null));
    }
    return new AppsStates.AppState(
        uri, healthy ? AppsStates.HEALTHY : AppsStates.UNHEALTHY, services);
  }

  private static JsonNode find(JsonNode containers, String service, String hash) {
    for (JsonNode container : containers) {
      JsonNode labels = container.path("Labels");
      if (service.equals(labels.path(SERVICE_LABEL).asText())
          && hash.equals(labels.path(ComposeAppFormat.CONFIG_HASH_LABEL).asText())) {
        return container;
      }
    }
    return null;
  }
}
