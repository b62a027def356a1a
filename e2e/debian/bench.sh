#!/usr/bin/env bash
# bench.sh compares `agentkeeper check --root R --json` on a real Debian 12 root
# holding Debian's waagent package with the cheapest way to ask the same
# question by hand, `dpkg-query --admindir=R/var/lib/dpkg -W waagent`.
#
#   bench.sh [-n RUNS] [BINARY]
#
# BINARY defaults to $AGENTKEEPER_BIN; RUNS (default 30, or $BENCH_RUNS) is how
# many times each command runs, alternating, in the same run. Prints both median
# wall times, their ratio (target: within 3x) and agentkeeper's peak memory
# (max RSS, target: under 20 MiB). A benchmark reports, it does not gate: it
# exits 0 unless a command fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
bench_name=bench
# shellcheck source=SCRIPTDIR/benchlib.sh
. "$here/benchlib.sh"
runs="${BENCH_RUNS:-30}"
readonly RATIO_TARGET=3
readonly RSS_TARGET_KIB=$((20 * 1024))
readonly RSS_RUNS=5

parse_args "$@"
require_root_bash5 "unpacking a root-owned image"

# GNU time reports max RSS; Debian package `time`.
if [ ! -x /usr/bin/time ]; then
	printf 'bench: installing time (for /usr/bin/time)\n' >&2
	DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends time >&2
fi
command -v dpkg-query >/dev/null || die "dpkg-query is missing"

work="$(mktemp -d "${TMPDIR:-/tmp}/agentkeeper-bench.XXXXXX")"
trap 'rm -rf --one-file-system "$work"' EXIT
root="$work/root"
"$here/mkroot.sh" unpack waagent "$root"

# Environment of the measured commands: no AGENTKEEPER_* settings of the caller.
clean_env=(env)
while IFS='=' read -r name _; do
	case "$name" in AGENTKEEPER_*) clean_env+=(-u "$name") ;; esac
done < <(env)

ak=("${clean_env[@]}" "$bin" check --root "$root" --json)
dq=(dpkg-query "--admindir=$root/var/lib/dpkg" -W waagent)

# run_ak: agentkeeper exits 0 (ready) or 1 (not ready); anything else fails.
run_ak() {
	local rc=0
	"${ak[@]}" >"$work/ak.out" 2>"$work/ak.err" || rc=$?
	if [ "$rc" -gt 1 ]; then
		printf 'bench: agentkeeper exited %s:\n' "$rc" >&2
		tail -n 20 "$work/ak.err" >&2
		exit 1
	fi
}

run_dq() {
	"${dq[@]}" >"$work/dq.out" 2>"$work/dq.err" || {
		printf 'bench: dpkg-query failed:\n' >&2
		tail -n 20 "$work/dq.err" >&2
		exit 1
	}
}

# One warm-up of each so neither pays for a cold page cache.
run_ak
run_dq
printf 'agentkeeper says: %s\n' "$(tr -d '\n ' <"$work/ak.out" | grep -o '"ready":[a-z]*' | head -n 1)"
printf 'dpkg-query says:  %s\n' "$(cat "$work/dq.out")"

: >"$work/ak.times"
: >"$work/dq.times"
for ((i = 0; i < runs; i++)); do
	timed "$work/ak.times" run_ak
	timed "$work/dq.times" run_dq
done

# Medians in milliseconds.
ak_ms="$(spans "$work/ak.times" 1000 | median %.2f)"
dq_ms="$(spans "$work/dq.times" 1000 | median %.2f)"
ratio="$(awk -v a="$ak_ms" -v b="$dq_ms" 'BEGIN { printf "%.2f", a / b }')"

peak="$(peak_rss "$RSS_RUNS" "${ak[@]}")"

verdict() { if [ "$1" -eq 1 ]; then echo "ok"; else echo "OVER TARGET"; fi; }
ratio_ok="$(awk -v r="$ratio" -v t="$RATIO_TARGET" 'BEGIN { print (r <= t) ? 1 : 0 }')"
rss_ok=$((peak < RSS_TARGET_KIB ? 1 : 0))

printf '\n== agentkeeper check vs dpkg-query on a Debian 12 root with waagent (%s runs each, alternating)\n' "$runs"
printf '%-42s %8s ms\n' "median agentkeeper check --root R --json" "$ak_ms"
printf '%-42s %8s ms\n' "median dpkg-query -W waagent" "$dq_ms"
printf '%-42s %8sx   (target <= %sx: %s)\n' "ratio" "$ratio" "$RATIO_TARGET" "$(verdict "$ratio_ok")"
printf '%-42s %8s KiB (%s MiB; target < 20 MiB: %s)\n' "peak RSS of agentkeeper (max of $RSS_RUNS)" "$peak" \
	"$(awk -v k="$peak" 'BEGIN { printf "%.1f", k / 1024 }')" "$(verdict "$rss_ok")"

# What the backup-path checks (issue 12) add to check --root on the same image: the same
# command with them skipped (--skip), alternating, and their probes timed in-process by the
# Go benchmark BenchmarkBackupPathChecks on this root. Target: under 2 ms.
readonly NEW_CHECKS=backup.scripts,backup.config,backup.freeze,backup.extension,network.proxy,agent.python
readonly NEW_TARGET_MS=2
ak_skip=("${clean_env[@]}" "$bin" check --root "$root" --json --skip "$NEW_CHECKS")
run_ak_skip() {
	local rc=0
	"${ak_skip[@]}" >"$work/aks.out" 2>"$work/aks.err" || rc=$?
	[ "$rc" -le 1 ] || die "agentkeeper --skip exited $rc: $(tail -n 5 "$work/aks.err")"
}
run_ak_skip
: >"$work/ak2.times"
: >"$work/aks.times"
for ((i = 0; i < runs; i++)); do
	timed "$work/ak2.times" run_ak
	timed "$work/aks.times" run_ak_skip
done
ak2_ms="$(spans "$work/ak2.times" 1000 | median %.2f)"
aks_ms="$(spans "$work/aks.times" 1000 | median %.2f)"
delta_ms="$(awk -v a="$ak2_ms" -v b="$aks_ms" 'BEGIN { printf "%.2f", a - b }')"
printf '\n== the backup-path checks on the same root (%s runs each, alternating)\n' "$runs"
printf '%-42s %8s ms\n' "median check --root R --json" "$ak2_ms"
printf '%-42s %8s ms\n' "median the same, --skip the new checks" "$aks_ms"
printf '%-42s %8s ms  (process level, noisy)\n' "difference" "$delta_ms"
repo="$(cd "$here/../.." && pwd -P)"
if command -v "${GO:-go}" >/dev/null; then
	ns="$(cd "$repo" && AGENTKEEPER_BENCH_ROOT="$root" "${GO:-go}" test -run '^$' -bench '^BenchmarkBackupPathChecks$' \
		-benchtime=2000x ./agent/ 2>&1 | awk '/^BenchmarkBackupPathChecks/ { print $3 }')"
	[ -n "$ns" ] || die "BenchmarkBackupPathChecks printed no result"
	probe_ms="$(awk -v n="$ns" 'BEGIN { printf "%.3f", n / 1e6 }')"
	probe_ok="$(awk -v m="$probe_ms" -v t="$NEW_TARGET_MS" 'BEGIN { print (m < t) ? 1 : 0 }')"
	printf '%-42s %8s ms  (target < %s ms: %s)\n' "their probes in-process (Go benchmark)" "$probe_ms" "$NEW_TARGET_MS" "$(verdict "$probe_ok")"
fi
