//go:build linux

// Package rpmtest checks `agentkeeper check --root` on images of RPM
// distributions whose RPM database is real (built with rpm --initdb here),
// and `agentkeeper ensure --root` on RHEL-, Rocky-, SLES- and openSUSE-like
// roots with this machine's real dnf and zypper installing from local
// file: repositories made with createrepo_c.
package rpmtest
