//go:build linux

package pkgdbtest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Spec describes a test package that carries files and scriptlets, built
// with rpmbuild by Build.
type Spec struct {
	Name, Epoch, Version, Release string
	// Files maps a path in the package to its content; content that
	// starts with "#!" is installed executable.
	Files map[string]string
	// HostFiles maps a path in the package to a file of this machine
	// copied there (a shell and its libraries for scriptlets).
	HostFiles map[string]string
	// Links maps a path in the package to a symbolic link's target.
	Links map[string]string
	// Config lists paths of Files marked %config(noreplace).
	Config []string
	// Provides are extra Provides: lines ("system-release(releasever) = 9").
	Provides []string
	// Post is the %post scriptlet (run by /bin/sh inside the root).
	Post string
	// NoAutoDeps turns rpmbuild's automatic Requires/Provides off.
	NoAutoDeps bool
}

// FileName is the name rpmbuild gives the package: N-V-R.noarch.rpm.
func (s Spec) FileName() string { return s.Name + "-" + s.Version + "-" + s.Release + ".noarch.rpm" }

// Build builds s as a noarch package and returns the .rpm's path.
func Build(t *testing.T, s Spec) string {
	t.Helper()
	top := t.TempDir()
	tree := filepath.Join(top, "tree")
	var paths []string
	for p, content := range s.Files {
		mode := os.FileMode(0o644)
		if strings.HasPrefix(content, "#!") {
			mode = 0o755
		}
		writeFile(t, filepath.Join(tree, p), []byte(content), mode)
		paths = append(paths, p)
	}
	for p, host := range s.HostFiles {
		b, err := os.ReadFile(host)
		if err != nil {
			t.Fatalf("read %s for package %s: %v", host, s.Name, err)
		}
		fi, err := os.Stat(host)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(tree, p), b, fi.Mode().Perm())
		paths = append(paths, p)
	}
	for p, target := range s.Links {
		link := filepath.Join(tree, p)
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	sort.Strings(paths)

	var spec strings.Builder
	// No brp scripts (strip, build ids): the host's binaries go in as they are.
	spec.WriteString("%global __os_install_post %{nil}\n%define _build_id_links none\n")
	spec.WriteString("%define _binaries_in_noarch_packages_terminate_build 0\n")
	fmt.Fprintf(&spec, "Name: %s\nVersion: %s\nRelease: %s\n", s.Name, s.Version, s.Release)
	if s.Epoch != "" {
		fmt.Fprintf(&spec, "Epoch: %s\n", s.Epoch)
	}
	spec.WriteString("Summary: agentkeeper test package\nLicense: Apache-2.0\nBuildArch: noarch\n")
	if s.NoAutoDeps {
		spec.WriteString("AutoReqProv: no\n")
	}
	for _, p := range s.Provides {
		fmt.Fprintf(&spec, "Provides: %s\n", p)
	}
	spec.WriteString("\n%description\nTest package.\n\n")
	if len(paths) > 0 {
		fmt.Fprintf(&spec, "%%install\nmkdir -p %%{buildroot}\ncp -a %s/. %%{buildroot}/\n\n", tree)
	}
	if s.Post != "" {
		fmt.Fprintf(&spec, "%%post\n%s\n\n", s.Post)
	}
	spec.WriteString("%files\n")
	for _, p := range paths {
		if contains(s.Config, p) {
			fmt.Fprintf(&spec, "%%config(noreplace) %s\n", p)
		} else {
			fmt.Fprintf(&spec, "%s\n", p)
		}
	}
	specPath := filepath.Join(top, s.Name+".spec")
	writeFile(t, specPath, []byte(spec.String()), 0o644)
	// _dbpath too: rpmbuild opens the RPM database to check build
	// dependencies, and Debian's default (~/.rpmdb) is outside the test.
	MustRun(t, "rpmbuild", "--quiet", "--define", "_topdir "+top, "--define", "_tmppath "+top,
		"--define", "_dbpath "+filepath.Join(top, "rpmdb"), "-bb", specPath)
	out := filepath.Join(top, "RPMS", "noarch", s.FileName())
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("rpmbuild left no %s: %v", out, err)
	}
	return out
}

// Distro is the layout of one RPM distribution's root, as far as the agent
// and its package manager care.
type Distro struct {
	// Desc names it in test output ("RHEL 9").
	Desc string
	// OSRelease is etc/os-release.
	OSRelease string
	// ReleasePkg is the package that provides system-release (dnf reads
	// $releasever from it), at version ReleaseVer; Releasever is what it
	// provides as system-release(releasever).
	ReleasePkg, ReleaseVer, Releasever string
	// DBPath is where the RPM database lives; SUSE keeps it in
	// /usr/lib/sysimage/rpm with /var/lib/rpm a link to it.
	DBPath string
	// Agent is the agent's package name; AgentRelease the release part of
	// its test builds (the distribution's habit).
	Agent, AgentRelease string
	// Python is the version of the distribution's python3 ("3.9"), the
	// agent's interpreter.
	Python string
	// Zypper is true for SUSE (zypper, etc/zypp/repos.d), false for the
	// Red Hat family (dnf, etc/yum.repos.d).
	Zypper bool
}

// Installer is the installer agentkeeper picks for d.
func (d Distro) Installer() string {
	if d.Zypper {
		return "zypper"
	}
	return "dnf"
}

// The distributions the real dnf and zypper tests run on.
var (
	RHEL9 = Distro{Desc: "RHEL 9",
		OSRelease:  "NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"9.4 (Plow)\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.4\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 9.4 (Plow)\"\n",
		ReleasePkg: "redhat-release", ReleaseVer: "9.4", Releasever: "9",
		DBPath: "/var/lib/rpm", Agent: "WALinuxAgent", AgentRelease: "1.el9", Python: "3.9"}
	Rocky8 = Distro{Desc: "Rocky Linux 8",
		OSRelease:  "NAME=\"Rocky Linux\"\nVERSION=\"8.9 (Green Obsidian)\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"8.9\"\nPRETTY_NAME=\"Rocky Linux 8.9 (Green Obsidian)\"\n",
		ReleasePkg: "rocky-release", ReleaseVer: "8.9", Releasever: "8",
		DBPath: "/var/lib/rpm", Agent: "WALinuxAgent", AgentRelease: "1.el8", Python: "3.6"}
	SLES15 = Distro{Desc: "SLES 15 SP5",
		OSRelease:  "NAME=\"SLES\"\nVERSION=\"15-SP5\"\nVERSION_ID=\"15.5\"\nPRETTY_NAME=\"SUSE Linux Enterprise Server 15 SP5\"\nID=\"sles\"\nID_LIKE=\"suse\"\n",
		ReleasePkg: "sles-release", ReleaseVer: "15.5", Releasever: "15.5",
		DBPath: "/usr/lib/sysimage/rpm", Agent: "python-azure-agent", AgentRelease: "150100.3.1", Python: "3.6", Zypper: true}
	Leap15 = Distro{Desc: "openSUSE Leap 15.5",
		OSRelease:  "NAME=\"openSUSE Leap\"\nVERSION=\"15.5\"\nID=\"opensuse-leap\"\nID_LIKE=\"suse opensuse\"\nVERSION_ID=\"15.5\"\nPRETTY_NAME=\"openSUSE Leap 15.5\"\n",
		ReleasePkg: "openSUSE-release", ReleaseVer: "15.5", Releasever: "15.5",
		DBPath: "/usr/lib/sysimage/rpm", Agent: "python-azure-agent", AgentRelease: "lp155.1.1", Python: "3.6", Zypper: true}
)

// RequireRepoTools fails the test when dnf, zypper or createrepo_c (or
// rpm and rpmbuild) is missing: make test installs them. Without root it
// fails under AGENTKEEPER_E2E=1 (make unit, make e2e-rpm) and skips
// otherwise.
func RequireRepoTools(t *testing.T) {
	t.Helper()
	RequireRPM(t)
	for tool, pkg := range map[string]string{"dnf": "dnf", "zypper": "zypper", "createrepo_c": "createrepo-c"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (%v): install the Debian package %s (make test does)", tool, err, pkg)
		}
	}
	if os.Geteuid() != 0 {
		// As in the other tests that need root: make unit and make test
		// (AGENTKEEPER_E2E=1) fail, a developer's plain go test skips.
		if os.Getenv("AGENTKEEPER_E2E") == "1" {
			t.Fatal("AGENTKEEPER_E2E=1 but not running as root: installing into RPM roots needs it (rpm chroots into the root for scriptlets)")
		}
		t.Skip("skipped: not running as root (rpm chroots into the root for scriptlets); make test runs it")
	}
}

// BaseSpec is d's release package: etc/os-release, the system-release
// provides dnf reads $releasever from, this machine's /bin/sh with the
// libraries it loads (so that rpm can run scriptlets inside the root) and a
// stand-in /usr/bin/python3.X with the /usr/bin/python3 link for the
// agent's dependency.
func BaseSpec(t *testing.T, d Distro) Spec {
	t.Helper()
	host, err := shellFiles()
	if err != nil {
		t.Fatal(err)
	}
	return Spec{Name: d.ReleasePkg, Version: d.ReleaseVer, Release: "1",
		// python(abi): what rpm's python.attr makes the agent's
		// site-packages files require (python3-libs provides it).
		Provides: []string{"system-release", "system-release(releasever) = " + d.Releasever, "python(abi) = " + d.Python},
		Files: map[string]string{"/etc/os-release": d.OSRelease,
			"/usr/bin/python" + d.Python: "#!stand-in for python" + d.Python + "\n"},
		Links: map[string]string{"/usr/bin/python3": "python" + d.Python},
		// rpm's autodeps would make the shell need the host's libc by soname.
		HostFiles: host, NoAutoDeps: true}
}

// shellFiles returns /bin/sh and the libraries ldd says it loads, each at
// its own path.
func shellFiles() (map[string]string, error) {
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		return nil, err
	}
	out, err := exec.Command("ldd", sh).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", sh, err)
	}
	files := map[string]string{"/bin/sh": sh}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
		// "/lib64/ld-linux-x86-64.so.2 (0x...)".
		f := strings.Fields(sc.Text())
		for _, w := range f {
			if strings.HasPrefix(w, "/") {
				files[w] = w
				break
			}
		}
	}
	return files, nil
}

// AgentSpec is d's agent package at version: /usr/sbin/waagent (a python3
// script, so rpm makes it require /usr/bin/python3), the azurelinuxagent
// package in python3.X's site-packages, its systemd unit and
// /etc/waagent.conf. Its %post writes /etc/waagent-post.ran; with failPost it
// prints a message and exits 1 instead.
func AgentSpec(d Distro, version string, failPost bool) Spec {
	s := Spec{Name: d.Agent, Version: version, Release: d.AgentRelease,
		Files: map[string]string{
			"/usr/sbin/waagent":                       "#!/usr/bin/python3\n# WALinuxAgent " + version + " (test build)\n",
			"/usr/lib/systemd/system/waagent.service": "[Unit]\nDescription=Azure Linux Agent\n[Service]\nExecStart=/usr/bin/python3 -u /usr/sbin/waagent -daemon\n[Install]\nWantedBy=multi-user.target\n",
			"/etc/waagent.conf":                       "Provisioning.Agent=auto\nExtensions.Enabled=y\nAutoUpdate.Enabled=y\n",
			"/usr/lib/python" + d.Python + "/site-packages/azurelinuxagent/__init__.py":       "",
			"/usr/lib/python" + d.Python + "/site-packages/azurelinuxagent/common/version.py": "AGENT_VERSION = '" + version + "'\n",
		},
		Config: []string{"/etc/waagent.conf"},
		// Shell builtins only: the root has /bin/sh but no coreutils.
		Post: "echo \"%post of " + version + " ran\" > /etc/waagent-post.ran",
	}
	if failPost {
		s.Post = "echo 'waagent post: cannot set up /var/lib/waagent (test failure)' >&2\nexit 1"
	}
	return s
}

// NewRoot makes an empty root of distribution d: the RPM database at
// d.DBPath (SUSE: with var/lib/rpm linking to it) holding d's release
// package, installed for real with rpm, and the package manager's
// configuration with no repository yet (etc/dnf/dnf.conf and an empty
// etc/yum.repos.d, or an empty etc/zypp/repos.d). base is BaseSpec(d)
// built once by the caller.
func NewRoot(t *testing.T, d Distro, base string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, d.DBPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if d.DBPath != "/var/lib/rpm" {
		if err := os.MkdirAll(filepath.Join(root, "var/lib"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("../.."+d.DBPath, filepath.Join(root, "var/lib/rpm")); err != nil {
			t.Fatal(err)
		}
	}
	MustRun(t, "rpm", "--root", root, "--dbpath", d.DBPath, "--initdb")
	MustRun(t, "rpm", "--root", root, "--dbpath", d.DBPath, "-i", base)
	if d.Zypper {
		mkdirs(t, root, "etc/zypp/repos.d")
	} else {
		mkdirs(t, root, "etc/yum.repos.d")
		// The root's own dnf.conf, so that the host's (if any) is not read.
		writeFile(t, filepath.Join(root, "etc/dnf/dnf.conf"),
			[]byte("[main]\ngpgcheck=1\ninstallonly_limit=3\nclean_requirements_on_remove=True\nbest=True\nskip_if_unavailable=False\n"), 0o644)
	}
	return root
}

// Repo makes a yum/zypper repository (createrepo_c) holding rpms and returns
// its directory.
func Repo(t *testing.T, rpms ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range rpms {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, filepath.Base(p)), b, 0o644)
	}
	MustRun(t, "createrepo_c", "--quiet", "--no-database", dir)
	return dir
}

// AddRepo writes a repository file into root for d that points at the
// local directory dir (a file: URL; no key, so gpgcheck is off for it).
// For dnf the URL ends in $releasever, which dnf takes from the root's
// release package: dir must then hold the repository under that name
// (see RepoFor).
func AddRepo(t *testing.T, root string, d Distro, id, dir string) {
	t.Helper()
	if d.Zypper {
		writeFile(t, filepath.Join(root, "etc/zypp/repos.d", id+".repo"), []byte(fmt.Sprintf(
			"[%s]\nname=agentkeeper test repository %s\nenabled=1\nautorefresh=1\nbaseurl=file://%s\ntype=rpm-md\ngpgcheck=0\n", id, id, dir)), 0o644)
		return
	}
	writeFile(t, filepath.Join(root, "etc/yum.repos.d", id+".repo"), []byte(fmt.Sprintf(
		"[%s]\nname=agentkeeper test repository %s\nbaseurl=file://%s/$releasever/\nenabled=1\ngpgcheck=0\nrepo_gpgcheck=0\n", id, id, dir)), 0o644)
}

// RepoFor makes a repository holding rpms laid out for AddRepo and d: for
// dnf under <dir>/<releasever>/, for zypper in <dir> itself.
func RepoFor(t *testing.T, d Distro, rpms ...string) string {
	t.Helper()
	repo := Repo(t, rpms...)
	if d.Zypper {
		return repo
	}
	dir := t.TempDir()
	if err := os.Rename(repo, filepath.Join(dir, d.Releasever)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Installed returns the N-V-R lines rpm itself lists for name in root's
// database at d.DBPath ("" when not installed).
func Installed(t *testing.T, root string, d Distro, name string) string {
	t.Helper()
	out, err := exec.Command("rpm", "--root", root, "--dbpath", d.DBPath, "-q", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}\n", name).CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("is not installed")) {
			return ""
		}
		t.Fatalf("rpm -q %s: %v\n%s", name, err, out)
	}
	return strings.TrimSpace(string(out))
}

func writeFile(t *testing.T, path string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
}

func mkdirs(t *testing.T, root string, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
