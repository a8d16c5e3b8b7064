package io.flotilla.builder.image;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** An OCI platform (GOOS/GOARCH names) that the factory's hardware ids run. */
public record TargetPlatform(String os, String architecture, String variant) {

  public static TargetPlatform parse(String text) {
    String[] parts = text.strip().split("/");
    if (parts.length < 2 || parts.length > 3) {
      throw new IllegalArgumentException("platform must be os/arch[/variant]: " + text);
    }
    return new TargetPlatform(parts[0], parts[1], parts.length == 3 ? parts[2] : null);
  }

  /**
   * The platform of a hardware id: the configured mapping first, then the architecture names
   * hardware ids usually start or end with ({@code amd64-linux}, {@code raspberrypi4-64}, {@code
   * intel-corei7-64}).
   */
  public static Optional<TargetPlatform> forHardwareId(
      String hardwareId, Map<String, String> configured) {
    String mapped = configured.get(hardwareId);
    if (mapped != null) {
      return Optional.of(parse(mapped));
    }
    String id = hardwareId.toLowerCase(Locale.ROOT);
    if (id.startsWith("amd64")
        || id.startsWith("x86_64")
        || id.startsWith("x86-64")
        || id.startsWith("intel")
        || id.contains("qemux86-64")) {
      return Optional.of(new TargetPlatform("linux", "amd64", null));
    }
    if (id.startsWith("arm64")
        || id.startsWith("aarch64")
        || id.endsWith("-64")
        || id.endsWith("arm64")) {
      return Optional.of(new TargetPlatform("linux", "arm64", null));
    }
    if (id.startsWith("armhf") || id.startsWith("arm") || id.startsWith("raspberrypi")) {
      return Optional.of(new TargetPlatform("linux", "arm", "v7"));
    }
    return Optional.empty();
  }

  /** The platform of this JVM's machine, the only one buildah can build without emulation. */
  public static TargetPlatform native_() {
    String arch = System.getProperty("os.arch");
    String oci =
        switch (arch) {
          case "amd64", "x86_64" -> "amd64";
          case "aarch64", "arm64" -> "arm64";
          default -> arch;
        };
    return new TargetPlatform("linux", oci, null);
  }

  public boolean matches(String otherOs, String otherArchitecture, String otherVariant) {
    return os.equals(otherOs)
        && architecture.equals(otherArchitecture)
        && (variant == null || otherVariant == null || variant.equals(otherVariant));
  }

  @Override
  public String toString() {
    return os + "/" + architecture + (variant == null ? "" : "/" + variant);
  }
}
