//go:build linux

// Package rpmtest checks `agentkeeper check --root` on images of RPM
// distributions whose RPM database is real (built with rpm --initdb here).
package rpmtest
