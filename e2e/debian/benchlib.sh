# shellcheck shell=bash
# benchlib.sh holds what bench.sh and bench-ensure.sh share: messages, the
# command line ([-n RUNS] [BINARY]), the root and bash 5 checks, timing and
# medians. It is sourced, not run: the caller sets `set -euo pipefail` and
# bench_name (the prefix of messages) before sourcing it, and runs (the
# default RUNS) before parse_args.

bench_name="${bench_name:-$(basename "$0" .sh)}"

die() {
	printf '%s: %s\n' "$bench_name" "$*" >&2
	exit 1
}

# usage prints the caller's header comment (from line 2 to the first line
# that is not a comment) and exits 2.
usage() {
	sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

# parse_args ARGS...: reads [-n RUNS] [BINARY] into runs and bin (an
# absolute path; BINARY defaults to $AGENTKEEPER_BIN).
parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		-n)
			[ $# -ge 2 ] || usage
			runs="$2"
			shift 2
			;;
		-h | --help) usage ;;
		-*) usage ;;
		*) break ;;
		esac
	done
	[ $# -le 1 ] || usage
	bin="${1:-${AGENTKEEPER_BIN:-}}"
	[ -n "$bin" ] || die "no binary: pass it as an argument or set AGENTKEEPER_BIN"
	[ -x "$bin" ] || die "$bin is not an executable file"
	bin="$(cd "$(dirname "$bin")" && pwd -P)/$(basename "$bin")"
	case "$runs" in '' | *[!0-9]* | 0) die "RUNS must be a positive number, got '$runs'" ;; esac
}

# require_root_bash5 WHY: dies unless running as root (WHY says what for)
# in a bash with EPOCHREALTIME (5.0+).
require_root_bash5() {
	[ "$(id -u)" -eq 0 ] || die "must run as root ($1)"
	[ -n "${EPOCHREALTIME:-}" ] || die "needs bash 5 (EPOCHREALTIME)"
}

# timed FILE COMMAND...: runs COMMAND and appends its "start end" wall
# clock times (seconds) as a line to FILE.
timed() {
	local file="$1" t0 t1
	shift
	t0="$EPOCHREALTIME"
	"$@"
	t1="$EPOCHREALTIME"
	printf '%s %s\n' "$t0" "$t1" >>"$file"
}

# spans FILE [SCALE]: (end - start) * SCALE (default 1) of each "start end"
# line of FILE, one a line.
spans() {
	awk -v k="${2:-1}" '{ printf "%.6f\n", ($2 - $1) * k }' "$1"
}

# median FORMAT: the median of the numbers on stdin, printed with the awk
# printf FORMAT.
median() {
	sort -n | awk -v f="$1" '{ v[NR] = $1 } END { if (NR % 2) printf f, v[(NR + 1) / 2]; else printf f, (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# peak_rss RUNS CMD...: the largest maximum resident set size, in KiB, of RUNS
# runs of CMD under /usr/bin/time (an exit code above 1 is an error: agentkeeper
# exits 1 for "not ready", which is a result).
peak_rss() {
	local runs="$1" peak=0 kib rc i out
	shift
	out="$(mktemp)"
	for ((i = 0; i < runs; i++)); do
		rc=0
		/usr/bin/time -f '%M' -o "$out" "$@" >/dev/null 2>&1 || rc=$?
		if [ "$rc" -gt 1 ]; then
			rm -f "$out"
			die "$1 exited $rc under /usr/bin/time"
		fi
		kib="$(tail -n 1 "$out")"
		[ "$kib" -gt "$peak" ] && peak="$kib"
	done
	rm -f "$out"
	echo "$peak"
}
