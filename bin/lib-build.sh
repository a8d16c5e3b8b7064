# Sourced by the launchers: builds a jar with Maven, quietly, saying that it works and where its output is.
#   build_jar <launcher name> <what> <maven module arguments...>
build_jar() {
  local name="$1" what="$2"
  shift 2
  local log
  log="$(mktemp "${TMPDIR:-/tmp}/$name-build.XXXXXX.log")"
  echo "$name: building $what with Maven (first run, about a minute; output in $log)" >&2
  # -B and -Dstyle.color=never: no colour escapes; --no-transfer-progress: no download lines
  (cd "$root" && mvn -B --no-transfer-progress -Dstyle.color=never -DskipTests "$@" package) >"$log" 2>&1 &
  local maven=$! started=$SECONDS
  while kill -0 "$maven" 2>/dev/null; do
    sleep 1
    if (( (SECONDS - started) % 15 == 0 && SECONDS > started )); then
      echo "$name: still building ($((SECONDS - started)) s)" >&2
    fi
  done
  if ! wait "$maven"; then
    echo "$name: the build failed; the end of $log:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
  echo "$name: built in $((SECONDS - started)) s" >&2
  rm -f "$log"
}
