#!/bin/sh
# Install every Debian 12 package daneproxy's build, demo and tests need.
#
# Does nothing at all (not even `apt-get update`) when every package is
# already installed. Safe in a container without an init system: while
# installing, a policy-rc.d forbids service starts (exit 101), so the
# postinst scripts of unbound, nsd and nginx neither fail nor leave daemons
# running.
#
# Usage: packaging/install-deps.sh [--check]
#   --check   only report missing packages; exit 1 if any is missing.
set -eu

PACKAGES="build-essential cmake pkg-config libevent-dev libssl-dev openssl
libldns-dev ldnsutils libunbound-dev unbound nsd libinih-dev nginx-light curl
python3 python3-websockets perl ca-certificates dns-root-data wrk iproute2"

missing=""
for p in $PACKAGES; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
	exit 0
fi
if [ "${1:-}" = "--check" ]; then
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
for svc in unbound nsd nginx; do
	case " $missing " in *" $svc "*|*" $svc-"*) ;; *) continue ;; esac
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		systemctl stop "$svc" >/dev/null 2>&1 || true
	fi
done
exit 0
