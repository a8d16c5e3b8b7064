package io.flotilla.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** Rows of JSON objects as aligned text columns, the CLI's output without {@code --json}. */
final class Table {

  record Column(String header, Function<JsonNode, String> value) {}

  private final List<Column> columns = new ArrayList<>();

  /** A column showing field {@code field} of each row. */
  Table column(String header, String field) {
    return column(header, row -> text(row.get(field)));
  }

  Table column(String header, Function<JsonNode, String> value) {
    columns.add(new Column(header, value));
    return this;
  }

  void print(PrintWriter out, Iterable<JsonNode> rows) {
    List<String[]> lines = new ArrayList<>();
    lines.add(columns.stream().map(Column::header).toArray(String[]::new));
    for (JsonNode row : rows) {
      lines.add(columns.stream().map(c -> c.value().apply(row)).toArray(String[]::new));
    }
    int[] widths = new int[columns.size()];
    for (String[] line : lines) {
      for (int i = 0; i < line.length; i++) {
        widths[i] = Math.max(widths[i], line[i].length());
      }
    }
    for (String[] line : lines) {
      StringBuilder text = new StringBuilder();
      for (int i = 0; i < line.length; i++) {
        text.append(line[i]);
        if (i < line.length - 1) {
          text.append(" ".repeat(widths[i] - line[i].length() + 2));
        }
      }
      out.println(text.toString().stripTrailing());
    }
    out.flush();
  }

  /** {@code label: value} lines for one object. */
  static void details(PrintWriter out, List<String[]> pairs) {
    int width = pairs.stream().mapToInt(p -> p[0].length()).max().orElse(0);
    for (String[] pair : pairs) {
      out.println(pair[0] + ":" + " ".repeat(width - pair[0].length() + 1) + pair[1]);
    }
    out.flush();
  }

  /** A JSON value as a cell: arrays joined by commas, objects as {@code k=v}, null as "-". */
  static String text(JsonNode value) {
    if (value == null || value.isNull() || value.isMissingNode()) {
      return "-";
    }
    if (value.isArray()) {
      List<String> items = new ArrayList<>();
      value.forEach(item -> items.add(text(item)));
      return items.isEmpty() ? "-" : String.join(",", items);
    }
    if (value.isObject()) {
      List<String> items = new ArrayList<>();
      value.fields().forEachRemaining(e -> items.add(e.getKey() + "=" + text(e.getValue())));
      return items.isEmpty() ? "-" : String.join(",", items);
    }
    return value.asText();
  }
}
