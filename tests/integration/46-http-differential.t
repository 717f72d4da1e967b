#!/usr/bin/env bash
# A differential check of the HTTP mode's framing: every client stream in
# the fuzz_http1 corpus (the fuzzer's finds and the request-smuggling
# classics, tests/fuzz/corpus/fuzz_http1/smuggle_*) is cut into messages and
# forwarded as daneproxy does (dp-http1-frame), then parsed by h11, an
# independent HTTP/1.1 implementation, as the upstream would parse it: the
# same messages must end at the same bytes, with the same bodies, and the
# proxy must accept nothing h11 refuses (tests/lib/http1_diff.py).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"

"$LAB_PYTHON" -c 'import h11' 2>/dev/null || skip_all "python3-h11 missing (packaging/install-deps.sh)"
frame=$DP_BUILD/dp-http1-frame
[ -x "$frame" ] || bail "no $frame"
exec "$LAB_PYTHON" "$here/../lib/http1_diff.py" "$frame" "$here"/../fuzz/corpus/fuzz_http1/*
