package io.flotilla.builder.image;

import io.flotilla.builder.registry.RegistryClient;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.oci.Descriptor;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.protocol.oci.ImageManifest;
import io.flotilla.protocol.oci.MediaTypes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A busybox base image made from the host's static busybox, for machines that cannot pull one (the
 * demo, tests): /bin/busybox plus copies under applet names, since busybox picks its applet by the
 * name it is run as.
 */
public final class BusyboxBaseImage {

  public static final Path HOST_BUSYBOX = Path.of("/bin/busybox");
  private static final List<String> APPLETS =
      List.of("busybox", "sh", "echo", "httpd", "cat", "ls", "sleep", "wget");

  private BusyboxBaseImage() {}

  /**
   * Pushes the image as {@code <repository>:<tag>} to {@code host} and answers its manifest digest.
   */
  public static Digest push(RegistryClient registry, String host, String repository, String tag)
      throws IOException {
    byte[] busybox = Files.readAllBytes(HOST_BUSYBOX);
    Map<String, ReproducibleLayer.Entry> files = new TreeMap<>();
    files.put("bin", new ReproducibleLayer.Entry(null, 0755, 0, 0));
    for (String applet : APPLETS) {
      files.put("bin/" + applet, new ReproducibleLayer.Entry(busybox, 0755, 0, 0));
    }
    ReproducibleLayer layer = ReproducibleLayer.write(files);
    byte[] config =
        Json.toBytes(
            Map.of(
                "architecture",
                "amd64",
                "os",
                "linux",
                "config",
                Map.of("Env", List.of("PATH=/bin"), "Cmd", List.of("/bin/sh")),
                "rootfs",
                Map.of("type", "layers", "diff_ids", List.of(layer.diffId().toString()))));
    registry.pushBlob(host, repository, layer.digest(), layer.compressed());
    registry.pushBlob(host, repository, Digest.of(config), config);
    ImageManifest manifest =
        new ImageManifest(
            2,
            MediaTypes.OCI_MANIFEST,
            null,
            Descriptor.of(MediaTypes.OCI_CONFIG, config),
            List.of(
                Descriptor.of(
                    MediaTypes.OCI_LAYER_GZIP, layer.digest(), layer.compressed().length)),
            null,
            null);
    return registry.pushManifest(
        host, repository, tag, MediaTypes.OCI_MANIFEST, Json.toBytes(manifest));
  }
}
