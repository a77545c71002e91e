#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, runs ctest (unit and
# integration tests against real peers on loopback), then rebuilds with
# AddressSanitizer + UBSan and runs the unit tests again, then runs each
# libFuzzer harness briefly (CERTA_SKIP_FUZZ=1 skips that; FUZZ_SECONDS).
set -euo pipefail
cd "$(dirname "$0")/.."
CERTA_DEPS_BENCH=${CERTA_DEPS_BENCH:-0} bash scripts/deps.sh

jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs" "$@")

if [ "${CERTA_SKIP_SANITIZE:-0}" != 1 ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCERTA_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  # Leak checking stays on: a leak in libcerta is a bug in firmware.
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
     UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j"$jobs" -L unit)
fi

if [ "${CERTA_SKIP_FUZZ:-0}" != 1 ]; then
  # A smoke run: the seeds and regression inputs, then ~10 s per harness.
  FUZZ_SECONDS=${FUZZ_SECONDS:-10} FUZZ_BUILD_JOBS=$jobs bash scripts/fuzz.sh
fi
