package io.flotilla.agent;

import java.net.ConnectException;
import java.net.UnknownHostException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.UnresolvedAddressException;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;

/**
 * Says why something failed from a whole cause chain. The JDK's HTTP client throws a {@code
 * ConnectException} without a message whose cause, also without one, is the real reason (an
 * unresolved host, a refused connection), so a reason built from {@code getMessage()} alone read
 * "null" to the operator.
 */
public final class Failures {

  private Failures() {}

  /**
   * The messages along the cause chain joined with ": ", each said once; an exception without a
   * message is named by what it means or by its class.
   */
  public static String describe(Throwable failure) {
    StringBuilder text = new StringBuilder();
    Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    for (Throwable t = failure; t != null && seen.add(t); t = t.getCause()) {
      String part = ownPart(t);
      if (part == null || text.indexOf(part) >= 0) {
        continue;
      }
      if (text.length() > 0) {
        text.append(": ");
      }
      text.append(part);
    }
    return text.toString();
  }

  private static String ownPart(Throwable t) {
    String message = t.getMessage();
    if (message == null || message.isBlank()) {
      return meaning(t);
    }
    if (t.getCause() != null && message.equals(t.getCause().toString())) {
      return null;
    }
    return t instanceof UnknownHostException ? "unknown host " + message : message.strip();
  }

  private static String meaning(Throwable t) {
    if (t instanceof ConnectException) {
      return "cannot connect";
    }
    if (t instanceof UnresolvedAddressException) {
      return "cannot resolve the host name";
    }
    if (t instanceof ClosedChannelException) {
      return "the connection was refused or closed";
    }
    return t.getClass().getSimpleName();
  }
}
