# shellcheck shell=bash
# tests/lib/http.sh -- HTTP-mode test helpers (source after tap.sh, lab.sh
# and proxy.sh).
#
#   lab_nginx_start NAME      Debian's nginx as an unmodified upstream
#   nginx_log_count NAME      access-log records so far
#   nginx_log_wait NAME N [S] wait until NAME has logged at least N requests
#   nginx_log_field NAME N F  field F of record N (1-based; -1 = the last)
#   nginx_log_fields NAME F [FROM]  field F of every record (from FROM on)
#   lab_ws_echo_start NAME    the python3-websockets echo upstream
#   ws_echo_client PORT PATH [HEADER...]  a WebSocket round trip, printed
#   http_status FILE          the status code of the first response in FILE
#   http_statuses FILE        every final status line's code, space-separated
#   tc PORT OUT REQUEST [ARGS]  one DANE client connection, bytes read to OUT
#
# Nothing here sleeps for readiness: every start is probed.

# lab_nginx_start NAME [CONNS]: start /usr/sbin/nginx in the foreground (no
# master, one process, at most CONNS connections: default 512) on a loopback
# port from lab_port (nginx refuses port 0),
# everything it writes inside $LAB/NAME.nginx (pid, lock, temp dirs) and
# $LAB (logs): access log
# $LAB/NAME.access.jsonl (one JSON object per request, see the log_format),
# error log $LAB/NAME.error.log. Exports NGINX_PORT and NGINX_<NAME>_PORT.
# Locations:
#   /          200, a small JSON body naming the URI and identity it saw
#   /join      200, a static TS002 JoinAns (for a JoinReq POST)
#   /upload    the body is really read (proxied to /_sink on the same
#              nginx, which buffers it to client_body_temp_path), so
#              $request_length counts it and "Expect: 100-continue" is
#              answered with 100; 200 JSON; bodies up to 64 MiB
#   /_ready    readiness probe, not logged
lab_nginx_start() {
	local name=$1 conns=${2:-512} dir port var
	dir=$LAB/$name.nginx
	mkdir -p "$dir/tmp" || return 1
	port=$(lab_port) || return 1
	cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
worker_rlimit_nofile $((conns + 64));
lock_file $dir/nginx.lock;
error_log $LAB/$name.error.log info;
events {
	worker_connections $conns;
}
http {
	client_body_temp_path $dir/tmp/client_body;
	proxy_temp_path $dir/tmp/proxy;
	fastcgi_temp_path $dir/tmp/fastcgi;
	uwsgi_temp_path $dir/tmp/uwsgi;
	scgi_temp_path $dir/tmp/scgi;
	server_tokens off;
	large_client_header_buffers 4 64k;
	keepalive_requests 10000;
	log_format dp escape=json '{"request":"\$request","method":"\$request_method",'
		'"uri":"\$request_uri","status":"\$status",'
		'"identity":"\$http_dane_client_identity","tlsa":"\$http_dane_client_tlsa",'
		'"client_cert":"\$http_client_cert","client_cert_chain":"\$http_client_cert_chain",'
		'"xff":"\$http_x_forwarded_for","xfp":"\$http_x_forwarded_proto",'
		'"host":"\$http_host","te":"\$http_transfer_encoding","expect":"\$http_expect",'
		'"request_length":"\$request_length","content_length":"\$content_length",'
		'"connection":"\$connection","connection_requests":"\$connection_requests",'
		'"remote_addr":"\$remote_addr","remote_port":"\$remote_port",'
		'"bytes_sent":"\$bytes_sent","request_time":"\$request_time"}';
	access_log $LAB/$name.access.jsonl dp;
	default_type application/json;
	server {
		listen 127.0.0.1:$port;
		server_name _;
		client_max_body_size 64m;
		client_body_buffer_size 1m;
		location = /_ready {
			access_log off;
			return 204;
		}
		location = /_sink {
			access_log off;
			return 200 '{"upload":"ok"}\n';
		}
		location /upload {
			proxy_http_version 1.1;
			proxy_request_buffering on;
			proxy_set_header Connection "";
			proxy_pass http://127.0.0.1:$port/_sink;
		}
		location /join {
			return 200 '{"ProtocolVersion":"1.1","SenderID":"70B3D57ED0000000","ReceiverID":"000013","TransactionID":42,"MessageType":"JoinAns","Result":{"ResultCode":"Success"},"PHYPayload":"20a1b2c3d4e5f60718293a4b5c6d7e8f90","Lifetime":0,"SessionKeyID":"0102030405060708"}\n';
		}
		location / {
			return 200 '{"ok":true,"uri":"\$request_uri","identity":"\$http_dane_client_identity"}\n';
		}
	}
}
EOF
	: >"$LAB/$name.access.jsonl"
	lab_spawn "$name" /usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf" -e "$LAB/$name.error.log"
	lab_poll 10 _http_nginx_ready "$name" "$port" || {
		diag "lab_nginx_start: $name did not start"
		return 1
	}
	_lab_alive "$name" || {
		diag "lab_nginx_start: $name exited"
		tail -n 20 "$LAB/$name.error.log" 2>/dev/null | _tap_diag_lines
		return 1
	}
	NGINX_PORT=$port
	var=${name^^}
	var=NGINX_${var//[^A-Z0-9]/_}_PORT
	printf -v "$var" '%s' "$port"
	export NGINX_PORT "${var?}"
}

_http_nginx_ready() { # NAME PORT: probe answered 204, or the process died
	_lab_alive "$1" || return 0
	[[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$2/_ready" 2>/dev/null) == 204 ]]
}

# nginx_log_count NAME: number of access-log records (one per request).
nginx_log_count() {
	if [[ -f $LAB/$1.access.jsonl ]]; then
		wc -l <"$LAB/$1.access.jsonl" | tr -d ' '
	else
		echo 0
	fi
}

# nginx_log_wait NAME N [SECONDS=10]: until NAME has logged >= N requests
# (nginx writes a record when a request is finalised, body included).
nginx_log_wait() {
	lab_poll "${3:-10}" _lab_lines_ge "$LAB/$1.access.jsonl" "$2" || {
		diag "nginx_log_wait: $1 logged $(nginx_log_count "$1") of $2 requests in ${3:-10}s"
		return 1
	}
}

# nginx_log_field NAME N FIELD: FIELD of access-log record N (1-based;
# negative counts from the end, -1 = the last). Prints "" for an empty
# field; fails (status 1, prints "<no record N>") when there is no record N.
nginx_log_field() {
	"$LAB_PYTHON" - "$LAB/$1.access.jsonl" "$2" "$3" <<'PY'
import json, sys
path, n, field = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    lines = [l for l in open(path) if l.strip()]
except OSError:
    lines = []
i = n - 1 if n > 0 else len(lines) + n
if n == 0 or not 0 <= i < len(lines):
    print("<no record %d>" % n)
    sys.exit(1)
print(json.loads(lines[i]).get(field, "<no field %s>" % field))
PY
}

# nginx_log_fields NAME FIELD [FROM=1]: FIELD of every record from record
# FROM (1-based) on, space-separated, one line.
nginx_log_fields() {
	"$LAB_PYTHON" - "$LAB/$1.access.jsonl" "$2" "${3:-1}" <<'PY'
import json, sys
path, field, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = [l for l in open(path) if l.strip()]
print(" ".join(str(json.loads(l).get(field, "<none>")) for l in lines[start - 1:]))
PY
}

# lab_ws_echo_start NAME: start tests/lib/ws_echo.py (python3-websockets),
# recording upgrade requests to $LAB/NAME.jsonl; exports WS_PORT.
lab_ws_echo_start() {
	local name=$1
	rm -f "$LAB/$name.port"
	lab_spawn "$name" "$LAB_PYTHON" "$DP_SOURCE_DIR/tests/lib/ws_echo.py" \
		--port-file "$LAB/$name.port" --record "$LAB/$name.jsonl"
	lab_poll 10 _lab_port_file "$name" || {
		diag "lab_ws_echo_start: $name did not start"
		return 1
	}
	[[ -s $LAB/$name.port ]] || {
		diag "lab_ws_echo_start: $name exited"
		return 1
	}
	WS_PORT=$(<"$LAB/$name.port")
	export WS_PORT
}

# ws_echo_client PORT PATH [NAME:VALUE...]: open ws://127.0.0.1:PORT/PATH
# with python3-websockets (extra request headers as given), send a text
# message, a 1 MiB binary message and a second text message, and print one
# line: "ws text=OK binary=OK text2=OK close=1000", each OK only when the
# echo is identical (or "ws error=..." on failure, exit 1).
ws_echo_client() {
	"$LAB_PYTHON" - "$@" <<'PY'
import asyncio, os, sys
import websockets

async def run(port, path, hdrs):
    extra = [tuple(h.split(":", 1)) for h in hdrs]
    extra = [(k, v.strip()) for k, v in extra]
    async with websockets.connect("ws://127.0.0.1:%s%s" % (port, path),
                                  extra_headers=extra, open_timeout=5,
                                  close_timeout=5, max_size=16 << 20,
                                  compression=None) as ws:
        out = []
        t = "hello from a DANE client \u00e9"
        await ws.send(t)
        got = await asyncio.wait_for(ws.recv(), 5)
        out.append("text=" + ("OK" if got == t else "BAD"))
        b = os.urandom(1 << 20)
        await ws.send(b)
        got = await asyncio.wait_for(ws.recv(), 10)
        out.append("binary=" + ("OK" if got == b else "BAD"))
        await ws.send("second")
        got = await asyncio.wait_for(ws.recv(), 5)
        out.append("text2=" + ("OK" if got == "second" else "BAD"))
        await ws.close()
        out.append("close=%s" % ws.close_code)
        print("ws " + " ".join(out))

try:
    asyncio.run(asyncio.wait_for(run(sys.argv[1], sys.argv[2], sys.argv[3:]), 30))
except Exception as e:
    print("ws error=%s: %s" % (type(e).__name__, e))
    sys.exit(1)
PY
}

# http_status FILE: the status code of the first response in FILE ("" if
# none).
http_status() {
	head -n 1 "$1" 2>/dev/null | sed -nE 's#^HTTP/1\.[01] ([0-9]{3}).*#\1#p'
}

# http_statuses FILE: the status codes of the responses in FILE (raw bytes
# read from one connection), space-separated, 1xx included. Responses are
# framed as a client does (RFC 9112 §6.3: 1xx/204/304 no body, chunked,
# Content-Length, else until the end), so bodies are never mistaken for
# status lines; a truncated or unparsable rest adds "?".
http_statuses() {
	"$LAB_PYTHON" - "$1" <<'PY'
import re, sys
try:
    data = open(sys.argv[1], "rb").read()
except OSError:
    data = b""
out, i = [], 0
while i < len(data):
    end = data.find(b"\r\n\r\n", i)
    m = re.match(rb"HTTP/1\.[01] ([0-9]{3})", data[i:i + 12])
    if end < 0 or not m:
        out.append("?")
        break
    status = int(m.group(1))
    out.append(str(status))
    head = data[i:end].split(b"\r\n")[1:]
    i = end + 4
    h = {}
    for line in head:
        k, _, v = line.partition(b":")
        h[k.strip().lower()] = v.strip().lower()
    if 100 <= status < 200 or status in (204, 304):
        continue
    if b"chunked" in h.get(b"transfer-encoding", b""):
        while True:
            e = data.find(b"\r\n", i)
            if e < 0:
                i = len(data) + 1
                break
            n = int(data[i:e].split(b";")[0] or b"0", 16)
            i = e + 2
            if n == 0:
                while True:  # trailers up to the empty line
                    e = data.find(b"\r\n", i)
                    if e < 0:
                        i = len(data) + 1
                        break
                    line, i = data[i:e], e + 2
                    if not line:
                        break
                break
            i += n + 2
    elif b"content-length" in h:
        i += int(h[b"content-length"])
    else:
        i = len(data)
    if i > len(data):
        out.append("?")
        break
print(" ".join(out))
PY
}

# tc PORT OUTFILE REQUEST [dp-testclient args]: one DANE-authenticated
# connection (client.crt as $ID, default the lab's _lorawan-ns.ns1.dp.test;
# a later --cert, --key, --clientid or --no-clientid in the args wins),
# REQUEST sent (\r\n escapes), every byte read written to OUTFILE; prints the
# result line.
tc() {
	local port=$1 out=$2 req=$3
	shift 3
	: >"$out"
	dp_testclient --connect "127.0.0.1:$port" --cert "$LAB_CERTS/client.crt" \
		--key "$LAB_CERTS/client.key" --clientid "${ID:-_lorawan-ns.ns1.dp.test}" \
		--send "$req" --output "$out" --timeout-ms 5000 --quiet "$@" 2>&1
}
