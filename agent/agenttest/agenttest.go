// Package agenttest holds test fixtures shared by the agent and cmd tests:
// small image trees written to temporary folders.
package agenttest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Tree writes files under dir: a value starting with "->" makes a symlink,
// a key ending in "/" a directory. t may be a test or a benchmark.
func Tree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Debian12OSRelease is Debian 12's /usr/lib/os-release.
const Debian12OSRelease = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
`

// DpkgStanza is a dpkg status entry for the agent package.
func DpkgStanza(pkg, status, ver string) string {
	return fmt.Sprintf(`Package: %s
Status: %s
Priority: optional
Section: admin
Installed-Size: 1000
Maintainer: Debian Cloud Team <debian-cloud@lists.debian.org>
Architecture: all
Version: %s
Depends: python3:any, openssh-server, passwd
Description: Microsoft Azure Linux Agent
 The Microsoft Azure Linux Agent (waagent) manages Linux provisioning and
 VM interaction with the Azure Fabric Controller.
`, pkg, status, ver)
}

// BashStanza is an unrelated dpkg status entry.
const BashStanza = `Package: bash
Essential: yes
Status: install ok installed
Priority: required
Version: 5.2.15-2+b2
Description: GNU Bourne Again SHell
`

// DebianImage is a Debian 12 root with waagent installed and enabled, as the
// real package leaves it.
func DebianImage(ver string) map[string]string {
	return map[string]string{
		"etc/os-release":      "->../usr/lib/os-release",
		"usr/lib/os-release":  Debian12OSRelease,
		"var/lib/dpkg/status": BashStanza + "\n" + DpkgStanza("waagent", "install ok installed", ver),
		"etc/waagent.conf":    "# Microsoft Azure Linux Agent Configuration\nExtensions.Enabled=y\nProvisioning.Agent=auto\nAutoUpdate.Enabled=y\n",
		"lib":                 "->usr/lib",
		"usr/lib/systemd/system/walinuxagent.service":                     "[Unit]\nDescription=Azure Linux Agent\n[Service]\nExecStart=/usr/bin/python3 -u /usr/sbin/waagent -daemon\n[Install]\nWantedBy=multi-user.target\n",
		"etc/systemd/system/multi-user.target.wants/walinuxagent.service": "->/lib/systemd/system/walinuxagent.service",
		"usr/sbin/waagent":   "#!/usr/bin/python3\nimport sys\n",
		"usr/bin/python3":    "->python3.11",
		"usr/bin/python3.11": "ELF",
		"usr/lib/python3/dist-packages/azurelinuxagent/__init__.py": "",
		"etc/fstab":    "# UNCONFIGURED FSTAB FOR BASE SYSTEM\n",
		"etc/hostname": "golden-image\n",
	}
}
