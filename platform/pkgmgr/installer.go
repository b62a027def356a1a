package pkgmgr

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/install"
	"github.com/agentkeeper/agentkeeper/platform/run"
	"github.com/agentkeeper/agentkeeper/platform/service"
)

// Installer is a Manager as an install.Installer (and
// install.ServiceEnabler): what ensure drives. Install reports the repairs
// the package manager made (`dpkg --configure -a` after an interrupted
// dpkg) as steps, and the package's systemd unit is enabled the way the
// target allows: `systemctl enable --now` live, wants links in an image or
// in a chroot without a running systemd.
type Installer struct {
	m    Manager
	root fsroot.Root
}

var (
	_ install.Installer      = (*Installer)(nil)
	_ install.ServiceEnabler = (*Installer)(nil)
	_ install.Reverter       = (*Installer)(nil)
)

// NewInstaller returns the Installer for installer (see New).
func NewInstaller(installer string, root fsroot.Root, r run.Runner, opts Options) (*Installer, error) {
	m, err := New(installer, root, r, opts)
	if err != nil {
		return nil, err
	}
	return &Installer{m: m, root: root}, nil
}

// Manager returns the package manager behind the Installer.
func (i *Installer) Manager() Manager { return i.m }

// Name implements install.Installer.
func (i *Installer) Name() string { return i.m.Name() }

// Commands implements install.Installer: Plan, rendered.
func (i *Installer) Commands(pkg string) []string {
	var out []string
	for _, c := range i.m.Plan(pkg) {
		out = append(out, c.String())
	}
	return out
}

// Candidate implements install.Installer.
func (i *Installer) Candidate(ctx context.Context, pkg string) (string, error) {
	return i.m.Candidate(ctx, pkg)
}

// Install implements install.Installer.
func (i *Installer) Install(ctx context.Context, pkg string) (install.Result, error) {
	b := i.m.(interface{ core() *base }).core()
	b.repairs = nil
	err := i.m.Install(ctx, pkg)
	return install.Result{Steps: append([]install.Step(nil), b.repairs...)}, err
}

// Offered implements install.Reverter.
func (i *Installer) Offered(ctx context.Context, pkg string) ([]string, error) {
	r, ok := i.m.(Reverter)
	if !ok {
		return nil, fmt.Errorf("%s cannot list offered versions", i.m.Name())
	}
	return r.Offered(ctx, pkg)
}

// InstallVersion implements install.Reverter.
func (i *Installer) InstallVersion(ctx context.Context, pkg, version string) (install.Result, error) {
	r, ok := i.m.(Reverter)
	if !ok {
		return install.Result{}, fmt.Errorf("%s cannot install a given version", i.m.Name())
	}
	b := i.m.(interface{ core() *base }).core()
	b.repairs = nil
	err := r.InstallVersion(ctx, pkg, version)
	return install.Result{Steps: append([]install.Step(nil), b.repairs...)}, err
}

// EnableCommands implements install.ServiceEnabler.
func (i *Installer) EnableCommands(unit string) []string {
	if i.root.IsHost() {
		return []string{"systemctl enable --now " + strings.TrimSuffix(unit, ".service")}
	}
	return []string{"enable " + unit + " in the image (wants links)"}
}

// EnableService implements install.ServiceEnabler.
func (i *Installer) EnableService(ctx context.Context, unit string) (string, error) {
	if !i.root.IsHost() {
		return "in the image (not started)", service.EnableOffline(i.root, unit)
	}
	b := i.m.(interface{ core() *base }).core()
	err := service.EnableLive(ctx, b.r, unit)
	if errors.Is(err, service.ErrNoSystemd) {
		// A chroot or container build: enable the unit the way the image would.
		return "in the unit files (systemd is not running: not started)", service.EnableOffline(i.root, unit)
	}
	return "and started", err
}
