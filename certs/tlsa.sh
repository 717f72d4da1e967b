#!/bin/sh
# tlsa.sh USAGE SELECTOR MTYPE CERTFILE
# Prints the TLSA certificate association data (RFC 6698 §2.1) for CERTFILE
# (PEM, first certificate) as lower-case hex without spaces:
#   SELECTOR 0 = whole certificate (DER), 1 = SubjectPublicKeyInfo (DER)
#   MTYPE    0 = the data itself, 1 = SHA-256, 2 = SHA-512
# USAGE (0..3) is checked but does not change the data.
set -eu

usage() {
	echo "usage: $0 USAGE(0-3) SELECTOR(0|1) MTYPE(0|1|2) CERTFILE" >&2
	exit 2
}
[ $# -eq 4 ] || usage
case $1 in 0|1|2|3) ;; *) usage ;; esac
case $2 in
0) extract() { openssl x509 -in "$1" -outform DER; } ;;
1) extract() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER; } ;;
*) usage ;;
esac
case $3 in
0) digest() { od -An -v -tx1 | tr -d ' \n'; } ;;
1) digest() { openssl dgst -sha256 -r | cut -d' ' -f1; } ;;
2) digest() { openssl dgst -sha512 -r | cut -d' ' -f1; } ;;
*) usage ;;
esac
[ -r "$4" ] || { echo "$0: cannot read $4" >&2; exit 1; }

# Run the pipeline in steps so a failing openssl is not masked by a pipe.
tmp=$(mktemp "${TMPDIR:-/tmp}/tlsa.XXXXXX")
trap 'rm -f "$tmp"' EXIT
extract "$4" >"$tmp"
[ -s "$tmp" ] || { echo "$0: no certificate in $4" >&2; exit 1; }
hex=$(digest <"$tmp" | tr 'A-F' 'a-f')
printf '%s\n' "$hex"
