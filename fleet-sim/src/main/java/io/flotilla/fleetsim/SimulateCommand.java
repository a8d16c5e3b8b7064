package io.flotilla.fleetsim;

import io.flotilla.protocol.Json;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;

/** {@code flotilla-sim}: a fleet of simulated devices against a real server, for load tests. */
@Command(
    name = "flotilla-sim",
    mixinStandardHelpOptions = true,
    description = {
      "Simulate N devices of one factory against a real Flotilla server (load tests).",
      "Devices register with real CSRs and speak the device protocol over mutual TLS; their runtime is simulated:",
      "updates are reported, no container is pulled or run."
    })
public final class SimulateCommand implements Callable<Integer> {

  @Option(
      names = "--server",
      required = true,
      paramLabel = "URL",
      description = "Device gateway, e.g. https://127.0.0.1:8443.")
  URI server;

  @Option(
      names = "--api",
      required = true,
      paramLabel = "URL",
      description = "API port for registration, e.g. http://127.0.0.1:8080.")
  URI api;

  @Option(
      names = "--token",
      paramLabel = "TOKEN",
      description = "Factory token with scope devices:create (or use --token-file).")
  String token;

  @Option(names = "--token-file", paramLabel = "FILE", description = "File holding the token.")
  Path tokenFile;

  @Option(names = "--factory", required = true, description = "Factory of the simulated devices.")
  String factory;

  @Option(
      names = "--devices",
      defaultValue = "100",
      description = "Number of devices (default ${DEFAULT-VALUE}).")
  int devices;

  @Option(
      names = "--poll",
      defaultValue = "300s",
      converter = DurationConverter.class,
      description =
          "Polling interval of each device, spread evenly over the fleet; 0 = as fast as possible (default ${DEFAULT-VALUE}).")
  Duration poll;

  @Option(
      names = "--ramp",
      defaultValue = "0s",
      converter = DurationConverter.class,
      description =
          "Bring devices online over this time: device i checks in first at i*ramp/N, then every --poll (default ${DEFAULT-VALUE}: spread over one poll interval).")
  Duration ramp;

  @Option(
      names = "--duration",
      defaultValue = "60s",
      converter = DurationConverter.class,
      description = "Measured run time after registration and warm-up (default ${DEFAULT-VALUE}).")
  Duration duration;

  @Option(
      names = "--warm-up",
      defaultValue = "0s",
      converter = DurationConverter.class,
      description = {
        "Run this long before measuring (default ${DEFAULT-VALUE}). With --tls-resumption, a warm-up of one --poll",
        "lets every device make its first, full handshake, so the run measures devices that resume, as a long-running agent does."
      })
  Duration warmUp;

  @Option(
      names = "--tag",
      defaultValue = "main",
      description = "Tag the devices follow (default ${DEFAULT-VALUE}).")
  String tag;

  @Option(
      names = "--hardware-id",
      description = "Hardware id of the devices (default: the factory's first platform).")
  String hardwareId;

  @Option(
      names = "--fetch-blobs",
      description =
          "Download and verify every app blob on update (off: the update is only reported).")
  boolean fetchBlobs;

  @Option(
      names = "--registry-scheme",
      defaultValue = "https",
      description = "http or https for the registry of --fetch-blobs (default ${DEFAULT-VALUE}).")
  String registryScheme;

  @Option(
      names = "--websocket-fraction",
      defaultValue = "0",
      description =
          "Fraction of devices that keep a WebSocket open for push (default ${DEFAULT-VALUE}).")
  double websocketFraction;

  @Option(
      names = "--connections",
      defaultValue = "new-per-checkin",
      description =
          "keepalive or new-per-checkin: a new TLS connection per check-in, as a device polling every few minutes (default ${DEFAULT-VALUE}).")
  String connections;

  @Option(
      names = "--scenario",
      defaultValue = "checkin",
      description =
          "checkin (poll targets.json, update when a newer target appears) or events (each cycle posts a full update event sequence).")
  String scenario;

  @Option(
      names = "--start-current",
      description = "Devices start on the newest target (no update at their first check-in).")
  boolean startCurrent;

  @Option(
      names = "--tls-resumption",
      description = "Resume each device's own TLS session on its next connection.")
  boolean tlsResumption;

  @Option(
      names = "--work-dir",
      defaultValue = "simulated-fleet",
      description =
          "Keeps root.crt and the devices' keys; a later run reuses them (default ${DEFAULT-VALUE}).")
  Path workDir;

  @Option(
      names = "--io-threads",
      defaultValue = "2",
      description = "Selector threads (default ${DEFAULT-VALUE}).")
  int ioThreads;

  @Option(
      names = "--timeout",
      defaultValue = "30s",
      converter = DurationConverter.class,
      description = "Per request (default ${DEFAULT-VALUE}).")
  Duration timeout;

  @Option(
      names = "--progress",
      defaultValue = "5s",
      converter = DurationConverter.class,
      description = "Progress line interval (default ${DEFAULT-VALUE}).")
  Duration progress;

  @Option(
      names = "--register-concurrency",
      defaultValue = "16",
      description = "Registrations in flight (default ${DEFAULT-VALUE}).")
  int registerConcurrency;

  @Option(
      names = "--fail-target",
      paramLabel = "NAME",
      description = "A target whose install fails on --fail-share of the devices.")
  String failTarget;

  @Option(
      names = "--fail-share",
      defaultValue = "0",
      description =
          "Share of the devices (0 to 1) on which --fail-target fails (default ${DEFAULT-VALUE}).")
  double failShare;

  @Option(
      names = "--unhealthy-target",
      paramLabel = "NAME",
      description =
          "A target that installs but whose apps then report unhealthy on --unhealthy-share of the devices.")
  String unhealthyTarget;

  @Option(
      names = "--unhealthy-share",
      defaultValue = "0",
      description =
          "Share of the devices (0 to 1) with unhealthy apps on --unhealthy-target (default ${DEFAULT-VALUE}).")
  double unhealthyShare;

  @Option(
      names = "--report-json",
      paramLabel = "FILE",
      description = "Write the final report as JSON.")
  Path reportJson;

  public static void main(String[] args) {
    CommandLine commandLine = new CommandLine(new SimulateCommand());
    commandLine.setExecutionExceptionHandler(
        (e, cmd, parsed) -> {
          cmd.getErr().println("flotilla-sim: error: " + e);
          return 1;
        });
    System.exit(commandLine.execute(args));
  }

  @Override
  public Integer call() throws Exception {
    String secret =
        token != null ? token : tokenFile != null ? Files.readString(tokenFile).strip() : null;
    if (secret == null) {
      System.err.println("flotilla-sim: --token or --token-file is required");
      return 2;
    }
    if (websocketFraction < 0 || websocketFraction > 1) {
      System.err.println("flotilla-sim: --websocket-fraction must be between 0 and 1");
      return 2;
    }
    if (failShare < 0 || failShare > 1 || unhealthyShare < 0 || unhealthyShare > 1) {
      System.err.println("flotilla-sim: --fail-share and --unhealthy-share are from 0 to 1");
      return 2;
    }
    Simulator.Settings settings =
        new Simulator.Settings(
            server,
            api,
            secret,
            factory,
            devices,
            poll,
            ramp,
            tag,
            hardwareId,
            fetchBlobs,
            registryScheme,
            websocketFraction,
            warmUp,
            duration,
            Simulator.Connections.valueOf(connections.toUpperCase(Locale.ROOT).replace('-', '_')),
            Simulator.Scenario.valueOf(scenario.toUpperCase(Locale.ROOT)),
            startCurrent,
            tlsResumption,
            workDir,
            ioThreads,
            timeout,
            progress,
            registerConcurrency,
            System.out,
            new Simulator.Faults(failTarget, failShare, unhealthyTarget, unhealthyShare));
    Simulator.Report report = new Simulator(settings).run();
    print(report);
    if (reportJson != null) {
      Json.mapper().writerWithDefaultPrettyPrinter().writeValue(reportJson.toFile(), report);
    }
    return report.errorCount() == 0 ? 0 : 1;
  }

  private static void print(Simulator.Report report) {
    var out = System.out;
    out.println("--- simulated fleet report ---");
    out.println(report.runtime());
    out.printf(
        "devices %d (%d registered this run), scenario %s, connections %s, poll %.0fs, warm-up %.0fs, duration %.0fs%n",
        report.devices(),
        report.registeredThisRun(),
        report.scenario(),
        report.connections(),
        report.pollSeconds(),
        report.warmUpSeconds(),
        report.durationSeconds());
    out.printf(
        "rate: achieved %.1f/s, intended %s%n",
        report.achievedRatePerSecond(),
        report.intendedRatePerSecond() == 0
            ? "as fast as possible"
            : String.format("%.1f/s", report.intendedRatePerSecond()));
    out.printf(
        "check-ins %d, updates %d, events %d, overruns %d, peak websockets %d%n",
        report.checkIns(),
        report.updates(),
        report.events(),
        report.overruns(),
        report.peakWebSockets());
    out.printf(
        "TLS handshakes: %d full, %d resumed%n",
        report.fullHandshakes(), report.resumedHandshakes());
    out.printf(
        "connections open at once: at most %d (this process's descriptor limit), %d opens waited for a close%n",
        report.connectionLimit(), report.connectionsWaited());
    var l = report.latency();
    out.printf(
        "latency ms: mean %.2f p50 %.2f p90 %.2f p99 %.2f p99.9 %.2f max %.2f (n=%d)%n",
        l.meanMs(), l.p50Ms(), l.p90Ms(), l.p99Ms(), l.p999Ms(), l.maxMs(), l.count());
    out.println("errors: " + (report.errors().isEmpty() ? "none" : report.errors()));
    report
        .errorExamples()
        .forEach((kind, message) -> out.printf("  first %s: %s%n", kind, message));
    report
        .pushes()
        .forEach(
            p ->
                out.printf(
                    "push v%d: %d pushed, %d fetched, first push %d, last fetch %d (%d ms)%n",
                    p.version(),
                    p.devicesPushed(),
                    p.devicesFetched(),
                    p.firstPushEpochMs(),
                    p.lastFetchEpochMs(),
                    p.lastFetchEpochMs() - p.firstPushEpochMs()));
  }

  /** Accepts 300, 300s, 5m, 1h, 250ms. */
  static final class DurationConverter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      String text = value.strip().toLowerCase(Locale.ROOT);
      if (text.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(text.substring(0, text.length() - 2)));
      }
      char unit = text.charAt(text.length() - 1);
      long amount =
          Character.isDigit(unit)
              ? Long.parseLong(text)
              : Long.parseLong(text.substring(0, text.length() - 1));
      return switch (unit) {
        case 'm' -> Duration.ofMinutes(amount);
        case 'h' -> Duration.ofHours(amount);
        default -> Duration.ofSeconds(amount);
      };
    }
  }
}
