package io.flotilla.core.tuf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class CanonicalJsonTest {

  private static final ObjectMapper MAPPER = new ObjectMapper();

  @Test
  void sortsKeysAndDropsWhitespace() throws Exception {
    String json =
        "{ \"signed\": {\"version\": 3, \"_type\": \"Targets\", \"targets\": {}},\n"
            + "  \"b\": [1, true, null, -5, {\"z\": 0, \"a\": \"x\"}], \"a\": false }";
    assertEquals(
        "{\"a\":false,\"b\":[1,true,null,-5,{\"a\":\"x\",\"z\":0}],"
            + "\"signed\":{\"_type\":\"Targets\",\"targets\":{},\"version\":3}}",
        CanonicalJson.encodeToString(MAPPER.readTree(json)));
  }

  @Test
  void escapesOnlyQuoteAndBackslashAndWritesRawUtf8() {
    ObjectNode node = JsonNodeFactory.instance.objectNode();
    node.put("s", "a\"b\\c\n\t\u00e9/\u0001");
    byte[] expected = ("{\"s\":\"a\\\"b\\\\c\n\t\u00e9/\u0001\"}").getBytes(StandardCharsets.UTF_8);
    assertArrayEquals(expected, CanonicalJson.encode(node));
  }

  @Test
  void ordersKeysByUtf8BytesLikeGo() {
    ObjectNode node = JsonNodeFactory.instance.objectNode();
    node.put("\uD83D\uDE00", 1); // U+1F600: UTF-8 F0..., but UTF-16 D83D sorts before FB01
    node.put("\uFB01", 2); // U+FB01: UTF-8 EF...
    node.put("Z", 3);
    node.put("a", 4);
    assertEquals(
        "{\"Z\":3,\"a\":4,\"\uFB01\":2,\"\uD83D\uDE00\":1}", CanonicalJson.encodeToString(node));
  }

  @Test
  void refusesNumbersThatAreNotInt64() throws Exception {
    assertEquals(
        "[9223372036854775807,-9223372036854775808,0]",
        CanonicalJson.encodeToString(
            MAPPER.readTree("[9223372036854775807,-9223372036854775808,0]")));
    assertThrows(
        IllegalArgumentException.class, () -> CanonicalJson.encode(MAPPER.readTree("{\"a\":1.5}")));
    assertThrows(
        IllegalArgumentException.class, () -> CanonicalJson.encode(MAPPER.readTree("[1.0]")));
    assertThrows(
        IllegalArgumentException.class,
        () -> CanonicalJson.encode(JsonNodeFactory.instance.numberNode(BigInteger.TWO.pow(63))));
  }
}
