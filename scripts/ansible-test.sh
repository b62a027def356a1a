#!/usr/bin/env bash
# ansible-test.sh runs packaging/ansible/site.yml (the agentkeeper role) for
# real against fresh Debian 12 roots, reached with the community.general.chroot
# connection:
#
#   0. check mode on a fresh root: exit 0, the package tasks say changed, and
#      nothing in the root changed (a manifest of every file before and after);
#   1. ready:     the playbook installs the .deb and a config, `agentkeeper
#                 ensure` installs waagent (apt-get inside the root); exit 0,
#                 <host>.json says "outcome": "ready", the summary 1 ready;
#   1b. the unit's wants link removed: check mode runs ensure --dry-run, says
#      changed, writes a "planned" report to agentkeeper-reports-check and
#      changes nothing; the real run then enables the unit again;
#   1c. a second run on the ready host: the recap says changed=0;
#   2. deferred:  another fresh root whose SafeFreeze lock a host process holds
#                 (a POSIX lock, as Azure Backup takes it), retries=1 delay=1 →
#                 exit 0, the host reported DEFERRED after 2 attempts, its JSON
#                 says deferred, deferred-hosts.txt and the recap's custom stats
#                 (set_stats) name it, nothing installed;
#   3. the same with agentkeeper_fail_on_deferred=true → the host fails (exit 2);
#   4. lock released, `--limit @deferred-hosts.txt` → that host becomes ready;
#   windows.yml (no Windows host here): only ansible-playbook --syntax-check;
#   5. failed:    root 1 with a config demanding agent 99.0 → ensure exits 1,
#                 the host fails (exit 2) but its report and the summary are there.
#
# Installs Debian's `ansible` package (ansible-core + community.general, which
# has the chroot connection) when ansible-playbook is missing. Needs root,
# dpkg, tar, Go (scripts/package.sh) and python3 on this machine. Anything
# missing or wrong FAILS (exit 1); it never skips. Prints how long each step took.
# shellcheck disable=SC2016,SC2015 # eval strings and dpkg-query formats are literal; A && B || C with plain tests
set -euo pipefail

roots_name=ansible-test
# shellcheck source=SCRIPTDIR/lib-roots.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib-roots.sh"

roots_start "apt-get, unpacking a root, chroot" dpkg tar chroot
repo=$(pwd -P)
# The lock holder runs on this machine; Debian's python3 (ansible's) is the one to use.
roots_python
roots_work
# ANSIBLE_TEST_KEEP=1 keeps the work directory (roots, logs, reports) for a look.
[ "${ANSIBLE_TEST_KEEP:-0}" = 1 ] && trap 'note "kept $work"; [ -z "$holder" ] || kill "$holder"' EXIT

install_ansible() {
	if command -v ansible-playbook >/dev/null 2>&1 &&
		ansible-doc -t connection community.general.chroot >/dev/null 2>&1; then
		ansible-playbook --version | head -1
		return 0
	fi
	# Debian 12: `ansible` = ansible-core 2.14 + the community collections
	# (community.general.chroot); ansible-core alone has no chroot connection.
	DEBIAN_FRONTEND=noninteractive apt-get update -q >"$work/apt.log" 2>&1 ||
		{ tail -20 "$work/apt.log"; echo "apt-get update failed"; return 1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 ansible \
		>>"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log"; echo "apt-get install ansible failed"; return 1; }
	command -v ansible-playbook >/dev/null 2>&1 || { echo "ansible installed but ansible-playbook is missing"; return 1; }
	ansible-doc -t connection community.general.chroot >/dev/null 2>&1 ||
		{ echo "the community.general.chroot connection is missing"; return 1; }
	ansible-playbook --version | head -1
}

build() {
	ARCHES="$arch" DIST="$work/dist" bash scripts/package.sh >"$work/dist.sha256" 2>"$work/build.log" ||
		{ tail -20 "$work/build.log"; return 1; }
	deb=$(ls "$work"/dist/agentkeeper_*_"$arch".deb) || return 1
	# package.sh leaves the binary it packed here: the controller's agentkeeper, for summarize.
	ctlbin="$repo/bin/linux-$arch/agentkeeper"
	[ -x "$ctlbin" ] || { echo "$ctlbin missing"; return 1; }
	echo "$deb"
}

inroot() { # inroot ROOT CMD...
	local root="$1"
	shift
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive chroot "$root" "$@"
}

# Ansible's modules need Python on the target: the minbase root has none.
python_root() {
	fresh_root base "$work/pyroot" &&
		inroot "$work/pyroot" apt-get update -q >"$work/pyroot.log" 2>&1 &&
		inroot "$work/pyroot" apt-get install -y -q --no-install-recommends python3 >>"$work/pyroot.log" 2>&1 ||
		{ tail -20 "$work/pyroot.log"; return 1; }
	inroot "$work/pyroot" python3 --version
}

# playbook NAME EXPECTED_RC ARGS...: run the playbook with a clean environment, output in $work/NAME.log.
playbook() {
	local name="$1" want="$2" rc=0
	shift 2
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 ANSIBLE_NOCOLOR=1 \
		ANSIBLE_HOST_KEY_CHECKING=0 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCALHOST_WARNING=0 \
		ANSIBLE_SHOW_CUSTOM_STATS=1 \
		ansible-playbook -i "$work/inventory" packaging/ansible/site.yml \
		-e "agentkeeper_package=$deb" -e "agentkeeper_controller_bin=$ctlbin" "$@" >"$work/$name.log" 2>&1 || rc=$?
	if [ "$rc" -ne "$want" ]; then
		tail -60 "$work/$name.log"
		echo "ansible-playbook exited $rc, want $want (log above)"
		return 1
	fi
	grep -E '^(PLAY RECAP|[^ ].*: ok=)' "$work/$name.log" | tail -3
}

# recap LOG HOST REGEX: the host's PLAY RECAP line matches REGEX (e.g. "changed=0 ").
recap() {
	local line
	line=$(awk -v h="$2" '/^PLAY RECAP/ { f = 1; next } f && $1 == h && $2 == ":" { print; exit }' "$1")
	[[ "$line" =~ $3 ]] || { echo "recap of $2: '$line', want /$3/"; return 1; }
}

# manifest ROOT OUT: every file, link and directory of ROOT with its type,
# size, mode, mtime and (files) checksum, except Ansible's own temp files
# (root/.ansible) and /tmp: to show check mode changes nothing.
manifest() {
	(cd "$1" && find . -xdev \( -path ./root/.ansible -o -path ./tmp -o -path ./var/tmp \) -prune -o \
		-printf '%p %y %s %m %T@ %l\n' | grep -v '^\./root d ' | LC_ALL=C sort) >"$2.list"
	(cd "$1" && find . -xdev \( -path ./root/.ansible -o -path ./tmp -o -path ./var/tmp \) -prune -o \
		-type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) >"$2.sum"
}
# unchanged ROOT BEFORE: ROOT's manifest is still BEFORE's.
unchanged() {
	manifest "$1" "$work/after"
	diff "$2.list" "$work/after.list" | head -20 && diff -q "$2.sum" "$work/after.sum" >/dev/null ||
		{ diff "$2.sum" "$work/after.sum" | head -20; echo "check mode changed $1"; return 1; }
}

# outcome FILE WANT: the collected report parses and says "outcome": WANT.
outcome() { report_outcome "$1" "$2" "$1: "; }

# said LOG REGEX: the playbook's output (or a file) has a line matching REGEX.
said() {
	grep -Eq -- "$2" "$1" || { tail -40 "$1"; echo "$1: no line matches /$2/"; return 1; }
}

# task_result LOG TASK WANT: the first result line after "TASK [TASK]" starts with WANT.
task_result() {
	local got
	got=$(awk -v t="TASK [$2]" 'index($0, t) == 1 { f = 1; next } f && /^(ok|changed|failed|fatal|skipping):/ { print; exit }' "$1")
	case "$got" in "$3"*) ;; *) echo "task '$2': '$got', want '$3...'"; return 1 ;; esac
}

agent_installed() { # agent_installed ROOT yes|no
	local st
	st=$(inroot "$1" dpkg-query -W -f '${Status}' waagent 2>/dev/null || true)
	case "$2" in
	yes)
		[ "$st" = "install ok installed" ] || { echo "waagent: '$st'"; return 1; }
		[ -L "$1/etc/systemd/system/multi-user.target.wants/walinuxagent.service" ] ||
			{ echo "walinuxagent.service is not enabled in the root"; return 1; }
		;;
	no) [ "$st" != "install ok installed" ] || { echo "waagent was installed during a backup"; return 1; } ;;
	esac
}

write_inventory() { # write_inventory NAME=ROOT...
	{
		echo "[agentkeeper]"
		local hr
		for hr in "$@"; do
			echo "${hr%%=*} ansible_host=${hr#*=} ansible_connection=community.general.chroot ansible_python_interpreter=/usr/bin/python3 agentkeeper_become=false"
		done
	} >"$work/inventory"
}

step "ansible (Debian package, chroot connection)" install_ansible
step "windows.yml: syntax and modules (ansible.windows) resolve" eval 'env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root ANSIBLE_NOCOLOR=1 ansible-playbook -i localhost, --syntax-check packaging/ansible/windows.yml >"$work/windows.log" 2>&1 || { cat "$work/windows.log"; false; }'
step "build the .deb ($arch) with scripts/package.sh" build
deb=$(ls "$work"/dist/agentkeeper_*_"$arch".deb)
ctlbin="$repo/bin/linux-$arch/agentkeeper"
step "Debian 12 root with python3 (apt-get in the root)" python_root
step "two fresh roots from it" eval 'cp -a "$work/pyroot" "$work/ready" && cp -a "$work/pyroot" "$work/busy"'

# 0. check mode on a fresh root: says what would change, changes nothing.
printf '# from ansible-test\nlog:\n  level: info\n' >"$work/config.yaml"
write_inventory "ready=$work/ready"
r1="$work/reports-ready"
rc1="$work/reports-check"
step "0 check mode: manifest of the fresh root" manifest "$work/ready" "$work/fresh"
step "0 check mode: playbook --check exits 0" playbook check0 0 --check -e "agentkeeper_report_dir=$rc1" -e "agentkeeper_config=$work/config.yaml"
step "0 check mode: package copy says changed" task_result "$work/check0.log" "agentkeeper : Copy the package to the host" "changed: [ready]"
step "0 check mode: recap says changed, not failed" recap "$work/check0.log" ready 'changed=[1-9][0-9]* .*failed=0 '
step "0 check mode: says ensure did not run (not installed yet)" said "$work/check0.log" 'agentkeeper is not installed yet'
step "0 check mode: nothing in the root changed" unchanged "$work/ready" "$work/fresh"

# 1. ready, with a config file copied.
step "1 ready: playbook exits 0" playbook ready 0 -e "agentkeeper_report_dir=$r1" -e "agentkeeper_config=$work/config.yaml"
step "1 ready: ready.json says ready" outcome "$r1/ready.json" ready
step "1 ready: summary says 1 ready" eval 'said "$work/ready.log" "\"  ready +1\"" && said "$r1/summary.txt" "^  ready +1$"'
step "1 ready: waagent installed and enabled in the root" agent_installed "$work/ready" yes
step "1 ready: config copied, packaged binary ran" eval 'grep -qx "# from ansible-test" "$work/ready/etc/agentkeeper/config.yaml" && [ -x "$work/ready/usr/bin/agentkeeper" ]'
step "1 ready: the ensure task says changed (it installed)" task_result "$work/ready.log" "agentkeeper : Run agentkeeper ensure" "changed: [ready]"

# 1b. the unit's wants link is gone: ensure enables it again (no systemd in a
# chroot: systemctl is missing, ensure falls back to writing the link itself).
wants="$work/ready/etc/systemd/system/multi-user.target.wants/walinuxagent.service"
step "1b remove walinuxagent.service's wants link" rm -f "$wants"
step "1b check mode: manifest of the root" manifest "$work/ready" "$work/nolink"
step "1b check mode: playbook --check exits 0" playbook check1 0 --check -e "agentkeeper_report_dir=$rc1"
step "1b check mode: ensure --dry-run says changed" task_result "$work/check1.log" "agentkeeper : Run agentkeeper ensure" "changed: [ready]"
step "1b check mode: ran ensure --dry-run, its report says planned" outcome "$rc1/ready.json" planned
step "1b check mode: package tasks ok (same .deb)" task_result "$work/check1.log" "agentkeeper : Install the .deb (apt)" "ok: [ready]"
step "1b check mode: nothing in the root changed, no link" eval 'unchanged "$work/ready" "$work/nolink" && [ ! -e "$wants" ]'
step "1b playbook exits 0" playbook enable 0 -e "agentkeeper_report_dir=$r1"
step "1b ensure planned enable-service, link is back" eval '"$py" -c "import json,sys; d=json.load(open(sys.argv[1])); print(d[\"plan\"][\"action\"], [a[\"message\"] for a in d[\"actions\"]]); sys.exit(d[\"plan\"][\"action\"] != \"enable-service\")" "$r1/ready.json" && [ -L "$wants" ] && outcome "$r1/ready.json" ready'
step "1b the package task did not change (same .deb)" task_result "$work/enable.log" "agentkeeper : Install the .deb (apt)" "ok: [ready]"
# 1c. nothing left to do: the ensure task is ok, not changed.
step "1c playbook again exits 0" playbook again 0 -e "agentkeeper_report_dir=$r1"
step "1c the ensure task says ok (nothing to do)" task_result "$work/again.log" "agentkeeper : Run agentkeeper ensure" "ok: [ready]"
step "1c idempotent: the recap says changed=0" recap "$work/again.log" ready 'changed=0 .*failed=0 '
step "1c check mode on the ready host: changed=0" eval 'playbook check2 0 --check -e "agentkeeper_report_dir=$rc1" && recap "$work/check2.log" ready "changed=0 .*failed=0 "'


# 2. deferred: the SafeFreeze lock is held while the playbook runs.
write_inventory "busy=$work/busy"
r2="$work/reports-busy"
step "2 deferred: hold the SafeFreeze lock (POSIX, host python3)" hold_lock "$work/busy"
step "2 deferred: playbook exits 0 (retries=1 delay=1)" playbook deferred 0 -e "agentkeeper_report_dir=$r2" \
	-e agentkeeper_ensure_retries=1 -e agentkeeper_ensure_delay=1 -e agentkeeper_wait_backup=0s
step "2 deferred: reported DEFERRED after 2 attempts" said "$work/deferred.log" 'DEFERRED \(exit 75 after 2 attempt'
step "2 deferred: busy.json says deferred" outcome "$r2/busy.json" deferred
step "2 deferred: summary says 1 deferred, deferred-hosts.txt" eval 'said "$r2/summary.txt" "^  deferred +1$" && grep -qx busy "$r2/deferred-hosts.txt"'
step "2 deferred: the recap's custom stats name the host" eval 'said "$work/deferred.log" "^CUSTOM STATS" && said "$work/deferred.log" "agentkeeper_deferred_hosts.*busy"'
step "2 deferred: nothing installed during the backup" agent_installed "$work/busy" no

# 3. the same, failing deferred hosts.
step "3 fail_on_deferred=true: host fails (exit 2)" playbook deferred-fail 2 -e "agentkeeper_report_dir=$r2" \
	-e agentkeeper_ensure_retries=1 -e agentkeeper_ensure_delay=1 -e agentkeeper_wait_backup=0s -e agentkeeper_fail_on_deferred=true
step "3 fail_on_deferred=true: failed with exit 75" said "$work/deferred-fail.log" 'agentkeeper ensure exited 75 \(deferred\)'

# 4. the backup is over: run again for the deferred hosts only.
step "4 release the lock" release_lock
step "4 --limit @deferred-hosts.txt: exits 0" playbook retry 0 -e "agentkeeper_report_dir=$r2" --limit "@$r2/deferred-hosts.txt" \
	-e agentkeeper_controller_bin=/nonexistent/agentkeeper
step "4 no agentkeeper on the controller: summary skipped, said" said "$work/retry.log" '"msg": "summary skipped: .*/nonexistent/agentkeeper'
step "4 --limit @deferred-hosts.txt: busy.json says ready" outcome "$r2/busy.json" ready
step "4 waagent installed in the formerly busy root" agent_installed "$work/busy" yes
step "4 deferred-hosts.txt is empty again" eval '[ ! -s "$r2/deferred-hosts.txt" ] || { od -c "$r2/deferred-hosts.txt"; false; }'

# 5. failed: a minimum no repository offers; the report and the summary still come.
printf 'linux:\n  min_version: "99.0"\n' >"$work/config-99.yaml"
write_inventory "ready=$work/ready"
step "5 failed: min_version 99.0, playbook exits 2" playbook failed 2 -e "agentkeeper_report_dir=$r1" -e "agentkeeper_config=$work/config-99.yaml"
step "5 failed: host failed with exit 1" said "$work/failed.log" 'agentkeeper ensure exited 1 \(failed\)'
step "5 failed: report collected, summary says 1 not ready" eval 'outcome "$r1/ready.json" failed || outcome "$r1/ready.json" not-ready; said "$r1/summary.txt" "^  not ready +1$"'

roots_passed
