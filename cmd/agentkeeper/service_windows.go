package main

import (
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/mgr"
)

// setRecovery makes the service manager restart the service after every
// failure (kardianos sets only the first action): after 10 s, 30 s, then
// every 60 s, the count reset after a day without failure, and an exit
// with an error code counts as a failure too.
func setRecovery(name string) error {
	m, err := mgr.Connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.SetRecoveryActions([]mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: 10 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 30 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 60 * time.Second},
	}, uint32((24 * time.Hour).Seconds())); err != nil {
		return err
	}
	return s.SetRecoveryActionsOnNonCrashFailures(true)
}

// serviceIsAdmin reports whether the process token is elevated.
func serviceIsAdmin() bool { return windows.GetCurrentProcessToken().IsElevated() }
