package io.flotilla.registry;

import io.flotilla.registry.blob.BlobStore;
import io.flotilla.registry.repository.RepositoryStore;
import io.flotilla.registry.upload.UploadStore;
import org.apache.pekko.stream.Materializer;

/** What every request handler shares. */
public record RegistryContext(
    RegistrySettings settings,
    BlockingIo io,
    Materializer materializer,
    BlobStore blobs,
    UploadStore uploads,
    RepositoryStore repositories) {}
