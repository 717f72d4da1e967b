#!/bin/sh
# tlsa-record.sh NAME USAGE SELECTOR MTYPE CERT_OR_KEY [TTL]
# Prints a zone-file line:  NAME. TTL IN TLSA USAGE SELECTOR MTYPE HEX
# e.g. tlsa-record.sh _lorawan-ns.ns1.example.net 3 1 1 client.crt 3600
# It runs `daneproxy tlsa`: $DANEPROXY if set, else the build tree's
# build/daneproxy, else daneproxy on PATH.
set -eu
if [ $# -lt 5 ] || [ $# -gt 6 ]; then
	echo "usage: $0 NAME USAGE SELECTOR MTYPE CERT_OR_KEY [TTL]" >&2
	exit 2
fi
ttl=${6:-300}
case $ttl in ''|*[!0-9]*) echo "$0: bad TTL: $ttl" >&2; exit 2 ;; esac
dp=${DANEPROXY:-}
if [ -z "$dp" ]; then
	dp=$(dirname "$0")/../build/daneproxy
	[ -x "$dp" ] || dp=daneproxy
fi
rec=$("$dp" tlsa --usage "$2" --selector "$3" --mtype "$4" --name "$1" "$5")
# "NAME. IN TLSA U S M HEX" -> with the TTL after the owner
printf '%s\n' "$rec" | awk -v ttl="$ttl" '{ $1 = $1 " " ttl; print }'
