package io.flotilla.gateway.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.core.pki.DeviceCertificateVerifier;
import io.flotilla.core.pki.DevicePki;
import io.flotilla.core.pki.PkiSettings;
import io.flotilla.core.pki.RevocationCheck;
import io.flotilla.core.pki.ServerCredentials;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import java.nio.file.Path;
import javax.net.ssl.SSLEngine;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.HttpsConnectionContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every test of {@link DeviceTlsTest} with BoringSSL (flotilla.device.tls-provider = openssl)
 * making the handshakes, plus the fallback to the JDK where the native library cannot load.
 */
class DeviceTlsOnOpenSslTest extends DeviceTlsTest {

  private SslContext openSsl;

  @Override
  HttpsConnectionContext serverTls(ServerCredentials server, DeviceCertificateVerifier verifier) {
    assertTrue(
        OpenSsl.isAvailable(),
        () -> "BoringSSL must load on this platform: " + OpenSsl.unavailabilityCause());
    openSsl = DeviceTls.openSslContext(server, verifier, new TlsHandshakes());
    return ConnectionContext.httpsServer(
        () -> {
          SSLEngine engine = openSsl.newEngine(ByteBufAllocator.DEFAULT);
          assertTrue(engine.getClass().getName().startsWith("io.netty.handler.ssl."));
          return engine;
        });
  }

  @Override
  boolean serverKeepsSessions() {
    return openSsl.sessionContext().getIds().hasMoreElements();
  }

  @Test
  void openSslProviderGivesBoringSslEngines(@TempDir Path other) {
    DevicePki pki = DevicePki.open(other, PkiSettings.defaults());
    SSLEngine engine =
        DeviceTls.engines(
                pki.server().credentials(),
                pki.verifier(RevocationCheck.NONE),
                new TlsHandshakes(),
                DeviceTls.Provider.OPENSSL)
            .get();
    assertTrue(
        engine.getClass().getName().startsWith("io.netty.handler.ssl."),
        engine.getClass()::getName);
    assertFalse(engine.getUseClientMode());
  }

  @Test
  void withoutTheNativeLibraryTheJdkTakesOverAsStrictly(@TempDir Path other) {
    DevicePki pki = DevicePki.open(other, PkiSettings.defaults());
    SSLEngine engine =
        DeviceTls.engines(
                pki.server().credentials(),
                pki.verifier(RevocationCheck.NONE),
                new TlsHandshakes(),
                DeviceTls.Provider.OPENSSL,
                () -> false)
            .get();
    assertTrue(
        engine.getClass().getName().startsWith("sun.security.ssl."), engine.getClass()::getName);
    assertFalse(engine.getUseClientMode());
    assertTrue(engine.getWantClientAuth(), "a client certificate is asked for");
    assertArrayEquals(new String[] {"TLSv1.3", "TLSv1.2"}, engine.getEnabledProtocols());
  }
}
