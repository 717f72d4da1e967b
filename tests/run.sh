#!/usr/bin/env bash
# The whole test suite: installs what is missing (Debian 12, as root), builds
# daneproxy twice (optimised, and with AddressSanitizer + UBSan), then runs
# the unit tests of both builds and the integration tests under prove.
#
#   bash tests/run.sh            everything
#   DP_TESTS="tests/integration/20-server.t" bash tests/run.sh   a subset
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash packaging/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDP_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"

export DP_SOURCE_DIR="$top"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

units=()
for b in build build-asan; do
  for t in "$b"/test_*; do
    [ -x "$t" ] && units+=("$t")
  done
done

if [ -n "${DP_TESTS:-}" ]; then
  # shellcheck disable=SC2086
  DP_BUILD="$top/build-asan" prove ${DP_TESTS}
else
  # Integration tests drive the sanitizer build: any memory error fails them.
  DP_BUILD="$top/build-asan" prove "${units[@]}" tests/integration/*.t
fi
