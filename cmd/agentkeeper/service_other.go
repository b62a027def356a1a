//go:build !windows

package main

import "os"

// setRecovery has nothing to do here: the systemd unit says Restart=always.
func setRecovery(string) error { return nil }

// serviceIsAdmin reports whether agentkeeper runs as root.
func serviceIsAdmin() bool { return os.Geteuid() == 0 }
