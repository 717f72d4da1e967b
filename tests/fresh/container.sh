#!/usr/bin/env bash
# tests/fresh/container.sh BASE_TAR SOURCE_DIR OUT_DIR APT_CACHE — the
# container stage of packaging/fresh-check.sh, on the host, as root:
#
#   1. imports BASE_TAR (the debootstrap minbase root) as a podman image, once
#      per tarball;
#   2. builds packaging/container/Dockerfile from SOURCE_DIR's tracked files
#      with that base (no registry is needed or asked);
#   3. runs the image: -V, its user, and -t on the shipped example;
#   4. exports the image's file system into OUT_DIR, where fresh-check.sh runs
#      tests/fresh/deb.t on it (files, user, -t, a DANE-authenticated
#      connection through it).
#
# podman is configured for VMs with hybrid cgroups, where the default crun
# fails: runc, the cgroupfs manager, the host network, and rlimits it does
# not try to raise.
set -euo pipefail
base_tar=$1 src=$2 out=$3 apt_cache=$4
top=$(cd "$(dirname "$0")/../.." && pwd)

pkgs=(podman runc uidmap catatonit)
missing=()
for p in "${pkgs[@]}"; do
	[[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || missing+=("$p")
done
if ((${#missing[@]})); then
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

conf=$(mktemp /tmp/dp-containers.XXXXXX.conf)
ctx=$(mktemp -d /var/tmp/dp-ctx.XXXXXX)
trap 'rm -rf "$conf" "$ctx"' EXIT
cat >"$conf" <<'C'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
netns = "host"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
C
export CONTAINERS_CONF=$conf

# One base image per base tarball: the tag carries the tarball's mtime.
base=localhost/daneproxy-fresh-base:$(stat -c %Y "$base_tar")
if ! podman image exists "$base"; then
	podman images --format '{{.Repository}}:{{.Tag}}' | grep '^localhost/daneproxy-fresh-base:' |
		xargs -r podman rmi -f >/dev/null 2>&1 || true
	podman import -q - "$base" <"$base_tar" >/dev/null
fi

git -C "$src" ls-files -z | tar -C "$src" --null -T - -c | tar -C "$ctx" -x
image=localhost/daneproxy:fresh-check
podman build -q --pull=never --build-arg BASE="$base" \
	--volume "$apt_cache:/var/cache/apt/archives" \
	-f "$ctx/packaging/container/Dockerfile" -t "$image" "$ctx" >/dev/null

fails=0
check() { # DESC GOT REGEX
	if [[ $2 =~ $3 ]]; then echo "ok - container: $1"; else
		echo "not ok - container: $1"; printf '#   got: %s\n#  like: %s\n' "$2" "$3"; fails=$((fails + 1)); fi
}
version=$(sed -n 's/^project(daneproxy VERSION \([0-9.]*\).*/\1/p' "$top/CMakeLists.txt")
check "podman run IMAGE -V" "$(podman run --rm "$image" -V 2>&1)" "^daneproxy $version"
check "runs as the daneproxy user" "$(podman run --rm --entrypoint id "$image" -un 2>&1)" '^daneproxy$'
check "-t on the shipped example names the missing certificate" \
	"$(podman run --rm "$image" -t -c /etc/daneproxy/daneproxy.ini 2>&1)" '/etc/daneproxy/daneproxy\.ini:[0-9]+: cert: '
check "the image holds no compiler" "$(podman run --rm --entrypoint sh "$image" -c 'command -v gcc cc cmake || echo none')" '^none$'

ctr=$(podman create "$image")
mkdir -p "$out"
podman export "$ctr" | tar -C "$out" -x
podman rm -f "$ctr" >/dev/null
echo "# image $(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.1f MB", $1 / 1e6}'), exported to $out"
((fails == 0))
