package main

import (
	"strings"
	"unsafe"

	"github.com/kardianos/service"
	"golang.org/x/sys/windows"
	winsvc "golang.org/x/sys/windows/svc"
)

// underServiceManager reports whether this process was started by the
// service control manager. kardianos asks svc.IsWindowsService, which also
// wants session 0; Wine runs services.exe in session 1, so the parent
// process is asked too.
func underServiceManager() bool {
	return !service.Interactive() || parentIsServicesExe()
}

// runUnderSCM runs s through the service control dispatcher when the
// service manager started us but kardianos took the process for an
// interactive one. It reports whether it did.
func runUnderSCM(s service.Service) (bool, error) {
	h, ok := s.(winsvc.Handler)
	if !ok || !service.Interactive() || !parentIsServicesExe() {
		return false, nil
	}
	return true, winsvc.Run(serviceName, h)
}

// parentIsServicesExe reports whether the parent process is services.exe.
func parentIsServicesExe() bool {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return false
	}
	defer windows.CloseHandle(snap)
	self := windows.GetCurrentProcessId()
	names := map[uint32]string{}
	var parent uint32
	e := windows.ProcessEntry32{Size: uint32(unsafe.Sizeof(windows.ProcessEntry32{}))}
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		names[e.ProcessID] = windows.UTF16ToString(e.ExeFile[:])
		if e.ProcessID == self {
			parent = e.ParentProcessID
		}
	}
	return parent != 0 && strings.EqualFold(names[parent], "services.exe")
}
