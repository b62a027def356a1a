//go:build !unix

package agent

import "io/fs"

// fileOwner cannot tell a Unix owner here (a Linux image read from
// Windows): the caller reports that it could not be read.
func fileOwner(fs.FileInfo) (uint32, bool) { return 0, false }
