#!/usr/bin/env bash
# DANE-TA (2 0 1, the client CA's certificate digest) end to end: the chain
# must lead to the CA named by the record, and the ClientName must be one of
# the leaf's SAN dNSNames exactly — never by a wildcard SAN. The SAN
# fallback (identity = extension-or-san) is checked the same way: its
# identity is san_tlsa_prefix + the SAN, and DANE-TA checks that SAN.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"

lab_skip_unless_root_tools
lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
lab_upstream_start up --proxy v2 || bail "upstream"
{ dp_dns_section validate
  printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$C/server-chain.crt" "$C/server.key" "$UPSTREAM_PORT"
  printf 'forward = proxy-v2\nallow = *.ta.dp.test\nidentity = extension-or-san\nsan_tlsa_prefix = _lorawan-ns\n'
  printf 'tls_versions = 1.2,1.3\n'
  # The same again: a refusal repeated on one listener within 10 s (same
  # address, name and reason) is not logged, and some cases below share a
  # name; on a listener of its own a case gets its own line.
  printf '[server js2]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$C/server-chain.crt" "$C/server.key" "$UPSTREAM_PORT"
  printf 'forward = proxy-v2\nallow = *.ta.dp.test\nidentity = extension-or-san\nsan_tlsa_prefix = _lorawan-ns\n'
  printf 'tls_versions = 1.2,1.3\n'; } >"$LAB/js.ini"
dp_start js "$LAB/js.ini" SP=js SP2=js2 || bail "daneproxy did not start"
REQ='GET / HTTP/1.1\r\nHost: js\r\nConnection: close\r\n\r\n'

# try DESC WANT [dp-testclient args]: one connection (to the listener on
# port TRY_PORT, js's by default); WANT ok or alert.
try() {
  local desc=$1 want=$2 out n0
  shift 2
  n0=$(dp_upstream_conns up)
  refused0=$(grep -c 'outcome=refused' "$LAB/js.log")
  out=$(dp_testclient --connect "127.0.0.1:${TRY_PORT:-$SP}" --send "$REQ" --timeout-ms 5000 --quiet "$@" 2>&1)
  if [ "$want" = ok ]; then
    like "$out" 'result=ok' "$desc: accepted"
    lab_upstream_wait up $((n0 + 1)) 10 >/dev/null 2>&1
  else
    like "$out" 'result=alert alert=40' "$desc: refused with handshake_failure"
    is "$(dp_upstream_conns up)" "$n0" "$desc: nothing reached the upstream"
  fi
}
# reason REGEX DESC: the refusal try just made was logged, saying why.
refused_more() { [ "$(grep -c 'outcome=refused' "$LAB/js.log")" -gt "$refused0" ]; }
reason() {
  lab_poll 5 refused_more || diag "no new refusal line"
  like "$(grep 'outcome=refused' "$LAB/js.log" | tail -1)" "$1" "$2"
}

try "2 0 1, the chain with the CA" ok --cert "$C/taclient.crt" --key "$C/taclient.key" \
  --chain "$C/clientca.crt" --clientid _lorawan-ns.ta.dp.test
is "$(dp_upstream_last up 'r["proxy"]["identity"]')" _lorawan-ns.ta.dp.test "... identity is the ClientName"

try "2 0 1 without the CA in the chain" alert --cert "$C/taclient.crt" --key "$C/taclient.key" \
  --clientid _lorawan-ns.ta.dp.test
reason 'DANE: ' "... refused by the DANE decision"

try "ClientName not among the leaf's SANs (dev1.ta.dp.test has a 2 0 1 record too)" alert \
  --cert "$C/taclient.crt" --key "$C/taclient.key" --chain "$C/clientca.crt" --clientid dev1.ta.dp.test
reason 'name not in certificate SANs' "... because of the name"

TRY_PORT=$SP2 try "a wildcard SAN (*.ta.dp.test) never stands for the ClientName" alert \
  --cert "$C/tawild.crt" --key "$C/tawild.key" --chain "$C/clientca.crt" --clientid dev1.ta.dp.test
reason 'name not in certificate SANs' "... because of the name"

try "SAN fallback with DANE-TA (no extension, the SAN ta.dp.test)" ok \
  --cert "$C/tasan.crt" --key "$C/tasan.key" --chain "$C/clientca.crt" --tls 1.2
is "$(dp_upstream_last up 'r["proxy"]["identity"]')" _lorawan-ns.ta.dp.test \
  "... identity is the prefix plus the SAN, and DANE-TA checked the SAN itself"

try "SAN fallback with several dNSNames" alert \
  --cert "$C/tamulti.crt" --key "$C/tamulti.key" --chain "$C/clientca.crt" --tls 1.2
reason 'several SAN dNSNames' "... refused: the identity would be ambiguous"

dp_stop_all_checked
done_testing
