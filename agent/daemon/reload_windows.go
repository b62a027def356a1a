package daemon

// notifyReload has no signal to listen to on Windows: the configuration is
// read again at each cycle start, and a restart applies it at once.
func notifyReload() (<-chan struct{}, func()) { return nil, func() {} }
