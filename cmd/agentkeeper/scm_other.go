//go:build !windows

package main

import "github.com/kardianos/service"

// underServiceManager reports whether a service manager started us.
func underServiceManager() bool { return !service.Interactive() }

// runUnderSCM is Windows-only: elsewhere kardianos' own detection serves.
func runUnderSCM(service.Service) (bool, error) { return false, nil }
