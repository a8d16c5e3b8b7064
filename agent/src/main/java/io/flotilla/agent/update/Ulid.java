package io.flotilla.agent.update;

import java.security.SecureRandom;
import java.time.Clock;

/**
 * ULIDs (26 characters, Crockford base32, millisecond time then randomness) for update ids: they
 * sort by creation time, so the newest update is the greatest id. Ids made within one millisecond
 * increase the random part by one.
 */
public final class Ulid {

  private static final char[] ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ".toCharArray();
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Clock clock;
  private long lastMillis = -1;
  private long randomHigh; // 16 bits
  private long randomLow; // 64 bits

  public Ulid(Clock clock) {
    this.clock = clock;
  }

  public synchronized String next() {
    long millis = clock.millis();
    if (millis == lastMillis) {
      randomLow++;
      if (randomLow == 0) {
        randomHigh = (randomHigh + 1) & 0xFFFF;
      }
    } else {
      lastMillis = millis;
      randomHigh = RANDOM.nextInt(1 << 16);
      randomLow = RANDOM.nextLong();
    }
    char[] out = new char[26];
    for (int i = 9; i >= 0; i--) {
      out[i] = ALPHABET[(int) (millis & 31)];
      millis >>>= 5;
    }
    // 80 random bits = 16 chars of 5 bits, taken from the low end of (randomHigh:randomLow)
    long low = randomLow;
    long high = randomHigh;
    for (int i = 25; i >= 10; i--) {
      out[i] = ALPHABET[(int) (low & 31)];
      low = (low >>> 5) | ((high & 31) << 59);
      high >>>= 5;
    }
    return new String(out);
  }

  public static boolean isValid(String id) {
    if (id == null || id.length() != 26) {
      return false;
    }
    for (char c : id.toCharArray()) {
      if (new String(ALPHABET).indexOf(c) < 0) {
        return false;
      }
    }
    return true;
  }
}
