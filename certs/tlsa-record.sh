#!/bin/sh
# tlsa-record.sh NAME USAGE SELECTOR MTYPE CERTFILE [TTL]
# Prints a zone-file line:  NAME. TTL IN TLSA USAGE SELECTOR MTYPE HEX
# e.g. tlsa-record.sh _lorawan-ns.ns1.example.net 3 1 1 client.crt 3600
set -eu
if [ $# -lt 5 ] || [ $# -gt 6 ]; then
	echo "usage: $0 NAME USAGE SELECTOR MTYPE CERTFILE [TTL]" >&2
	exit 2
fi
name=${1%.}.
ttl=${6:-300}
case $ttl in ''|*[!0-9]*) echo "$0: bad TTL: $ttl" >&2; exit 2 ;; esac
hex=$("$(dirname "$0")/tlsa.sh" "$2" "$3" "$4" "$5")
printf '%s %s IN TLSA %s %s %s %s\n' "$name" "$ttl" "$2" "$3" "$4" "$hex"
