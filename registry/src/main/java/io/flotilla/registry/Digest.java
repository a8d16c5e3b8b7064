package io.flotilla.registry;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Pattern;

/** A content digest. Only sha256 is stored, as every client in use computes it. */
public record Digest(String hex) {
    private static final Pattern SHA256 = Pattern.compile("sha256:[a-f0-9]{64}");
    private static final Pattern ANY = Pattern.compile("[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+");

    public static Digest parse(String value) {
        Optional<Digest> valid = ifValid(value);
        if (valid.isPresent()) {
            return valid.get();
        }
        if (value != null && ANY.matcher(value).matches()) {
            throw new RegistryError(ErrorCode.DIGEST_INVALID, "unsupported digest algorithm, only sha256 is accepted", value);
        }
        throw new RegistryError(ErrorCode.DIGEST_INVALID, "invalid digest", value);
    }

    /** Empty where {@link #parse} would refuse the value. */
    public static Optional<Digest> ifValid(String value) {
        return value != null && SHA256.matcher(value).matches()
                ? Optional.of(new Digest(value.substring("sha256:".length()))) : Optional.empty();
    }

    public static boolean looksLikeDigest(String reference) {
        return reference.indexOf(':') >= 0;
    }

    public static MessageDigest newHasher() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM has no SHA-256", e);
        }
    }

    public static Digest of(byte[] content) {
        return new Digest(HexFormat.of().formatHex(newHasher().digest(content)));
    }

    public static Digest of(MessageDigest finishedHasher) {
        return new Digest(HexFormat.of().formatHex(finishedHasher.digest()));
    }

    @Override
    public String toString() {
        return "sha256:" + hex;
    }
}
