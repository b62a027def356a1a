package ensure

import "golang.org/x/sys/windows"

// isAdmin reports whether the process token is elevated.
func isAdmin() bool { return windows.GetCurrentProcessToken().IsElevated() }
