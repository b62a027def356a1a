package config

import (
	"os"

	"golang.org/x/sys/windows"
)

// ProgramData is the machine-wide application data folder. It is asked of
// the shell's known folders, not the environment: a service's environment
// may name another folder (Wine gives services C:\users\Public).
func ProgramData() string {
	if p, err := windows.KnownFolderPath(windows.FOLDERID_ProgramData, 0); err == nil && p != "" {
		return p
	}
	if p := os.Getenv("ProgramData"); p != "" {
		return p
	}
	return `C:\ProgramData`
}
