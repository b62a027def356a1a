#!/usr/bin/env bash
# bench-ensure.sh measures what `agentkeeper ensure --root R` costs on top of
# installing the agent by hand into the same kind of image:
#
#   (a) chroot R apt-get update && chroot R apt-get install -y --no-install-recommends waagent
#   (b) agentkeeper ensure --root R
#
#   bench-ensure.sh [-n RUNS] [BINARY]
#
# Each run gets a fresh Debian 12 minbase root (mkroot.sh overlay, not timed) and
# times one command; (a) and (b) alternate, RUNS times each (default 3, or
# $BENCH_RUNS), after one untimed warm-up of (a) so both find the mirror warm.
# BINARY defaults to $AGENTKEEPER_BIN. Prints the medians and ensure's
# overhead in % over plain apt-get (target: within 10%), and the time ensure
# spends itself outside the apt commands (from its debug log). A benchmark
# reports, it does not gate: it exits 0 unless a command fails. Needs root
# and the Debian package registry.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
bench_name=bench-ensure
# shellcheck source=SCRIPTDIR/benchlib.sh
. "$here/benchlib.sh"
runs="${BENCH_RUNS:-3}"
readonly OVERHEAD_TARGET_PCT=10

parse_args "$@"
require_root_bash5 "unpacking a root-owned image, chroot"

work="$(mktemp -d "${TMPDIR:-/tmp}/agentkeeper-bench-ensure.XXXXXX")"
export MKROOT_OWNER=$$
trap '"$here/mkroot.sh" drop "$work"' EXIT
# Build the cache first (if missing) so no run pays for it.
"$here/mkroot.sh" build base

# fresh: a new, untimed minbase root at $work/root.
fresh() {
	"$here/mkroot.sh" drop "$work/root"
	"$here/mkroot.sh" overlay base "$work/root" 2>/dev/null
}

# The same clean, non-interactive environment for both: no AGENTKEEPER_*
# settings of the caller, apt's usual non-interactive variables.
base_env=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8
	DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true)

run_apt() {
	if ! { "${base_env[@]}" chroot "$work/root" apt-get update >"$work/out" 2>&1 &&
		"${base_env[@]}" chroot "$work/root" apt-get install -y --no-install-recommends waagent >>"$work/out" 2>&1; }; then
		printf 'bench-ensure: apt-get failed:\n' >&2
		tail -n 20 "$work/out" >&2
		exit 1
	fi
}

run_ensure() {
	local rc=0
	"${base_env[@]}" AGENTKEEPER_INSTALL_LOCK_FILE="$work/agentkeeper.lock" \
		"$bin" ensure --root "$work/root" --log-level debug >"$work/out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		printf 'bench-ensure: agentkeeper ensure exited %s:\n' "$rc" >&2
		tail -n 30 "$work/out" >&2
		exit 1
	fi
}

# check_installed: both must leave the same real package behind.
check_installed() {
	local v
	# shellcheck disable=SC2016 # dpkg-query format, not shell
	v="$(dpkg-query "--admindir=$work/root/var/lib/dpkg" -W -f '${Version} ${Status}' waagent 2>/dev/null || true)"
	[ "$v" = "2.7.3.0-4.1 install ok installed" ] || die "$1 left waagent as '$v', want '2.7.3.0-4.1 install ok installed'"
}

printf 'bench-ensure: warm-up (apt-get, not timed)\n' >&2
fresh
run_apt
check_installed apt-get

: >"$work/apt.times"
: >"$work/ensure.times"
: >"$work/self.times"
for ((i = 1; i <= runs; i++)); do
	fresh
	timed "$work/apt.times" run_apt
	check_installed apt-get

	fresh
	timed "$work/ensure.times" run_ensure
	check_installed "agentkeeper ensure"
	read -r t0 t1 < <(tail -n 1 "$work/ensure.times")
	# agentkeeper's own time: the run minus the commands it ran (their
	# `took=` in the debug log), which does not depend on the mirror's speed.
	printf '0 %s\n' "$(awk -v total="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" '
		function secs(d,   n, v, u) {
			v = 0
			while (match(d, /^[0-9.]+(ns|us|µs|ms|s|m|h)/)) {
				n = substr(d, RSTART, RLENGTH); d = substr(d, RLENGTH + 1)
				match(n, /[a-zµ]+$/); u = substr(n, RSTART); n = substr(n, 1, RSTART - 1) + 0
				if (u == "h") v += n * 3600; else if (u == "m") v += n * 60; else if (u == "s") v += n
				else if (u == "ms") v += n / 1000; else v += n / 1000000
			}
			return v
		}
		/^agentkeeper: debug: done / { for (i = 1; i <= NF; i++) if ($i ~ /^took=/) cmd += secs(substr($i, 6)) }
		END { printf "%.6f", total - cmd }' "$work/out")" >>"$work/self.times"
	printf 'bench-ensure: run %d/%d: apt-get %.2f s, ensure %.2f s\n' "$i" "$runs" \
		"$(tail -n 1 "$work/apt.times" | awk '{ print $2 - $1 }')" \
		"$(tail -n 1 "$work/ensure.times" | awk '{ print $2 - $1 }')" >&2
done
rm -rf --one-file-system "$work/root"

apt_s="$(spans "$work/apt.times" | median %.2f)"
ens_s="$(spans "$work/ensure.times" | median %.2f)"
self_ms="$(spans "$work/self.times" 1000 | median %.0f)"
pct="$(awk -v a="$ens_s" -v b="$apt_s" 'BEGIN { printf "%.1f", (a - b) / b * 100 }')"
ok="$(awk -v p="$pct" -v t="$OVERHEAD_TARGET_PCT" 'BEGIN { print (p <= t) ? "ok" : "OVER TARGET" }')"

printf '\n== agentkeeper ensure vs plain apt-get on a fresh Debian 12 minbase root (%s runs each, alternating)\n' "$runs"
printf '%-58s %8s s\n' "median chroot apt-get update && apt-get install waagent" "$apt_s"
printf '%-58s %8s s\n' "median agentkeeper ensure --root R" "$ens_s"
printf '%-58s %7s %%   (target <= %s%%: %s)\n' "ensure overhead" "$pct" "$OVERHEAD_TARGET_PCT" "$ok"
printf '%-58s %8s ms  (the run minus the apt commands it ran)\n' "median time agentkeeper spends itself" "$self_ms"
