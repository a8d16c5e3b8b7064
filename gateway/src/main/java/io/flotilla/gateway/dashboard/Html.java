package io.flotilla.gateway.dashboard;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * The dashboard's only way to put text into a page: every value goes through {@link #text} (element
 * content and quoted attribute values) or {@link #query} (URL parameters), so no stored string
 * (device names, build logs, token descriptions) can become markup. Markup itself is written only
 * by the dashboard's code, as {@link Html} fragments.
 */
public record Html(String markup) {

  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'").withZone(ZoneOffset.UTC);

  public static final Html EMPTY = new Html("");

  /** Text escaped for element content and double-quoted attribute values. */
  public static String text(Object value) {
    if (value == null) {
      return "";
    }
    String s = value.toString();
    StringBuilder out = new StringBuilder(s.length() + 16);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> out.append("&amp;");
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '"' -> out.append("&quot;");
        case '\'' -> out.append("&#39;");
        default -> {
          if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') {
            out.append('\uFFFD');
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.toString();
  }

  /** A URL query value. */
  public static String query(String value) {
    return URLEncoder.encode(value == null ? "" : value, StandardCharsets.UTF_8);
  }

  public static String time(Instant instant) {
    return instant == null ? "never" : TIME.format(instant);
  }

  /** Markup with {@code %s} holes filled by escaped values. */
  public static Html of(String template, Object... values) {
    Object[] escaped = new Object[values.length];
    for (int i = 0; i < values.length; i++) {
      escaped[i] = values[i] instanceof Html html ? html.markup() : text(values[i]);
    }
    return new Html(String.format(template, escaped));
  }

  public static Html join(Iterable<Html> parts) {
    StringBuilder out = new StringBuilder();
    parts.forEach(part -> out.append(part.markup()));
    return new Html(out.toString());
  }

  public Html plus(Html more) {
    return new Html(markup + more.markup);
  }

  @Override
  public String toString() {
    return markup;
  }
}
