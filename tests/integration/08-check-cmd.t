#!/usr/bin/env bash
# "daneproxy check": a listener's DANE decision for one name, step by step,
# against the lab's real NSD + Unbound, in both DNS modes: every DNS outcome
# the lab offers, the allow list, wildcards, a certificate's match, text and
# JSON, exit statuses; and --connect, a route against a running daneproxy
# server role.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"

lab_skip_unless_root_tools
lab_init
lab_certs
lab_dns_start || bail "the lab's DNS did not start"
C=$LAB_CERTS
DP=$DP_BUILD/daneproxy
ALLOW='_lorawan-ns.ns1.dp.test, *._device.dp.test, *.child.dp.test, *.insecure.dp.test, *.bogus.dp.test, *.expired.dp.test, nothere.dp.test, ns1.dp.test, _lorawan-ns.ta.dp.test, multi.dp.test'

# check ARGS...: runs daneproxy check; its stdout in OUT, status in RC, its
# stderr in check.err (and kept in check-stderr.log, for sanitizer reports).
check() {
  OUT=$("$DP" check "$@" 2>"$LAB/check.err")
  RC=$?
  cat "$LAB/check.err" >>"$LAB/check-stderr.log"
}

# jget EXPR: a Python expression on the JSON object "d" in OUT (strings
# bare, anything else as JSON: true, null, 3).
jget() {
  "$LAB_PYTHON" -c 'import json, sys
d = json.loads(sys.stdin.read())
v = eval(sys.argv[1], {"d": d})
print(v if isinstance(v, str) else json.dumps(v))' "$1" <<<"$OUT" 2>&1
}

# is_json: OUT is exactly one JSON object.
is_json() { "$LAB_PYTHON" -c 'import json, sys; json.loads(sys.stdin.read())' <<<"$OUT"; }

spki256() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1; }
cert512() { openssl x509 -in "$1" -outform DER | openssl dgst -sha512 -r | cut -d' ' -f1; }

# server_ini MODE [extra lines for js]: two listeners, js and nowild (the
# same rules, tlsa_wildcard = refuse).
server_ini() {
  dp_dns_section "$1"
  for l in js nowild; do
    printf '[server %s]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:9\nallow = %s\n' \
      "$l" "$C/server-chain.crt" "$C/server.key" "$ALLOW"
    [ "$l" = nowild ] && printf 'tlsa_wildcard = refuse\n'
  done
}

# --- usage and configuration errors: exit 2, nothing looked up
server_ini resolver-ad >"$LAB/two.ini"
check -c "$LAB/two.ini" _lorawan-ns.ns1.dp.test
is "$RC" 2 "two [server] sections and no --listener: exit 2"
like "$(cat "$LAB/check.err")" 'choose a \[server\] section: js nowild' "... naming the choices"
check -c "$LAB/two.ini" --listener nope _lorawan-ns.ns1.dp.test
is "$RC" 2 "an unknown --listener: exit 2"
check -c "$LAB/two.ini" --listener js 'not a name'
is "$RC" 2 "an invalid CLIENT_NAME: exit 2"
check -c "$LAB/two.ini" --listener js
is "$RC" 2 "no CLIENT_NAME: exit 2"
check -c "$LAB/two.ini" --listener js --cert "$LAB/missing.pem" _lorawan-ns.ns1.dp.test
is "$RC" 2 "an unreadable --cert: exit 2"
is "$OUT" "" "... before any output"
check -c "$LAB/missing.ini" _lorawan-ns.ns1.dp.test
is "$RC" 2 "a configuration that does not load: exit 2"
check -c "$LAB/two.ini" --connect
is "$RC" 2 "--connect without any [client] section: exit 2"

for mode in validate resolver-ad; do
  server_ini "$mode" >"$LAB/s-$mode.ini"
  S=(-c "$LAB/s-$mode.ini" --listener js)
  resolver=fwd; [ "$mode" = resolver-ad ] && resolver=ad

  # secure, exact name, no certificate: all a handshake needs but the key
  check "${S[@]}" _lorawan-ns.ns1.dp.test
  is "$RC" 0 "$mode: secure record, no --cert: exit 0"
  like "$OUT" 'allow: _lorawan-ns.ns1.dp.test: allowed by the pattern _lorawan-ns.ns1.dp.test' \
    "$mode: ... text: the allow pattern that matched"
  like "$OUT" "tlsa: _lorawan-ns.ns1.dp.test: secure, 1 record, TTL [0-9]+ s, earliest signature expires 20[0-9-]+T[0-9:]+Z \\(in [0-9]+ s\\)" \
    "$mode: ... text: status, TTL and signature expiry"
  like "$OUT" "record: 3 1 1 $(spki256 "$C/client.crt")" "$mode: ... text: the record and its data"
  like "$OUT" $'\nverdict: would accept$' "$mode: ... text: ends in the verdict line"
  check "${S[@]}" --json _lorawan-ns.ns1.dp.test
  ok "$mode: --json prints one JSON object" is_json
  is "$(jget 'd["tlsa"]["status"], d["tlsa"]["records"][0]["usage"], d["tlsa"]["usable"], d["verdict"], d["exit"]')" \
    '["secure", 3, 1, "accept", 0]' "$mode: ... status, usage, usable records, verdict, exit"
  ok "$mode: ... TTL as published, signatures expiring in the future" \
    test "$(jget 'int(0 < d["tlsa"]["ttl"] <= 300 and d["tlsa"]["sig_expires_in"] > 86400)')" = 1

  # secure, with the matching certificate, and another key's
  check "${S[@]}" --json --cert "$C/client.crt" _lorawan-ns.ns1.dp.test
  is "$RC" 0 "$mode: --cert of the published key: exit 0"
  is "$(jget 'd["match"]["matched"], d["match"]["record"], d["match"]["index"]')" '[true, "3 1 1", 1]' \
    "$mode: ... matched by record 1, 3 1 1"
  is "$(jget 'd["cert"]["spki_sha256"]')" "$(spki256 "$C/client.crt")" "$mode: ... its SPKI SHA-256 as openssl computes it"
  is "$(jget 'd["cert"]["cert_sha512"]')" "$(cert512 "$C/client.crt")" "$mode: ... its certificate SHA-512 as openssl computes it"
  check "${S[@]}" --cert "$C/rogue.crt" _lorawan-ns.ns1.dp.test
  is "$RC" 1 "$mode: --cert of another key: exit 1"
  like "$OUT" 'match: no match: DANE: no TLSA record matches' "$mode: ... text: why no record matches"
  like "$OUT" 'verdict: would refuse: DANE: no TLSA record matches' "$mode: ... text: the verdict says why"
  check "${S[@]}" --json --cert "$C/taclient-chain.crt" _lorawan-ns.ta.dp.test
  is "$(jget 'd["match"]["record"], d["cert"]["chain"], d["exit"]')" '["2 0 1", 1, 0]' \
    "$mode: DANE-TA: the chain after the leaf is used, 2 0 1 matches"
  check "${S[@]}" --json --cert "$C/client.crt" multi.dp.test
  is "$(jget 'len(d["tlsa"]["records"]), d["match"]["record"], d["exit"]')" '[2, "3 1 1", 0]' \
    "$mode: two records, one matches"

  # wildcard, accepted here and refused by the other listener
  check "${S[@]}" --json dev1._device.dp.test
  is "$(jget 'd["allow"]["pattern"], d["tlsa"]["wildcard"], d["tlsa"]["wildcard_refused"], d["exit"]')" \
    '["*._device.dp.test", "*._device.dp.test", false, 0]' "$mode: wildcard: the pattern, the wildcard owner, accepted"
  check "${S[@]}" dev1._device.dp.test
  like "$OUT" 'synthesised from the wildcard \*\._device\.dp\.test \(tlsa_wildcard = accept\)' "$mode: ... text says so"
  check -c "$LAB/s-$mode.ini" --listener nowild --json --cert "$C/client.crt" dev2._device.dp.test
  is "$(jget 'd["listener"], d["tlsa"]["wildcard_refused"], d["exit"]')" '["nowild", true, 1]' \
    "$mode: tlsa_wildcard = refuse: exit 1"
  like "$(jget 'd["reason"]')" 'synthesised from the wildcard \*\._device\.dp\.test' "$mode: ... the reason names the wildcard"

  # the DNS outcomes that never authenticate
  check "${S[@]}" --json nothere.dp.test
  is "$(jget 'd["tlsa"]["status"], d["exit"]')" '["nxdomain", 1]' "$mode: NXDOMAIN: exit 1"
  check "${S[@]}" --json ns1.dp.test
  is "$(jget 'd["tlsa"]["status"], d["exit"]')" '["nodata", 1]' "$mode: NODATA (an A record, no TLSA): exit 1"
  check "${S[@]}" --json --cert "$C/client.crt" client.insecure.dp.test
  is "$(jget 'd["tlsa"]["status"], d["exit"], "match" in d')" '["insecure", 1, false]' \
    "$mode: insecure zone: exit 1, nothing matched"
  like "$(jget 'd["reason"]')" 'TLSA lookup: insecure' "$mode: ... the reason"
  check "${S[@]}" --json client.bogus.dp.test
  if [ "$mode" = validate ]; then
    is "$(jget 'd["tlsa"]["status"], d["exit"]')" '["bogus", 1]' "$mode: bogus signature: exit 1"
    like "$(jget 'd["tlsa"]["why"]')" 'signature' "$mode: ... unbound's reason"
  else
    # A validating resolver answers bogus data with SERVFAIL.
    is "$(jget 'd["tlsa"]["status"], d["exit"]')" '["servfail/error", 1]' "$mode: bogus signature (SERVFAIL): exit 1"
    like "$(jget 'd["tlsa"]["why"]')" 'servfail' "$mode: ... the reason"
  fi
  check "${S[@]}" client.expired.dp.test
  is "$RC" 1 "$mode: expired signature: exit 1"
  like "$OUT" 'tlsa: client.expired.dp.test: (bogus|servfail)' "$mode: ... text: the status"

  # a name outside the allow list: refused before any DNS query
  q0=$(lab_dns_query_count outsider.example.net TLSA $resolver)
  check "${S[@]}" outsider.example.net
  is "$RC" 1 "$mode: a name outside the allow list: exit 1"
  like "$OUT" 'matches no allow pattern' "$mode: ... text: the allow step"
  like "$OUT" 'verdict: would refuse: name not allowed' "$mode: ... the verdict"
  check "${S[@]}" --json outsider.example.net
  is "$(jget 'd["allow"]["allowed"], d["allow"]["pattern"], d["tlsa"]["status"]')" '[false, null, "not looked up"]' \
    "$mode: ... JSON: not allowed, not looked up"
  is "$(lab_dns_query_count outsider.example.net TLSA $resolver)" "$q0" "$mode: ... and no query reached the resolver"
done

# DNS down: bounded by timeout_ms (1000 here), refused.
for mode in dead-validate dead-resolver-ad; do
  { dp_dns_section "$mode"; sed -n '/^\[server js\]/,/^allow/p' "$LAB/two.ini"; } >"$LAB/$mode.ini"
  t0=$(_lab_now_ms)
  check -c "$LAB/$mode.ini" --json _lorawan-ns.ns1.dp.test
  t1=$(_lab_now_ms)
  is "$RC" 1 "$mode: DNS down: exit 1"
  like "$(jget 'd["tlsa"]["status"]')" '^(timeout|servfail/error)$' "$mode: ... status timeout or servfail"
  ok "$mode: ... within a few timeouts ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 6000
done

# --- --connect: a route against a running daneproxy server role (the Join
# Server front: js.crt, published at _8443._tcp.js.dp.test).
lab_upstream_start up --proxy v2 || bail "the upstream did not start"
{ dp_dns_section resolver-ad
  printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\nallow = _lorawan-ns.ns1.dp.test\n' \
    "$C/js.crt" "$C/js.key" "$UPSTREAM_PORT"; } >"$LAB/js.ini"
dp_start js "$LAB/js.ini" SPORT=js || bail "the server role did not start"

# route NAME CERT KEY TLSA_NAME: a [client] section.
route() {
  printf '[client %s]\nlisten = 127.0.0.1:0\nconnect = 127.0.0.1:%s\nserver_name = js.dp.test\n' "$1" "$SPORT"
  printf 'cert = %s\nkey = %s\nclient_name = _lorawan-ns.ns1.dp.test\ntlsa_name = %s\n' "$2" "$3" "$4"
}
{ dp_dns_section validate
  route good "$C/client.crt" "$C/client.key" _8443._tcp.js.dp.test
  route rogue "$C/rogue.crt" "$C/rogue.key" _8443._tcp.js.dp.test
  route wrongrec "$C/client.crt" "$C/client.key" _lorawan-ns.ns1.dp.test
  route norec "$C/client.crt" "$C/client.key" _9999._tcp.js.dp.test
} >"$LAB/routes.ini"
ok "the routes' configuration is valid" "$DP" -t -c "$LAB/routes.ini"

check -c "$LAB/routes.ini" --connect
is "$RC" 2 "--connect with several routes and none named: exit 2"
like "$(cat "$LAB/check.err")" 'choose a \[client\] section: good rogue wrongrec norec' "... naming the choices"

check -c "$LAB/routes.ini" --connect good
is "$RC" 0 "--connect: remote matches its record and accepts the route: exit 0"
like "$OUT" 'self-check match: matched by the record 3 1 1' "... text: the route's own record matches its certificate"
like "$OUT" 'handshake: TLSv1.3 [^ ]+, the remote authenticated by the record 3 1 1' "... text: the remote's record matched"
like "$OUT" $'\nverdict: would accept$' "... text: the verdict"
ok "... the server role authenticated the route's dane_clientid" \
  lab_wait_log js 'client_name=_lorawan-ns.ns1.dp.test tlsa="3 1 1" outcome=ok' 5
lab_upstream_wait up 1 5
is "$(dp_upstream_last up 'r["proxy"]["identity"] + " " + str(len(r["requests"]))')" \
  "_lorawan-ns.ns1.dp.test 0" "... and the upstream got the identity, but not a byte from the check"
check -c "$LAB/routes.ini" --connect good --json
ok "--connect --json prints one JSON object" is_json
is "$(jget 'd["self_check"]["ok"], d["server"]["tlsa"]["status"], d["server"]["handshake"], d["server"]["matched"], d["server"]["refused_by_remote"], d["exit"]')" \
  '[true, "secure", true, "3 1 1", false, 0]' "... JSON: self-check, lookup, handshake, record, not refused"
is "$(jget 'd["server"]["cert"]["spki_sha256"]')" "$(spki256 "$C/js.crt")" "... JSON: the remote's SPKI digest"

check -c "$LAB/routes.ini" --connect rogue --json
is "$(jget 'd["self_check"]["ok"], d["server"]["handshake"], d["server"]["refused_by_remote"], d["exit"]')" \
  '[false, true, true, 1]' "--connect, a route whose key is not its published one: the remote refuses it, exit 1"
like "$(jget 'd["reason"]')" 'alert handshake failure' "... the reason is the remote's alert"

check -c "$LAB/routes.ini" --connect wrongrec
is "$RC" 1 "--connect, the remote does not match the record: exit 1"
like "$OUT" 'verdict: would refuse: remote not authenticated: no matching DANE TLSA records' "... text: why"

t0=$(_lab_now_ms)
check -c "$LAB/routes.ini" --connect norec --json
t1=$(_lab_now_ms)
is "$(jget 'd["server"]["tlsa"]["status"], "handshake" in d["server"], d["exit"]')" '["nxdomain", false, 1]' \
  "--connect, no record for the remote: no connection, exit 1"
ok "... at once ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 2000

unlike "$(cat "$LAB/check-stderr.log")" 'Sanitizer|runtime error:' "no check run had a sanitizer report"
dp_stop_all_checked
done_testing
