//go:build !linux

package backup_test

// runIfDetectHelper: the helper process is used by Linux tests only.
func runIfDetectHelper() {}
