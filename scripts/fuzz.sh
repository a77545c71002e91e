#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz/fuzz_*.c) with clang, ASan and
# UBSan into build-fuzz/ and runs each for FUZZ_SECONDS (default 30): first
# the committed seeds and regression inputs (tests/fuzz/corpus/NAME/), then
# fuzzing from them plus the corpus grown by earlier runs
# (build-fuzz/corpus/NAME/, not committed). Fails when any harness finds a
# crash, a leak, undefined behaviour or a hang; the input is kept in
# build-fuzz/artifacts/. FUZZ_ONLY="csr ocsp" runs some harnesses only;
# FUZZ_ARGS adds libFuzzer options (e.g. -detect_leaks=0 for long runs of
# harnesses whose CA keeps state: leaks are then reported at exit only).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-30}
jobs=${FUZZ_BUILD_JOBS:-$(nproc)}
all="scep_server ocsp cmp_server csr scep_reply trustpoint_import"
only=${FUZZ_ONLY:-$all}

cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCERTA_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz

# Each harness's CA and state live in a scratch directory: tmpfs when there
# is one (the store commits often), removed afterwards.
base=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
scratch=$(mktemp -d "$base/certa-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir -p build-fuzz/artifacts

max_len() {
  case $1 in
    ocsp) echo 8192 ;;
    *) echo 16384 ;;
  esac
}

failed=()
for name in $only; do
  bin=build-fuzz/tests/fuzz/fuzz_$name
  seeds=tests/fuzz/corpus/$name
  work=build-fuzz/corpus/$name
  log=build-fuzz/fuzz_$name.log
  mkdir -p "$work" "$scratch/$name"
  export TMPDIR=$scratch/$name
  opts=(-max_len="$(max_len "$name")" -timeout=25 -rss_limit_mb=2560 -print_final_stats=1
        -artifact_prefix="build-fuzz/artifacts/$name-")
  # Regression inputs first: each must run clean on its own.
  if [ -d "$seeds" ] && ! "$bin" "${opts[@]}" -runs=1 $(find "$seeds" -type f | sort) >"$log" 2>&1; then
    echo "FUZZ $name: a seed or regression input fails, see $log" >&2
    tail -40 "$log" >&2
    failed+=("$name")
    continue
  fi
  dirs=("$work")
  [ -d "$seeds" ] && dirs+=("$seeds")
  # shellcheck disable=SC2086 # FUZZ_ARGS is a list of options
  if ! "$bin" "${opts[@]}" ${FUZZ_ARGS:-} -max_total_time="$secs" "${dirs[@]}" >>"$log" 2>&1; then
    echo "FUZZ $name: failed, see $log and build-fuzz/artifacts/$name-*" >&2
    grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5 >&2 || true
    failed+=("$name")
    continue
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  echo "FUZZ name=$name seconds=$secs execs=${execs:-0} exec_per_s=${rate:-0} cov=${cov:-0}"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found problems in: ${failed[*]}" >&2
  exit 1
fi
