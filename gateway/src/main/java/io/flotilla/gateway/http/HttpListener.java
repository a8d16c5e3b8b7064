package io.flotilla.gateway.http;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.BidiShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.TLSClosing;
import org.apache.pekko.stream.TLSProtocol;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.TLS;
import org.apache.pekko.stream.javadsl.TLSPlacebo;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.apache.pekko.util.ByteString;

/**
 * One HTTP port, bound as pekko-http's {@code newServerAt(...).bind(route)} binds it (TCP, optional
 * TLS, the HTTP server layer, the idle timeout, the backlog and connection limit of {@link
 * ServerSettings}), plus what pekko-http lacks: a header timeout. A client must finish each
 * request's head (request line and headers) within {@code headerTimeout} of its first byte (the
 * first request: of the connection's start, TLS handshake included), or the connection is closed;
 * without it a client that sends one header byte every few seconds keeps a connection, and its slot
 * under {@code max-connections}, for as long as it likes (the idle timeout restarts with every
 * byte, and the request timeout starts only once the head is complete).
 */
public final class HttpListener {

  private HttpListener() {}

  public static CompletionStage<Tcp.ServerBinding> bind(
      ActorSystem<?> system,
      String host,
      int port,
      ServerSettings settings,
      Optional<Supplier<SSLEngine>> tls,
      Duration headerTimeout,
      Route route) {
    Materializer materializer = Materializer.matFromSystem(system);
    // pekko-http's Java server layer cannot be told the connection is secure, so on a TLS port the
    // requests' URIs
    // say https here, as newServerAt(...).enableHttps(...) makes them (the registry's token realm
    // is built from them).
    Flow<HttpRequest, HttpResponse, NotUsed> handler =
        tls.isPresent()
            ? Flow.of(HttpRequest.class)
                .map(request -> request.withUri(request.getUri().scheme("https")))
                .via(route.flow(system))
            : route.flow(system);
    scala.concurrent.duration.Duration idleSetting = settings.getTimeouts().idleTimeout();
    return Tcp.get(system)
        .bind(host, port, settings.getBacklog(), List.of(), false, Optional.empty())
        .mapAsyncUnordered(
            settings.getMaxConnections(),
            connection -> {
              BidiFlow<
                      TLSProtocol.SslTlsOutbound,
                      ByteString,
                      ByteString,
                      TLSProtocol.SslTlsInbound,
                      NotUsed>
                  transport =
                      tls.<BidiFlow<
                                  TLSProtocol.SslTlsOutbound,
                                  ByteString,
                                  ByteString,
                                  TLSProtocol.SslTlsInbound,
                                  NotUsed>>
                              map(engine -> TLS.create(engine, TLSClosing.eagerClose()))
                          .orElseGet(HttpListener::plain);
              Flow<ByteString, ByteString, CompletionStage<Done>> connectionFlow =
                  Http.get(system)
                      .serverLayer(
                          settings,
                          Optional.of(connection.remoteAddress()),
                          system.classicSystem().log())
                      .atop(BidiFlow.fromGraph(new HeaderTimeout(headerTimeout)))
                      .atop(transport)
                      .atop(
                          idleSetting.isFinite()
                              ? BidiFlow.<ByteString, ByteString>bidirectionalIdleTimeout(
                                  Duration.ofMillis(idleSetting.toMillis()))
                              : BidiFlow.<ByteString, ByteString>identity())
                      .reversed()
                      .join(handler)
                      .watchTermination(Keep.right());
              return connection
                  .handleWith(
                      connectionFlow.addAttributes(cancellationDelay(settings)), materializer)
                  .exceptionally(failure -> Done.getInstance());
            })
        .to(Sink.ignore())
        .run(materializer);
  }

  /**
   * As pekko-http's own binding does: a cancellation inside the connection waits {@code
   * stream-cancellation-delay} before failing the stages, so that a completing answer (with TLS:
   * its close_notify) is written rather than raced by the cancellation.
   */
  private static Attributes cancellationDelay(ServerSettings settings) {
    Attributes.CancellationStrategy$ strategies = Attributes.CancellationStrategy$.MODULE$;
    long delayMillis = settings.getStreamCancellationDelay().toMillis();
    return Attributes.apply(
        strategies.apply(
            delayMillis == 0
                ? strategies.failStage()
                : strategies.afterDelay(Duration.ofMillis(delayMillis), strategies.failStage())));
  }

  private static BidiFlow<
          TLSProtocol.SslTlsOutbound, ByteString, ByteString, TLSProtocol.SslTlsInbound, NotUsed>
      plain() {
    return BidiFlow
        .<TLSProtocol.SslTlsOutbound, TLSProtocol.SslTlsOutbound, TLSProtocol.SessionBytes,
            TLSProtocol.SslTlsInbound>
            fromFunctions(out -> out, in -> in)
        .atop(TLSPlacebo.getInstance());
  }

  /** The local port a binding listens on. */
  public static int port(Tcp.ServerBinding binding) {
    InetSocketAddress address = binding.localAddress();
    return address.getPort();
  }

  /** Completes when the port no longer accepts connections. */
  public static CompletableFuture<?> unbind(Tcp.ServerBinding binding) {
    return binding.unbind().toCompletableFuture();
  }

  static final class HeaderTimeoutException extends RuntimeException {
    HeaderTimeoutException(Duration timeout) {
      super(
          "the request head was not complete within " + timeout.toMillis() + " ms",
          null,
          false,
          false);
    }
  }

  /**
   * Watches the plain bytes between TLS and the HTTP layer. A request's head starts with the
   * connection, or with the first byte after the previous answer, and ends at its blank line; the
   * timer runs in between. An answer ({@code HTTP/1.1 ...}) ends the body phase; {@code 100
   * Continue} does not (the body follows it), and after {@code 101 Switching Protocols} the
   * connection speaks WebSocket and is no longer watched.
   */
  static final class HeaderTimeout
      extends GraphStage<
          BidiShape<
              TLSProtocol.SslTlsOutbound,
              TLSProtocol.SslTlsOutbound,
              TLSProtocol.SslTlsInbound,
              TLSProtocol.SslTlsInbound>> {

    private static final ByteString CONTINUE = ByteString.fromString("HTTP/1.1 100");
    private static final ByteString SWITCHING = ByteString.fromString("HTTP/1.1 101");

    private final Duration timeout;
    private final Inlet<TLSProtocol.SslTlsOutbound> outIn = Inlet.create("HeaderTimeout.outIn");
    private final Outlet<TLSProtocol.SslTlsOutbound> outOut = Outlet.create("HeaderTimeout.outOut");
    private final Inlet<TLSProtocol.SslTlsInbound> inIn = Inlet.create("HeaderTimeout.inIn");
    private final Outlet<TLSProtocol.SslTlsInbound> inOut = Outlet.create("HeaderTimeout.inOut");
    private final BidiShape<
            TLSProtocol.SslTlsOutbound,
            TLSProtocol.SslTlsOutbound,
            TLSProtocol.SslTlsInbound,
            TLSProtocol.SslTlsInbound>
        shape = new BidiShape<>(outIn, outOut, inIn, inOut);

    HeaderTimeout(Duration timeout) {
      this.timeout = timeout;
    }

    @Override
    public BidiShape<
            TLSProtocol.SslTlsOutbound,
            TLSProtocol.SslTlsOutbound,
            TLSProtocol.SslTlsInbound,
            TLSProtocol.SslTlsInbound>
        shape() {
      return shape;
    }

    private enum Phase {
      IDLE,
      HEAD,
      BODY,
      UPGRADED
    }

    @Override
    public GraphStageLogic createLogic(Attributes attributes) {
      return new TimerGraphStageLogic(shape) {
        private Phase phase = Phase.IDLE;

        /** How many bytes of CR LF CR LF the head has ended with so far. */
        private int matched;

        {
          setHandler(
              inIn,
              new AbstractInHandler() {
                @Override
                public void onPush() {
                  TLSProtocol.SslTlsInbound element = grab(inIn);
                  if (element instanceof TLSProtocol.SessionBytes bytes) {
                    inbound(bytes.bytes());
                  }
                  push(inOut, element);
                }
              });
          setHandler(
              inOut,
              new AbstractOutHandler() {
                @Override
                public void onPull() {
                  pull(inIn);
                }
              });
          setHandler(
              outIn,
              new AbstractInHandler() {
                @Override
                public void onPush() {
                  TLSProtocol.SslTlsOutbound element = grab(outIn);
                  if (element instanceof TLSProtocol.SendBytes bytes) {
                    outbound(bytes.bytes());
                  }
                  push(outOut, element);
                }
              });
          setHandler(
              outOut,
              new AbstractOutHandler() {
                @Override
                public void onPull() {
                  pull(outIn);
                }
              });
        }

        /**
         * The first head's time starts with the connection, so that a TLS handshake or a first
         * request dribbled a byte at a time is cut off too.
         */
        @Override
        public void preStart() {
          phase = Phase.HEAD;
          scheduleOnce("head", timeout);
        }

        private void inbound(ByteString bytes) {
          if (phase == Phase.UPGRADED || phase == Phase.BODY || bytes.isEmpty()) {
            return;
          }
          if (phase == Phase.IDLE) {
            phase = Phase.HEAD;
            matched = 0;
            scheduleOnce("head", timeout);
          }
          for (int i = 0; i < bytes.size(); i++) {
            byte b = bytes.apply(i);
            boolean expected = (matched % 2 == 0) ? b == '\r' : b == '\n';
            matched = expected ? matched + 1 : (b == '\r' ? 1 : 0);
            if (matched == 4) {
              phase = Phase.BODY;
              cancelTimer("head");
              return;
            }
          }
        }

        private void outbound(ByteString bytes) {
          if (phase == Phase.UPGRADED) {
            return;
          }
          if (bytes.take(SWITCHING.size()).equals(SWITCHING)) {
            phase = Phase.UPGRADED;
            cancelTimer("head");
          } else if (phase == Phase.BODY && !bytes.take(CONTINUE.size()).equals(CONTINUE)) {
            phase = Phase.IDLE;
          }
        }

        /**
         * Fails rather than completes: completing would ask TLS to close politely, which waits for
         * a handshake that a silent client never starts, so the connection stayed until the idle
         * timeout; a failure aborts the TCP connection at once.
         */
        @Override
        public void onTimer(Object key) {
          failStage(new HeaderTimeoutException(timeout));
        }
      };
    }
  }
}
