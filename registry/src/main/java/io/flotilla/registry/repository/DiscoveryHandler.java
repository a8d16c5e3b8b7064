package io.flotilla.registry.repository;

import io.flotilla.protocol.oci.Digest;
import io.flotilla.registry.Digests;
import io.flotilla.registry.ErrorCode;
import io.flotilla.registry.RegistryContext;
import io.flotilla.registry.RegistryError;
import io.flotilla.registry.RepositoryName;
import io.flotilla.registry.Responses;
import io.flotilla.registry.auth.Caller;
import io.flotilla.registry.manifest.Manifest;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;

/**
 * Tag lists and the catalog (both paged with {@code n}/{@code last} and {@code Link}), and the
 * referrers API.
 */
public final class DiscoveryHandler {
  public record TagList(String name, List<String> tags) {}

  public record Catalog(List<String> repositories) {}

  public record Descriptor(
      String mediaType,
      String digest,
      long size,
      String artifactType,
      Map<String, String> annotations) {}

  public record ImageIndex(int schemaVersion, String mediaType, List<Descriptor> manifests) {}

  private record Page(List<String> items, Optional<String> next) {}

  private final RegistryContext ctx;

  public DiscoveryHandler(RegistryContext ctx) {
    this.ctx = ctx;
  }

  public CompletionStage<HttpResponse> tags(HttpRequest request, RepositoryName name) {
    OptionalInt n = pageSize(request);
    Optional<String> last = request.getUri().query().get("last");
    return ctx.io()
        .call(
            () -> {
              if (!ctx.repositories().exists(name)) {
                throw new RegistryError(
                    ErrorCode.NAME_UNKNOWN, "repository name not known to registry", name.value());
              }
              Page page = page(ctx.repositories().tags(name), n, last);
              return Responses.json(
                  200,
                  new TagList(name.value(), page.items()),
                  linkHeader("/v2/" + name + "/tags/list", n, page));
            });
  }

  public CompletionStage<HttpResponse> catalog(HttpRequest request, Caller caller) {
    OptionalInt n = pageSize(request);
    Optional<String> last = request.getUri().query().get("last");
    return ctx.io()
        .call(
            () -> {
              List<String> visible =
                  ctx.repositories().repositories().stream()
                      .filter(r -> caller.mayList(r.factory()))
                      .map(RepositoryName::value)
                      .toList();
              Page page = page(visible, n, last);
              return Responses.json(
                  200, new Catalog(page.items()), linkHeader("/v2/_catalog", n, page));
            });
  }

  public CompletionStage<HttpResponse> referrers(
      HttpRequest request, RepositoryName name, String reference) {
    Digest subject = Digests.parse(reference);
    Optional<String> artifactType = request.getUri().query().get("artifactType");
    return ctx.io()
        .call(
            () -> {
              List<Descriptor> descriptors = new ArrayList<>();
              for (Digest referrer : ctx.repositories().referrers(name, subject)) {
                Optional<String> mediaType = ctx.repositories().revisionMediaType(name, referrer);
                if (mediaType.isEmpty()) {
                  continue;
                }
                byte[] content;
                try {
                  content = ctx.blobs().readAll(referrer);
                } catch (NoSuchFileException e) {
                  continue;
                }
                Manifest manifest = Manifest.parse(content, mediaType);
                if (artifactType.isPresent() && !artifactType.equals(manifest.artifactType())) {
                  continue;
                }
                descriptors.add(
                    new Descriptor(
                        mediaType.get(),
                        referrer.toString(),
                        content.length,
                        manifest.artifactType().orElse(null),
                        manifest.annotations().isEmpty() ? null : manifest.annotations()));
              }
              descriptors.sort(Comparator.comparing(Descriptor::digest));
              Map<String, String> headers =
                  artifactType.isPresent()
                      ? Map.of("OCI-Filters-Applied", "artifactType")
                      : Map.of();
              return Responses.json(
                  200,
                  new ImageIndex(2, Manifest.OCI_INDEX, descriptors),
                  Responses.contentType(Manifest.OCI_INDEX),
                  headers);
            });
  }

  private static OptionalInt pageSize(HttpRequest request) {
    Optional<String> n = request.getUri().query().get("n");
    if (n.isEmpty()) {
      return OptionalInt.empty();
    }
    try {
      int value = Integer.parseInt(n.get());
      if (value >= 0) {
        return OptionalInt.of(value);
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw new RegistryError(
        ErrorCode.UNSUPPORTED, 400, "n must be a non-negative integer", n.get(), Map.of());
  }

  private static Page page(List<String> sorted, OptionalInt n, Optional<String> last) {
    List<String> after =
        last.map(l -> sorted.stream().filter(s -> s.compareTo(l) > 0).toList()).orElse(sorted);
    if (n.isEmpty() || after.size() <= n.getAsInt()) {
      return new Page(after, Optional.empty());
    }
    List<String> items = after.subList(0, n.getAsInt());
    return new Page(
        items, items.isEmpty() ? Optional.empty() : Optional.of(items.get(items.size() - 1)));
  }

  private static Map<String, String> linkHeader(String path, OptionalInt n, Page page) {
    Map<String, String> headers = new LinkedHashMap<>();
    page.next()
        .ifPresent(
            next ->
                headers.put(
                    "Link",
                    "<"
                        + path
                        + "?n="
                        + n.getAsInt()
                        + "&last="
                        + URLEncoder.encode(next, StandardCharsets.UTF_8)
                        + ">; rel=\"next\""));
    return headers;
  }
}
