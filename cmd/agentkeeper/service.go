package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/kardianos/service"
	"github.com/spf13/cobra"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	svcstate "github.com/agentkeeper/agentkeeper/platform/service"
)

// serviceName is the systemd unit (agentkeeper.service) and the Windows
// service name.
const serviceName = "agentkeeper"

// serviceConfig describes the installed service: it runs "agentkeeper run"
// (with --config when one was named), restarts always (systemd) or on every
// failure (Windows, see setRecovery), starts at boot, and reloads on SIGHUP.
func serviceConfig(configFile string, p *program) *service.Config {
	args := []string{"run"}
	if configFile != "" {
		if abs, err := filepath.Abs(configFile); err == nil {
			configFile = abs
		}
		args = append(args, "--config", configFile)
	}
	c := &service.Config{
		Name:        serviceName,
		DisplayName: "agentkeeper",
		Description: "Keeps the Azure VM agent installed and current so the machine stays ready for Azure Backup",
		Arguments:   args,
		Option: service.KeyValue{
			"Restart":                "always",
			"ReloadSignal":           "HUP",
			"StartType":              "automatic",
			"OnFailure":              "restart",
			"OnFailureDelayDuration": "10s",
			"OnFailureResetPeriod":   86400,
		},
	}
	if runtime.GOOS == "linux" {
		// Dependencies are unit lines on Linux but service names on Windows.
		c.Dependencies = []string{"After=network-online.target", "Wants=network-online.target"}
	}
	if p != nil {
		c.Option["RunWait"] = p.wait
	}
	return c
}

func (a *app) serviceCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "service install|uninstall|start|stop|restart|status",
		Short: "Install, control or query agentkeeper as a system service (systemd, Windows service)",
		Long: `service installs agentkeeper as a system service that runs "agentkeeper run":
a systemd unit agentkeeper.service (Restart=always, reload = SIGHUP) on Linux, a
Windows service "agentkeeper" (automatic start, restarted after every failure),
and controls or queries it. --config FILE is passed on to the installed service.
Every action but status needs root or Administrator. The installed service runs
with install.auto true by default: it installs or updates the agent when needed.

status prints installed, running or stopped ("not installed" when it is not).
On Linux the service is a systemd unit only: where systemd is not running (a
chroot, a container) status says so and install and the other actions write
nothing and exit 1.

Exit codes: 0 done (status: running), 1 failed, not root/Administrator, already
installed (install), not installed (uninstall, start, stop, restart), not
running (status), 2 usage.`,
		Example: `  sudo agentkeeper service install                 # the unit or Windows service, enabled and started
  sudo agentkeeper service install --config /etc/agentkeeper/fleet.yaml
  agentkeeper service status                       # installed, running / stopped / not installed
  sudo agentkeeper service restart`,
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		ValidArgs: []string{"install", "uninstall", "start", "stop", "restart", "status"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if runtime.GOOS == "linux" {
				if root := fsroot.New("/"); !svcstate.SystemdBooted(root) {
					return withoutSystemd(root, args[0], cmd.OutOrStdout())
				}
			}
			s, err := service.New(&program{}, serviceConfig(a.configFile, nil))
			if err != nil {
				return &exitError{exitNotReady, fmt.Errorf("no supported service manager here (%v): run \"agentkeeper run\" from your own init system", err)}
			}
			return controlService(svcHandle{s}, args[0], serviceIsAdmin(), cmd.OutOrStdout())
		},
	}
	return cmd
}

// withoutSystemd answers `service ACTION` on a Linux system that was not
// booted with systemd (a chroot, a container): agentkeeper's service is a
// systemd unit and nothing else, so nothing is installed or controlled
// (kardianos/service would fall back to writing a SysV init script). status
// says what the file system holds; every action exits 1.
func withoutSystemd(root fsroot.Root, action string, out io.Writer) error {
	const why = "systemd is not running here (no /run/systemd/system: a chroot or a container?)"
	unit := serviceName + ".service"
	st, err := svcstate.SystemdOffline(root, unit)
	files := "not installed"
	switch {
	case err != nil:
		files = "unknown (" + err.Error() + ")"
	case st.StartType == "masked":
		files = "masked"
	case st.Installed && st.Enabled:
		files = "installed and enabled"
	case st.Installed:
		files = "installed, not enabled"
	}
	if action == "status" {
		fmt.Fprintf(out, "state unknown: %s; the unit %s is %s in the file system\n", why, unit, files)
		return exitCode(exitNotReady)
	}
	if action == "install" {
		return &exitError{exitNotReady, fmt.Errorf("service install: %s; agentkeeper's service is a systemd unit only, so nothing was written: "+
			`run "agentkeeper run" from this system's own init, or install the .deb/.rpm, which enables the unit for the next boot`, why)}
	}
	return &exitError{exitNotReady, fmt.Errorf("service %s: %s: it cannot be done without systemd (the unit %s is %s in the file system)",
		action, why, unit, files)}
}

// Uninstall removes the unit's stop drop-in, then the service.
func (h svcHandle) Uninstall() error {
	if linuxUnit() {
		if err := removeStopDropIn(systemdEtc, serviceName+".service"); err != nil {
			return fmt.Errorf("remove the unit's stop drop-in: %w", err)
		}
	}
	return h.Service.Uninstall()
}

// svcHandle adds the platform's post-install step to a kardianos service.
type svcHandle struct{ service.Service }

func (h svcHandle) Install() error {
	if linuxUnit() {
		// Before the unit, so that kardianos' daemon-reload reads both.
		if err := writeStopDropIn(systemdEtc, serviceName+".service"); err != nil {
			return fmt.Errorf("write the unit's stop drop-in: %w", err)
		}
	}
	if err := h.Service.Install(); err != nil {
		return err
	}
	if err := setRecovery(serviceName); err != nil {
		return fmt.Errorf("installed, but setting the recovery actions failed: %w", err)
	}
	return nil
}

// controlled is what controlService needs of a service.
type controlled interface {
	Install() error
	Uninstall() error
	Start() error
	Stop() error
	Restart() error
	Status() (service.Status, error)
}

// controlService performs action on s and says what happened on out. It
// checks the state first, so that installing twice or stopping what is not
// installed gives a clear message instead of the service manager's.
func controlService(s controlled, action string, admin bool, out io.Writer) error {
	st, stErr := s.Status()
	installed := !errors.Is(stErr, service.ErrNotInstalled)
	if action == "status" {
		switch {
		case !installed:
			fmt.Fprintln(out, "not installed")
			return exitCode(exitNotReady)
		case stErr != nil:
			fmt.Fprintln(out, "installed, state unknown:", stErr)
			return exitCode(exitNotReady)
		case st == service.StatusRunning:
			fmt.Fprintln(out, "installed, running")
			return nil
		default:
			fmt.Fprintln(out, "installed, stopped")
			return exitCode(exitNotReady)
		}
	}
	if !admin {
		who := "root"
		if runtime.GOOS == "windows" {
			who = "Administrator (an elevated prompt)"
		}
		return &exitError{exitNotReady, fmt.Errorf("service %s needs %s", action, who)}
	}
	if action == "install" && installed {
		return &exitError{exitNotReady, fmt.Errorf("service %s is already installed: use \"agentkeeper service restart\", or uninstall it first", serviceName)}
	}
	if action != "install" && !installed {
		return &exitError{exitNotReady, fmt.Errorf("service %s is not installed: nothing to %s", serviceName, action)}
	}
	var err error
	switch action {
	case "install":
		err = s.Install()
	case "uninstall":
		if st == service.StatusRunning {
			if err = s.Stop(); err != nil {
				break
			}
		}
		err = s.Uninstall()
	case "start":
		err = s.Start()
	case "stop":
		err = s.Stop()
	case "restart":
		err = s.Restart()
	default:
		return &exitError{exitUsage, fmt.Errorf("unknown action %q", action)}
	}
	if err != nil {
		return &exitError{exitNotReady, fmt.Errorf("service %s: %s", action, strings.TrimSpace(err.Error()))}
	}
	past := map[string]string{"install": "installed", "uninstall": "uninstalled", "start": "started", "stop": "stopped", "restart": "restarted"}
	fmt.Fprintf(out, "service %s %s\n", serviceName, past[action])
	return nil
}
