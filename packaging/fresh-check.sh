#!/usr/bin/env bash
# packaging/fresh-check.sh — the README's commands on a machine that has
# nothing: a debootstrap --variant=minbase bookworm root per stage.
#
#   bash packaging/fresh-check.sh [STAGE...]      (as root; default: demo test deb)
#
# Stages:
#   demo       `bash tests/demo.sh` in a fresh root
#   test       `bash tests/run.sh` in a fresh root (the whole suite)
#   deb        make daneproxy_VERSION_amd64.deb (packaging/build-deb.sh), install
#              it in a second fresh root with `apt-get install ./daneproxy_*.deb`
#              only, and run tests/fresh/deb.t against it: -V, the files, the
#              user, -t on the shipped example, one DANE-authenticated connection
#              through the installed daneproxy (the lab runs in the first root)
#   container  build packaging/container/Dockerfile with podman (its base image
#              imported from the same debootstrap root), run it, and run
#              tests/fresh/deb.t on the image's file system
#
# How: the base root is made once with debootstrap and kept as a tarball in
# $DP_FRESH_CACHE (default /var/cache/daneproxy-fresh; rebuilt after 7 days),
# so a later run unpacks it in seconds. Downloaded .debs are kept there too
# (bind-mounted over the root's /var/cache/apt/archives): that saves the
# downloads, not the installs, so every root still starts with nothing
# installed. Each root gets a clone of this checkout's HEAD (set
# DP_FRESH_SOURCE=worktree to copy the tracked files as they are in the work
# tree), /proc, /dev, /dev/pts, a tmpfs /tmp and /dev/shm, and runs its
# command as root with `env -i` (PATH, HOME, LANG and TERM only). Everything
# runs in a private mount namespace; every process left in a root is killed and
# every root unmounted and removed at exit, whatever happened. Prints how long
# each stage took.
set -euo pipefail

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 0
fi
[[ $(id -u) == 0 ]] || { echo "fresh-check.sh: must run as root (debootstrap, chroot, mount)" >&2; exit 1; }

top=$(cd "$(dirname "$0")/.." && pwd)

# A private mount namespace: the roots' mounts vanish with this script even if
# it is killed, and nothing propagates to the host.
if [[ -z ${DP_FRESH_NS:-} ]]; then
	DP_FRESH_NS=1 exec unshare --mount --propagation private -- bash "$0" "$@"
fi

stages=("$@")
((${#stages[@]})) || stages=(demo test deb)
for s in "${stages[@]}"; do
	case $s in demo | test | deb | container) ;; *)
		echo "fresh-check.sh: unknown stage '$s' (demo test deb container)" >&2
		exit 2
		;;
	esac
done
want() { local s; for s in "${stages[@]}"; do [[ $s == "$1" ]] && return 0; done; return 1; }

CACHE=${DP_FRESH_CACHE:-/var/cache/daneproxy-fresh}
MIRROR=${DP_FRESH_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DP_FRESH_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
BASE=$CACHE/bookworm-minbase.tar
WORK=$(mktemp -d /var/tmp/dp-fresh.XXXXXX)
CLEAN_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
roots=()
timings=()
t_all=$SECONDS

log() { printf '\n\033[1m== fresh-check: %s\033[0m\n' "$*"; }
die() { printf 'fresh-check.sh: %s\n' "$*" >&2; exit 1; }

# timed LABEL CMD...: runs CMD and records how long it took.
timed() {
	local label=$1 t0=$SECONDS rc=0
	shift
	"$@" || rc=$?
	timings+=("$(printf '%-44s %5ds%s' "$label" $((SECONDS - t0)) "$( ((rc == 0)) || echo "  FAILED ($rc)")")")
	return "$rc"
}

print_timings() {
	local t
	printf '\nfresh-check timings:\n'
	for t in "${timings[@]}"; do printf '  %s\n' "$t"; done
	printf '  %-44s %5ds\n' total $((SECONDS - t_all))
}

# kill_in ROOT: kill every process whose root directory is ROOT.
kill_in() {
	local root=$1 p r sig
	for sig in TERM KILL; do
		for p in /proc/[0-9]*; do
			r=$(readlink "$p/root" 2>/dev/null) || continue
			[[ $r == "$root" || $r == "$root"/* ]] && kill "-$sig" "${p#/proc/}" 2>/dev/null
		done
		[[ $sig == TERM ]] && sleep 0.5
	done
	return 0
}

# mounts_under DIR: the mount points at or below DIR, deepest first.
mounts_under() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

remove_root() {
	local root=$1 m
	kill_in "$root"
	for m in $(mounts_under "$root"); do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	if [[ -n $(mounts_under "$root") ]]; then
		echo "fresh-check.sh: $root still has mounts; not removing it" >&2
		return 1
	fi
	rm -rf --one-file-system "$root"
}

cleanup() {
	local rc=$? r
	for r in "${roots[@]}"; do remove_root "$r" || rc=1; done
	rm -rf --one-file-system "$WORK" 2>/dev/null || true
	print_timings
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

host_install() { # PACKAGE...: install on this host what is missing
	local p missing=()
	for p in "$@"; do
		[[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# base_tarball: $BASE exists and is younger than 7 days (made under a lock, so
# concurrent runs share one debootstrap).
base_tarball() {
	mkdir -p "$CACHE/apt-archives/partial"
	exec 9>"$CACHE/.lock"
	flock 9
	if [[ -s $BASE && -z $(find "$BASE" -mtime +7) ]]; then
		flock -u 9
		return 0
	fi
	host_install debootstrap
	local tmp=$WORK/debootstrap
	debootstrap --variant=minbase bookworm "$tmp" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
		{ tail -20 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
	tar -C "$tmp" -cf "$BASE.new" . && mv -f "$BASE.new" "$BASE"
	rm -rf --one-file-system "$tmp"
	flock -u 9
}

# new_root NAME: a fresh root from the base, mounted, with this checkout in
# /root/daneproxy; sets NEW_ROOT to its path.
new_root() {
	local root=$WORK/$1
	mkdir "$root"
	roots+=("$root")
	tar -C "$root" -xf "$BASE"
	cat >"$root/etc/apt/sources.list" <<-EOF
		deb $MIRROR bookworm main
		deb $MIRROR bookworm-updates main
		deb $SECURITY bookworm-security main
	EOF
	cp -L /etc/resolv.conf "$root/etc/resolv.conf"
	mount -t proc proc "$root/proc"
	mount --bind /dev "$root/dev"
	mount --bind /dev/pts "$root/dev/pts"
	mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
	mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
	mount --bind "$CACHE/apt-archives" "$root/var/cache/apt/archives"
	mkdir -p "$root/root/daneproxy"
	if [[ ${DP_FRESH_SOURCE:-head} == worktree ]]; then
		git -C "$top" ls-files -z | tar -C "$top" --null -T - -c | tar -C "$root/root/daneproxy" -x
	else
		git clone -q --no-hardlinks "$top" "$root/root/daneproxy"
	fi
	NEW_ROOT=$root
}

# in_root ROOT CMD: CMD (a bash command line) in ROOT's /root/daneproxy, as
# root, with a clean environment.
in_root() {
	chroot "$1" /usr/bin/env -i PATH="$CLEAN_PATH" HOME=/root LANG=C.UTF-8 TERM=dumb \
		bash -c "cd /root/daneproxy && $2"
}

host_install git ca-certificates util-linux
timed "base root (debootstrap, cached)" base_tarball

if want demo; then
	log "demo: bash tests/demo.sh in a fresh root"
	timed "demo: fresh root" new_root demo
	timed "demo: bash tests/demo.sh" in_root "$NEW_ROOT" "bash tests/demo.sh"
	remove_root "$NEW_ROOT"
fi

lab_root=""
if want test; then
	log "test: bash tests/run.sh in a fresh root"
	timed "test: fresh root" new_root test
	lab_root=$NEW_ROOT
	timed "test: bash tests/run.sh" in_root "$lab_root" "bash tests/run.sh"
fi

deb=""
if want deb || want container; then
	if [[ -z $lab_root ]]; then
		log "deb: a fresh root with the build and test dependencies"
		timed "deb: fresh root" new_root lab
		lab_root=$NEW_ROOT
		timed "deb: install-deps.sh, build" in_root "$lab_root" \
			"bash packaging/install-deps.sh && cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && cmake --build build -j\$(nproc)"
	fi
	log "deb: packaging/build-deb.sh"
	timed "deb: build the .deb" in_root "$lab_root" "bash packaging/build-deb.sh build-deb"
	deb=$(cd "$lab_root/root/daneproxy/build-deb" && ls daneproxy_*_*.deb)
	[[ $(wc -l <<<"$deb") == 1 ]] || die "expected one .deb, found: $deb"
	cp "$lab_root/root/daneproxy/build-deb/$deb" "$WORK/$deb"
fi

if want deb; then
	log "deb: apt-get install ./$deb in a second fresh root"
	timed "deb: fresh root" new_root pkg
	pkg_root=$NEW_ROOT
	cp "$WORK/$deb" "$pkg_root/root/"
	timed "deb: apt-get install ./$deb" in_root "$pkg_root" \
		"cd /root && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ./$deb"
	# The lab root reaches the package root at /mnt/pkg (its mounts included).
	mkdir -p "$lab_root/mnt/pkg"
	mount --rbind "$pkg_root" "$lab_root/mnt/pkg"
	log "deb: tests/fresh/deb.t against the installed package"
	timed "deb: tests/fresh/deb.t" in_root "$lab_root" \
		"DP_PKG_ROOT=/mnt/pkg DP_BUILD=/root/daneproxy/build prove -v tests/fresh/deb.t"
	umount -R "$lab_root/mnt/pkg"
	remove_root "$pkg_root"
fi

if want container; then
	log "container: podman build (same steps as the .deb), then tests/fresh/deb.t on the image"
	img=$lab_root/mnt/img
	timed "container: podman build and run" bash "$top/tests/fresh/container.sh" \
		"$BASE" "$lab_root/root/daneproxy" "$img" "$CACHE/apt-archives"
	mount -t proc proc "$img/proc"
	mount --bind /dev "$img/dev"
	timed "container: tests/fresh/deb.t on the image" in_root "$lab_root" \
		"DP_PKG_ROOT=/mnt/img DP_BUILD=/root/daneproxy/build prove -v tests/fresh/deb.t"
fi
log "passed: ${stages[*]}"
