package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/agentkeeper/agentkeeper/platform/pkgmgr"
)

// systemdEtc is where `service install` writes the unit (kardianos/service)
// and its drop-in.
const systemdEtc = "/etc/systemd/system"

// stopDropInName is the drop-in that `service install` adds to the unit.
const stopDropInName = "50-agentkeeper-stop.conf"

// stopDropIn makes a stop during an agent install wait for the package
// manager, as the packaged unit does: only agentkeeper gets the SIGTERM
// (KillMode=mixed; dpkg and rpm in the unit's control group are left to
// finish), and systemd waits longer than pkgmgr.DefaultStopGrace before it
// kills what is left. kardianos/service's unit template has no place for
// these, hence a drop-in.
func stopDropIn() string {
	grace := pkgmgr.DefaultStopGrace + time.Minute
	return fmt.Sprintf("# Written by agentkeeper service install: a stop during an agent install lets\n"+
		"# dpkg/rpm finish (at most %s), then agentkeeper stops.\n"+
		"[Service]\nKillMode=mixed\nTimeoutStopSec=%ds\n", pkgmgr.DefaultStopGrace, int(grace.Seconds()))
}

// writeStopDropIn writes stopDropIn for unit under dir (a systemd unit
// directory), atomically.
func writeStopDropIn(dir, unit string) error {
	d := filepath.Join(dir, unit+".d")
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(d, "."+stopDropInName+".tmp")
	if err := os.WriteFile(tmp, []byte(stopDropIn()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(d, stopDropInName))
}

// removeStopDropIn removes what writeStopDropIn wrote (and the drop-in
// folder when nothing else is in it).
func removeStopDropIn(dir, unit string) error {
	d := filepath.Join(dir, unit+".d")
	if err := os.Remove(filepath.Join(d, stopDropInName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
		if ents, rerr := os.ReadDir(d); rerr == nil && len(ents) > 0 {
			return nil // someone else's drop-ins: leave them
		}
		return err
	}
	return nil
}

// linuxUnit reports whether the service is a systemd unit here.
func linuxUnit() bool { return runtime.GOOS == "linux" }
