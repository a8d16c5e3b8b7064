package io.flotilla.builder.image;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.protocol.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A Dockerfile split into instructions: continuation lines joined, comments and parser directives
 * dropped, the JSON (exec) form recognised. Syntax errors name the line, because a Dockerfile error
 * is deterministic and the build log is all the developer sees.
 */
public record Dockerfile(List<Instruction> instructions) {

  /** {@code json} holds the arguments of the exec form ({@code ["a", "b"]}), else null. */
  public record Instruction(int line, String keyword, String arguments, List<String> json) {
    public boolean execForm() {
      return json != null;
    }
  }

  public static final Set<String> KNOWN =
      Set.of(
          "FROM",
          "RUN",
          "CMD",
          "LABEL",
          "MAINTAINER",
          "EXPOSE",
          "ENV",
          "ADD",
          "COPY",
          "ENTRYPOINT",
          "VOLUME",
          "USER",
          "WORKDIR",
          "ARG",
          "ONBUILD",
          "STOPSIGNAL",
          "HEALTHCHECK",
          "SHELL");

  /** The instructions that the in-process builder leaves to buildah. */
  private static final Set<String> BUILDAH_ONLY =
      Set.of("RUN", "VOLUME", "ONBUILD", "HEALTHCHECK", "SHELL");

  /** What the in-process builder handles; anything else needs buildah. */
  public static final Set<String> IN_PROCESS =
      KNOWN.stream()
          .filter(keyword -> !BUILDAH_ONLY.contains(keyword))
          .collect(Collectors.toUnmodifiableSet());

  public static Dockerfile parse(String text) {
    List<Instruction> instructions = new ArrayList<>();
    String[] lines = text.split("\r?\n", -1);
    StringBuilder current = null;
    int start = 0;
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i];
      String trimmed = line.strip();
      if (current == null && (trimmed.isEmpty() || trimmed.startsWith("#"))) {
        continue;
      }
      if (current != null && trimmed.startsWith("#")) {
        continue;
      }
      if (current == null) {
        current = new StringBuilder();
        start = i + 1;
      }
      if (trimmed.endsWith("\\")) {
        current.append(trimmed, 0, trimmed.length() - 1).append(' ');
        continue;
      }
      current.append(trimmed);
      instructions.add(instruction(start, current.toString().strip()));
      current = null;
    }
    if (current != null) {
      instructions.add(instruction(start, current.toString().strip()));
    }
    if (instructions.isEmpty()) {
      throw new DockerfileException("Dockerfile is empty");
    }
    int firstFrom = -1;
    for (int i = 0; i < instructions.size(); i++) {
      String keyword = instructions.get(i).keyword();
      if (keyword.equals("FROM")) {
        firstFrom = i;
        break;
      }
      if (!keyword.equals("ARG")) {
        throw new DockerfileException(
            "Dockerfile line " + instructions.get(i).line() + ": " + keyword + " before FROM");
      }
    }
    if (firstFrom < 0) {
      throw new DockerfileException("Dockerfile has no FROM");
    }
    return new Dockerfile(List.copyOf(instructions));
  }

  private static Instruction instruction(int line, String text) {
    int space = indexOfWhitespace(text);
    String keyword = (space < 0 ? text : text.substring(0, space)).toUpperCase(Locale.ROOT);
    String arguments = space < 0 ? "" : text.substring(space).strip();
    if (!KNOWN.contains(keyword)) {
      throw new DockerfileException(
          "Dockerfile line " + line + ": unknown instruction '" + keyword + "'");
    }
    if (arguments.isEmpty()) {
      throw new DockerfileException(
          "Dockerfile line " + line + ": " + keyword + " needs arguments");
    }
    List<String> json = null;
    if (arguments.startsWith("[")
        && Set.of("RUN", "CMD", "ENTRYPOINT", "COPY", "ADD", "SHELL", "VOLUME").contains(keyword)) {
      json = jsonArray(arguments);
    }
    return new Instruction(line, keyword, arguments, json);
  }

  /**
   * The exec form must be a JSON array of strings; anything else is the shell form, as docker reads
   * it.
   */
  private static List<String> jsonArray(String arguments) {
    try {
      JsonNode node = Json.mapper().readTree(arguments);
      if (node == null || !node.isArray()) {
        return null;
      }
      List<String> values = new ArrayList<>();
      for (JsonNode element : node) {
        if (!element.isTextual()) {
          return null;
        }
        values.add(element.asText());
      }
      return List.copyOf(values);
    } catch (IOException e) {
      return null;
    }
  }

  private static int indexOfWhitespace(String text) {
    for (int i = 0; i < text.length(); i++) {
      if (Character.isWhitespace(text.charAt(i))) {
        return i;
      }
    }
    return -1;
  }

  /**
   * The instructions the in-process builder cannot do, with their lines, e.g. {@code RUN (line 3)}.
   */
  public List<String> needsBuildah() {
    List<String> reasons = new ArrayList<>();
    long froms = instructions.stream().filter(i -> i.keyword().equals("FROM")).count();
    if (froms > 1) {
      reasons.add("a multi-stage build (" + froms + " FROM lines)");
    }
    for (Instruction instruction : instructions) {
      if (!IN_PROCESS.contains(instruction.keyword())) {
        reasons.add(instruction.keyword() + " (line " + instruction.line() + ")");
      } else if ((instruction.keyword().equals("COPY") || instruction.keyword().equals("ADD"))
          && instruction.arguments().contains("--from")) {
        reasons.add(instruction.keyword() + " --from (line " + instruction.line() + ")");
      }
    }
    return reasons;
  }

  /**
   * Expands {@code $VAR}, {@code ${VAR}}, {@code ${VAR:-default}} and {@code ${VAR:+alt}}; {@code
   * \$} stays literal.
   */
  public static String substitute(String text, Map<String, String> vars) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '\\' && i + 1 < text.length() && text.charAt(i + 1) == '$') {
        out.append('$');
        i++;
      } else if (c == '$' && i + 1 < text.length() && text.charAt(i + 1) == '{') {
        int end = text.indexOf('}', i);
        if (end < 0) {
          throw new DockerfileException("unterminated ${ in '" + text + "'");
        }
        String expr = text.substring(i + 2, end);
        int op = expr.indexOf(':');
        if (op > 0
            && op + 1 < expr.length()
            && (expr.charAt(op + 1) == '-' || expr.charAt(op + 1) == '+')) {
          String name = expr.substring(0, op);
          String word = expr.substring(op + 2);
          String value = vars.get(name);
          boolean set = value != null && !value.isEmpty();
          out.append(expr.charAt(op + 1) == '-' ? (set ? value : word) : (set ? word : ""));
        } else {
          out.append(vars.getOrDefault(expr, ""));
        }
        i = end;
      } else if (c == '$'
          && i + 1 < text.length()
          && (Character.isLetter(text.charAt(i + 1)) || text.charAt(i + 1) == '_')) {
        int end = i + 1;
        while (end < text.length()
            && (Character.isLetterOrDigit(text.charAt(end)) || text.charAt(end) == '_')) {
          end++;
        }
        out.append(vars.getOrDefault(text.substring(i + 1, end), ""));
        i = end - 1;
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  /** Splits shell-form words, honouring single and double quotes and backslash escapes. */
  public static List<String> words(String text) {
    List<String> words = new ArrayList<>();
    StringBuilder word = null;
    char quote = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (quote != 0) {
        if (c == quote) {
          quote = 0;
        } else if (c == '\\' && quote == '"' && i + 1 < text.length()) {
          word.append(text.charAt(++i));
        } else {
          word.append(c);
        }
      } else if (Character.isWhitespace(c)) {
        if (word != null) {
          words.add(word.toString());
          word = null;
        }
      } else {
        if (word == null) {
          word = new StringBuilder();
        }
        if (c == '"' || c == '\'') {
          quote = c;
        } else if (c == '\\' && i + 1 < text.length()) {
          word.append(text.charAt(++i));
        } else {
          word.append(c);
        }
      }
    }
    if (quote != 0) {
      throw new DockerfileException("unterminated quote in '" + text + "'");
    }
    if (word != null) {
      words.add(word.toString());
    }
    return words;
  }
}
