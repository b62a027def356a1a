#!/usr/bin/env bash
# bench-boot.sh compares `agentkeeper check --root R --json`, whose boot.hyperv
# reads the real initramfs of Debian 12's kernel (MODULES=most, zstd, about
# 30 MB, 128 MB unpacked), with `chroot R lsinitramfs FILE` on the same file.
#
#   bench-boot.sh [-n RUNS] [BINARY]
#
# BINARY defaults to $AGENTKEEPER_BIN; RUNS (default 10, or $BENCH_RUNS) is how
# many times each command runs, alternating, in the same run. The agentkeeper
# side is the whole check (every other check too), so the comparison is
# conservative. Prints both median wall times, their ratio (goal: agentkeeper
# at least as fast, ratio <= 1) and agentkeeper's peak memory (max RSS, goal:
# under 32 MiB). A benchmark reports, it does not gate: it exits 0 unless a
# command fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
bench_name=bench-boot
# shellcheck source=SCRIPTDIR/benchlib.sh
. "$here/benchlib.sh"
runs="${BENCH_RUNS:-10}"
readonly RSS_TARGET_KIB=$((32 * 1024))
readonly RSS_RUNS=5

parse_args "$@"
require_root_bash5 "unpacking a root-owned image, chroot"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (Debian package time; bench.sh installs it)"

work="$(mktemp -d "${TMPDIR:-/tmp}/agentkeeper-bench-boot.XXXXXX")"
trap 'rm -rf --one-file-system "$work"' EXIT
root="$work/root"
"$here/mkroot.sh" unpack kernel "$root"
initrd="$(cd "$root/boot" && ls initrd.img-* | head -n 1)"
[ -n "$initrd" ] || die "no /boot/initrd.img-* in the kernel root"

clean_env=(env)
while IFS='=' read -r name _; do
	case "$name" in AGENTKEEPER_*) clean_env+=(-u "$name") ;; esac
done < <(env)
ak=("${clean_env[@]}" "$bin" check --root "$root" --json)
ls=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot "$root" lsinitramfs "/boot/$initrd")

run_ak() {
	local rc=0
	"${ak[@]}" >"$work/ak.out" 2>"$work/ak.err" || rc=$?
	[ "$rc" -le 1 ] || { tail -n 20 "$work/ak.err" >&2; die "agentkeeper exited $rc"; }
}
run_ls() {
	"${ls[@]}" >"$work/ls.out" 2>"$work/ls.err" || { tail -n 20 "$work/ls.err" >&2; die "lsinitramfs failed"; }
}

run_ak
run_ls
printf 'boot.hyperv says: %s\n' "$(python3 -c 'import json,sys; print([c["status"]+": "+c["message"] for c in json.load(open(sys.argv[1]))["checks"] if c["id"]=="boot.hyperv"][0])' "$work/ak.out" 2>/dev/null || echo '?')"
printf 'lsinitramfs lists %s entries, %s of them hv_ drivers\n' "$(wc -l <"$work/ls.out")" "$(grep -c '/hv_[a-z]*\.ko' "$work/ls.out" || true)"

: >"$work/ak.times"
: >"$work/ls.times"
for ((i = 0; i < runs; i++)); do
	timed "$work/ak.times" run_ak
	timed "$work/ls.times" run_ls
done
ak_ms="$(spans "$work/ak.times" 1000 | median %.2f)"
ls_ms="$(spans "$work/ls.times" 1000 | median %.2f)"
ratio="$(awk -v a="$ak_ms" -v b="$ls_ms" 'BEGIN { printf "%.2f", a / b }')"

peak="$(peak_rss "$RSS_RUNS" "${ak[@]}")"

verdict() { if [ "$1" -eq 1 ]; then echo "ok"; else echo "OVER GOAL"; fi; }
ratio_ok="$(awk -v r="$ratio" 'BEGIN { print (r <= 1) ? 1 : 0 }')"
rss_ok=$((peak < RSS_TARGET_KIB ? 1 : 0))

printf '\n== boot.hyperv (whole check --root) vs lsinitramfs on Debian 12'"'"'s %s (%s runs each, alternating)\n' "$initrd" "$runs"
printf '%-46s %8s ms\n' "median agentkeeper check --root R --json" "$ak_ms"
printf '%-46s %8s ms\n' "median chroot R lsinitramfs FILE" "$ls_ms"
printf '%-46s %8sx   (goal <= 1x: %s)\n' "ratio" "$ratio" "$(verdict "$ratio_ok")"
printf '%-46s %8s KiB (%s MiB; goal < 32 MiB: %s)\n' "peak RSS of agentkeeper (max of $RSS_RUNS)" "$peak" \
	"$(awk -v k="$peak" 'BEGIN { printf "%.1f", k / 1024 }')" "$(verdict "$rss_ok")"
