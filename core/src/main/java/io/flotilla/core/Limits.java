package io.flotilla.core;

import java.util.List;
import java.util.regex.Pattern;

/**
 * Every bound on what a command may carry, in one place (docs/limits.md states them for users). The
 * HTTP layer checks them before it asks an entity, the entities check them again and refuse with
 * {@link Rejection#invalid} whatever slips through, and the read-side columns are sized to hold the
 * largest value they allow.
 */
public final class Limits {

  private Limits() {}

  /**
   * A DNS label of 3 to 63 characters: it names registry repositories, git paths and certificate
   * OUs.
   */
  public static final Pattern FACTORY_NAME = Pattern.compile("[a-z0-9][a-z0-9-]{1,61}[a-z0-9]");

  /** Platforms (hardware ids) of a factory, and the hardware ids of a target. */
  public static final Pattern PLATFORM = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");

  public static final int PLATFORMS = 20;
  public static final Pattern BRANCH_OR_TAG = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_./-]{0,127}");

  /** Branch → tag mappings of a factory; 100 of the longest fit {@code factories.branch_tags}. */
  public static final int BRANCHES = 100;

  public static final int LIVE_TOKENS = 1000;

  /**
   * Device authorizations (RFC 8628) of a factory not yet expired nor redeemed: anyone may ask for
   * one, so a factory holds a bounded number and a flood cannot grow its state.
   */
  public static final int PENDING_DEVICE_AUTHORIZATIONS = 100;

  /**
   * A user code as the device shows it: eight letters of {@code BCDFGHJKLMNPQRSTVWXZ} (no vowels,
   * so no words), written {@code XXXX-XXXX}; operators may type it in lower case or without the
   * dash.
   */
  public static final Pattern USER_CODE =
      Pattern.compile("[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}");

  /** A device code: the factory it was asked for, a dot, 256 random bits in hex. */
  public static final Pattern DEVICE_CODE =
      Pattern.compile("([a-z0-9][a-z0-9-]{1,61}[a-z0-9])\\.([0-9a-f]{64})");

  /**
   * Token descriptions and change reasons: free text on one screen, never a control character but
   * tab and newline.
   */
  public static final int TEXT = 1000;

  /**
   * Target versions. Far below {@code Long.MAX_VALUE} so that "the next version" never overflows,
   * and within an {@code int} so that every client (fioctl, aktualizr's custom.version) reads it.
   */
  public static final long MAX_VERSION = Integer.MAX_VALUE;

  public static final int TARGET_APPS = 100;
  public static final int TARGET_TAGS = 20;
  public static final Pattern APP_NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");

  /** A pinned app URI; 100 of the longest fit {@code targets.apps}. */
  public static final int APP_URI = 255;

  public static final Pattern COMMIT = Pattern.compile("[0-9a-f]{7,64}");

  public static final Pattern DEVICE_UUID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
  public static final Pattern CORRELATION_ID = Pattern.compile("[A-Za-z0-9_-]{1,128}");

  /**
   * Counted in UTF-16 units as well (see {@link #deviceNameProblem}), which is what H2's VARCHAR
   * counts.
   */
  public static final Pattern DEVICE_NAME = Pattern.compile("[^\\p{Cntrl}]{1,255}");

  public static final int DEVICE_NAME_CHARS = 255;
  public static final Pattern GROUP = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
  public static final Pattern DEVICE_TAG = BRANCH_OR_TAG;

  /**
   * Operator labels of a device ({@code key=value}): bounded in count and length so that a device's
   * labels fit its read-side rows and a selector in a rollout plan stays small.
   */
  public static final Pattern LABEL_KEY = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");

  public static final Pattern LABEL_VALUE = Pattern.compile("[A-Za-z0-9_.:/-]{0,128}");
  public static final int DEVICE_LABELS = 20;

  /** Rollouts: id, phases in a plan, devices named in one phase's uuid list. */
  public static final Pattern ROLLOUT_ID = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");

  public static final int ROLLOUT_PHASES = 20;
  public static final int ROLLOUT_PHASE_UUIDS = 1000;

  /**
   * Webhooks of a factory: each delivery is a request to a receiver the operator names, so a
   * factory has few, and their URLs fit {@code webhooks.url}.
   */
  public static final int WEBHOOKS = 20;

  public static final int WEBHOOK_URL = 2048;

  /** A hook's id: 64 random bits in hex, made by the server. */
  public static final Pattern WEBHOOK_ID = Pattern.compile("[0-9a-f]{16}");

  /** A delivery's id: a UUID, which a receiver keys its de-duplication on. */
  public static final Pattern WEBHOOK_DELIVERY_ID =
      Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

  public static final int WEBHOOK_SECRET = 128;

  /** The labels' problem, or null when they fit the bounds above. */
  public static String labelsProblem(java.util.Map<String, String> labels) {
    if (labels == null) {
      return "labels must be an object of key: value";
    }
    if (labels.size() > DEVICE_LABELS) {
      return "a device has at most " + DEVICE_LABELS + " labels";
    }
    for (java.util.Map.Entry<String, String> label : labels.entrySet()) {
      if (label.getKey() == null || !LABEL_KEY.matcher(label.getKey()).matches()) {
        return "label keys must match " + LABEL_KEY.pattern();
      }
      if (label.getValue() == null || !LABEL_VALUE.matcher(label.getValue()).matches()) {
        return "label values must match " + LABEL_VALUE.pattern();
      }
    }
    return null;
  }

  /** Bounded so that a device's app list always fits its read-side column. */
  public static final Pattern DEVICE_APP = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

  public static final int DEVICE_APPS = 100;
  public static final int TARGET_NAME = 255;
  public static final int EVENT_DETAILS = 2048;
  public static final int EVENTS_PER_UPDATE = 200;

  public static final Pattern CONFIG_FILE_NAME = GROUP;
  public static final int CONFIG_FILES = 100;

  /** The sum of one layer's (or one device's) config file values. */
  public static final int CONFIG_CHARS = 1024 * 1024;

  public static final int ON_CHANGED_ARGS = 32;
  public static final int ON_CHANGED_ARG = 1024;

  /**
   * Null when {@code text} (optional) is within {@link #TEXT} and holds no control character but
   * tab and newline.
   */
  public static String textProblem(String field, String text) {
    if (text == null) {
      return null;
    }
    if (text.length() > TEXT) {
      return field + " is longer than " + TEXT + " characters";
    }
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isISOControl(c) && c != '\n' && c != '\t') {
        return field + " must not hold control characters";
      }
    }
    return null;
  }

  /**
   * True when {@code text} (optional) holds no control character: PostgreSQL refuses NUL in a text
   * column.
   */
  public static boolean plain(String text) {
    if (text == null) {
      return true;
    }
    for (int i = 0; i < text.length(); i++) {
      if (Character.isISOControl(text.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  public static String deviceNameProblem(String name) {
    return name != null && name.length() <= DEVICE_NAME_CHARS && DEVICE_NAME.matcher(name).matches()
        ? null
        : "name must be 1 to " + DEVICE_NAME_CHARS + " characters without control characters";
  }

  /**
   * Null when every element of {@code values} is there and matches {@code pattern}, and there are
   * at most {@code max}.
   */
  public static String listProblem(String field, List<String> values, int max, Pattern pattern) {
    if (values == null) {
      return null;
    }
    if (values.size() > max) {
      return "at most " + max + " " + field;
    }
    for (String value : values) {
      if (value == null || !pattern.matcher(value).matches()) {
        return field + " '" + shortened(value) + "' must match " + pattern.pattern();
      }
    }
    return null;
  }

  /** A value quoted in an error detail: enough to recognise it, never the whole of a huge one. */
  public static String shortened(String value) {
    return value == null || value.length() <= 64 ? value : value.substring(0, 64) + "...";
  }
}
