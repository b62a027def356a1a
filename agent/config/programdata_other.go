//go:build !windows

package config

// ProgramData is the machine-wide application data folder on Windows; on
// other systems it is empty.
func ProgramData() string { return "" }
