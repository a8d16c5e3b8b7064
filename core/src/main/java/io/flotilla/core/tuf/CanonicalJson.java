package io.flotilla.core.tuf;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

/**
 * OLPC canonical JSON, byte for byte as go-securesystemslib's {@code cjson} (used by go-tuf, hence
 * by fioup) writes it: object keys sorted by their UTF-8 bytes, no whitespace, strings with only
 * {@code "} and {@code \} escaped and every other character written as raw UTF-8, integers only.
 * Signatures are made over these bytes, so any difference from the verifier's encoder breaks
 * verification.
 */
public final class CanonicalJson {

  private static final BigInteger LONG_MIN = BigInteger.valueOf(Long.MIN_VALUE);
  private static final BigInteger LONG_MAX = BigInteger.valueOf(Long.MAX_VALUE);

  private CanonicalJson() {}

  /**
   * @throws IllegalArgumentException for values canonical JSON cannot express (fractions, huge
   *     numbers)
   */
  public static byte[] encode(JsonNode node) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    write(node, out);
    return out.toByteArray();
  }

  public static String encodeToString(JsonNode node) {
    return new String(encode(node), StandardCharsets.UTF_8);
  }

  private static void write(JsonNode node, ByteArrayOutputStream out) {
    switch (node.getNodeType()) {
      case OBJECT -> writeObject(node, out);
      case ARRAY -> {
        out.write('[');
        for (int i = 0; i < node.size(); i++) {
          if (i > 0) {
            out.write(',');
          }
          write(node.get(i), out);
        }
        out.write(']');
      }
      case STRING -> writeString(node.textValue(), out);
      case NUMBER -> writeInteger(node, out);
      case BOOLEAN -> writeAscii(node.booleanValue() ? "true" : "false", out);
      case NULL -> writeAscii("null", out);
      default ->
          throw new IllegalArgumentException(
              "canonical JSON cannot encode a " + node.getNodeType());
    }
  }

  private static void writeObject(JsonNode node, ByteArrayOutputStream out) {
    List<byte[]> keys = new ArrayList<>();
    for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
      keys.add(names.next().getBytes(StandardCharsets.UTF_8));
    }
    // Go sorts strings by bytes; Java's String order (UTF-16 units) differs above U+FFFF.
    keys.sort(Arrays::compareUnsigned);
    out.write('{');
    for (int i = 0; i < keys.size(); i++) {
      if (i > 0) {
        out.write(',');
      }
      String key = new String(keys.get(i), StandardCharsets.UTF_8);
      writeString(key, out);
      out.write(':');
      write(node.get(key), out);
    }
    out.write('}');
  }

  private static void writeString(String value, ByteArrayOutputStream out) {
    out.write('"');
    byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
    for (byte b : utf8) {
      if (b == '"' || b == '\\') {
        out.write('\\');
      }
      out.write(b);
    }
    out.write('"');
  }

  /**
   * cjson accepts only numbers that parse as int64; "1.0" and 1e3 are refused there, so here too.
   */
  private static void writeInteger(JsonNode node, ByteArrayOutputStream out) {
    if (!node.isIntegralNumber()) {
      throw new IllegalArgumentException("canonical JSON cannot encode the non-integer " + node);
    }
    BigInteger value = node.bigIntegerValue();
    if (value.compareTo(LONG_MIN) < 0 || value.compareTo(LONG_MAX) > 0) {
      throw new IllegalArgumentException(
          "canonical JSON cannot encode " + value + ": beyond 64 bits");
    }
    writeAscii(value.toString(), out);
  }

  private static void writeAscii(String text, ByteArrayOutputStream out) {
    out.writeBytes(text.getBytes(StandardCharsets.US_ASCII));
  }
}
