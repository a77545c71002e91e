#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, runs ctest (unit and
# integration tests against real peers on loopback), then rebuilds with
# AddressSanitizer + UBSan and runs the unit tests again, then runs each
# libFuzzer harness briefly (CERTA_SKIP_FUZZ=1 skips that; FUZZ_SECONDS).
set -euo pipefail
cd "$(dirname "$0")/.."
CERTA_DEPS_BENCH=${CERTA_DEPS_BENCH:-0} bash scripts/deps.sh

jobs=$(nproc)
# Every ctest and fuzz run appends here; the last line sums them up.
results=$(mktemp)
trap 'rm -f "$results"' EXIT
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs" "$@") | tee -a "$results"

if [ "${CERTA_SKIP_SANITIZE:-0}" != 1 ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCERTA_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  # Leak checking stays on: a leak in libcerta is a bug in firmware.
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
     UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j"$jobs" -L unit) | tee -a "$results"
fi

if [ "${CERTA_SKIP_FUZZ:-0}" != 1 ]; then
  # A smoke run: the seeds and regression inputs, then ~10 s per harness.
  FUZZ_SECONDS=${FUZZ_SECONDS:-10} FUZZ_BUILD_JOBS=$jobs bash scripts/fuzz.sh | tee -a "$results"
fi

# One closing line for the whole run: every ctest case (the unit tests twice,
# plain and sanitized) and every fuzz harness. A failure exits earlier.
awk '/tests passed, [0-9]+ tests failed out of/ { p += $NF - $4; f += $4 }
     /^FUZZ name=/ { p++ }
     END { printf "certa: %d passed, %d failed\n", p, f }' "$results"
