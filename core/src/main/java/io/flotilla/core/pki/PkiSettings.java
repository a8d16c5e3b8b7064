package io.flotilla.core.pki;

import com.typesafe.config.Config;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Validity periods and the names the device port's certificate is valid for. Read from {@code
 * flotilla.pki}: {@code device-cert-validity}, {@code ca-validity}, {@code server-cert-validity}
 * (durations) and {@code server-sans} (list of host names and IP addresses); each key that is
 * absent takes its default.
 */
public record PkiSettings(
    Duration deviceCertValidity,
    Duration caValidity,
    Duration serverCertValidity,
    List<String> serverSans) {

  public static final String CONFIG_PATH = "flotilla.pki";

  public PkiSettings {
    serverSans = List.copyOf(serverSans);
    if (serverSans.isEmpty()) {
      throw new IllegalArgumentException(
          "the server certificate needs at least one subject alternative name");
    }
  }

  public static PkiSettings defaults() {
    return new PkiSettings(
        Duration.ofDays(3650), Duration.ofDays(7300), Duration.ofDays(825), defaultSans());
  }

  public static PkiSettings fromConfig(Config config) {
    PkiSettings d = defaults();
    if (!config.hasPath(CONFIG_PATH)) {
      return d;
    }
    Config c = config.getConfig(CONFIG_PATH);
    return new PkiSettings(
        c.hasPath("device-cert-validity")
            ? c.getDuration("device-cert-validity")
            : d.deviceCertValidity,
        c.hasPath("ca-validity") ? c.getDuration("ca-validity") : d.caValidity,
        c.hasPath("server-cert-validity")
            ? c.getDuration("server-cert-validity")
            : d.serverCertValidity,
        c.hasPath("server-sans") ? c.getStringList("server-sans") : d.serverSans);
  }

  public PkiSettings withServerSans(List<String> sans) {
    return new PkiSettings(deviceCertValidity, caValidity, serverCertValidity, sans);
  }

  public PkiSettings withDeviceCertValidity(Duration validity) {
    return new PkiSettings(validity, caValidity, serverCertValidity, serverSans);
  }

  /** Names a device on this machine or the local network would use to reach the server. */
  private static List<String> defaultSans() {
    List<String> sans = new ArrayList<>(List.of("localhost", "127.0.0.1"));
    try {
      String host = InetAddress.getLocalHost().getHostName();
      if (!sans.contains(host)) {
        sans.add(host);
      }
    } catch (UnknownHostException e) {
      // a machine without a resolvable name still serves localhost
    }
    return sans;
  }
}
