package io.flotilla.gateway.build;

import io.flotilla.builder.image.ReproducibleLayer;
import io.flotilla.builder.registry.RegistryClient;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.oci.Descriptor;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.protocol.oci.ImageManifest;
import io.flotilla.protocol.oci.MediaTypes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A busybox base image written in Java (nothing can be pulled from the internet here): /bin/busybox plus copies
 * named sh, echo and httpd, since busybox picks its applet by the name it is run as. Pushed with the builder's client.
 */
public final class BusyboxImage {

  private BusyboxImage() {}

  public static Digest push(RegistryClient registry, String host, String repository, String tag) throws Exception {
    byte[] busybox = Files.readAllBytes(Path.of("/bin/busybox"));
    Map<String, ReproducibleLayer.Entry> files = new TreeMap<>();
    files.put("bin", new ReproducibleLayer.Entry(null, 0755, 0, 0));
    for (String name : List.of("busybox", "sh", "echo", "httpd", "cat", "ls")) {
      files.put("bin/" + name, new ReproducibleLayer.Entry(busybox, 0755, 0, 0));
    }
    ReproducibleLayer layer = ReproducibleLayer.write(files);
    byte[] config = Json.toBytes(Map.of(
        "architecture", "amd64", "os", "linux",
        "config", Map.of("Env", List.of("PATH=/bin"), "Cmd", List.of("/bin/sh")),
        "rootfs", Map.of("type", "layers", "diff_ids", List.of(layer.diffId().toString()))));
    registry.pushBlob(host, repository, layer.digest(), layer.compressed());
    registry.pushBlob(host, repository, Digest.of(config), config);
    ImageManifest manifest = new ImageManifest(2, MediaTypes.OCI_MANIFEST, null, Descriptor.of(MediaTypes.OCI_CONFIG, config),
        List.of(Descriptor.of(MediaTypes.OCI_LAYER_GZIP, layer.digest(), layer.compressed().length)), null, null);
    return registry.pushManifest(host, repository, tag, MediaTypes.OCI_MANIFEST, Json.toBytes(manifest));
  }
}
