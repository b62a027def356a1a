// Package service reads the state of a system service: a systemd unit
// (live, or enabled-ness inside an offline image) or a Windows service.
package service

import (
	"context"
	"errors"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

// State is what is known about one service.
type State struct {
	// Installed: the unit file or service exists.
	Installed bool
	// Enabled: starts at boot (systemd enabled, Windows Automatic).
	Enabled bool
	// Running is nil when it cannot be known (offline image).
	Running *bool
	// StartType is Windows' start type (auto, delayed-auto, manual,
	// disabled) or systemd's unit file state (enabled, disabled, masked, static).
	StartType string
	// Detail is the raw state for messages (active state, service status).
	Detail string
}

// SystemdOffline judges a unit inside an image: installed if its unit file
// exists, enabled if a *.wants link or alias points at it; Running nil.
func SystemdOffline(r fsroot.Root, unit string) (State, error) {
	return State{}, errors.New("not implemented")
}

// SystemdLive asks systemctl about a unit on the running system.
func SystemdLive(ctx context.Context, rn run.Runner, unit string) (State, error) {
	return State{}, errors.New("not implemented")
}

// Windows asks the service control manager about a service.
func Windows(name string) (State, error) {
	return State{}, errors.New("not implemented")
}
