#!/bin/sh
# Install the Debian 12 packages daneproxy needs, by purpose:
#
#   --build   compile it and make the .deb (compiler, cmake, the -dev
#             packages, dpkg-dev and file for cpack's dpkg-shlibdeps)
#   --run     run a daneproxy built from source: the shared libraries it
#             links, the DNSSEC root trust anchor and CA certificates
#   --test    run the demo, the test suite and the benchmarks: the lab's
#             DNS servers and tools, the stand-in upstreams, prove, curl,
#             wrk, groff for the manual-page checks, ...
#   --bench   run tests/bench/peers.sh, daneproxy side by side with its
#             peers: nginx with its stream module, HAProxy, curl, python3,
#             and the lab's DNS servers and tools (--test includes all of it,
#             since the suite runs the benchmark's --smoke mode)
#   (none)    all of them
#
# Several may be given. Every command a script of this project runs must be
# installed here: the suite runs in a debootstrap --variant=minbase root
# (packaging/fresh-check.sh), where nothing else is.
#
# Does nothing at all (not even `apt-get update`) when every package is
# already installed. Safe in a container or chroot without an init system:
# while installing, a policy-rc.d forbids service starts (exit 101), so the
# postinst scripts of unbound, nsd, nginx and haproxy neither fail nor leave
# daemons running.
#
# Usage: packaging/install-deps.sh [--build] [--run] [--test] [--bench] [--fuzz] [--check] [--list]
#   --check   only report missing packages; exit 1 if any is missing
#   --list    print the selected packages, one per line, and exit
set -eu

# libunbound.pc names nettle and hogweed in Requires.private, and
# libunbound-dev does not depend on nettle-dev: without it pkg-config (and so
# CMake) cannot find libunbound at all.
BUILD="build-essential cmake pkg-config libevent-dev libssl-dev libldns-dev
libunbound-dev nettle-dev libgetdns-dev libinih-dev libjansson-dev dpkg-dev file"

# What dpkg-shlibdeps finds in the binary (the .deb computes its own), plus
# the default trust_anchor_file (/usr/share/dns/root.key).
RUN="libevent-core-2.1-7 libevent-extra-2.1-7 libevent-openssl-2.1-7 libssl3
libldns3 libunbound8 libgetdns10 libinih1 libjansson4 dns-root-data ca-certificates"

# tests/lib/lab.sh: nsd, unbound, ldns-* and drill, openssl, python3;
# tests/lib/upstream.py and ws_echo.py: python3-websockets; prove: perl;
# 46 (tests/lib/http1_diff.py): python3-h11, the independent HTTP parser;
# 60: setpriv (util-linux, always there) and ss (iproute2);
# 07: groff (groff-base); 40 and the benches: nginx,
# curl, wrk; 90 (peers.sh --smoke): everything in BENCH.
TEST="nsd unbound ldnsutils openssl python3 python3-websockets python3-h11 perl
iproute2 groff-base nginx-light curl wrk ca-certificates"

# tests/bench/peers.sh: the lab (nsd, unbound, ldns-* and drill, openssl,
# python3, which is also its latency and idle-connection client), nginx as the
# upstream and, with its stream module, as a peer; HAProxy (2.6 in Debian 12)
# as the other peer; curl for the bulk download.
BENCH="nsd unbound ldnsutils openssl python3 nginx-light libnginx-mod-stream
haproxy curl"
TEST="$TEST $BENCH"

# tests/fuzz/campaign.sh: clang -fsanitize=fuzzer,address,undefined links
# libclang_rt.fuzzer and the sanitizer runtimes from libclang-rt-14-dev
# (named, since clang only recommends it); libfuzzer-14-dev has libFuzzer's
# headers and the standalone library. Builds with cmake like --build.
FUZZ="$BUILD clang libclang-rt-14-dev libfuzzer-14-dev"

sel="" check=0 list=0
for a in "$@"; do
	case $a in
	--build) sel="$sel $BUILD" ;;
	--run) sel="$sel $RUN" ;;
	--test) sel="$sel $TEST" ;;
	--bench) sel="$sel $BENCH" ;;
	--fuzz) sel="$sel $FUZZ" ;;
	--check) check=1 ;;
	--list) list=1 ;;
	-h | --help)
		sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "install-deps.sh: unknown argument '$a' (--build, --run, --test, --bench, --fuzz, --check, --list)" >&2
		exit 2
		;;
	esac
done
[ -n "$sel" ] || sel="$BUILD $RUN $TEST"
PACKAGES=$(printf '%s\n' $sel | sort -u)

if [ "$list" = 1 ]; then
	printf '%s\n' $PACKAGES
	exit 0
fi

missing=""
for p in $PACKAGES; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
	exit 0
fi
if [ "$check" = 1 ]; then
	echo "missing:$missing" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: must run as root to install:$missing" >&2
	exit 1
fi

POLICY=/usr/sbin/policy-rc.d
saved=""
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	rm -f "$POLICY"
	if [ -n "$saved" ]; then
		mv -f "$saved" "$POLICY"
	fi
}
if [ -e "$POLICY" ]; then
	saved=$(mktemp /usr/sbin/policy-rc.d.dpsave.XXXXXX)
	cp -p "$POLICY" "$saved"
fi
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
printf '#!/bin/sh\n# daneproxy install-deps.sh: no service starts during install\nexit 101\n' >"$POLICY"
chmod 0755 "$POLICY"

export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086  # word splitting of the package list is wanted
apt-get install -y --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
	$missing

# Belt and braces: with systemd as init, policy-rc.d is honoured by
# deb-systemd-invoke too, but stop anything a postinst managed to start.
for svc in unbound nsd nginx haproxy; do
	case " $missing " in *" $svc "*|*" $svc-"*) ;; *) continue ;; esac
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		systemctl stop "$svc" >/dev/null 2>&1 || true
	fi
done
exit 0
