// Package service reads the state of a system service: a systemd unit
// (live, or enabled-ness inside an offline image) or a Windows service.
package service

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

func boolPtr(b bool) *bool { return &b }
