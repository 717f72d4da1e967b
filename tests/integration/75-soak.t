#!/usr/bin/env bash
# The soak (tests/soak/soak.sh) in its short form: 500 connections held and
# released, 4,000 handshakes with dane_clientid with HTTP keep-alive traffic
# alongside, then descriptors, open connections, RSS growth and the metrics
# checked. It runs the optimised build (build/) when there is one, whatever
# DP_BUILD says: AddressSanitizer's quarantine keeps freed memory on purpose,
# which would read as growth (the other tests run these paths under it).
# With only the sanitizer build it runs that, without the RSS growth check.
# `bash tests/soak/soak.sh --long` is the full run.
here=$(cd "$(dirname "$0")" && pwd)
DP_BUILD=$(cd "$here/../.." && pwd)/build
if [[ ! -x $DP_BUILD/daneproxy ]]; then
  DP_BUILD=${DP_BUILD%/build}/build-asan
  SOAK_NO_GROWTH_CHECK="the sanitizer build (its quarantine keeps freed memory)"
fi
export DP_BUILD SOAK_NO_GROWTH_CHECK
exec bash "$here/../soak/soak.sh"
