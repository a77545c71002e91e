# Shared by tests/integration/test_ca_*.sh: paths, a scratch directory that
# is removed on exit, and small assertions. Sourced, not run.
set -euo pipefail
CERTA="${CERTA_BIN:?CERTA_BIN must name the build directory}/certa"
T=$(mktemp -d "${CERTA_TEST_TMP:-/tmp}/$(basename "$0" .sh).XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"

# free_port: a loopback port for a server of this test (free_port.py).
free_port() { python3 "$(dirname "${BASH_SOURCE[0]}")/free_port.py"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }
# Row counts of the store, compared before and after a refused operation.
counts() {
  sqlite3 "$1/ca.db" "SELECT (SELECT count(*) FROM certificates) || ' ' || (SELECT count(*) FROM requests);"
}
# Runs a certa command that must fail: non-zero exit, exactly one line on
# stderr that contains the given text, and the store unchanged.
expect_fail() {
  local dir=$1 want=$2; shift 2
  local before after rc=0
  before=$(counts "$dir" 2>/dev/null || echo none)
  "$CERTA" "$@" >"$T/out" 2>"$T/err" || rc=$?
  after=$(counts "$dir" 2>/dev/null || echo none)
  [ "$rc" -ne 0 ] || fail "certa $* succeeded"
  [ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err" >&2; fail "certa $*: expected one line on stderr"; }
  grep -qi -- "$want" "$T/err" || { cat "$T/err" >&2; fail "certa $*: error does not mention '$want'"; }
  [ "$before" = "$after" ] || fail "certa $*: store changed ($before -> $after)"
  LAST_RC=$rc
}

# certad's workers write their request log lines when their event loop
# idles, so a line can land a moment after the client has its answer.
# log_wait FILE PATTERN: waits up to 2 s for a line matching PATTERN.
log_wait() {
  for _ in $(seq 1 40); do grep -q -- "$2" "$1" && return 0; sleep 0.05; done
  return 1
}
# log_wait_count FILE PATTERN N: waits up to 2 s for exactly N matching lines.
log_wait_count() {
  for _ in $(seq 1 40); do [ "$(grep -c -- "$2" "$1")" = "$3" ] && return 0; sleep 0.05; done
  return 1
}
