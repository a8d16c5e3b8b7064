package io.flotilla.registry.upload;

import io.flotilla.protocol.oci.Digest;
import io.flotilla.registry.Digests;
import io.flotilla.registry.ErrorCode;
import io.flotilla.registry.RegistryContext;
import io.flotilla.registry.RegistryError;
import io.flotilla.registry.RepositoryName;
import io.flotilla.registry.Responses;
import io.flotilla.registry.auth.Caller;
import io.flotilla.registry.auth.RegistryAction;
import io.flotilla.registry.upload.UploadStore.Session;
import java.io.IOException;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/** Blob pushes: monolithic, chunked, resumed, and cross-repository mounts. */
public final class UploadHandler {
  /**
   * At most 18 digits: every such number parses as a long, and no upload comes near 10^18 bytes.
   */
  private static final Pattern CONTENT_RANGE =
      Pattern.compile("(?:bytes )?(\\d{1,18})-(\\d{1,18})(?:/.*)?");

  private final RegistryContext ctx;

  public UploadHandler(RegistryContext ctx) {
    this.ctx = ctx;
  }

  /** POST: a mount, a whole blob in one request ({@code ?digest=}), or a new session. */
  public CompletionStage<HttpResponse> start(
      HttpRequest request, RepositoryName name, Caller caller) {
    Optional<String> mount = request.getUri().query().get("mount");
    Optional<String> digestParam = request.getUri().query().get("digest");
    if (mount.isPresent()) {
      Digest digest = Digests.parse(mount.get());
      Optional<RepositoryName> from =
          request.getUri().query().get("from").flatMap(UploadHandler::validName);
      if (from.isPresent() && caller.allows(from.get(), RegistryAction.PULL)) {
        return ctx.io()
            .call(
                () -> {
                  // Touching keeps a concurrent garbage collection from sweeping the blob just
                  // mounted.
                  if (ctx.repositories().hasBlobLink(from.get(), digest)
                      && ctx.blobs().touch(digest)) {
                    ctx.repositories().linkBlob(name, digest);
                    return Optional.of(created(name, digest));
                  }
                  return Optional.<HttpResponse>empty();
                })
            .thenCompose(
                mounted ->
                    mounted
                        .<CompletionStage<HttpResponse>>map(CompletableFuture::completedFuture)
                        .orElseGet(() -> newSession(request, name)));
      }
      return newSession(request, name);
    }
    if (digestParam.isPresent()) {
      Digest expected = Digests.parse(digestParam.get());
      return ctx.io()
          .call(() -> ctx.uploads().create(name))
          .thenCompose(session -> appendAndComplete(request, session, 0, expected));
    }
    return newSession(request, name);
  }

  private CompletionStage<HttpResponse> newSession(HttpRequest request, RepositoryName name) {
    request.discardEntityBytes(ctx.materializer());
    return ctx.io()
        .call(() -> ctx.uploads().create(name))
        .thenApply(session -> Responses.status(202, progressHeaders(session, 0)));
  }

  /** PATCH: appends a chunk, which must start where the session ends. */
  public CompletionStage<HttpResponse> patch(
      HttpRequest request, RepositoryName name, String sessionId) {
    return ctx.io()
        .call(
            () -> {
              Session session = ctx.uploads().find(name, sessionId);
              long offset = ctx.uploads().size(session);
              checkChunkStart(request, session, offset);
              return session;
            })
        .thenCompose(
            session ->
                ctx.uploads()
                    .append(
                        session,
                        body(request),
                        Optional.empty(),
                        ctx.io().streamAttributes,
                        ctx.materializer())
                    .thenCompose(written -> ctx.io().call(() -> ctx.uploads().syncedSize(session)))
                    .thenApply(size -> Responses.status(202, progressHeaders(session, size))));
  }

  /** PUT: the last (possibly empty) chunk and the digest the whole blob must have. */
  public CompletionStage<HttpResponse> complete(
      HttpRequest request, RepositoryName name, String sessionId) {
    Digest expected = Digests.parse(request.getUri().query().get("digest").orElse(null));
    return ctx.io()
        .call(
            () -> {
              Session session = ctx.uploads().find(name, sessionId);
              long offset = ctx.uploads().size(session);
              checkChunkStart(request, session, offset);
              return Map.entry(session, offset);
            })
        .thenCompose(s -> appendAndComplete(request, s.getKey(), s.getValue(), expected));
  }

  public CompletionStage<HttpResponse> status(RepositoryName name, String sessionId) {
    return ctx.io()
        .call(
            () -> {
              Session session = ctx.uploads().find(name, sessionId);
              return Responses.status(204, progressHeaders(session, ctx.uploads().size(session)));
            });
  }

  public CompletionStage<HttpResponse> cancel(RepositoryName name, String sessionId) {
    return ctx.io()
        .call(
            () -> {
              ctx.uploads().delete(ctx.uploads().find(name, sessionId));
              return Responses.status(204, Map.of());
            });
  }

  /**
   * When the whole blob arrives in this request it is hashed as it streams to disk; otherwise the
   * session's file is hashed once more at the end, so no node has to keep hash state between
   * requests.
   */
  private CompletionStage<HttpResponse> appendAndComplete(
      HttpRequest request, Session session, long offset, Digest expected) {
    Optional<MessageDigest> hasher = offset == 0 ? Optional.of(Digest.sha256()) : Optional.empty();
    return ctx.uploads()
        .append(session, body(request), hasher, ctx.io().streamAttributes, ctx.materializer())
        .thenCompose(
            written ->
                hasher
                    .<CompletionStage<Digest>>map(
                        md -> CompletableFuture.completedFuture(Digest.of(md)))
                    .orElseGet(
                        () ->
                            ctx.uploads()
                                .digestOf(session, ctx.io().streamAttributes, ctx.materializer())))
        .thenCompose(
            actual ->
                ctx.io()
                    .call(
                        () -> {
                          finish(session, actual, expected);
                          return created(session.repository(), actual);
                        }));
  }

  /**
   * Ends a session whose data holds the whole blob: a digest other than the expected one deletes
   * the session and fails; otherwise the blob is moved into place and linked into the repository.
   * Blocks.
   */
  public void finish(Session session, Digest actual, Digest expected) throws IOException {
    if (!actual.equals(expected)) {
      ctx.uploads().delete(session);
      throw new RegistryError(
          ErrorCode.DIGEST_INVALID,
          "uploaded content does not match the digest",
          Map.of("expected", expected.toString(), "actual", actual.toString()));
    }
    ctx.blobs().ingest(session.data(), actual);
    ctx.repositories().linkBlob(session.repository(), actual);
    ctx.uploads().delete(session);
  }

  private void checkChunkStart(HttpRequest request, Session session, long offset)
      throws IOException {
    Optional<String> contentRange = request.getHeader("Content-Range").map(h -> h.value());
    if (contentRange.isEmpty()) {
      return;
    }
    Matcher m = CONTENT_RANGE.matcher(contentRange.get().strip());
    if (!m.matches()) {
      throw new RegistryError(
          ErrorCode.BLOB_UPLOAD_INVALID,
          416,
          "invalid Content-Range",
          contentRange.get(),
          progressHeaders(session, offset));
    }
    long start = Long.parseLong(m.group(1));
    long end = Long.parseLong(m.group(2));
    Optional<Long> length =
        request.entity().getContentLengthOption().isPresent()
            ? Optional.of(request.entity().getContentLengthOption().getAsLong())
            : Optional.empty();
    boolean lengthMatches = length.map(l -> l == end - start + 1).orElse(true);
    if (start != offset || end < start || !lengthMatches) {
      throw new RegistryError(
          ErrorCode.BLOB_UPLOAD_INVALID,
          416,
          "chunk out of order: the session holds " + offset + " bytes",
          Map.of("offset", offset, "contentRange", contentRange.get()),
          progressHeaders(session, offset));
    }
  }

  private Source<ByteString, ?> body(HttpRequest request) {
    return request.entity().withoutSizeLimit().getDataBytes();
  }

  private static Map<String, String> progressHeaders(Session session, long size) {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("Location", "/v2/" + session.repository() + "/blobs/uploads/" + session.id());
    // The reference registry answers "0-0" for an empty session too; clients rely on that form.
    headers.put("Range", "0-" + Math.max(0, size - 1));
    headers.put("Docker-Upload-UUID", session.id());
    return headers;
  }

  private static HttpResponse created(RepositoryName name, Digest digest) {
    return Responses.status(
        201,
        Map.of(
            "Location",
            "/v2/" + name + "/blobs/" + digest,
            "Docker-Content-Digest",
            digest.toString()));
  }

  private static Optional<RepositoryName> validName(String value) {
    try {
      return Optional.of(RepositoryName.parse(value));
    } catch (RegistryError e) {
      return Optional.empty();
    }
  }
}
