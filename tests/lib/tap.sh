# shellcheck shell=bash
# tests/lib/tap.sh -- a small TAP producer for bash tests (source it).
#
#   plan N                 optional; otherwise done_testing prints 1..N
#   ok DESC CMD...         runs CMD; a pass if it exits 0 (its output is shown
#                          as diagnostics on failure, or always with DP_VERBOSE=1)
#   nok DESC CMD...        a pass if CMD exits non-zero
#   is GOT WANT DESC       string equality
#   isnt GOT WANT DESC     string inequality
#   like GOT REGEX DESC    bash [[ =~ ]] (ERE) match
#   unlike GOT REGEX DESC
#   pass DESC / fail DESC  unconditional
#   skip REASON [COUNT]    COUNT (default 1) skipped test points
#   diag MSG...            "# MSG" on stderr;  note MSG... on stdout
#   skip_all REASON        "1..0 # SKIP REASON", exit 0
#   bail MSG               "Bail out! MSG", exit 255
#   done_testing           prints the plan if not yet printed; exit status is the
#                          number of failures (255 on a plan mismatch)
#
# Each assertion returns 0 on pass and 1 on failure, so `ok ... || bail ...`
# works. Do not run tests under `set -e`: a failed assertion would end them.
# TAP_FAILED holds the number of failures so far (lab.sh reads it on exit).
# Functions to run at exit can be added with tap_at_exit FUNC (run in reverse
# order, with the exit status in $TAP_EXIT_STATUS).

TAP_COUNT=0
TAP_FAILED=0
_tap_plan=""
_tap_done=0
_tap_exit_hooks=()

# _tap_diag_lines: print stdin as '# '-prefixed diagnostic lines on stderr.
_tap_diag_lines() {
	local line
	while IFS= read -r line || [[ -n $line ]]; do
		printf '# %s\n' "$line" >&2
	done
}

_tap_result() { # _tap_result STATUS(0|1) DESC
	TAP_COUNT=$((TAP_COUNT + 1))
	local desc=${2//#/\\#}
	desc=${desc//$'\n'/ }
	if [[ $1 == 0 ]]; then
		printf 'ok %d - %s\n' "$TAP_COUNT" "$desc"
		return 0
	fi
	TAP_FAILED=$((TAP_FAILED + 1))
	printf 'not ok %d - %s\n' "$TAP_COUNT" "$desc"
	local i=1 where=""
	# Report the caller of the assertion (skip tap.sh frames).
	while [[ ${BASH_SOURCE[i]:-} == "${BASH_SOURCE[0]}" ]]; do i=$((i + 1)); done
	where="${BASH_SOURCE[i]:-?} line ${BASH_LINENO[i - 1]:-?}"
	printf '#   Failed test %s\n#   at %s.\n' "'$2'" "$where" >&2
	return 1
}

plan() {
	_tap_plan=$1
	printf '1..%d\n' "$1"
}

pass() { _tap_result 0 "$1"; }
fail() { _tap_result 1 "$1"; }

# _tap_run OUTFILE CMD...: run CMD in the current shell (so functions may set
# variables) with its output captured; returns CMD's status.
_tap_run() {
	local out=$1
	shift
	"$@" >"$out" 2>&1
}

ok() {
	local desc=$1 rc out
	shift
	out=$(mktemp "${TMPDIR:-/tmp}/tap.XXXXXX")
	_tap_run "$out" "$@"
	rc=$?
	if [[ $rc == 0 ]]; then
		_tap_result 0 "$desc"
		[[ ${DP_VERBOSE:-0} == 1 && -s $out ]] && _tap_diag_lines <"$out"
	else
		_tap_result 1 "$desc"
		printf '#   command: %s\n#   exit status: %d\n' "$*" "$rc" >&2
		_tap_diag_lines <"$out"
	fi
	rm -f "$out"
	[[ $rc == 0 ]]
}

nok() {
	local desc=$1 rc out
	shift
	out=$(mktemp "${TMPDIR:-/tmp}/tap.XXXXXX")
	_tap_run "$out" "$@"
	rc=$?
	if [[ $rc != 0 ]]; then
		_tap_result 0 "$desc"
		[[ ${DP_VERBOSE:-0} == 1 && -s $out ]] && _tap_diag_lines <"$out"
	else
		_tap_result 1 "$desc"
		printf '#   command: %s\n#   exit status: 0 (wanted non-zero)\n' "$*" >&2
		_tap_diag_lines <"$out"
	fi
	rm -f "$out"
	[[ $rc != 0 ]]
}

is() {
	if [[ $1 == "$2" ]]; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3"
		printf '%s\n' "     got: '$1'" "  wanted: '$2'" | _tap_diag_lines
		return 1
	fi
}

isnt() {
	if [[ $1 != "$2" ]]; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3"
		printf '%s\n' "     got: '$1'" "expected: anything else" | _tap_diag_lines
		return 1
	fi
}

like() {
	if [[ $1 =~ $2 ]]; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3"
		printf '%s\n' "     got: '$1'" "    like: /$2/" | _tap_diag_lines
		return 1
	fi
}

unlike() {
	if ! [[ $1 =~ $2 ]]; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3"
		printf '%s\n' "     got: '$1'" "  unlike: /$2/" | _tap_diag_lines
		return 1
	fi
}

skip() {
	local reason=$1 n=${2:-1} i
	for ((i = 0; i < n; i++)); do
		TAP_COUNT=$((TAP_COUNT + 1))
		printf 'ok %d # skip %s\n' "$TAP_COUNT" "$reason"
	done
}

diag() { printf '%s\n' "$*" | _tap_diag_lines; }
note() { printf '%s\n' "$*" | while IFS= read -r l; do printf '# %s\n' "$l"; done; }

skip_all() {
	printf '1..0 # SKIP %s\n' "$*"
	_tap_done=1
	exit 0
}

bail() {
	printf 'Bail out! %s\n' "$*"
	_tap_done=1
	exit 255
}

done_testing() {
	_tap_done=1
	local rc=$TAP_FAILED
	if [[ -z $_tap_plan ]]; then
		printf '1..%d\n' "$TAP_COUNT"
	elif [[ $_tap_plan != "$TAP_COUNT" ]]; then
		diag "Looks like you planned $_tap_plan tests but ran $TAP_COUNT."
		rc=255
	fi
	if [[ $TAP_FAILED -gt 0 ]]; then
		diag "Looks like you failed $TAP_FAILED test(s) of $TAP_COUNT."
	fi
	((rc > 254)) && rc=255
	exit "$rc"
}

tap_at_exit() { _tap_exit_hooks+=("$1"); }

_tap_on_exit() {
	TAP_EXIT_STATUS=$?
	if [[ $_tap_done == 0 ]]; then
		# Died before done_testing: make sure the harness sees a failure.
		diag "Test script exited ($TAP_EXIT_STATUS) before done_testing after $TAP_COUNT test(s)."
		TAP_FAILED=$((TAP_FAILED + 1))
		[[ $TAP_EXIT_STATUS == 0 ]] && TAP_EXIT_STATUS=254
	fi
	local i
	for ((i = ${#_tap_exit_hooks[@]} - 1; i >= 0; i--)); do
		"${_tap_exit_hooks[i]}" || true
	done
	exit "$TAP_EXIT_STATUS"
}

trap _tap_on_exit EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
