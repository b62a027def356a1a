// Package testenv is how tests treat a missing prerequisite (a cached
// Debian root, root privileges): they skip, except under AGENTKEEPER_E2E
// (make unit), where the missing thing fails the test. Every test reads the
// switch through this package, so it means the same everywhere.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// E2EVar is the environment variable that makes missing prerequisites fail.
const E2EVar = "AGENTKEEPER_E2E"

// E2E reports whether AGENTKEEPER_E2E is on: set to anything but "" or "0".
// (make unit sets 1; any other value errs on the side of failing.)
func E2E() bool {
	v := os.Getenv(E2EVar)
	return v != "" && v != "0"
}

// Need reports a missing prerequisite: t fails under AGENTKEEPER_E2E and
// is skipped otherwise. The message says what is missing and how to get it.
func Need(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if E2E() {
		t.Fatalf("%s=%s but %s", E2EVar, os.Getenv(E2EVar), msg)
		return
	}
	t.Skip("skipped: " + msg)
}
