//go:build !windows

package ensure

import "os"

func isAdmin() bool { return os.Geteuid() == 0 }
