package io.flotilla.core.tuf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One entry of a TUF document's {@code signatures}, in the shape the Foundries gateway sends: {@code method}
 * names the algorithm and {@code sig} is base64.
 */
public record TufSignature(String keyid, String method, String sig) {

    public static final String ED25519 = "ed25519";

    public ObjectNode toJson() {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("keyid", keyid);
        node.put("method", method);
        node.put("sig", sig);
        return node;
    }

    /** @throws IllegalArgumentException if a field is missing or not a string */
    public static TufSignature fromJson(JsonNode node) {
        return new TufSignature(text(node, "keyid"), text(node, "method"), text(node, "sig"));
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual()) {
            throw new IllegalArgumentException("signature field '" + field + "' is missing or not a string");
        }
        return value.textValue();
    }
}
