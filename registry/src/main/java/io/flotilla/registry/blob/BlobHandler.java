package io.flotilla.registry.blob;

import io.flotilla.protocol.oci.Digest;
import io.flotilla.registry.Digests;
import io.flotilla.registry.ErrorCode;
import io.flotilla.registry.RegistryContext;
import io.flotilla.registry.RegistryError;
import io.flotilla.registry.RepositoryName;
import io.flotilla.registry.Responses;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/** Blob reads (with Range, so downloads resume) and deletes. */
public final class BlobHandler {
  private static final Pattern SINGLE_RANGE = Pattern.compile("bytes=(\\d*)-(\\d*)");

  private final RegistryContext ctx;

  public BlobHandler(RegistryContext ctx) {
    this.ctx = ctx;
  }

  /** A byte range resolved against the blob's size, both ends inclusive. */
  record ByteRange(long first, long last) {
    long length() {
      return last - first + 1;
    }
  }

  public CompletionStage<HttpResponse> get(
      HttpRequest request, RepositoryName name, String reference, boolean head) {
    Digest digest = Digests.parse(reference);
    return ctx.io()
        .call(
            () -> {
              Optional<Long> size = size(name, digest);
              if (size.isEmpty()) {
                throw new RegistryError(
                    ErrorCode.BLOB_UNKNOWN, "blob unknown to registry", digest.toString());
              }
              return respond(request, digest, size.get(), head);
            });
  }

  /**
   * The blob's size when the repository may read it (pushed or mounted there, or one of its
   * manifests). Blocks.
   */
  public Optional<Long> size(RepositoryName name, Digest digest) throws IOException {
    boolean inRepository =
        ctx.repositories().hasBlobLink(name, digest)
            || ctx.repositories().revisionMediaType(name, digest).isPresent();
    return inRepository ? ctx.blobs().size(digest) : Optional.empty();
  }

  private HttpResponse respond(HttpRequest request, Digest digest, long size, boolean head) {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("Docker-Content-Digest", digest.toString());
    headers.put("Accept-Ranges", "bytes");
    Optional<ByteRange> range =
        request.getHeader("Range").flatMap(h -> parseRange(h.value(), size));
    long first = range.map(ByteRange::first).orElse(0L);
    long length = range.map(ByteRange::length).orElse(size);
    range.ifPresent(
        r -> headers.put("Content-Range", "bytes " + r.first() + "-" + r.last() + "/" + size));
    int status = range.isPresent() ? 206 : 200;
    if (length == 0) {
      return Responses.status(status, headers)
          .withEntity(HttpEntities.create(Responses.OCTET_STREAM, new byte[0]));
    }
    // A HEAD answer carries the length but no bytes; not opening the file keeps it cheap.
    Source<ByteString, ?> data;
    if (head) {
      data = Source.empty();
    } else if (range.isPresent()) {
      data = ctx.blobs().streamRange(digest, first, length, ctx.io().streamAttributes);
    } else {
      data = ctx.blobs().stream(digest, ctx.io().streamAttributes);
    }
    return Responses.status(status, headers)
        .withEntity(HttpEntities.create(Responses.OCTET_STREAM, length, data));
  }

  /**
   * One range, as clients resuming a download send it. Several ranges in one header are answered
   * with the whole blob, which RFC 9110 allows.
   */
  static Optional<ByteRange> parseRange(String header, long size) {
    Matcher m = SINGLE_RANGE.matcher(header.strip());
    if (!m.matches() || (m.group(1).isEmpty() && m.group(2).isEmpty())) {
      return Optional.empty();
    }
    long first;
    long last;
    try {
      if (m.group(1).isEmpty()) {
        long suffix = Long.parseLong(m.group(2));
        first = Math.max(0, size - suffix);
        last = size - 1;
        if (suffix == 0) {
          throw unsatisfiable(size);
        }
      } else {
        first = Long.parseLong(m.group(1));
        last = m.group(2).isEmpty() ? size - 1 : Math.min(Long.parseLong(m.group(2)), size - 1);
      }
    } catch (NumberFormatException e) {
      throw unsatisfiable(size);
    }
    if (first >= size || last < first) {
      throw unsatisfiable(size);
    }
    return Optional.of(new ByteRange(first, last));
  }

  private static RegistryError unsatisfiable(long size) {
    return new RegistryError(
        ErrorCode.BLOB_UNKNOWN,
        416,
        "requested range not satisfiable",
        Map.of("size", size),
        Map.of("Content-Range", "bytes */" + size));
  }

  /**
   * Removes the blob from this repository; its bytes go when garbage collection finds nothing using
   * them.
   */
  public CompletionStage<HttpResponse> delete(RepositoryName name, String reference) {
    Digest digest = Digests.parse(reference);
    return ctx.io()
        .call(
            () -> {
              if (!ctx.repositories().unlinkBlob(name, digest)) {
                throw new RegistryError(
                    ErrorCode.BLOB_UNKNOWN, "blob unknown to repository", digest.toString());
              }
              return Responses.status(202, Map.of("Docker-Content-Digest", digest.toString()));
            });
  }
}
