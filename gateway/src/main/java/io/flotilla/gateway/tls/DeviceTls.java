package io.flotilla.gateway.tls;

import io.flotilla.core.pki.DeviceCertificateVerifier;
import io.flotilla.core.pki.ServerCredentials;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.Locale;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.HttpsConnectionContext;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS of the device port: the server certificate from the PKI, a client certificate asked of every
 * connection, and {@link DeviceTrustManager} deciding which ones are devices.
 *
 * <p>Bind with both pieces, or routes cannot see the client certificate:
 *
 * <pre>{@code
 * Http.get(system).newServerAt(host, devicePort)
 *     .enableHttps(DeviceTls.httpsContext(pki.server().credentials(), verifier))
 *     .withSettings(DeviceTls.serverSettings(system))
 *     .bind(deviceRoutes);
 * }</pre>
 */
public final class DeviceTls {

  /**
   * Who runs the device port's TLS ({@code flotilla.device.tls-provider}). Both give the handshake
   * to {@link DeviceTrustManager} and ask for, but do not require, a client certificate; they
   * differ in speed: BoringSSL makes a mutual-TLS handshake several times cheaper than the JDK's
   * provider (docs/benchmarks.md).
   */
  public enum Provider {
    JDK,
    /** BoringSSL through netty-tcnative; the JDK's provider when its native library cannot load. */
    OPENSSL;

    public static Provider parse(String value) {
      try {
        return valueOf(value.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "flotilla.device.tls-provider must be jdk or openssl, not '" + value + "'", e);
      }
    }
  }

  private static final Logger LOG = LoggerFactory.getLogger(DeviceTls.class);
  private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};
  private static final int SERVER_SESSION_CACHE = 1024;

  private DeviceTls() {}

  public static HttpsConnectionContext httpsContext(
      ServerCredentials server, DeviceCertificateVerifier verifier) {
    return httpsContext(sslContext(server, verifier));
  }

  /** For tests that look into the context's session cache. */
  static HttpsConnectionContext httpsContext(SSLContext context) {
    return ConnectionContext.httpsServer(engines(context)::get);
  }

  /**
   * The device port's server-side engines, one per connection, for a listener that assembles TLS
   * itself, from {@code provider}; {@code handshakes} counts full and resumed handshakes.
   */
  public static Supplier<SSLEngine> engines(
      ServerCredentials server,
      DeviceCertificateVerifier verifier,
      TlsHandshakes handshakes,
      Provider provider) {
    return engines(server, verifier, handshakes, provider, OpenSsl::isAvailable);
  }

  /** {@code nativeLoads} stands for netty's check, so that tests can take the fallback path. */
  static Supplier<SSLEngine> engines(
      ServerCredentials server,
      DeviceCertificateVerifier verifier,
      TlsHandshakes handshakes,
      Provider provider,
      BooleanSupplier nativeLoads) {
    if (provider == Provider.OPENSSL) {
      if (nativeLoads.getAsBoolean()) {
        SslContext context = openSslContext(server, verifier, handshakes);
        return () -> context.newEngine(ByteBufAllocator.DEFAULT);
      }
      LOG.warn(
          "flotilla.device.tls-provider = openssl, but BoringSSL cannot load here ({}): the device "
              + "port uses the JDK's TLS, which makes handshakes several times more expensive",
          OpenSsl.unavailabilityCause() == null
              ? "no native library"
              : OpenSsl.unavailabilityCause().toString());
    }
    return engines(sslContext(server, verifier, handshakes));
  }

  static SslContext openSslContext(
      ServerCredentials server, DeviceCertificateVerifier verifier, TlsHandshakes handshakes) {
    try {
      // SslProvider.OPENSSL, not OPENSSL_REFCNT: pekko's TLS stage never releases an engine, so
      // the native SSL of a connection is freed when its engine closes or is collected.
      // TLS 1.3 resumption uses BoringSSL's stateless tickets (encrypted with keys this context
      // draws at start and rotates), which carry the verified client chain:
      // DeviceIdentityDirectives
      // reads it from a resumed session as from a full one. The session cache is only for TLS 1.2.
      return SslContextBuilder.forServer(
              server.privateKey(), server.chain().toArray(X509Certificate[]::new))
          .sslProvider(SslProvider.OPENSSL)
          .trustManager(new DeviceTrustManager(verifier, handshakes))
          // OPTIONAL for the same reason as setWantClientAuth in the JDK engines below
          .clientAuth(ClientAuth.OPTIONAL)
          .protocols(PROTOCOLS)
          .sessionCacheSize(SERVER_SESSION_CACHE)
          .build();
    } catch (SSLException e) {
      throw new IllegalStateException("cannot set up BoringSSL for the device port", e);
    }
  }

  private static Supplier<SSLEngine> engines(SSLContext context) {
    return () -> {
      SSLEngine engine = context.createSSLEngine();
      engine.setUseClientMode(false);
      // "want", not "need": composeapp's registry requests through the apps proxy come without a
      // client
      // certificate (the proxy URL's capability authorizes them). A certificate that is presented
      // must still
      // pass DeviceTrustManager, or the handshake fails; every other route answers 401 without one.
      engine.setWantClientAuth(true);
      engine.setEnabledProtocols(PROTOCOLS);
      return engine;
    };
  }

  /**
   * The system's server settings plus the {@code SslSession} request attribute that {@link
   * DeviceIdentityDirectives} reads (the same as {@code
   * pekko.http.server.parsing.ssl-session-attribute = on}, but only for the device port).
   */
  public static ServerSettings serverSettings(ClassicActorSystemProvider system) {
    return withSslSessionAttribute(ServerSettings.create(system.classicSystem()));
  }

  public static ServerSettings withSslSessionAttribute(ServerSettings settings) {
    return settings.withParserSettings(
        settings.getParserSettings().withIncludeSslSessionAttribute(true));
  }

  static SSLContext sslContext(ServerCredentials server, DeviceCertificateVerifier verifier) {
    return sslContext(server, verifier, new TlsHandshakes());
  }

  static SSLContext sslContext(
      ServerCredentials server, DeviceCertificateVerifier verifier, TlsHandshakes handshakes) {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(
          keyManagers(server),
          new TrustManager[] {new DeviceTrustManager(verifier, handshakes)},
          new SecureRandom());
      // The JDK keeps up to 20,480 server sessions for a day, each with the client's parsed
      // certificate
      // (about 6 KB): with devices that reconnect every few minutes that is more heap than their
      // entities.
      // TLS 1.3 resumption uses stateless tickets (jdk.tls.server.enableSessionTicketExtension, on
      // by
      // default): the session travels encrypted in the ticket the device keeps, valid for the
      // session
      // timeout (24 h), so this cache is only for TLS 1.2 clients. The JDK falls back to caching a
      // TLS 1.3
      // session here when a value is bound to it (SSLSession.putValue), which this port therefore
      // never does.
      context.getServerSessionContext().setSessionCacheSize(SERVER_SESSION_CACHE);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot set up TLS for the device port", e);
    }
  }

  static KeyManager[] keyManagers(ServerCredentials server) throws GeneralSecurityException {
    // The JDK's key managers read keys only from a KeyStore; this one lives in memory only, so its
    // password
    // protects nothing and is random.
    char[] password = UUID.randomUUID().toString().toCharArray();
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setKeyEntry(
          "device-port",
          server.privateKey(),
          password,
          server.chain().toArray(X509Certificate[]::new));
      KeyManagerFactory factory =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      factory.init(store, password);
      return factory.getKeyManagers();
    } catch (IOException e) {
      throw new IllegalStateException("cannot build the in-memory key store", e);
    }
  }
}
