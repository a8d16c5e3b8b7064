package io.flotilla.registry.manifest;

import io.flotilla.protocol.oci.Digest;
import io.flotilla.registry.Digests;
import io.flotilla.registry.ErrorCode;
import io.flotilla.registry.RegistryContext;
import io.flotilla.registry.RegistryError;
import io.flotilla.registry.RepositoryName;
import io.flotilla.registry.Responses;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.util.ByteStringBuilder;

/** Manifest pulls, pushes (by tag or digest) and deletes. */
public final class ManifestHandler {
  private static final Pattern TAG = Pattern.compile("[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}");
  private static final Duration READ_TIMEOUT = Duration.ofSeconds(60);

  private final RegistryContext ctx;

  public ManifestHandler(RegistryContext ctx) {
    this.ctx = ctx;
  }

  /**
   * A reference that is neither a valid tag nor a sha256 digest names no manifest: 404 {@code
   * MANIFEST_UNKNOWN}, which clients treat as "not there", where a 400 makes them fail.
   */
  public CompletionStage<HttpResponse> get(RepositoryName name, String reference) {
    if (!isReference(reference)) {
      return CompletableFuture.failedFuture(unknown(reference));
    }
    return ctx.io()
        .call(
            () -> {
              Stored stored = find(name, reference).orElseThrow(() -> unknown(reference));
              return Responses.status(
                      200, Map.of("Docker-Content-Digest", stored.digest().toString()))
                  .withEntity(
                      HttpEntities.create(
                          Responses.contentType(stored.mediaType()), stored.content()));
            });
  }

  /**
   * A manifest as stored in a repository: the media type it was pushed with, its bytes and their
   * digest.
   */
  public record Stored(String mediaType, byte[] content, Digest digest) {}

  private static boolean isReference(String reference) {
    return Digests.looksLikeDigest(reference)
        ? Digests.ifValid(reference).isPresent()
        : TAG.matcher(reference).matches();
  }

  /**
   * The manifest a tag or digest names in the repository; empty when there is none (or the
   * reference is invalid). Blocks.
   */
  public Optional<Stored> find(RepositoryName name, String reference) throws IOException {
    if (!isReference(reference)) {
      return Optional.empty();
    }
    Optional<Digest> digest =
        Digests.looksLikeDigest(reference)
            ? Digests.ifValid(reference)
            : ctx.repositories().resolveTag(name, reference);
    if (digest.isEmpty()) {
      return Optional.empty();
    }
    Optional<String> mediaType = ctx.repositories().revisionMediaType(name, digest.get());
    if (mediaType.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(
          new Stored(mediaType.get(), ctx.blobs().readAll(digest.get()), digest.get()));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  public CompletionStage<HttpResponse> put(
      HttpRequest request, RepositoryName name, String reference) {
    Optional<String> tag =
        Digests.looksLikeDigest(reference) ? Optional.empty() : Optional.of(validTag(reference));
    Optional<Digest> expected =
        tag.isPresent() ? Optional.empty() : Optional.of(Digests.parse(reference));
    Optional<String> contentType =
        Optional.of(request.entity().getContentType().mediaType().toString());
    long limit = ctx.settings().maxManifestSize();
    return readBody(request, limit)
        .thenCompose(
            content ->
                ctx.io()
                    .call(
                        () -> {
                          Manifest manifest = accept(name, tag, expected, contentType, content);
                          Digest digest = Digest.of(content);
                          Map<String, String> headers = new LinkedHashMap<>();
                          headers.put("Location", "/v2/" + name + "/manifests/" + digest);
                          headers.put("Docker-Content-Digest", digest.toString());
                          manifest
                              .subject()
                              .ifPresent(subject -> headers.put("OCI-Subject", subject.toString()));
                          return Responses.status(201, headers);
                        }));
  }

  /**
   * Stores a manifest under a tag or its digest, as a PUT does: within the size limit, parsed and
   * checked, every reference present in the repository, durable before it returns. Blocks; a {@link
   * RegistryError} says what is wrong with the input.
   */
  public Manifest put(RepositoryName name, String reference, String mediaType, byte[] content)
      throws IOException {
    Optional<String> tag =
        Digests.looksLikeDigest(reference) ? Optional.empty() : Optional.of(validTag(reference));
    Optional<Digest> expected =
        tag.isPresent() ? Optional.empty() : Optional.of(Digest.parse(reference));
    if (content.length > ctx.settings().maxManifestSize()) {
      throw tooLarge(ctx.settings().maxManifestSize());
    }
    return accept(name, tag, expected, Optional.of(mediaType), content);
  }

  private Manifest accept(
      RepositoryName name,
      Optional<String> tag,
      Optional<Digest> expected,
      Optional<String> contentType,
      byte[] content)
      throws IOException {
    Manifest manifest = Manifest.parse(content, contentType);
    Digest actual = Digest.of(content);
    if (expected.isPresent() && !expected.get().equals(actual)) {
      throw new RegistryError(
          ErrorCode.DIGEST_INVALID,
          "manifest content does not match the digest",
          Map.of("expected", expected.get().toString(), "actual", actual.toString()));
    }
    store(name, tag, manifest, content, actual);
    return manifest;
  }

  private void store(
      RepositoryName name, Optional<String> tag, Manifest manifest, byte[] content, Digest digest)
      throws IOException {
    List<String> missing = new ArrayList<>();
    for (Digest blob : manifest.blobs()) {
      // Touching refreshes the blob's age, so a garbage collection running now keeps it.
      if (!ctx.repositories().hasBlobLink(name, blob) || !ctx.blobs().touch(blob)) {
        missing.add(blob.toString());
      }
    }
    for (Digest child : manifest.childManifests()) {
      if (ctx.repositories().revisionMediaType(name, child).isEmpty()
          || !ctx.blobs().touch(child)) {
        missing.add(child.toString());
      }
    }
    if (!missing.isEmpty()) {
      throw new RegistryError(
          ErrorCode.MANIFEST_BLOB_UNKNOWN,
          "manifest references content this repository does not have",
          Map.of("missing", missing));
    }
    ctx.blobs().put(content);
    ctx.repositories().putRevision(name, digest, manifest.mediaType());
    if (manifest.subject().isPresent()) {
      ctx.repositories().addReferrer(name, manifest.subject().get(), digest);
    }
    if (tag.isPresent()) {
      ctx.repositories().putTag(name, tag.get(), digest);
    }
  }

  /**
   * By tag: removes only the tag. By digest: removes the manifest, every tag on it and its referrer
   * entry.
   */
  public CompletionStage<HttpResponse> delete(RepositoryName name, String reference) {
    if (!Digests.looksLikeDigest(reference)) {
      String tag = validTag(reference);
      return ctx.io()
          .call(
              () -> {
                if (!ctx.repositories().deleteTag(name, tag)) {
                  throw unknown(reference);
                }
                return Responses.status(202, Map.of());
              });
    }
    Digest digest = Digests.parse(reference);
    return ctx.io()
        .call(
            () -> {
              if (ctx.repositories().revisionMediaType(name, digest).isEmpty()) {
                throw unknown(reference);
              }
              for (String tag : ctx.repositories().tags(name)) {
                if (ctx.repositories().resolveTag(name, tag).filter(digest::equals).isPresent()) {
                  ctx.repositories().deleteTag(name, tag);
                }
              }
              Optional<Digest> subject = storedManifest(digest).flatMap(Manifest::subject);
              if (subject.isPresent()) {
                ctx.repositories().removeReferrer(name, subject.get(), digest);
              }
              ctx.repositories().deleteRevision(name, digest);
              return Responses.status(202, Map.of());
            });
  }

  /** A manifest already accepted once; empty if its bytes are gone. */
  public Optional<Manifest> storedManifest(Digest digest) throws IOException {
    try {
      return Optional.of(Manifest.parse(ctx.blobs().readAll(digest), Optional.empty()));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  private static String validTag(String reference) {
    if (!TAG.matcher(reference).matches()) {
      throw new RegistryError(ErrorCode.MANIFEST_INVALID, "invalid tag", reference);
    }
    return reference;
  }

  private static RegistryError unknown(String reference) {
    return new RegistryError(ErrorCode.MANIFEST_UNKNOWN, "manifest unknown", reference);
  }

  private static RegistryError tooLarge(long limit) {
    return new RegistryError(
        ErrorCode.SIZE_INVALID, 413, "manifest larger than " + limit + " bytes");
  }

  /**
   * The manifest's bytes, at most {@code limit}. A body over the limit is refused with 413 only
   * after it has been read to its end, whatever its size: answering before makes pekko-http close
   * the connection with bytes unread, and the reset that follows can destroy the 413 before the
   * client reads it (a 20 MiB manifest lost it every time). Reading on costs the server bandwidth
   * only, as a blob upload of the same size would, and keeps nothing past the limit; {@link
   * #READ_TIMEOUT} bounds how long.
   */
  private CompletionStage<byte[]> readBody(HttpRequest request, long limit) {
    return request
        .entity()
        .withoutSizeLimit()
        .getDataBytes()
        .completionTimeout(READ_TIMEOUT)
        .runFold(new BoundedBody(limit), BoundedBody::add, ctx.materializer())
        .thenApply(BoundedBody::content);
  }

  /**
   * Keeps a body's bytes up to the limit and counts the rest (the kept bytes are useless past it);
   * one instance per request, used by one stream.
   */
  private static final class BoundedBody {
    private final ByteStringBuilder kept = ByteString.createBuilder();
    private final long limit;
    private long received;

    BoundedBody(long limit) {
      this.limit = limit;
    }

    BoundedBody add(ByteString chunk) {
      received += chunk.size();
      if (received <= limit) {
        kept.append(chunk);
      }
      return this;
    }

    byte[] content() {
      if (received > limit) {
        throw tooLarge(limit);
      }
      return kept.result().toArray();
    }
  }
}
