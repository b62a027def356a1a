# shellcheck shell=bash
# lib-roots.sh holds what scripts/package-test.sh, packer-test.sh and
# ansible-test.sh share to test in fresh Debian 12 roots: failing with a
# reason, timed steps, the checks before anything starts, a work directory
# deleted on exit, and a process on this machine holding a root's SafeFreeze
# lock. Each script sets roots_name (the prefix of its messages), keeps its
# own `set -euo pipefail` and sources this file:
#
#   roots_name=package-test
#   source "$(dirname -- "${BASH_SOURCE[0]}")/lib-roots.sh"
#   roots_start "unpacking a root, chroot" dpkg tar chroot   # cd, root, tools, $arch
#   roots_work                                               # $work, cleanup trap, $t_all
#   fresh_root base "$work/root"                             # a fresh writable Debian 12 root
#   step "what it checks" CMD ARGS...
#   roots_passed

: "${roots_name:?set roots_name before sourcing lib-roots.sh}"

# die REASON...: fail the script (exit 1), saying why.
die() {
	printf '%s: FAIL: %s\n' "$roots_name" "$*" >&2
	exit 1
}
# note MESSAGE...: a line on stderr.
note() {
	printf '%s: %s\n' "$roots_name" "$*" >&2
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# roots_start WHY TOOL...: go to the repository root, fail unless running as
# root (WHY says what for) with every TOOL on PATH; set arch (amd64 or arm64).
roots_start() {
	cd "$(dirname -- "${BASH_SOURCE[0]}")/.." || die "cannot cd to the repository"
	mkroot="$PWD/e2e/debian/mkroot.sh"
	[ "$(id -u)" -eq 0 ] || die "must run as root ($1)"
	shift
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"
	done
	arch=$(dpkg --print-architecture) || die "dpkg --print-architecture failed"
	case "$arch" in amd64 | arm64) ;; *) die "no package is built for $arch" ;; esac
}

# roots_python: set py to Debian's python3 (the lock holder runs on this
# machine), or whichever python3 is on PATH.
roots_python() {
	py=/usr/bin/python3
	[ -x "$py" ] || py=$(command -v python3) || die "python3 is missing (it holds the SafeFreeze lock)"
}

# roots_work: make the work directory $work (under TMPDIR), deleted on exit
# with the lock holder stopped and the roots in it unmounted; start the clock
# for roots_passed. This script owns the overlays of fresh_root
# (MKROOT_OWNER): killed, the next mkroot.sh overlay unmounts them.
roots_work() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/$roots_name.XXXXXX")
	holder=""
	export MKROOT_OWNER=$$
	trap roots_cleanup EXIT
	t_all=$(now)
}
roots_cleanup() {
	if [ -n "$holder" ]; then kill "$holder" 2>/dev/null || true; wait "$holder" 2>/dev/null || true; fi
	bash "$mkroot" drop "$work" || rm -rf --one-file-system "$work"
}

# fresh_root NAME DEST: a fresh writable copy of mkroot.sh's cached root NAME
# at DEST (below $work): an overlay over its pristine unpacked copy, or the
# tarball unpacked where overlayfs will not mount (mkroot.sh says so).
fresh_root() {
	bash "$mkroot" overlay "$1" "$2"
}

# step NAME CMD ARGS...: run CMD; fail with NAME unless it exits 0, else
# print NAME and how long it took (NAME padded to step_width).
step_width=58
step() {
	local name="$1" t0 rc=0
	shift
	t0=$(now)
	"$@" || rc=$?
	[ "$rc" -eq 0 ] || die "$name (exit $rc)"
	note "$(printf '%-*s ok %6s s' "$step_width" "$name" "$(elapsed "$t0" "$(now)")")"
}

# roots_passed: the last line, with the time since roots_work.
roots_passed() {
	note "all passed in $(elapsed "$t_all" "$(now)") s"
}

# report_outcome FILE WANT [LABEL]: agentkeeper's JSON report FILE parses and
# says "outcome": WANT; prints LABEL and what the report says. Needs $py.
report_outcome() {
	"$py" - "$1" "$2" "${3:-}" <<'EOF'
import json, sys
path, want, label = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    d = json.load(open(path))
except Exception as e:
    sys.exit(f"{path}: {e}")
print(f"{label}outcome={d.get('outcome')} exit_code={d.get('exit_code')} message={d.get('message')!r}")
if d.get("outcome") != want:
    sys.exit(f"{path}: outcome {d.get('outcome')!r}, want {want!r}")
EOF
}

lock_path=/etc/azure/MicrosoftRecoverySvcsSafeFreezeLock/SafeFreezeLockFile
# hold_lock ROOT: a process on this machine (its pid in $holder) takes ROOT's
# SafeFreeze lock as a POSIX lock (lockf, as Azure Backup's SafeFreeze does;
# flock(1) would take a BSD lock, another kind). Needs $py.
hold_lock() {
	mkdir -p "$1${lock_path%/*}"
	"$py" -c 'import fcntl, sys, time
f = open(sys.argv[1], "a+"); fcntl.lockf(f, fcntl.LOCK_EX); print("locked", flush=True); time.sleep(600)' \
		"$1$lock_path" >"$work/holder.out" 2>&1 &
	holder=$!
	for _ in $(seq 50); do
		grep -q locked "$work/holder.out" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$work/holder.out"
	echo "the lock holder did not take the lock"
	return 1
}
# release_lock: stop the lock holder.
# shellcheck disable=SC2015 # A && B || C: nothing to do when either fails
release_lock() {
	kill "$holder" && wait "$holder" 2>/dev/null || true
	holder=""
}
