package io.flotilla.gateway.tls;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.core.pki.DeviceCertificateVerifier;
import io.flotilla.core.pki.DeviceIdentity;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.SslSessionInfo;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

import javax.net.ssl.SSLPeerUnverifiedException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Arrays;
import javax.net.ssl.SSLSession;
import java.util.function.Function;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;

/**
 * Gives device routes the identity of the device on the other end of the connection.
 *
 * <p>The certificate is verified again on each request, not only at the handshake: a keep-alive connection or
 * a resumed TLS session can outlive a decommission or the certificate's expiry. Requires the server to be bound
 * with {@link DeviceTls#serverSettings}, which puts the TLS session on each request.
 */
public final class DeviceIdentityDirectives {

    static final String VERIFIED_IDENTITY = "io.flotilla.device-identity";

    private final DeviceCertificateVerifier verifier;

    public DeviceIdentityDirectives(DeviceCertificateVerifier verifier) {
        this.verifier = verifier;
    }

    /**
     * Runs {@code inner} with the verified device, or answers 401 {@code {"error","detail"}}. The identity is
     * kept on the TLS session once its chain has been verified: a keep-alive connection then pays the PKIX path
     * validation once instead of on every request, and only revocation and expiry are checked again.
     */
    public Route deviceIdentity(Function<DeviceIdentity, Route> inner) {
        return extractRequest(request -> {
            try {
                return inner.apply(identity(session(request)));
            } catch (CertificateException e) {
                return unauthorized(e.getMessage());
            }
        });
    }

    private DeviceIdentity identity(SSLSession session) throws CertificateException {
        if (session.getValue(VERIFIED_IDENTITY) instanceof DeviceIdentity verified) {
            return verifier.reverify(verified, Instant.now());
        }
        DeviceIdentity identity = verifier.verify(peerCertificates(session));
        session.putValue(VERIFIED_IDENTITY, identity);
        return identity;
    }

    private static SSLSession session(HttpRequest request) throws CertificateException {
        SslSessionInfo session = request.getAttribute(AttributeKeys.sslSession).orElseThrow(() ->
                new CertificateException("no TLS session on this request (device port bound without "
                        + "DeviceTls.serverSettings?)"));
        return session.getSession();
    }

    private static X509Certificate[] peerCertificates(SSLSession session) throws CertificateException {
        try {
            Certificate[] certificates = session.getPeerCertificates();
            return Arrays.stream(certificates)
                    .filter(X509Certificate.class::isInstance)
                    .map(X509Certificate.class::cast)
                    .toArray(X509Certificate[]::new);
        } catch (SSLPeerUnverifiedException e) {
            throw new CertificateException("no client certificate");
        }
    }

    private static Route unauthorized(String detail) {
        ObjectNode body = JsonNodeFactory.instance.objectNode();
        body.put("error", "unauthorized");
        body.put("detail", detail);
        return complete(StatusCodes.UNAUTHORIZED, HttpEntities.create(ContentTypes.APPLICATION_JSON, body.toString()));
    }
}
