#!/usr/bin/env bash
# chroot-mounted.sh ROOT CMD...: run CMD inside ROOT with the host's /proc,
# /sys, /dev and /run mounted into it, as tools that look at the hardware
# need (dracut --hostonly). The mounts live in a private mount namespace of
# this process only, so they are gone when it ends, however it ends, and the
# root can be deleted as plain files. Needs root.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: chroot-mounted.sh ROOT CMD..." >&2; exit 2; }
if [ -z "${AK_CHROOT_NS:-}" ]; then
	AK_CHROOT_NS=1 exec unshare --mount --propagation private -- "$0" "$@"
fi
root="$1"
shift
for d in proc sys dev run; do
	mkdir -p "$root/$d"
	mount --rbind "/$d" "$root/$d"
done
exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 chroot "$root" "$@"
