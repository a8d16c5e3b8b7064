package io.flotilla.agent.store;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Downloads a blob over HTTP, asking for the missing tail with {@code Range: bytes=<offset>-}. A
 * server that ignores the range (200) or refuses it (416) is treated as "start over".
 */
public final class HttpBlobSource implements BlobSource {

  private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-\\d+/(\\d+|\\*)");

  private final HttpClient client;
  private final URI uri;
  private final UnaryOperator<HttpRequest.Builder> decorate;
  private final Duration timeout;

  /**
   * {@code decorate} adds headers such as Authorization to each request; {@code timeout} bounds the
   * wait for the response and every pause in the body.
   */
  public HttpBlobSource(
      HttpClient client, URI uri, UnaryOperator<HttpRequest.Builder> decorate, Duration timeout) {
    this.client = client;
    this.uri = uri;
    this.decorate = decorate;
    this.timeout = timeout;
  }

  @Override
  public Body open(long offset) throws IOException {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri).GET().timeout(timeout);
    if (offset > 0) {
      request.header("Range", "bytes=" + offset + "-");
    }
    HttpResponse<InputStream> response = send(decorate.apply(request).build());
    int status = response.statusCode();
    if (status == 206 && offset > 0) {
      Matcher range =
          CONTENT_RANGE.matcher(response.headers().firstValue("Content-Range").orElse(""));
      if (range.matches() && Long.parseLong(range.group(1)) == offset) {
        return new Body(new StallGuard(response.body(), timeout), offset);
      }
      response.body().close();
      return open(0);
    }
    if (status == 416 && offset > 0) {
      response.body().close();
      return open(0);
    }
    if (status == 200) {
      return new Body(new StallGuard(response.body(), timeout), 0);
    }
    response.body().close();
    throw new IOException("GET " + uri + " answered " + status);
  }

  private HttpResponse<InputStream> send(HttpRequest request) throws IOException {
    try {
      return client.send(request, HttpResponse.BodyHandlers.ofInputStream());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while downloading " + uri, e);
    }
  }
}
