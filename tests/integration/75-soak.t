#!/usr/bin/env bash
# The soak (tests/soak/soak.sh) in its short form: 500 connections held and
# released, 4,000 handshakes with dane_clientid with HTTP keep-alive traffic
# alongside, then descriptors, open connections, RSS growth and the metrics
# checked. On the optimised build: AddressSanitizer's quarantine keeps freed
# memory on purpose, which would read as growth; the other tests run these
# paths under it. `bash tests/soak/soak.sh --long` is the full run.
here=$(cd "$(dirname "$0")" && pwd)
DP_BUILD=$(cd "$here/../.." && pwd)/build
[[ -x $DP_BUILD/daneproxy ]] || DP_BUILD=${DP_BUILD%/build}/build-asan GROWTH_KB=262144
export DP_BUILD GROWTH_KB
exec bash "$here/../soak/soak.sh"
