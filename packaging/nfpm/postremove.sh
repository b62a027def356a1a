#!/bin/sh
# agentkeeper postremove: make a running systemd forget the removed unit.
# Arguments: deb "remove", "purge", "upgrade", ...; rpm "0" (erase) or "1"
# (upgrade). Never fails the transaction.
unit=agentkeeper.service
case "$1" in
remove | purge | 0)
	rm -f "/etc/systemd/system/multi-user.target.wants/$unit" 2>/dev/null
	;;
esac
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
