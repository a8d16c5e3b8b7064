package io.flotilla.agent.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.agent.Failures;
import io.flotilla.protocol.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLEncoder;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The Docker Engine API over its unix socket (also served by {@code podman system service}). The
 * JDK's HttpClient cannot speak over a unix socket, so this is a small HTTP/1.1 client: one request
 * per connection ({@code Connection: close}), bodies by length or chunked.
 */
public final class DockerEngine {

  private static final String API = "/v1.41";

  private final Path socket;

  public DockerEngine(Path socket) {
    this.socket = socket;
  }

  /**
   * The engine named by {@code DOCKER_HOST} ({@code unix://...} only), else the standard socket.
   */
  public static DockerEngine fromDockerHost(String dockerHost) {
    if (dockerHost == null || dockerHost.isBlank()) {
      return new DockerEngine(Path.of("/var/run/docker.sock"));
    }
    if (!dockerHost.startsWith("unix://")) {
      throw new IllegalArgumentException(
          "only unix:// DOCKER_HOST values are supported, not " + dockerHost);
    }
    return new DockerEngine(Path.of(dockerHost.substring("unix://".length())));
  }

  public String dockerHost() {
    return "unix://" + socket;
  }

  public record Response(int status, Map<String, String> headers, byte[] body) {
    public JsonNode json() throws IOException {
      return Json.mapper().readTree(body);
    }

    public String text() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  public boolean ping() {
    try {
      return request("GET", "/_ping", null, null).status() == 200;
    } catch (IOException e) {
      return false;
    }
  }

  public JsonNode version() throws IOException {
    return expectOk(request("GET", API + "/version", null, null)).json();
  }

  /**
   * All containers (running or not) carrying every one of the given labels ({@code key} or {@code
   * key=value}).
   */
  public JsonNode containers(List<String> labelFilters) throws IOException {
    String filters = Json.mapper().writeValueAsString(Map.of("label", labelFilters));
    return expectOk(
            request(
                "GET",
                API
                    + "/containers/json?all=1&filters="
                    + URLEncoder.encode(filters, StandardCharsets.UTF_8),
                null,
                null))
        .json();
  }

  public JsonNode inspectContainer(String id) throws IOException {
    return expectOk(request("GET", API + "/containers/" + id + "/json", null, null)).json();
  }

  public boolean imageExists(String reference) throws IOException {
    int status = request("GET", API + "/images/" + reference + "/json", null, null).status();
    if (status != 200 && status != 404) {
      throw new IOException("inspecting image " + reference + " answered " + status);
    }
    return status == 200;
  }

  /** Every tag of every image the engine has. */
  public List<String> imageTags() throws IOException {
    List<String> tags = new ArrayList<>();
    for (JsonNode image : expectOk(request("GET", API + "/images/json", null, null)).json()) {
      image.path("RepoTags").forEach(tag -> tags.add(tag.asText()));
    }
    return tags;
  }

  /**
   * {@code DELETE /images/<reference>} without force: removes the tag, and the image once no tag is
   * left. False when the engine refuses because a container uses the image (409); an image already
   * gone counts as removed.
   */
  public boolean removeImage(String reference) throws IOException {
    Response response = request("DELETE", API + "/images/" + reference, null, null);
    if (response.status() == 409) {
      return false;
    }
    if (response.status() != 404) {
      expectOk(response);
    }
    return true;
  }

  /**
   * {@code POST /images/load} with a docker-archive tarball; the engine's progress output is
   * returned.
   */
  public String loadImage(Path tarball) throws IOException {
    return expectOk(request("POST", API + "/images/load?quiet=1", "application/x-tar", tarball))
        .text();
  }

  private static Response expectOk(Response response) throws IOException {
    if (response.status() / 100 != 2) {
      throw new IOException(
          "container engine answered " + response.status() + ": " + response.text().strip());
    }
    return response;
  }

  private Response request(String method, String path, String contentType, Path body)
      throws IOException {
    try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
      OutputStream out = Channels.newOutputStream(channel);
      StringBuilder head =
          new StringBuilder()
              .append(method)
              .append(' ')
              .append(path)
              .append(" HTTP/1.1\r\n")
              .append("Host: docker\r\nConnection: close\r\n");
      if (body != null) {
        head.append("Content-Type: ")
            .append(contentType)
            .append("\r\nContent-Length: ")
            .append(Files.size(body))
            .append("\r\n");
      }
      out.write(head.append("\r\n").toString().getBytes(StandardCharsets.US_ASCII));
      if (body != null) {
        Files.copy(body, out);
      }
      out.flush();
      return read(Channels.newInputStream(channel));
    } catch (IOException e) {
      throw new IOException("container engine at " + socket + ": " + Failures.describe(e), e);
    }
  }

  private static Response read(InputStream in) throws IOException {
    String statusLine = line(in);
    String[] parts = statusLine.split(" ", 3);
    if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
      throw new IOException("not an HTTP response: " + statusLine);
    }
    int status = Integer.parseInt(parts[1]);
    Map<String, String> headers = new TreeMap<>();
    for (String line; !(line = line(in)).isEmpty(); ) {
      int colon = line.indexOf(':');
      if (colon > 0) {
        headers.put(
            line.substring(0, colon).trim().toLowerCase(Locale.ROOT),
            line.substring(colon + 1).trim());
      }
    }
    byte[] body;
    if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      for (int size; (size = Integer.parseInt(line(in).split(";")[0].trim(), 16)) > 0; ) {
        bytes.write(in.readNBytes(size));
        line(in);
      }
      body = bytes.toByteArray();
    } else if (headers.containsKey("content-length")) {
      body = in.readNBytes(Integer.parseInt(headers.get("content-length")));
    } else {
      body = in.readAllBytes();
    }
    return new Response(status, headers, body);
  }

  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    for (int b; (b = in.read()) != '\n'; ) {
      if (b < 0) {
        throw new IOException("connection closed mid-response");
      }
      if (b != '\r') {
        line.write(b);
      }
    }
    return line.toString(StandardCharsets.ISO_8859_1);
  }
}
