package io.flotilla.agent.testing;

import io.flotilla.protocol.Json;
import io.flotilla.protocol.composeapp.AppBundle;
import io.flotilla.protocol.composeapp.ComposeAppManifest;
import io.flotilla.protocol.composeapp.ComposeFile;
import io.flotilla.protocol.oci.Descriptor;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.protocol.oci.ImageIndex;
import io.flotilla.protocol.oci.ImageManifest;
import io.flotilla.protocol.oci.MediaTypes;
import io.flotilla.protocol.oci.Platform;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Builds what the builder will publish, with the protocol module's own code: a busybox image and
 * compose apps.
 */
public final class TestImages {

  private TestImages() {}

  /**
   * A one-layer busybox image (the machine's /bin/busybox) behind an image index; returns the
   * pinned reference.
   */
  public static String pushBusybox(TestRegistry registry, String repository, String architecture)
      throws IOException {
    ByteArrayOutputStream tar = new ByteArrayOutputStream();
    try (TarArchiveOutputStream out = new TarArchiveOutputStream(tar)) {
      TarArchiveEntry dir = new TarArchiveEntry("bin/");
      out.putArchiveEntry(dir);
      out.closeArchiveEntry();
      byte[] busybox = Files.readAllBytes(Path.of("/bin/busybox"));
      TarArchiveEntry binary = new TarArchiveEntry("bin/busybox");
      binary.setMode(0100755);
      binary.setSize(busybox.length);
      out.putArchiveEntry(binary);
      out.write(busybox);
      out.closeArchiveEntry();
      for (String applet : List.of("sh", "sleep", "httpd", "wget", "echo", "true")) {
        TarArchiveEntry link = new TarArchiveEntry("bin/" + applet, TarArchiveEntry.LF_SYMLINK);
        link.setLinkName("busybox");
        out.putArchiveEntry(link);
        out.closeArchiveEntry();
      }
    }
    byte[] layerTar = tar.toByteArray();
    ByteArrayOutputStream gz = new ByteArrayOutputStream();
    try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
      out.write(layerTar);
    }
    byte[] layer = gz.toByteArray();
    byte[] config =
        ("{\"architecture\":\""
                + architecture
                + "\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},"
                + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\""
                + Digest.of(layerTar)
                + "\"]}}")
            .getBytes(StandardCharsets.UTF_8);
    registry.put(repository, MediaTypes.OCTET_STREAM, layer);
    registry.put(repository, MediaTypes.OCTET_STREAM, config);
    byte[] manifest =
        Json.toBytes(
            new ImageManifest(
                2,
                MediaTypes.OCI_MANIFEST,
                null,
                Descriptor.of(MediaTypes.OCI_CONFIG, config),
                List.of(Descriptor.of(MediaTypes.OCI_LAYER_GZIP, layer)),
                null,
                null));
    Digest manifestDigest = registry.put(repository, MediaTypes.OCI_MANIFEST, manifest);
    Descriptor platformEntry =
        new Descriptor(
            MediaTypes.OCI_MANIFEST,
            manifestDigest,
            manifest.length,
            null,
            null,
            null,
            Platform.of("linux", architecture));
    byte[] index =
        Json.toBytes(
            new ImageIndex(2, MediaTypes.OCI_INDEX, null, List.of(platformEntry), null, null));
    Digest indexDigest = registry.put(repository, MediaTypes.OCI_INDEX, index);
    return registry.host() + "/" + repository + "@" + indexDigest;
  }

  /** Publishes a compose app (images pinned, config-hash labels added) and returns its app URI. */
  public static String pushApp(
      TestRegistry registry,
      String factory,
      String app,
      String composeYaml,
      Map<String, String> imageByService) {
    ComposeFile compose =
        ComposeFile.parse(composeYaml.getBytes(StandardCharsets.UTF_8)).pinned(imageByService);
    Map<String, AppBundle.Entry> files = new LinkedHashMap<>();
    files.put("docker-compose.yml", AppBundle.Entry.of(compose.toBytes()));
    AppBundle.Packed packed = AppBundle.write(files);
    String repository = factory + "/" + app;
    registry.put(repository, MediaTypes.OCTET_STREAM, packed.bundle());
    registry.put(repository, MediaTypes.JSON, packed.index().toBytes());
    ImageManifest manifest =
        ComposeAppManifest.create(
            packed.bundleDigest(), packed.bundle().length, packed.index(), null);
    Digest digest =
        registry.put(repository, MediaTypes.OCI_MANIFEST, ComposeAppManifest.toBytes(manifest));
    return registry.host() + "/" + repository + "@" + digest;
  }
}
