package io.flotilla.fleetsim;

import io.flotilla.agent.gateway.AgentTls;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * The key and certificate of every simulated device, kept as DER bytes (about 600 bytes a device)
 * and parsed only while a handshake needs them, so a million devices fit in memory. All devices
 * share one {@link SSLContext}; its key manager answers each engine with the identity of the device
 * that opened it.
 */
final class FleetIdentities {

  private static final int FILE_MAGIC = 0x464c5431;

  private final String factory;
  private String[] uuids = new String[0];
  private byte[][] certificates = new byte[0][];
  private byte[][] keys = new byte[0][];
  private volatile int size;
  private final ConcurrentHashMap<SSLEngine, Integer> engines = new ConcurrentHashMap<>();
  private final java.util.Set<SSLEngine> presented = ConcurrentHashMap.newKeySet();

  FleetIdentities(String factory) {
    this.factory = factory;
  }

  String factory() {
    return factory;
  }

  int size() {
    return size;
  }

  String uuid(int device) {
    return uuids[device];
  }

  synchronized int add(String uuid, byte[] certificateDer, byte[] pkcs8Key) {
    if (size == uuids.length) {
      int capacity = Math.max(1024, size * 2);
      uuids = Arrays.copyOf(uuids, capacity);
      certificates = Arrays.copyOf(certificates, capacity);
      keys = Arrays.copyOf(keys, capacity);
    }
    uuids[size] = uuid;
    certificates[size] = certificateDer;
    keys[size] = pkcs8Key;
    return size++;
  }

  /**
   * Opens an engine that presents {@code device}'s certificate; call {@link #release} when its
   * connection ends.
   */
  SSLEngine engine(SSLContext context, int device, String resumptionHost, int port) {
    SSLEngine engine =
        resumptionHost == null
            ? context.createSSLEngine()
            : context.createSSLEngine(resumptionHost, port);
    engine.setUseClientMode(true);
    engines.put(engine, device);
    return engine;
  }

  void release(SSLEngine engine) {
    engines.remove(engine);
    presented.remove(engine);
  }

  /**
   * Whether {@code engine}'s handshake sent the device certificate. The server asks for it in every
   * full handshake and never in a TLS 1.3 handshake that resumes a session (RFC 8446 §4.3.2), so
   * after the handshake this tells a full handshake from a resumed one.
   */
  boolean presentedCertificate(SSLEngine engine) {
    return presented.contains(engine);
  }

  /** Trusts only {@code root.crt}, as a registered device does. */
  SSLContext sslContext(Path rootCertificate) throws IOException {
    try {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      int i = 0;
      for (var ca : AgentTls.readCertificates(rootCertificate)) {
        trust.setCertificateEntry("ca-" + i++, ca);
      }
      TrustManagerFactory trustManagers =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trustManagers.init(trust);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(
          new javax.net.ssl.KeyManager[] {new PerDeviceKeyManager()},
          trustManagers.getTrustManagers(),
          null);
      // The JDK keeps 20,480 client sessions by default; with resumption on, every device must find
      // its own
      // (0 = no limit). The cache is keyed by the engine's peer host and port: see Simulator#open.
      context.getClientSessionContext().setSessionCacheSize(0);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IOException(
          "cannot build the simulated devices' TLS context: " + e.getMessage(), e);
    }
  }

  /**
   * Appends to {@code file} the devices from {@code from} on, so a later run reuses them instead of
   * registering again.
   */
  synchronized void save(Path file, int from) throws IOException {
    boolean fresh = !Files.exists(file) || from == 0;
    try (DataOutputStream out =
        new DataOutputStream(
            new java.io.BufferedOutputStream(
                fresh
                    ? Files.newOutputStream(file)
                    : Files.newOutputStream(file, java.nio.file.StandardOpenOption.APPEND)))) {
      if (fresh) {
        out.writeInt(FILE_MAGIC);
        out.writeUTF(factory);
      }
      for (int i = fresh ? 0 : from; i < size; i++) {
        out.writeUTF(uuids[i]);
        out.writeShort(certificates[i].length);
        out.write(certificates[i]);
        out.writeShort(keys[i].length);
        out.write(keys[i]);
      }
    }
  }

  /**
   * The devices a previous run registered, or none when the file is missing or was made for another
   * factory.
   */
  static FleetIdentities load(Path file, String factory) throws IOException {
    FleetIdentities identities = new FleetIdentities(factory);
    if (!Files.exists(file)) {
      return identities;
    }
    try (DataInputStream in =
        new DataInputStream(new java.io.BufferedInputStream(Files.newInputStream(file)))) {
      if (in.readInt() != FILE_MAGIC || !in.readUTF().equals(factory)) {
        return identities;
      }
      while (true) {
        String uuid;
        try {
          uuid = in.readUTF();
        } catch (EOFException end) {
          break;
        }
        byte[] certificate = in.readNBytes(in.readUnsignedShort());
        byte[] key = in.readNBytes(in.readUnsignedShort());
        identities.add(uuid, certificate, key);
      }
    }
    return identities;
  }

  private final class PerDeviceKeyManager extends X509ExtendedKeyManager {

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
      Integer device = engines.get(engine);
      if (device == null) {
        return null;
      }
      presented.add(engine);
      return Integer.toString(device);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      try {
        return new X509Certificate[] {
          (X509Certificate)
              CertificateFactory.getInstance("X.509")
                  .generateCertificate(
                      new ByteArrayInputStream(certificates[Integer.parseInt(alias)]))
        };
      } catch (CertificateException | RuntimeException e) {
        return null;
      }
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      try {
        return KeyFactory.getInstance("EC")
            .generatePrivate(new PKCS8EncodedKeySpec(keys[Integer.parseInt(alias)]));
      } catch (GeneralSecurityException | RuntimeException e) {
        return null;
      }
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return null;
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return null;
    }
  }
}
