package io.flotilla.core.pki;

/**
 * A registration CSR that cannot be signed; the registration route answers 400 with {@link
 * #code()}.
 */
public final class CsrRejectedException extends RuntimeException {

  public enum Reason {
    MALFORMED("invalid_csr"),
    BAD_SIGNATURE("invalid_csr_signature"),
    UNSUPPORTED_KEY("unsupported_csr_key"),
    CN_MISMATCH("csr_cn_mismatch"),
    OU_MISMATCH("csr_ou_mismatch");

    private final String code;

    Reason(String code) {
      this.code = code;
    }
  }

  private final Reason reason;

  public CsrRejectedException(Reason reason, String detail) {
    super(detail);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }

  /** Stable machine-readable code for the {@code error} field of the JSON error body. */
  public String code() {
    return reason.code;
  }
}
