#!/usr/bin/env bash
# A fuzzing campaign: builds the libFuzzer targets (clang, ASan + UBSan,
# CMake's DP_FUZZ tree in build-fuzz/, which links each tests/fuzz/fuzz_X.c
# with the modules its #includes reach, as the replay tests do), runs each
# for SECONDS, minimises what it found and prints one table row per target.
#
#   bash tests/fuzz/campaign.sh TARGET|all SECONDS [JOBS]
#
#   TARGET    fuzz_X (or X), or all: every tests/fuzz/fuzz_*.c
#   SECONDS   time per target; a crash stops libFuzzer, which is then
#             restarted for the time left (at most 5 crashes per target)
#   JOBS      targets fuzzed at once (default 1)
#
# Environment:
#   DP_FUZZ_BUILD   build tree (default build-fuzz)
#   DP_FUZZ_WORK    working corpora, crashes and logs
#                   (default $DP_FUZZ_BUILD/campaign/fuzz_X/)
#   DP_FUZZ_UPDATE=1  rewrite tests/fuzz/corpus/fuzz_X/ afterwards: the
#                   hand-named seeds kept, every hash-named file replaced by
#                   a libFuzzer -merge=1 -use_counters=0 of the old ones and
#                   the new finds into the seeds (only inputs that add edges);
#                   left as it was if that merge fails
#
# A dictionary tests/fuzz/fuzz_X.dict (libFuzzer's -dict) is used if there.
#
# Columns: executions (all runs), execs/s, libFuzzer's last cov: and ft:,
# the corpus after -merge=1 into a fresh folder (files, bytes), crashes
# (crash-, leak-, timeout-, oom- files in the work folder's crashes/).
# Exits 1 when a target crashed (after the table) or its seeds could not be
# updated, 0 otherwise.
# clang and libFuzzer: packaging/install-deps.sh --fuzz.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

if [ $# -lt 2 ]; then
	sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
fi
what=$1 secs=$2 jobs=${3:-1}
build=${DP_FUZZ_BUILD:-build-fuzz}
work=${DP_FUZZ_WORK:-$build/campaign}

if [ "$what" = all ]; then
	targets=$(for f in tests/fuzz/fuzz_*.c; do basename "$f" .c; done)
else
	t=${what#fuzz_}
	targets=fuzz_$t
	[ -f "tests/fuzz/$targets.c" ] || { echo "campaign.sh: no tests/fuzz/$targets.c" >&2; exit 2; }
fi

command -v clang >/dev/null || { echo "campaign.sh: no clang (packaging/install-deps.sh --fuzz)" >&2; exit 1; }
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DDP_FUZZ=ON -DDP_TESTS=OFF \
	-DDP_WERROR=OFF -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS="-g -O1" >/dev/null
# shellcheck disable=SC2086  # one word per target
cmake --build "$build" -j"$jobs" --target $targets >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# fuzz_one TARGET: runs it, minimises, writes $work/TARGET/row.
fuzz_one() {
	local t=$1 w=$work/$1 seeds=tests/fuzz/corpus/$1 bin=$build/$1
	local left end execs=0 crashes cov ft files bytes n rc dict=()
	[ ! -f "tests/fuzz/$1.dict" ] || dict=(-dict="tests/fuzz/$1.dict")
	rm -rf "$w"
	mkdir -p "$w/corpus" "$w/crashes" "$w/min"
	mkdir -p "$seeds"
	end=$(($(date +%s) + secs))
	n=0
	while :; do
		left=$((end - $(date +%s)))
		[ "$left" -gt 0 ] || break
		rc=0
		"$bin" -max_total_time="$left" -print_final_stats=1 -timeout=10 \
			-rss_limit_mb=1024 -artifact_prefix="$w/crashes/" "${dict[@]}" \
			"$w/corpus" "$seeds" >"$w/log.$n" 2>&1 || rc=$?
		execs=$((execs + $(sed -n 's/^stat::number_of_executed_units: *//p' "$w/log.$n" | tail -1 | grep . || echo 0)))
		n=$((n + 1))
		[ "$rc" -ne 0 ] || break
		[ "$n" -lt 5 ] || break
	done
	cov=$(cat "$w"/log.* | sed -n 's/.* cov: \([0-9]*\) .*/\1/p' | sort -n | tail -1)
	ft=$(cat "$w"/log.* | sed -n 's/.* ft: \([0-9]*\) .*/\1/p' | sort -n | tail -1)
	"$bin" -merge=1 "$w/min" "$w/corpus" "$seeds" >"$w/merge.log" 2>&1 || true
	files=$(find "$w/min" -type f | wc -l)
	bytes=$(du -sb "$w/min" | cut -f1)
	crashes=$(find "$w/crashes" -type f | wc -l)
	if [ "${DP_FUZZ_UPDATE:-0}" = 1 ]; then
		local keep=$w/keep
		mkdir -p "$keep"
		find "$seeds" -maxdepth 1 -type f ! -regex '.*/[0-9a-f]\{40\}' -exec cp {} "$keep/" \;
		mkdir -p "$w/hashed"
		find "$seeds" -maxdepth 1 -type f -regex '.*/[0-9a-f]\{40\}' -exec cp {} "$w/hashed/" \;
		# Edges only (no hit counters): a few hundred files at most.
		# The stored seeds are replaced only by a merge that finished:
		# a failed one leaves $keep without the hashed seeds.
		rc=0
		"$bin" -merge=1 -use_counters=0 "$keep" "$w/hashed" "$w/corpus" \
			>"$w/update.log" 2>&1 || rc=$?
		if [ "$rc" -eq 0 ]; then
			rm -rf "$seeds"
			cp -r "$keep" "$seeds"
		else
			echo "campaign.sh: $t: merge failed (exit $rc, see $w/update.log);" \
				"$seeds left as it was" >&2
			: >"$w/update-failed"
		fi
	fi
	printf '| %s | %s | %s | %s | %s | %s files, %s KiB | %s |\n' "$t" "$execs" \
		"$((execs / (secs > 0 ? secs : 1)))" "${cov:-?}" "${ft:-?}" "$files" \
		"$(((bytes + 1023) / 1024))" "$crashes" >"$w/row"
}

running=0
for t in $targets; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	fuzz_one "$t" &
	running=$((running + 1))
done
wait

echo "| target | executions | execs/s | cov | ft | corpus (merged) | crashes |"
echo "|---|---|---|---|---|---|---|"
for t in $targets; do
	cat "$work/$t/row"
done
# Fails when any target crashed or could not update its seeds.
status=0
for t in $targets; do
	for c in "$work/$t"/crashes/*; do
		[ -e "$c" ] || continue
		echo "crash: $c (reproduce: $build/$t $c)"
		status=1
	done
	[ ! -e "$work/$t/update-failed" ] || status=1
done
exit "$status"
