package service

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// Windows asks the service control manager about a service. It opens the
// manager and the service with query rights only, so it works without
// Administrator. A service that does not exist gives Installed false and
// no error.
func Windows(name string) (State, error) {
	m, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT)
	if err != nil {
		return State{}, fmt.Errorf("open service control manager: %w", err)
	}
	defer windows.CloseServiceHandle(m)
	namep, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return State{}, fmt.Errorf("service name %q: %w", name, err)
	}
	h, err := windows.OpenService(m, namep, windows.SERVICE_QUERY_STATUS|windows.SERVICE_QUERY_CONFIG)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return State{Detail: "service " + name + " does not exist"}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("open service %s: %w", name, err)
	}
	s := &mgr.Service{Name: name, Handle: h}
	defer s.Close()

	status, err := s.Query()
	if err != nil {
		return State{}, fmt.Errorf("query status of service %s: %w", name, err)
	}
	start, err := queryStartType(h)
	if err != nil {
		return State{}, fmt.Errorf("query configuration of service %s: %w", name, err)
	}
	delayed := false
	if start == windows.SERVICE_AUTO_START {
		// Best effort: without this (old systems, Wine) the service
		// still counts as automatic.
		delayed, _ = queryDelayedAutoStart(h)
	}
	st := State{
		Installed: true,
		StartType: startTypeName(start, delayed),
		Running:   boolPtr(status.State == svc.Running),
		Detail:    stateName(status.State),
	}
	switch start {
	case windows.SERVICE_AUTO_START, windows.SERVICE_BOOT_START, windows.SERVICE_SYSTEM_START:
		st.Enabled = true
	}
	return st, nil
}

// queryStartType reads the start type with QueryServiceConfig, which needs
// only SERVICE_QUERY_CONFIG. (mgr.Service.Config also asks for the
// description and SID type, which are not needed here.)
func queryStartType(h windows.Handle) (uint32, error) {
	n := uint32(1024)
	for range 8 {
		b := make([]byte, n)
		p := (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&b[0]))
		err := windows.QueryServiceConfig(h, p, n, &n)
		if err == nil {
			return p.StartType, nil
		}
		if !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) || n <= uint32(len(b)) {
			return 0, err
		}
	}
	return 0, errors.New("configuration keeps growing")
}

// queryDelayedAutoStart reports whether an automatic service starts delayed.
func queryDelayedAutoStart(h windows.Handle) (bool, error) {
	var info windows.SERVICE_DELAYED_AUTO_START_INFO
	var needed uint32
	err := windows.QueryServiceConfig2(h, windows.SERVICE_CONFIG_DELAYED_AUTO_START_INFO,
		(*byte)(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), &needed)
	if err != nil {
		return false, err
	}
	return info.IsDelayedAutoStartUp != 0, nil
}

// startTypeName names a start type as State.StartType documents.
func startTypeName(t uint32, delayed bool) string {
	switch t {
	case windows.SERVICE_AUTO_START:
		if delayed {
			return "delayed-auto"
		}
		return "auto"
	case windows.SERVICE_DEMAND_START:
		return "manual"
	case windows.SERVICE_DISABLED:
		return "disabled"
	case windows.SERVICE_BOOT_START:
		return "boot"
	case windows.SERVICE_SYSTEM_START:
		return "system"
	}
	return fmt.Sprintf("start-type-%d", t)
}

// stateName names a service state for State.Detail.
func stateName(s svc.State) string {
	switch s {
	case svc.Stopped:
		return "stopped"
	case svc.StartPending:
		return "start-pending"
	case svc.StopPending:
		return "stop-pending"
	case svc.Running:
		return "running"
	case svc.ContinuePending:
		return "continue-pending"
	case svc.PausePending:
		return "pause-pending"
	case svc.Paused:
		return "paused"
	}
	return fmt.Sprintf("state-%d", s)
}
