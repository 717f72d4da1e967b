#!/bin/sh
# mkcerts.sh OUTDIR -- demo PKI for daneproxy's examples and tests (NOT for
# production). EC P-256 keys, made with the openssl CLI only.
#
#   ca.key ca.crt               demo server CA
#   server.key server.crt       proxy server cert from ca (js.dp.test,
#                               localhost, 127.0.0.1; serverAuth)
#   server-chain.crt            server.crt + ca.crt
#   client.key client.crt       self-signed clientAuth leaf, ns1.dp.test (DANE-EE)
#   rogue.key rogue.crt         same name, another key (must NOT match)
#   clientca.key clientca.crt   client-side CA (for DANE-TA)
#   taclient.key taclient.crt   from clientca, _lorawan-ns.ta.dp.test, clientAuth
#   taclient-chain.crt          taclient.crt + clientca.crt
#   tawild.key tawild.crt       from clientca, SAN *.ta.dp.test (a wildcard
#                               SAN: must never stand for a ClientName)
#   tasan.key tasan.crt         from clientca, the single SAN ta.dp.test (SAN
#                               fallback: _lorawan-ns + ta.dp.test)
#   tamulti.key tamulti.crt     from clientca, SANs ta.dp.test and x.ta.dp.test
#   js.key js.crt               self-signed serverAuth leaf, js.dp.test (DANE-EE)
#   station.key station.crt     self-signed clientAuth leaf, the single SAN
#                               eui-b827ebfffe611234.gw.dp.test (a LoRa Basics
#                               Station's name, SAN fallback, DANE-EE)
#   stationx.key stationx.crt   the same kind, SAN gw1.gw.dp.test (a name that
#                               encodes no EUI)
#
# Idempotent: a group whose files all exist is kept (a certificate is remade
# when its issuer is). Silent on success; on failure prints openssl's output.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
OUT=$1
mkdir -p "$OUT"
umask 077

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mkcerts.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

CNF=$TMP/openssl.cnf
cat >"$CNF" <<'CNFEOF'
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ server_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:js.dp.test, DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ client_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:ns1.dp.test
subjectKeyIdentifier = hash
[ taclient_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:_lorawan-ns.ta.dp.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ tawild_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:*.ta.dp.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ tasan_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:ta.dp.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ tamulti_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:ta.dp.test, DNS:x.ta.dp.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ js_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:js.dp.test
subjectKeyIdentifier = hash
[ station_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:eui-b827ebfffe611234.gw.dp.test
subjectKeyIdentifier = hash
[ stationx_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:gw1.gw.dp.test
subjectKeyIdentifier = hash
CNFEOF

# run CMD...: run quietly; on failure show what it said and stop.
run() {
	if ! "$@" >"$TMP/out" 2>&1; then
		echo "mkcerts.sh: failed: $*" >&2
		cat "$TMP/out" >&2
		exit 1
	fi
}

# have NAME...: all of OUT/NAME exist and are non-empty.
have() {
	for f in "$@"; do
		[ -s "$OUT/$f" ] || return 1
	done
	return 0
}

# selfsigned NAME SUBJECT EXT DAYS: NAME.key + NAME.crt, self-signed.
selfsigned() {
	run openssl req -x509 -new -config "$CNF" -extensions "$3" \
		-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$OUT/$1.key.tmp" -out "$OUT/$1.crt.tmp" \
		-subj "$2" -days "$4" -sha256
	mv -f "$OUT/$1.key.tmp" "$OUT/$1.key"
	mv -f "$OUT/$1.crt.tmp" "$OUT/$1.crt"
}

# issued NAME SUBJECT EXT DAYS CA: NAME.key + NAME.crt signed by CA.key.
issued() {
	run openssl req -new -config "$CNF" \
		-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$OUT/$1.key.tmp" -out "$TMP/$1.csr" -subj "$2"
	run openssl x509 -req -in "$TMP/$1.csr" -CA "$OUT/$5.crt" \
		-CAkey "$OUT/$5.key" -set_serial "0x$(openssl rand -hex 8)" \
		-extfile "$CNF" -extensions "$3" -days "$4" -sha256 \
		-out "$OUT/$1.crt.tmp"
	mv -f "$OUT/$1.key.tmp" "$OUT/$1.key"
	mv -f "$OUT/$1.crt.tmp" "$OUT/$1.crt"
}

# chain OUTFILE FILE...: concatenate atomically.
chain() {
	o=$1
	shift
	cat "$@" >"$OUT/$o.tmp"
	mv -f "$OUT/$o.tmp" "$OUT/$o"
}

new_ca=0
if ! have ca.key ca.crt; then
	selfsigned ca "/O=daneproxy demo/CN=daneproxy demo server CA" ca_ext 3650
	new_ca=1
fi
if [ $new_ca = 1 ] || ! have server.key server.crt server-chain.crt; then
	issued server "/O=daneproxy demo/CN=js.dp.test" server_ext 825 ca
	chain server-chain.crt "$OUT/server.crt" "$OUT/ca.crt"
fi
have client.key client.crt ||
	selfsigned client "/O=daneproxy demo/CN=ns1.dp.test" client_ext 825
have rogue.key rogue.crt ||
	selfsigned rogue "/O=daneproxy rogue/CN=ns1.dp.test" client_ext 825
new_clientca=0
if ! have clientca.key clientca.crt; then
	selfsigned clientca "/O=daneproxy demo/CN=daneproxy demo client CA" ca_ext 3650
	new_clientca=1
fi
if [ $new_clientca = 1 ] || ! have taclient.key taclient.crt taclient-chain.crt; then
	issued taclient "/O=daneproxy demo/CN=_lorawan-ns.ta.dp.test" taclient_ext 825 clientca
	chain taclient-chain.crt "$OUT/taclient.crt" "$OUT/clientca.crt"
fi
for t in tawild tasan tamulti; do
	if [ $new_clientca = 1 ] || ! have $t.key $t.crt; then
		issued $t "/O=daneproxy demo/CN=$t" ${t}_ext 825 clientca
	fi
done
have js.key js.crt ||
	selfsigned js "/O=daneproxy demo/CN=js.dp.test" js_ext 825
have station.key station.crt ||
	selfsigned station "/O=daneproxy demo/CN=b827ebfffe611234" station_ext 825
have stationx.key stationx.crt ||
	selfsigned stationx "/O=daneproxy demo/CN=gw1" stationx_ext 825
chmod 0644 "$OUT"/*.crt
exit 0
