#!/usr/bin/env bash
# packaging/build-deb.sh [BUILDDIR]: build daneproxy_VERSION_ARCH.deb in
# BUILDDIR (default build-deb) with cpack, as root on Debian 12. Installs what
# building needs first (packaging/install-deps.sh --build).
#
# The package: /usr/sbin/daneproxy (stripped), the manual pages, the systemd
# unit in /lib/systemd/system, /usr/lib/sysusers.d/daneproxy.conf, the example
# /etc/daneproxy/daneproxy.ini as a conffile, README, the client example and
# the LoRaWAN examples (examples/) in /usr/share/doc/daneproxy; Depends computed by dpkg-shlibdeps; postinst
# creates the daneproxy system user.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-build-deb}
cd "$top"
bash packaging/install-deps.sh --build
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDP_TESTS=OFF \
	-DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_INSTALL_SYSCONFDIR=/etc \
	-DDP_INSTALL_UNITDIR=/lib/systemd/system >/dev/null
cmake --build "$dir" -j"$(nproc 2>/dev/null || echo 2)"
(cd "$dir" && cpack -G DEB)
ls "$dir"/daneproxy_*.deb
