#!/bin/sh
# agentkeeper postinstall: enable agentkeeper.service; start it on a fresh
# install, restart it on an upgrade. Arguments: deb "configure [OLD-VERSION]"
# (or abort-*), rpm "1" (install) or "2" (upgrade). Nothing here may fail the
# package transaction: without systemd (a chroot, a container, an image
# build) the unit is only enabled, and only the unit is touched.
unit=agentkeeper.service
upgrade=0
case "$1" in
configure) [ -n "$2" ] && upgrade=1 ;;
abort-*) exit 0 ;;
[0-9]*) [ "$1" -gt 1 ] 2>/dev/null && upgrade=1 ;;
esac

if command -v systemctl >/dev/null 2>&1; then
	# enable only writes links: it works offline too (in a chroot).
	systemctl enable "$unit" >/dev/null 2>&1 ||
		echo "agentkeeper: could not enable $unit (enable it by hand)" >&2
else
	# No systemctl (a minimal root): write the link enable would write,
	# so the unit starts once systemd is there.
	for dir in /lib/systemd/system /usr/lib/systemd/system; do
		if [ -f "$dir/$unit" ]; then
			mkdir -p /etc/systemd/system/multi-user.target.wants 2>/dev/null &&
				ln -sf "$dir/$unit" "/etc/systemd/system/multi-user.target.wants/$unit" 2>/dev/null
			break
		fi
	done
fi

# Only when systemd runs this system (not in a chroot).
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload >/dev/null 2>&1 || true
	if [ "$upgrade" = 1 ]; then
		systemctl restart "$unit" ||
			echo "agentkeeper: could not restart $unit: see 'journalctl -u $unit'" >&2
	else
		systemctl start "$unit" ||
			echo "agentkeeper: could not start $unit: see 'journalctl -u $unit'" >&2
	fi
fi
exit 0
