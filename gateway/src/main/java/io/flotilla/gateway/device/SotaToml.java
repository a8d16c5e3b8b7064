package io.flotilla.gateway.device;

import io.flotilla.core.device.Device;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code sota.toml} of a registration answer (§7): where the gateway and its apps proxy are and
 * where the agent keeps its TLS files, plus the registration's {@code overrides}, whose values are
 * literal TOML and are written verbatim.
 */
final class SotaToml {

  private SotaToml() {}

  static String render(
      String serverUrl,
      Device.Summary device,
      String configDir,
      Map<String, Map<String, String>> overrides) {
    String dir = configDir == null || configDir.isBlank() ? "/var/sota" : configDir;
    Map<String, Map<String, String>> sections = new LinkedHashMap<>();
    section(sections, "tls").put("server", quoted(serverUrl));
    section(sections, "tls").put("ca_source", quoted("file"));
    section(sections, "tls").put("pkey_source", quoted("file"));
    section(sections, "tls").put("cert_source", quoted("file"));
    section(sections, "provision").put("server", quoted(serverUrl));
    section(sections, "provision").put("primary_ecu_hardware_id", quoted(device.hardwareId()));
    section(sections, "uptane").put("repo_server", quoted(serverUrl + "/repo"));
    section(sections, "uptane").put("key_source", quoted("file"));
    section(sections, "pacman").put("type", quoted("ostree+compose_apps"));
    // fioup POSTs here for the apps proxy URL, and trusts the proxy by import.tls_cacert_path (see
    // AppsProxy)
    section(sections, "pacman")
        .put("compose_apps_proxy", quoted(serverUrl + "/" + AppsProxy.URL_PATH));
    if (device.tag() != null) {
      section(sections, "pacman").put("tags", quoted(device.tag()));
    }
    section(sections, "storage").put("path", quoted(dir));
    section(sections, "import").put("base_path", quoted(dir));
    section(sections, "import").put("tls_cacert_path", quoted(dir + "/root.crt"));
    section(sections, "import").put("tls_clientcert_path", quoted(dir + "/client.pem"));
    section(sections, "import").put("tls_pkey_path", quoted(dir + "/pkey.pem"));
    if (overrides != null) {
      overrides.forEach(
          (name, values) -> {
            if (values != null && isBareKey(name)) {
              values.forEach(
                  (key, literal) -> {
                    if (isBareKey(key) && literal != null && literal.indexOf('\n') < 0) {
                      section(sections, name).put(key, literal.strip());
                    }
                  });
            }
          });
    }
    StringBuilder toml = new StringBuilder();
    sections.forEach(
        (name, values) -> {
          toml.append('[').append(name).append("]\n");
          values.forEach((key, value) -> toml.append(key).append(" = ").append(value).append('\n'));
          toml.append('\n');
        });
    return toml.toString();
  }

  private static Map<String, String> section(
      Map<String, Map<String, String>> sections, String name) {
    return sections.computeIfAbsent(name, n -> new LinkedHashMap<>());
  }

  /** Override names become TOML keys unquoted, so only bare-key characters pass. */
  private static boolean isBareKey(String key) {
    return key != null && key.matches("[A-Za-z0-9_-]{1,64}");
  }

  static String quoted(String value) {
    return "\"" + (value == null ? "" : value.replace("\\", "\\\\").replace("\"", "\\\"")) + "\"";
  }
}
