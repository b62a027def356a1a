//go:build linux

// Package debiantest is a black-box end-to-end test of the agentkeeper
// binary against real Debian 12 roots: a minimal debootstrap root and one with
// Debian's own waagent package installed, both built and cached by
// ../debian/mkroot.sh. It holds tests only; it needs root and the Debian
// package registry the first time the cache is built.
package debiantest
