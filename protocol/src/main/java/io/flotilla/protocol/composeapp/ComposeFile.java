package io.flotilla.protocol.composeapp;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.oci.Digest;
import java.io.IOException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A {@code docker-compose.yml} as a tree: the builder pins images, drops {@code build:} and adds
 * the config-hash labels; the agent reads the images to fetch and the hashes to recognise its
 * containers. YAML anchors are resolved on reading, but merge keys ({@code <<:}) are not supported
 * by the parser and stay literal keys.
 */
public final class ComposeFile {

  private static final YAMLMapper YAML =
      new YAMLMapper(
          YAMLFactory.builder()
              .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
              .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
              .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
              .build());

  private final ObjectNode root;

  private ComposeFile(ObjectNode root) {
    this.root = root;
  }

  public static ComposeFile parse(byte[] yaml) {
    AppBundle.requireComposeSize(yaml.length);
    JsonNode node;
    try {
      node = YAML.readTree(yaml);
    } catch (IOException e) {
      throw new ComposeAppException("invalid compose YAML: " + e.getMessage(), e);
    }
    if (node == null || !node.isObject()) {
      throw new ComposeAppException("compose file is not a YAML mapping");
    }
    JsonNode services = node.get("services");
    if (services == null || !services.isObject() || services.isEmpty()) {
      throw new ComposeAppException("compose file has no services");
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = services.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> service = it.next();
      if (!service.getValue().isObject()) {
        throw new ComposeAppException("service " + service.getKey() + " is not a mapping");
      }
    }
    return new ComposeFile((ObjectNode) node);
  }

  /**
   * Service name → its {@code image:} (null when it has none, e.g. build-only before the builder
   * ran).
   */
  public Map<String, String> serviceImages() {
    Map<String, String> images = new LinkedHashMap<>();
    services()
        .fields()
        .forEachRemaining(
            e -> {
              JsonNode image = e.getValue().get("image");
              images.put(e.getKey(), image != null && image.isTextual() ? image.asText() : null);
            });
    return images;
  }

  /**
   * Service name → the value of its {@value ComposeAppFormat#CONFIG_HASH_LABEL} label, where
   * present.
   */
  public Map<String, String> configHashLabels() {
    Map<String, String> hashes = new LinkedHashMap<>();
    services()
        .fields()
        .forEachRemaining(
            e -> {
              String hash = label(e.getValue(), ComposeAppFormat.CONFIG_HASH_LABEL);
              if (hash != null) {
                hashes.put(e.getKey(), hash);
              }
            });
    return hashes;
  }

  /**
   * Returns a copy in which each named service runs the given (digest-pinned) image, has no {@code
   * build:}, and carries its config-hash label. Services not named keep their image.
   */
  public ComposeFile pinned(Map<String, String> imageByService) {
    ObjectNode copy = root.deepCopy();
    ObjectNode services = (ObjectNode) copy.get("services");
    imageByService.forEach(
        (name, image) -> {
          JsonNode service = services.get(name);
          if (service == null) {
            throw new ComposeAppException("compose file has no service " + name);
          }
          ((ObjectNode) service).put("image", image);
          ((ObjectNode) service).remove("build");
        });
    services
        .fields()
        .forEachRemaining(
            e ->
                setLabel(
                    (ObjectNode) e.getValue(),
                    ComposeAppFormat.CONFIG_HASH_LABEL,
                    configHash(e.getValue())));
    return new ComposeFile(copy);
  }

  /**
   * sha256 hex of the service's config as canonical JSON, computed without the config-hash label
   * itself (and without an empty {@code labels} that removing it would leave), so adding the label
   * does not change the hash.
   */
  public static String configHash(JsonNode service) {
    ObjectNode copy = (ObjectNode) service.deepCopy();
    JsonNode labels = copy.get("labels");
    if (labels instanceof ObjectNode map) {
      map.remove(ComposeAppFormat.CONFIG_HASH_LABEL);
    } else if (labels instanceof ArrayNode list) {
      for (int i = list.size() - 1; i >= 0; i--) {
        if (list.get(i).asText().startsWith(ComposeAppFormat.CONFIG_HASH_LABEL + "=")) {
          list.remove(i);
        }
      }
    }
    if (labels != null && labels.isEmpty()) {
      copy.remove("labels");
    }
    return Digest.of(Json.canonical(copy)).hex();
  }

  public Map<String, String> configHashes() {
    Map<String, String> hashes = new LinkedHashMap<>();
    services().fields().forEachRemaining(e -> hashes.put(e.getKey(), configHash(e.getValue())));
    return hashes;
  }

  public byte[] toBytes() {
    try {
      byte[] bytes = YAML.writeValueAsBytes(root);
      AppBundle.requireComposeSize(bytes.length);
      return bytes;
    } catch (JsonProcessingException e) {
      throw new ComposeAppException("cannot write compose file: " + e.getMessage(), e);
    }
  }

  private ObjectNode services() {
    return (ObjectNode) root.get("services");
  }

  private static String label(JsonNode service, String key) {
    JsonNode labels = service.get("labels");
    if (labels instanceof ObjectNode map) {
      JsonNode value = map.get(key);
      return value == null ? null : value.asText();
    }
    if (labels instanceof ArrayNode list) {
      for (JsonNode item : list) {
        String text = item.asText();
        if (text.startsWith(key + "=")) {
          return text.substring(key.length() + 1);
        }
      }
    }
    return null;
  }

  private static void setLabel(ObjectNode service, String key, String value) {
    JsonNode labels = service.get("labels");
    if (labels instanceof ArrayNode list) {
      for (int i = list.size() - 1; i >= 0; i--) {
        if (list.get(i).asText().startsWith(key + "=")) {
          list.remove(i);
        }
      }
      list.add(key + "=" + value);
    } else if (labels instanceof ObjectNode map) {
      map.put(key, value);
    } else {
      service.putObject("labels").put(key, value);
    }
  }
}
