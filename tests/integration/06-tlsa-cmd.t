#!/usr/bin/env bash
# "daneproxy tlsa" prints the record to publish; its data must equal what the
# openssl command line computes independently.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"

lab_init
lab_certs
C=$LAB_CERTS
DP=$DP_BUILD/daneproxy

spki() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER; }
cert() { openssl x509 -in "$1" -outform DER; }
hex() { od -An -v -tx1 | tr -d ' \n'; }

want=$(spki "$C/client.crt" | openssl dgst -sha256 -r | cut -d' ' -f1)
is "$("$DP" tlsa --name _lorawan-ns.ns1.dp.test "$C/client.crt")" \
  "_lorawan-ns.ns1.dp.test. IN TLSA 3 1 1 $want" "3 1 1 (the defaults) from a certificate"
is "$("$DP" tlsa --name _lorawan-ns.ns1.dp.test. "$C/client.key")" \
  "_lorawan-ns.ns1.dp.test. IN TLSA 3 1 1 $want" "3 1 1 from the private key gives the same record (trailing dot accepted)"
want=$(cert "$C/client.crt" | openssl dgst -sha256 -r | cut -d' ' -f1)
is "$("$DP" tlsa --usage 3 --selector 0 --mtype 1 --name a.dp.test "$C/client.crt")" \
  "a.dp.test. IN TLSA 3 0 1 $want" "3 0 1"
want=$(spki "$C/client.crt" | openssl dgst -sha512 -r | cut -d' ' -f1)
is "$("$DP" tlsa --selector 1 --mtype 2 --name a.dp.test "$C/client.crt")" \
  "a.dp.test. IN TLSA 3 1 2 $want" "3 1 2"
want=$(cert "$C/clientca.crt" | openssl dgst -sha256 -r | cut -d' ' -f1)
is "$("$DP" tlsa --usage 2 --selector 0 --name _lorawan-ns.ta.dp.test "$C/clientca.crt")" \
  "_lorawan-ns.ta.dp.test. IN TLSA 2 0 1 $want" "2 0 1 for a client CA"
want=$(spki "$C/client.crt" | hex)
is "$("$DP" tlsa --mtype 0 --name a.dp.test "$C/client.crt")" \
  "a.dp.test. IN TLSA 3 1 0 $want" "3 1 0 (the full SPKI)"
is "$("$DP_SOURCE_DIR/certs/tlsa.sh" 3 1 1 "$C/js.crt")" \
  "$("$DP" tlsa --name x.dp.test "$C/js.crt" | awk '{print $NF}')" "agrees with certs/tlsa.sh"

"$DP" tlsa --selector 0 --name a.dp.test "$C/client.key" >/dev/null 2>"$LAB/err"; rc=$?
is "$rc" 1 "selector 0 with a key file: refused"
like "$(cat "$LAB/err")" 'selector 0 needs a certificate' "... saying why"
"$DP" tlsa --name 'bad name' "$C/client.crt" >/dev/null 2>&1; is "$?" 1 "an invalid name: refused"
"$DP" tlsa --usage 4 --name a.dp.test "$C/client.crt" >/dev/null 2>&1; is "$?" 2 "usage 4: usage error"
"$DP" tlsa --name a.dp.test "$LAB/nothing.pem" >/dev/null 2>&1; is "$?" 1 "a missing file: refused"
unlike "$("$DP" tlsa --name a.dp.test "$C/client.key" 2>&1)" 'PRIVATE' "never prints key material"

done_testing
