package io.flotilla.gateway.bench;

import static org.apache.pekko.http.javadsl.server.Directives.complete;

import com.typesafe.config.ConfigFactory;
import io.flotilla.core.pki.DevicePki;
import io.flotilla.core.pki.PkiSettings;
import io.flotilla.core.pki.RevocationCheck;
import io.flotilla.gateway.tls.DeviceTls;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * The baseline of bench/checkin-throughput.sh: pekko-http on the device port's TLS setup (same
 * server key, same client-certificate verification against the factory CAs of {@code
 * <data-dir>/pki}) answering every request with one constant targets.json. What Flotilla adds on
 * top of this is the cost of a check-in. Usage: BareTlsServer DATA_DIR PORT
 */
public final class BareTlsServer {

  private static final String TARGETS =
      "{\"signatures\":[],\"signed\":{\"_type\":\"Targets\",\"expires\":\"2030-01-01T00:00:00Z\",\"version\":1,\"targets\":{}}}";

  public static void main(String[] args) throws Exception {
    Path dataDir = Path.of(args[0]);
    int port = Integer.parseInt(args[1]);
    ActorSystem<Void> system =
        ActorSystem.create(
            Behaviors.empty(),
            "bare",
            ConfigFactory.parseString("pekko.actor.provider = local\npekko.loglevel = WARNING")
                .withFallback(ConfigFactory.load()));
    DevicePki pki = DevicePki.open(dataDir.resolve("pki"), PkiSettings.defaults());
    byte[] body = TARGETS.getBytes(StandardCharsets.UTF_8);
    String checksum = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
    HttpResponse response =
        HttpResponse.create()
            .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body))
            .addHeader(RawHeader.create("x-ats-role-checksum", checksum));
    Http.get(system)
        .newServerAt("127.0.0.1", port)
        .enableHttps(
            DeviceTls.httpsContext(pki.server().credentials(), pki.verifier(RevocationCheck.NONE)))
        .bind(complete(response))
        .toCompletableFuture()
        .get();
    System.out.println("bare TLS endpoint on 127.0.0.1:" + port);
  }
}
