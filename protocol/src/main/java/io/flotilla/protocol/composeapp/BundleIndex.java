package io.flotilla.protocol.composeapp;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.oci.Digest;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The bundle index: each regular file of the app directory (relative path, '/' separated) → its
 * sha256. It is stored as its own blob, referenced from the bundle layer's annotations, and its
 * bytes are canonical JSON so that the same app always yields the same index digest.
 */
public record BundleIndex(SortedMap<String, Digest> files) {

  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public BundleIndex {
    if (files == null) {
      throw new IllegalArgumentException("bundle index is not a JSON object");
    }
    TreeMap<String, Digest> copy = new TreeMap<>();
    files.forEach(
        (path, digest) -> {
          BundlePaths.requireSafe(path);
          if (digest == null) {
            throw new IllegalArgumentException("bundle index entry " + path + " has no digest");
          }
          copy.put(path, digest);
        });
    files = Collections.unmodifiableSortedMap(copy);
  }

  public BundleIndex(Map<String, Digest> files) {
    this(files == null ? null : new TreeMap<>(files));
  }

  @JsonValue
  public SortedMap<String, Digest> files() {
    return files;
  }

  public byte[] toBytes() {
    return Json.canonical(this);
  }

  public Digest digest() {
    return Digest.of(toBytes());
  }

  public static BundleIndex parse(byte[] json) {
    try {
      return Json.mapper().readValue(json, BundleIndex.class);
    } catch (java.io.IOException e) {
      throw new ComposeAppException("invalid bundle index: " + e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      throw new ComposeAppException("invalid bundle index: " + e.getMessage(), e);
    }
  }
}
