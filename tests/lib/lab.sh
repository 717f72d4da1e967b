# shellcheck shell=bash
# tests/lib/lab.sh -- the integration-test lab (source it after tap.sh).
#
# Every server runs on 127.0.0.1 with a random port, in a private temp dir,
# and is killed by pid on exit. A server that can bind port 0 and say which
# port it got does so (daneproxy: proxy.sh; upstream.py, ws_echo.py: a port
# file; openssl s_server: lab_log_port); lab_port is for the others.
# Readiness is always probed (poll every 50 ms up to a timeout), never slept
# for. Nothing here talks to a non-loopback address: Unbound forwards "." to
# a dead loopback port and only reaches NSD through stub-zones.
#
# Functions (details above each one):
#   lab_init, lab_skip_unless_root_tools, lab_port, lab_spawn, lab_stop,
#   lab_pid, lab_poll, lab_wait_log, lab_log_port, lab_wait_port, lab_wait_file,
#   lab_hold_port, lab_certs,
#   lab_dns_start, lab_dns_query_count, lab_zone_remove, lab_zone_set,
#   lab_upstream_start, lab_upstream_records, lab_upstream_wait, lab_nofile
# Exported: LAB, LAB_PYTHON (python3 to use), DP_SOURCE_DIR, DP_BUILD, and
# what lab_certs, lab_dns_start and lab_upstream_start say.
# Environment honoured: DP_KEEP=1 (keep $LAB), DP_VERBOSE=1 (show logs even on
# success), DP_BUILD, DP_SOURCE_DIR.

DP_SOURCE_DIR=${DP_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
DP_BUILD=${DP_BUILD:-$DP_SOURCE_DIR/build}
export DP_SOURCE_DIR DP_BUILD
# Debian's python3 starts much faster than a pyenv shim; tests may use it too.
if [[ -z ${LAB_PYTHON:-} ]]; then
	if [[ -x /usr/bin/python3 ]]; then LAB_PYTHON=/usr/bin/python3; else LAB_PYTHON=python3; fi
fi
export LAB_PYTHON

LAB=""
_lab_pids=()  # every pid spawned, in order
_lab_names=() # the matching names

# lab_init: make the lab dir ($LAB, exported) and arrange the cleanup at exit:
# kill every spawned process (TERM, then KILL after 3 s), show the tail of
# every $LAB/*.log if a test failed or DP_VERBOSE=1, remove $LAB unless
# DP_KEEP=1.
lab_init() {
	LAB=$(mktemp -d /tmp/dplab.XXXXXX) || bail "mktemp failed"
	export LAB
	tap_at_exit _lab_cleanup
}

# _lab_kill PID: TERM, wait up to 3 s (polling), then KILL; reap it.
_lab_kill() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || { { wait "$pid"; } 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 60; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		diag "lab: pid $pid ignored SIGTERM, sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null
	fi
	{ wait "$pid"; } 2>/dev/null
	return 0
}

_lab_cleanup() {
	local i f pid alive
	# TERM everything at once (newest first), then give them 3 s together.
	for ((i = ${#_lab_pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${_lab_pids[i]}" 2>/dev/null
	done
	for ((i = 0; i < 60; i++)); do
		alive=0
		for pid in "${_lab_pids[@]}"; do
			kill -0 "$pid" 2>/dev/null && alive=1 && break
		done
		((alive)) || break
		sleep 0.05
	done
	for pid in "${_lab_pids[@]}"; do
		_lab_kill "$pid" # KILLs (after another bounded wait) a survivor; reaps
	done
	_lab_pids=()
	[[ -n $LAB && -d $LAB ]] || return 0
	if [[ ${TAP_FAILED:-0} -gt 0 || ${TAP_EXIT_STATUS:-0} != 0 || ${DP_VERBOSE:-0} == 1 ]]; then
		for f in "$LAB"/*.log; do
			[[ -s $f ]] || continue
			diag "---- tail of $f"
			tail -n "${DP_LOG_LINES:-40}" "$f" | _tap_diag_lines
		done
	fi
	if [[ ${DP_KEEP:-0} == 1 ]]; then
		diag "lab kept in $LAB"
	else
		rm -rf "$LAB"
	fi
}

# lab_skip_unless_root_tools: skip_all unless nsd, unbound, ldns-signzone,
# ldns-keygen, ldns-key2ds, drill, openssl and python3 are installed.
lab_skip_unless_root_tools() {
	local t missing=""
	for t in nsd unbound ldns-signzone ldns-keygen ldns-key2ds drill openssl python3; do
		command -v "$t" >/dev/null 2>&1 || [[ -x /usr/sbin/$t ]] || missing+=" $t"
	done
	[[ -z $missing ]] || skip_all "missing tools:$missing (packaging/install-deps.sh)"
}

# lab_port [N]: print N (default 1) loopback ports, one per line, each free for
# both TCP and UDP right now and not handed out before in this lab. Racy:
# another process may bind the port before the server it is meant for does.
# Only for what cannot bind port 0 and report the port it got: Unbound,
# nginx and HAProxy refuse port 0 in their configuration, NSD accepts it but
# logs no port (and the Unbounds' stub-zones must name NSD's port before
# they start); and for an address nothing listens on (an upstream that
# refuses).
# daneproxy, upstream.py, ws_echo.py and openssl s_server bind port 0.
lab_port() {
	local given="$LAB/.ports"
	[[ -n $LAB ]] || given=/dev/null
	"$LAB_PYTHON" - "${1:-1}" "$given" <<'PYEOF'
import socket, sys
n, given_file = int(sys.argv[1]), sys.argv[2]
try:
    given = set(open(given_file).read().split())
except OSError:
    given = set()
out = []
for _ in range(1000):
    if len(out) == n:
        break
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        u.close()
        t.close()
    if str(port) in given or port in out:
        continue
    out.append(port)
if len(out) != n:
    sys.exit("lab_port: no free port")
if given_file != "/dev/null":
    with open(given_file, "a") as f:
        f.write("".join("%d\n" % p for p in out))
print("\n".join(map(str, out)))
PYEOF
}

# lab_spawn NAME CMD...: run CMD in the background, stdin from /dev/null,
# stdout+stderr to $LAB/NAME.log; pid in $LAB/NAME.pid. Killed at exit.
lab_spawn() {
	local name=$1
	shift
	: >"$LAB/$name.log"
	# O_APPEND, so a daemon that also opens its log by name (/dev/stderr)
	# cannot overwrite lines.
	"$@" </dev/null >>"$LAB/$name.log" 2>&1 &
	local pid=$!
	echo "$pid" >"$LAB/$name.pid"
	_lab_pids+=("$pid")
	_lab_names+=("$name")
}

# lab_pid NAME: print the pid of NAME.
lab_pid() { cat "$LAB/$1.pid" 2>/dev/null; }

# lab_stop NAME: TERM (then KILL) NAME and wait for it to be gone.
lab_stop() {
	local pid i
	pid=$(lab_pid "$1") || return 1
	_lab_kill "$pid"
	for i in "${!_lab_pids[@]}"; do
		[[ ${_lab_pids[i]} == "$pid" ]] && unset '_lab_pids[i]' '_lab_names[i]'
	done
	_lab_pids=("${_lab_pids[@]}")
	_lab_names=("${_lab_names[@]}")
	rm -f "$LAB/$1.pid"
}

# lab_poll SECONDS CMD...: runs CMD (a command or a shell function) every
# 50 ms until it succeeds (returns 0) or SECONDS (may be fractional: 0.5)
# have passed (returns 1). The one way a test waits for something: for
# readiness, a log line, a file, a count; never a fixed sleep.
lab_poll() {
	local secs=$1
	shift
	local deadline now ms
	# SECONDS may be fractional ("0.5"): turn it into milliseconds.
	if [[ $secs == *.* ]]; then
		local int=${secs%%.*} frac=${secs#*.}000
		ms=$((10#${int:-0} * 1000 + 10#${frac:0:3}))
	else
		ms=$((secs * 1000))
	fi
	deadline=$(($(_lab_now_ms) + ms))
	while :; do
		"$@" && return 0
		now=$(_lab_now_ms)
		((now >= deadline)) && return 1
		sleep 0.05
	done
}

_lab_now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

_lab_alive() { # NAME: its process still runs (or it was never spawned)
	local pid
	pid=$(lab_pid "$1") || return 0
	kill -0 "$pid" 2>/dev/null
}

_lab_log_has() { # NAME REGEX
	grep -Eq -- "$2" "$LAB/$1.log" 2>/dev/null && return 0
	# Stop polling early if the process died.
	_lab_alive "$1" || return 0
	return 1
}

# lab_wait_log NAME REGEX [SECONDS=10]: wait until $LAB/NAME.log has a line
# matching REGEX (grep -E). Fails at once if NAME's process exits first.
lab_wait_log() {
	lab_poll "${3:-10}" _lab_log_has "$1" "$2" || {
		diag "lab_wait_log: no /$2/ in $1.log after ${3:-10}s"
		return 1
	}
	grep -Eq -- "$2" "$LAB/$1.log" 2>/dev/null || {
		diag "lab_wait_log: $1 exited before logging /$2/"
		return 1
	}
}

_lab_tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# lab_log_port NAME REGEX [SECONDS=10]: for a server that binds port 0 and
# logs the address it got: waits (lab_wait_log) until $LAB/NAME.log has a
# line matching REGEX, then prints the port ending the last such line
# ("...:PORT", e.g. openssl s_server's "ACCEPT 127.0.0.1:41234").
lab_log_port() {
	lab_wait_log "$1" "$2" "${3:-10}" || return 1
	grep -E -- "$2" "$LAB/$1.log" | tail -n 1 | sed -nE 's/.*:([0-9]+)[[:space:]]*$/\1/p' | grep .
}

# lab_wait_port PORT [SECONDS=10]: wait until a TCP connect to 127.0.0.1:PORT
# succeeds.
lab_wait_port() {
	lab_poll "${2:-10}" _lab_tcp_open "$1" || {
		diag "lab_wait_port: nothing accepts on 127.0.0.1:$1 after ${2:-10}s"
		return 1
	}
}

# lab_wait_file FILE [SECONDS=10]: wait until FILE exists and is non-empty.
lab_wait_file() {
	lab_poll "${2:-10}" test -s "$1" || {
		diag "lab_wait_file: $1 still missing after ${2:-10}s"
		return 1
	}
}

# lab_hold_port: a background process binds and listens on 127.0.0.1, on a
# port the kernel chooses (an address in use, for a test to point a listener
# at); prints "PID PORT" once it holds the port.
lab_hold_port() {
	local mark pid
	mark=$(mktemp "$LAB/hold.XXXXXX") || return 1
	"$LAB_PYTHON" -c 'import os, socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
open(sys.argv[1] + ".tmp", "w").write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1]); time.sleep(60)' "$mark" >/dev/null 2>&1 &
	pid=$!
	lab_wait_file "$mark" 5 || return 1
	echo "$pid $(<"$mark")"
}

# lab_certs: the demo PKI (certs/mkcerts.sh) in $LAB/certs; exports LAB_CERTS.
lab_certs() {
	LAB_CERTS=$LAB/certs
	export LAB_CERTS
	"$DP_SOURCE_DIR/certs/mkcerts.sh" "$LAB_CERTS" >&2
}

# The lab's zone is made with daneproxy's own "daneproxy tlsa" (as an
# operator would); 00-lab.t checks every record against certs/tlsa.sh, which
# computes the same data with the openssl command line.
_lab_tlsa() { # U S M CERT -> "U S M HEX"
	local rec
	rec=$(DANEPROXY="$DP_BUILD/daneproxy" "$DP_SOURCE_DIR/certs/tlsa-record.sh" \
		x.dp.test "$1" "$2" "$3" "$LAB_CERTS/$4") || return 1
	echo "$rec" | awk '{ print $5, $6, $7, $8 }'
}

_lab_soa() { # ZONE
	# shellcheck disable=SC2016  # $TTL and $ORIGIN are zone-file directives
	printf '$TTL 300\n$ORIGIN %s.\n' "$1"
	printf '@ IN SOA ns1.dp.test. hostmaster.dp.test. 1 3600 900 604800 300\n'
	printf '@ IN NS ns1.dp.test.\n'
}

# _lab_sign ZONE [ldns-signzone options...]: keys (KSK+ZSK, ECDSAP256SHA256)
# and $DNS/ZONE.zone.signed from $DNS/ZONE.zone; DS of the KSK in $DNS/ZONE.ds,
# the key names in $DNS/ZONE.keys (for lab_zone_remove).
_lab_sign() {
	local zone=$1 ksk zsk
	shift
	(
		cd "$LAB/dns" || exit 1
		ksk=$(ldns-keygen -a ECDSAP256SHA256 -k "$zone") || exit 1
		zsk=$(ldns-keygen -a ECDSAP256SHA256 "$zone") || exit 1
		rm -f "$ksk.ds" "$zsk.ds"
		ldns-key2ds -n -2 "$ksk.key" >"$zone.ds" || exit 1
		echo "$ksk $zsk" >"$zone.keys"
		ldns-signzone "$@" -f "$zone.zone.signed" "$zone.zone" "$ksk" "$zsk" || exit 1
	)
}

_lab_nsd_nxdomain() { # NAME TYPE: NSD answers NXDOMAIN for it
	drill -p "${LAB_NSD#*:}" @127.0.0.1 "$1" "$2" 2>/dev/null | grep -q 'rcode: NXDOMAIN'
}

# lab_zone_remove OWNER...: revocation as an operator does it: removes every
# record of each OWNER (relative to dp.test, e.g. _lorawan-ns.revoke) from the
# dp.test zone, bumps its serial, re-signs it with the same keys, has NSD
# reload it (SIGHUP) and waits until NSD answers NXDOMAIN for the first
# OWNER. Resolvers may still hold the old answer for its TTL: the revocable
# names (*.revoke.dp.test) have a TTL of 1 s.
lab_zone_remove() {
	local D=$LAB/dns o
	for o in "$@"; do
		awk -v o="$o" '$1 != o' "$D/dp.test.zone" >"$D/dp.test.zone.new" &&
			mv -f "$D/dp.test.zone.new" "$D/dp.test.zone" || return 1
	done
	_lab_zone_publish || return 1
	lab_poll 10 _lab_nsd_nxdomain "$1.dp.test" TLSA || {
		diag "lab_zone_remove: NSD still serves $1.dp.test"
		return 1
	}
}

# lab_zone_set OWNER TTL CERT [U S M]: a rollover or a mistake as an
# operator makes it: OWNER's records (relative to dp.test) become the one
# record for CERT (a file in $LAB_CERTS; usage, selector, matching type
# default 3 1 1) with TTL, the zone is re-signed and NSD reloads it; waits
# until NSD serves the new record.
lab_zone_set() {
	local D=$LAB/dns o=$1 ttl=$2 rec
	rec=$(_lab_tlsa "${4:-3}" "${5:-1}" "${6:-1}" "$3") || return 1
	awk -v o="$o" '$1 != o' "$D/dp.test.zone" >"$D/dp.test.zone.new" &&
		echo "$o $ttl IN TLSA $rec" >>"$D/dp.test.zone.new" &&
		mv -f "$D/dp.test.zone.new" "$D/dp.test.zone" || return 1
	_lab_zone_publish || return 1
	lab_poll 10 _lab_nsd_serves "$o.dp.test" "${rec##* }" || {
		diag "lab_zone_set: NSD does not serve the new $o.dp.test"
		return 1
	}
}

_lab_nsd_serves() { # NAME HEX: NSD's TLSA answer for NAME holds HEX
	drill -p "${LAB_NSD#*:}" @127.0.0.1 "$1" TLSA 2>/dev/null |
		tr -d ' \t' | tr 'A-F' 'a-f' | grep -qi "$2"
}

# _lab_zone_publish: the dp.test zone file edited: bump the serial, re-sign
# with the same keys, have NSD reload it.
_lab_zone_publish() {
	local D=$LAB/dns
	awk '$3 == "SOA" { $6 = $6 + 1 } { print }' "$D/dp.test.zone" >"$D/dp.test.zone.new" &&
		mv -f "$D/dp.test.zone.new" "$D/dp.test.zone" || return 1
	# shellcheck disable=SC2046  # the two key names
	(cd "$D" && ldns-signzone -f dp.test.zone.signed dp.test.zone $(cat dp.test.keys)) ||
		return 1
	kill -HUP "$(lab_pid nsd)"
}

# _lab_corrupt_rrsig FILE TYPE: damage the signature of every RRSIG covering
# TYPE in a signed zone file (one base64 character changed mid-signature).
_lab_corrupt_rrsig() {
	awk -v t="$2" 'BEGIN { OFS = "\t" }
		$4 == "RRSIG" && $5 == t {
			s = $NF; c = substr(s, 20, 1)
			$NF = substr(s, 1, 19) (c == "A" ? "B" : "A") substr(s, 21)
			n++
		}
		{ print }
		END { if (!n) exit 1 }' "$1" >"$1.tmp" && mv -f "$1.tmp" "$1"
}

_lab_dns_zones() {
	local D=$LAB/dns ee ta js rogue st stx z
	ee=$(_lab_tlsa 3 1 1 client.crt) || return 1
	st=$(_lab_tlsa 3 1 1 station.crt) || return 1
	stx=$(_lab_tlsa 3 1 1 stationx.crt) || return 1
	ta=$(_lab_tlsa 2 0 1 clientca.crt) || return 1
	js=$(_lab_tlsa 3 1 1 js.crt) || return 1
	rogue=$(_lab_tlsa 3 1 1 rogue.crt) || return 1

	for z in child nsec3 insecure bogus expired; do
		{
			_lab_soa "$z.dp.test"
			echo "client IN TLSA $ee"
			# ts002_binding = dns: a NAPTR that would bind ns1.dp.test
			# were its zone not unsigned / its signature not broken.
			case $z in insecure) echo '000015 IN NAPTR 100 10 "A" "LORA+HTTP" "" ns1.dp.test.' ;;
				bogus) echo '000016 IN NAPTR 100 10 "A" "LORA+HTTP" "" ns1.dp.test.' ;;
				# a wildcard answer proven by NSEC3 (stapled chains)
				nsec3) echo "*.wild IN TLSA $ee" ;;
			esac
		} >"$D/$z.dp.test.zone"
	done
	_lab_sign child.dp.test || return 1
	_lab_sign nsec3.dp.test -n || return 1
	_lab_sign bogus.dp.test || return 1
	_lab_corrupt_rrsig "$D/bogus.dp.test.zone.signed" TLSA || return 1
	_lab_corrupt_rrsig "$D/bogus.dp.test.zone.signed" NAPTR || return 1
	_lab_sign expired.dp.test -i 20200101000000 -e 20200201000000 || return 1
	cp "$D/insecure.dp.test.zone" "$D/insecure.dp.test.zone.signed"

	{
		_lab_soa dp.test
		echo "ns1 IN A 127.0.0.1"
		echo "_lorawan-ns.ns1 IN TLSA $ee"
		echo "*._device IN TLSA $ee"
		echo "_lorawan-ns.ta IN TLSA $ta"
		echo "dev1.ta IN TLSA $ta"
		echo "_8443._tcp.js IN TLSA $js"
		echo "_lorawan-ns.revoke 1 IN TLSA $ee"
		echo "_443._tcp.revoke 1 IN TLSA $js"
		echo "multi IN TLSA $rogue"
		echo "multi IN TLSA $ee"
		echo "eui-b827ebfffe611234.gw IN TLSA $st"
		echo "gw1.gw IN TLSA $stx"
		# ts002_binding = dns (netid_domain = netids.dp.test, joineui_domain
		# = joineuis.dp.test): NetID 000013 points at ns1.dp.test (binds
		# names under dp.test), 000014 at another domain, 000015 and
		# 000016 into the insecure and bogus children; JoinEUI
		# 70B3D57ED0000000 by a NAPTR's URL at js.dp.test.
		echo '000013.netids IN NAPTR 100 10 "A" "LORA+HTTP" "" ns1.dp.test.'
		echo '000014.netids IN NAPTR 100 10 "U" "LORA+HTTP" "!^.*$!https://ns.other.example/ts002!" .'
		echo '000015.netids IN CNAME 000015.insecure.dp.test.'
		echo '000016.netids IN CNAME 000016.bogus.dp.test.'
		echo '0.0.0.0.0.0.0.d.e.7.5.d.3.b.0.7.joineuis IN NAPTR 100 10 "U" "LORA+HTTP" "!^.*$!https://js.dp.test:8443/ts002!" .'
		for z in child nsec3 insecure bogus expired; do
			echo "$z IN NS ns1.dp.test."
		done
		for z in child nsec3 bogus expired; do
			cat "$D/$z.dp.test.ds"
		done
	} >"$D/dp.test.zone"
	_lab_sign dp.test || return 1
	cp "$D/dp.test.ds" "$D/ta.ds"

	# aged.test: a zone of its own, outside dp.test (no trust anchor of the
	# resolvers above it), every signature made 10 days ago and valid 20
	# days more: a stapled chain for client.aged.test is old by any
	# measure of its signatures' inception (stapled_max_age), and
	# indeterminate from dp.test's anchor alone. Its DS: $LAB_AGED_TA.
	{
		_lab_soa aged.test
		echo "client IN TLSA $ee"
	} >"$D/aged.test.zone"
	_lab_sign aged.test -i "$(date -u -d '10 days ago' +%Y%m%d%H%M%S)" \
		-e "$(date -u -d '20 days' +%Y%m%d%H%M%S)" || return 1
}

_lab_dns_probe() { # PORT: dp.test SOA answers NOERROR
	# drill waits 5 s for a UDP answer from a closed port, so first make
	# sure something listens (both daemons open TCP and UDP together).
	_lab_tcp_open "$1" || return 1
	drill -p "$1" @127.0.0.1 dp.test SOA 2>/dev/null | grep -q 'rcode: NOERROR'
}

_lab_unbound_conf() { # NAME PORT MODULES
	local z
	cat <<EOF
server:
	verbosity: ${DP_UNBOUND_VERBOSITY:-1}
	num-threads: 1
	interface: 127.0.0.1
	port: $2
	outgoing-interface: 127.0.0.1
	do-ip4: yes
	do-ip6: no
	do-udp: yes
	do-tcp: yes
	so-reuseport: no
	interface-automatic: no
	access-control: 127.0.0.0/8 allow
	username: ""
	chroot: ""
	directory: "$LAB/dns"
	pidfile: "$LAB/dns/$1.pid"
	use-syslog: no
	logfile: ""
	log-time-ascii: yes
	log-queries: yes
	log-servfail: yes
	do-not-query-localhost: no
	local-zone: "test." nodefault
	qname-minimisation: no
	prefetch: no
	prefetch-key: no
	target-fetch-policy: "0 0 0 0 0"
	harden-referral-path: no
	infra-keep-probing: yes
	outgoing-range: 64
	num-queries-per-thread: 32
	module-config: "$3"
EOF
	if [[ $3 == validator* ]]; then
		cat <<EOF
	trust-anchor-file: "$LAB_TRUST_ANCHOR"
	val-log-level: 2
	trust-anchor-signaling: no
	root-key-sentinel: no
	val-permissive-mode: no
	ede: yes
EOF
	fi
	for z in dp.test child.dp.test nsec3.dp.test insecure.dp.test bogus.dp.test expired.dp.test; do
		printf 'stub-zone:\n\tname: "%s."\n\tstub-addr: %s\n\tstub-prime: no\n\tstub-first: no\n' \
			"$z" "127.0.0.1@${LAB_NSD#*:}"
	done
	cat <<EOF
forward-zone:
	name: "."
	forward-addr: 127.0.0.1@${LAB_DEAD_RESOLVER#*:}
	forward-first: no
remote-control:
	control-enable: no
EOF
}

# lab_dns_start: sign the lab zones (TLSA data from the lab certs; runs
# lab_certs if needed), start one NSD and two Unbounds, wait until all three
# answer. Exports LAB_NSD, LAB_AD_RESOLVER (validating, trust anchor dp.test.),
# LAB_FWD_RESOLVER (non-validating, passes DNSSEC records through),
# LAB_DEAD_RESOLVER (nothing listens), LAB_TRUST_ANCHOR (DS of dp.test.), all
# as 127.0.0.1:PORT (the anchor is a file), and LAB_AGED_TA (DS of aged.test.,
# a zone only NSD serves, signed 10 days ago). Logs: $LAB/nsd.log,
# $LAB/unbound-ad.log, $LAB/unbound-fwd.log.
lab_dns_start() {
	local D=$LAB/dns ports p0 p1 p2 p3
	mkdir -p "$D"
	[[ -n ${LAB_CERTS:-} && -s $LAB_CERTS/js.crt ]] || lab_certs || return 1
	_lab_dns_zones >"$LAB/dns-setup.log" 2>&1 || {
		diag "lab_dns_start: zone signing failed"
		_tap_diag_lines <"$LAB/dns-setup.log"
		return 1
	}
	ports=$(lab_port 4) || return 1
	{ read -r p0; read -r p1; read -r p2; read -r p3; } <<<"$ports"
	LAB_NSD=127.0.0.1:$p0
	LAB_AD_RESOLVER=127.0.0.1:$p1
	LAB_FWD_RESOLVER=127.0.0.1:$p2
	LAB_DEAD_RESOLVER=127.0.0.1:$p3
	LAB_TRUST_ANCHOR=$D/ta.ds
	LAB_AGED_TA=$D/aged.test.ds
	export LAB_NSD LAB_AD_RESOLVER LAB_FWD_RESOLVER LAB_DEAD_RESOLVER LAB_TRUST_ANCHOR LAB_AGED_TA

	local z
	{
		cat <<EOF
server:
	ip-address: 127.0.0.1
	port: $p0
	do-ip4: yes
	do-ip6: no
	server-count: 1
	reuseport: no
	username: ""
	chroot: ""
	database: ""
	zonesdir: "$D"
	zonelistfile: "$D/nsd.zone.list"
	xfrdfile: "$D/nsd.xfrd.state"
	xfrdir: "$D"
	pidfile: "$D/nsd.pid"
	logfile: "/dev/stderr"
	verbosity: 1
	hide-version: yes
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
	minimal-responses: no
remote-control:
	control-enable: no
EOF
		for z in dp.test child.dp.test nsec3.dp.test insecure.dp.test bogus.dp.test expired.dp.test aged.test; do
			printf 'zone:\n\tname: "%s"\n\tzonefile: "%s.zone.signed"\n' "$z" "$z"
		done
	} >"$D/nsd.conf"
	_lab_unbound_conf unbound-ad "$p1" "validator iterator" >"$D/unbound-ad.conf"
	_lab_unbound_conf unbound-fwd "$p2" "iterator" >"$D/unbound-fwd.conf"

	lab_spawn nsd nsd -d -c "$D/nsd.conf"
	lab_poll 10 _lab_dns_probe "$p0" || {
		diag "lab_dns_start: NSD does not answer on $LAB_NSD"
		return 1
	}
	lab_spawn unbound-ad unbound -d -c "$D/unbound-ad.conf"
	lab_spawn unbound-fwd unbound -d -c "$D/unbound-fwd.conf"
	lab_poll 10 _lab_dns_probe "$p1" || {
		diag "lab_dns_start: validating Unbound does not answer on $LAB_AD_RESOLVER"
		return 1
	}
	lab_poll 10 _lab_dns_probe "$p2" || {
		diag "lab_dns_start: forwarding Unbound does not answer on $LAB_FWD_RESOLVER"
		return 1
	}
}

# lab_dns_query_count NAME TYPE [ad|fwd]: how many queries for NAME/TYPE the
# validating (default) or forwarding Unbound received (log-queries lines:
# "info: 127.0.0.1 NAME. TYPE IN"); case-insensitive.
lab_dns_query_count() {
	local which=${3:-ad}
	awk -v n="${1%.}." -v t="$2" '
		BEGIN { n = tolower(n); t = tolower(t) }
		{
			# exactly "info: ADDR NAME TYPE CLASS" (other info lines, at
			# higher verbosity, also name the query)
			i = NF - 4
			if (i >= 1 && $i == "info:" && $(i + 1) ~ /^[0-9a-fA-F.:]+$/ &&
			    tolower($(i + 2)) == n && tolower($(i + 3)) == t && $(i + 4) == "IN") c++
		}
		END { print c + 0 }' "$LAB/unbound-$which.log"
}

# lab_upstream_start NAME [--proxy v2|v1|none] [more upstream.py options]:
# start the stand-in upstream (tests/lib/upstream.py) recording to
# $LAB/NAME.jsonl; exports UPSTREAM_PORT and UPSTREAM_<NAME>_PORT (NAME
# upper-cased, non-alphanumerics as _).
lab_upstream_start() {
	local name=$1 port var
	shift
	rm -f "$LAB/$name.port"
	lab_spawn "$name" "$LAB_PYTHON" "$DP_SOURCE_DIR/tests/lib/upstream.py" \
		--port-file "$LAB/$name.port" --record "$LAB/$name.jsonl" "$@"
	lab_poll 10 _lab_port_file "$name" || {
		diag "lab_upstream_start: $name did not start"
		return 1
	}
	[[ -s $LAB/$name.port ]] || {
		diag "lab_upstream_start: $name exited"
		return 1
	}
	port=$(<"$LAB/$name.port")
	UPSTREAM_PORT=$port
	var=${name^^}
	var=UPSTREAM_${var//[^A-Z0-9]/_}_PORT
	printf -v "$var" '%s' "$port"
	export UPSTREAM_PORT "${var?}"
}

_lab_port_file() { # NAME: port file written, or the process died
	[[ -s $LAB/$1.port ]] && return 0
	_lab_alive "$1" || return 0
	return 1
}

# lab_upstream_records NAME: print NAME's recorded connections (JSON lines).
lab_upstream_records() { cat "$LAB/$1.jsonl" 2>/dev/null; }

_lab_lines_ge() { # FILE N
	local n=0
	[[ -f $1 ]] && n=$(wc -l <"$1")
	((n >= $2))
}

# lab_upstream_wait NAME COUNT [SECONDS=10]: wait until NAME has recorded at
# least COUNT connections (a record is written when a connection has ended).
lab_upstream_wait() {
	lab_poll "${3:-10}" _lab_lines_ge "$LAB/$1.jsonl" "$2" || {
		diag "lab_upstream_wait: $1 recorded fewer than $2 connections in ${3:-10}s"
		return 1
	}
}

# lab_nofile WANT [MIN=WANT]: raises this shell's soft limit on open files
# (and so its children's) to WANT, or to the hard limit when that is lower;
# fails, saying why, when the limit in force is then below MIN.
lab_nofile() {
	local want=$1 min=${2:-$1} hard
	hard=$(ulimit -Hn)
	[[ $hard == unlimited ]] || ((hard >= want)) || want=$hard
	if [[ $(ulimit -n) != unlimited ]] && (($(ulimit -n) < want)); then
		ulimit -n "$want" 2>/dev/null || { echo "ulimit -n $want refused (hard limit $hard)" >&2; return 1; }
	fi
	[[ $(ulimit -n) == unlimited ]] || (($(ulimit -n) >= min)) ||
		{ echo "need ulimit -n $min at least (hard limit $hard)" >&2; return 1; }
}
