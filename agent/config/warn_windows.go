package config

// fileWarnings is not implemented on Windows: the config file's folder,
// %ProgramData%\agentkeeper, gets its ACL from agentkeeper's MSI.
func fileWarnings(string) []string { return nil }
