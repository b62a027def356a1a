#!/bin/sh
# agentkeeper preremove: on removal (deb "remove", rpm "0") stop and disable
# agentkeeper.service; on an upgrade (deb "upgrade", rpm "1") do nothing, the
# new package's postinstall restarts it. Never fails the transaction.
unit=agentkeeper.service
case "$1" in
remove | 0) ;;
*) exit 0 ;;
esac

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl stop "$unit" >/dev/null 2>&1 || true
fi
if command -v systemctl >/dev/null 2>&1; then
	systemctl disable "$unit" >/dev/null 2>&1 || true
fi
# The link postinstall writes when there is no systemctl.
rm -f "/etc/systemd/system/multi-user.target.wants/$unit" 2>/dev/null
exit 0
