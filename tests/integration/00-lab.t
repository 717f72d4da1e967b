#!/bin/bash
# 00-lab.t -- the integration lab itself: signed zones in NSD, a validating and
# a forwarding Unbound, the TLSA data, query counting, and the upstream
# stand-in's PROXY v2 / v1 / HTTP / raw handling.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/tap.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"

lab_skip_unless_root_tools
lab_init
# Verbose Unbound logs let us check where every upstream query went.
export DP_UNBOUND_VERBOSITY=${DP_UNBOUND_VERBOSITY:-4}

note "lab dir: $LAB"
ok "demo PKI made" lab_certs || bail "certs/mkcerts.sh failed"
t0=$(_lab_now_ms)
ok "lab_dns_start" lab_dns_start || bail "the DNS lab did not start"
diag "lab_dns_start took $(($(_lab_now_ms) - t0)) ms"
like "$LAB_AD_RESOLVER $LAB_FWD_RESOLVER $LAB_NSD $LAB_DEAD_RESOLVER" \
	'^127\.0\.0\.1:[0-9]+ 127\.0\.0\.1:[0-9]+ 127\.0\.0\.1:[0-9]+ 127\.0\.0\.1:[0-9]+$' \
	"lab addresses exported"
ok "trust anchor is a DS of dp.test." grep -Eq '^dp\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+DS[[:space:]]+[0-9]+ 13 2 [0-9a-f]{64}$' "$LAB_TRUST_ANCHOR"

# dq RESOLVER NAME TYPE: query with DO=1; sets DQ_OUT, DQ_RCODE, DQ_FLAGS,
# DQ_ANSWER (the TYPE RDATA of the answer section, sorted, ';'-joined) and
# DQ_ANSWER_TYPES (the types in the answer section, sorted unique).
dq() {
	DQ_OUT=$(drill -D -p "${1#*:}" @127.0.0.1 "$2" "$3" 2>&1)
	DQ_RCODE=$(sed -n 's/.*rcode: \([A-Z]*\),.*/\1/p' <<<"$DQ_OUT")
	DQ_FLAGS=$(sed -n 's/^;; flags: \(.*\) ; QUERY.*/\1/p' <<<"$DQ_OUT")
	local sect
	sect=$(awk '/^;; ANSWER SECTION/ { a = 1; next } /^;; / { a = 0 } a && NF' <<<"$DQ_OUT")
	DQ_ANSWER=$(awk -v t="$3" '$4 == t { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print }' <<<"$sect" | sort | paste -sd';')
	DQ_ANSWER_TYPES=$(awk '{ print $4 }' <<<"$sect" | sort -u | paste -sd' ')
	DQ_AUTH_TYPES=$(awk '/^;; AUTHORITY SECTION/ { a = 1; next } /^;; / { a = 0 } a && NF { print $4 }' <<<"$DQ_OUT" | sort -u | paste -sd' ')
}

tlsa() { "$DP_SOURCE_DIR/certs/tlsa.sh" "$1" "$2" "$3" "$LAB_CERTS/$4"; }
EE="3 1 1 $(tlsa 3 1 1 client.crt)"
TA="2 0 1 $(tlsa 2 0 1 clientca.crt)"
JS="3 1 1 $(tlsa 3 1 1 js.crt)"
ROGUE="3 1 1 $(tlsa 3 1 1 rogue.crt)"
STATION="3 1 1 $(tlsa 3 1 1 station.crt)"
STATIONX="3 1 1 $(tlsa 3 1 1 stationx.crt)"
MULTI=$(printf '%s\n' "$EE" "$ROGUE" | sort | paste -sd';')
like "$EE" '^3 1 1 [0-9a-f]{64}$' "certs/tlsa.sh 3 1 1 gives a SHA-256"

# --- the validating resolver ------------------------------------------------
secure() { # NAME WANT_RDATA DESC
	dq "$LAB_AD_RESOLVER" "$1" TLSA
	is "$DQ_RCODE" NOERROR "$3: NOERROR"
	like "$DQ_FLAGS" '(^| )ad( |$)' "$3: AD set" || diag "$DQ_OUT"
	is "$DQ_ANSWER" "$2" "$3: TLSA data equals certs/tlsa.sh"
}
secure _lorawan-ns.ns1.dp.test "$EE" "underscore name"
secure dev1._device.dp.test "$EE" "wildcard *._device"
secure _lorawan-ns.ta.dp.test "$TA" "DANE-TA record"
secure _8443._tcp.js.dp.test "$JS" "server record"
secure multi.dp.test "$MULTI" "two-record RRset"
secure eui-b827ebfffe611234.gw.dp.test "$STATION" "Basics Station name (station_binding)"
secure gw1.gw.dp.test "$STATIONX" "station name outside the template"
secure client.child.dp.test "$EE" "signed child (NSEC)"
secure client.nsec3.dp.test "$EE" "signed child (NSEC3)"

dq "$LAB_AD_RESOLVER" client.insecure.dp.test TLSA
is "$DQ_RCODE" NOERROR "insecure child: NOERROR"
unlike "$DQ_FLAGS" '(^| )ad( |$)' "insecure child: no AD"
is "$DQ_ANSWER" "$EE" "insecure child: data"

for z in bogus expired; do
	dq "$LAB_AD_RESOLVER" "client.$z.dp.test" TLSA
	is "$DQ_RCODE" SERVFAIL "$z: SERVFAIL from the validator"
	like "$DQ_OUT" 'EDE: [0-9]+ \(' "$z: with an Extended DNS Error"
done

dq "$LAB_AD_RESOLVER" nothere.dp.test TLSA
is "$DQ_RCODE" NXDOMAIN "nothere: NXDOMAIN"
like "$DQ_FLAGS" '(^| )ad( |$)' "nothere: AD (proven by NSEC)"

dq "$LAB_AD_RESOLVER" ns1.dp.test TLSA
is "$DQ_RCODE/$DQ_ANSWER" "NOERROR/" "ns1.dp.test TLSA: NODATA"
like "$DQ_FLAGS" '(^| )ad( |$)' "ns1.dp.test TLSA: AD (proven by NSEC)"

dq "$LAB_AD_RESOLVER" nope.nsec3.dp.test TLSA
is "$DQ_RCODE" NXDOMAIN "NSEC3 zone: NXDOMAIN"
like "$DQ_FLAGS" '(^| )ad( |$)' "NSEC3 zone: NXDOMAIN has AD"

# --- the forwarding (non-validating) resolver --------------------------------
dq "$LAB_FWD_RESOLVER" _lorawan-ns.ns1.dp.test TLSA
is "$DQ_ANSWER_TYPES" "RRSIG TLSA" "fwd: TLSA answer carries its RRSIG"
unlike "$DQ_FLAGS" '(^| )ad( |$)' "fwd: no AD (it does not validate)"
dq "$LAB_FWD_RESOLVER" dp.test DNSKEY
is "$DQ_ANSWER_TYPES" "DNSKEY RRSIG" "fwd: DNSKEY with RRSIG"
dq "$LAB_FWD_RESOLVER" nsec3.dp.test DS
is "$DQ_ANSWER_TYPES" "DS RRSIG" "fwd: DS with RRSIG"
dq "$LAB_FWD_RESOLVER" nothere.dp.test TLSA
is "$DQ_RCODE $DQ_AUTH_TYPES" "NXDOMAIN NSEC RRSIG SOA" "fwd: NXDOMAIN with NSEC proofs"
dq "$LAB_FWD_RESOLVER" nope.nsec3.dp.test TLSA
is "$DQ_RCODE $DQ_AUTH_TYPES" "NXDOMAIN NSEC3 RRSIG SOA" "fwd: NXDOMAIN with NSEC3 proofs"
dq "$LAB_FWD_RESOLVER" ns1.dp.test TLSA
is "$DQ_RCODE $DQ_AUTH_TYPES" "NOERROR NSEC RRSIG SOA" "fwd: NODATA with NSEC proof"
dq "$LAB_FWD_RESOLVER" client.bogus.dp.test TLSA
is "$DQ_RCODE $DQ_ANSWER_TYPES" "NOERROR RRSIG TLSA" "fwd: bogus data passed through (for the client to reject)"
dq "$LAB_FWD_RESOLVER" insecure.dp.test DS
is "$DQ_RCODE/$DQ_ANSWER $DQ_AUTH_TYPES" "NOERROR/ NSEC RRSIG SOA" "fwd: no DS for insecure, with NSEC proof"

# --- query counting ----------------------------------------------------------
n0=$(lab_dns_query_count _lorawan-ns.ns1.dp.test TLSA)
is "$n0" 1 "one TLSA query counted so far (ad)"
drill -p "${LAB_AD_RESOLVER#*:}" @127.0.0.1 _LORAWAN-NS.Ns1.DP.test TLSA >/dev/null 2>&1
is "$(lab_dns_query_count _lorawan-ns.ns1.dp.test. tlsa ad)" 2 "count is case-insensitive, trailing dot optional"
is "$(lab_dns_query_count _lorawan-ns.ns1.dp.test TLSA fwd)" 1 "fwd counted separately"
is "$(lab_dns_query_count never.dp.test TLSA)" 0 "unqueried name counts 0"

# --- nothing left loopback, no root priming ----------------------------------
for r in ad fwd; do
	targets=$(grep -o 'sending to target: <[^>]*> [^ ]*' "$LAB/unbound-$r.log" | sort -u)
	like "$targets" 'dp\.test\.> 127\.0\.0\.1#' "unbound-$r: queried NSD on loopback"
	unlike "$targets" '> ([^1]|1[^2]|12[^7])' "unbound-$r: never a non-loopback target"
	unlike "$targets" '<\.>' "unbound-$r: no query to the root (no priming)"
done
unlike "$(cat "$LAB/nsd.log")" 'error|failed' "NSD logged no error"

# --- the upstream stand-in -----------------------------------------------------
ok "crc32c test vector" "$LAB_PYTHON" -B -c "
import sys; sys.path.insert(0, '$DP_SOURCE_DIR/tests/lib')
from upstream import crc32c; assert crc32c(b'123456789') == 0xE3069283"

ok "upstream v2 started" lab_upstream_start up2 --proxy v2 || bail "upstream.py did not start"
like "$UPSTREAM_PORT:$UPSTREAM_UP2_PORT" "^$UPSTREAM_PORT:[0-9]+$" "UPSTREAM_PORT and UPSTREAM_UP2_PORT exported"

# pp2client PORT MODE: a hand-made PROXY v2 header (CRC32C computed bit by bit,
# independently of upstream.py) then MODE: join (HTTP JoinReq), badcrc,
# truncated, empty (header only).
pp2client() {
	"$LAB_PYTHON" - "$@" <<'PYEOF'
import json, socket, struct, sys
port, mode = int(sys.argv[1]), sys.argv[2]
def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
    return c ^ 0xFFFFFFFF
def tlv(t, v):
    return struct.pack("!BH", t, len(v)) + v
ident = b"_lorawan-ns.ns1.dp.test"
ssl = struct.pack("!BI", 0x07, 0) + tlv(0x21, b"TLSv1.3") + tlv(0x22, ident) \
    + tlv(0x23, b"TLS_AES_128_GCM_SHA256") + tlv(0x24, b"ECDSA-SHA256") + tlv(0x25, b"EC256")
tlvs = tlv(0x01, b"http/1.1") + tlv(0x02, b"js.dp.test") + tlv(0x05, b"c42") \
    + tlv(0x20, ssl) + tlv(0xE0, ident) + tlv(0xE7, b"x") + tlv(0x03, b"\0\0\0\0")
addr = bytes([192, 0, 2, 1]) + bytes([127, 0, 0, 1]) + struct.pack("!HH", 40000, 8443)
if mode == "truncated":
    tlvs = tlv(0x01, b"h2") + b"\x02\x00\x09ab"  # AUTHORITY says 9 bytes, has 2
hdr = bytearray(b"\r\n\r\n\x00\r\nQUIT\n\x21\x11" + struct.pack("!H", len(addr) + len(tlvs)) + addr + tlvs)
if mode != "truncated":
    crc = crc32c(bytes(hdr))
    if mode == "badcrc":
        crc ^= 1
    hdr[-4:] = struct.pack("!I", crc)
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(bytes(hdr))
if mode == "join":
    body = json.dumps({"ProtocolVersion": "1.1", "SenderID": "000013",
        "ReceiverID": "70b3d57ed0000001", "TransactionID": 1234,
        "MessageType": "JoinReq", "MACVersion": "1.0.3",
        "PHYPayload": "00" * 23, "DevEUI": "0102030405060708",
        "DevAddr": "01020304", "DLSettings": "00", "RxDelay": 1}).encode()
    s.sendall(b"POST / HTTP/1.1\r\nHost: js.dp.test\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
s.shutdown(socket.SHUT_WR)
resp = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    resp += d
if mode == "join":
    head, _, body = resp.partition(b"\r\n\r\n")
    print(head.split(b"\r\n")[0].decode())
    print(json.dumps(json.loads(body), sort_keys=True))
else:
    print("%d bytes back" % len(resp))
PYEOF
}

# jrec NAME N EXPR: evaluate python EXPR on record number N (1-based) as r.
jrec() {
	"$LAB_PYTHON" -c "
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])][int(sys.argv[2]) - 1]
v = eval(sys.argv[3])
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))" "$LAB/$1.jsonl" "$2" "$3"
}

out=$(pp2client "$UPSTREAM_PORT" join)
like "$out" '^HTTP/1.1 200 OK' "JoinReq through PROXY v2: 200 OK"
like "$out" '"MessageType": "JoinAns"' "answer is a JoinAns"
like "$out" '"ReceiverID": "000013".*"Result": \{"ResultCode": "Success"\}.*"SenderID": "70b3d57ed0000001".*"TransactionID": 1234' \
	"JoinAns swaps SenderID/ReceiverID and echoes TransactionID"
ok "join connection recorded" lab_upstream_wait up2 1
is "$(jrec up2 1 'r["proxy_error"]')" null "v2 header accepted"
is "$(jrec up2 1 'r["proxy"]["identity"]')" _lorawan-ns.ns1.dp.test "identity TLV 0xE0"
is "$(jrec up2 1 '"%(command)s %(family)s %(transport)s %(src)s:%(sport)s %(dst)s:%(dport)s" % r["proxy"]')" \
	"PROXY INET STREAM 192.0.2.1:40000 127.0.0.1:8443" "v2 addresses"
is "$(jrec up2 1 '{k: v for k, v in r["proxy"]["ssl"].items() if k != "tlvs"}')" \
	'{"cipher": "TLS_AES_128_GCM_SHA256", "client": 7, "cn": "_lorawan-ns.ns1.dp.test", "key_alg": "EC256", "sig_alg": "ECDSA-SHA256", "verify": 0, "version": "TLSv1.3"}' \
	"SSL TLV and its sub-TLVs"
is "$(jrec up2 1 '" ".join(sorted(r["proxy"]["ssl"]["tlvs"])) + " " + r["proxy"]["ssl"]["tlvs"]["0x21"]')" \
	"0x21 0x22 0x23 0x24 0x25 544c5376312e33" "SSL sub-TLVs in hex"
is "$(jrec up2 1 '" ".join([r["proxy"]["alpn"], r["proxy"]["authority"], r["proxy"]["unique_id"], r["proxy"]["crc32c"], r["proxy"]["custom"]["0xe7"]])')" \
	"http/1.1 js.dp.test c42 ok x" "ALPN, AUTHORITY, UNIQUE_ID, CRC32C, custom TLV"
is "$(jrec up2 1 '" ".join(r["proxy"]["tlv_order"])')" "0x01 0x02 0x05 0x20 0xe0 0xe7 0x03" "TLV order kept"
is "$(jrec up2 1 'r["requests"][0]["line"] + " " + r["requests"][0]["headers"]["host"]')" "POST / HTTP/1.1 js.dp.test" "HTTP request recorded"
like "$(jrec up2 1 'r["requests"][0]["body"]')" '"MessageType": "JoinReq"' "request body recorded"
like "$(jrec up2 1 'r["bytes_in"]')" '^[0-9]{3,}$' "bytes_in recorded"

out=$(pp2client "$UPSTREAM_PORT" badcrc)
is "$out" "0 bytes back" "bad CRC32C: closed without an answer"
out=$(pp2client "$UPSTREAM_PORT" truncated)
is "$out" "0 bytes back" "overrunning TLV: closed without an answer"
(exec 3<>"/dev/tcp/127.0.0.1/$UPSTREAM_PORT") # connect, send nothing, close
ok "three more connections recorded" lab_upstream_wait up2 4
like "$(jrec up2 2 'r["proxy_error"]')" '^CRC32C mismatch' "bad CRC32C recorded as an error"
like "$(jrec up2 3 'r["proxy_error"]')" 'overruns' "overrunning TLV recorded as an error"
is "$(jrec up2 4 '"%s %s" % (r["bytes_in"], r["proxy_error"])')" "0 EOF before the PROXY header" "zero-byte connection recorded"

ok "upstream v1 started" lab_upstream_start up1 --proxy v1
out=$(printf 'PROXY TCP4 192.0.2.9 127.0.0.1 5555 443\r\nGET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' |
	"$LAB_PYTHON" -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)
s.sendall(sys.stdin.buffer.read()); s.shutdown(socket.SHUT_WR)
print(b''.join(iter(lambda: s.recv(65536), b'')).decode())" "$UPSTREAM_UP1_PORT")
like "$out" '"target": "/x"' "v1 + GET answered with a summary"
ok "v1 connection recorded" lab_upstream_wait up1 1
is "$(jrec up1 1 '"%(family)s %(src)s:%(sport)s" % r["proxy"]')" "TCP4 192.0.2.9:5555" "v1 line parsed"

ok "upstream raw started" lab_upstream_start raw --proxy none
out=$(printf 'hello\x00\x01 raw bytes\n' | "$LAB_PYTHON" -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)
s.sendall(sys.stdin.buffer.read()); s.shutdown(socket.SHUT_WR)
sys.stdout.buffer.write(b''.join(iter(lambda: s.recv(65536), b'')))" "$UPSTREAM_RAW_PORT" | od -An -c -w64 | tr -s ' ')
like "$out" 'h e l l o \\0 001 r a w b y t e s \\n' "raw bytes echoed"
ok "raw connection recorded" lab_upstream_wait raw 1
is "$(jrec raw 1 '"%s %s" % (r["bytes_in"], r["proxy"])')" "18 None" "raw: bytes_in and no proxy"

# Many concurrent keep-alive connections.
out=$("$LAB_PYTHON" - "$UPSTREAM_RAW_PORT" <<'PYEOF'
import asyncio, sys
async def one(i):
    r, w = await asyncio.open_connection("127.0.0.1", int(sys.argv[1]))
    for j in range(3):
        w.write(b"GET /%d/%d HTTP/1.1\r\nHost: x\r\n\r\n" % (i, j))
    await w.drain()
    n = 0
    for j in range(3):
        head = await r.readuntil(b"\r\n\r\n")
        if head.startswith(b"HTTP/1.1 200"):
            n += 1
        ln = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
        await r.readexactly(int(ln[0].split(b":")[1]))
    w.close()
    return n
async def main():
    res = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(100))), 20)
    print(sum(res))
asyncio.run(main())
PYEOF
)
is "$out" 300 "100 concurrent connections x 3 pipelined requests answered"
ok "all recorded" lab_upstream_wait raw 101

# --- stopping -----------------------------------------------------------------
pid=$(lab_pid up2)
ok "lab_stop up2" lab_stop up2
nok "up2 is gone" kill -0 "$pid"
like "$(cat "$LAB/up2.log")" 'upstream: stopped' "upstream exited cleanly on SIGTERM"

done_testing
