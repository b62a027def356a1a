// Package proc lists the processes of the running system.
package proc

// Process is one running process.
type Process struct {
	PID  int
	Name string
	// Args is the command line (Linux: /proc/PID/cmdline; Windows: empty
	// unless it can be read).
	Args []string
}

// List returns the running processes. Processes that exit while the list
// is being built are left out.
func List() ([]Process, error) { return list() }
