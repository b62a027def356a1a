/*
 * waappagent.c: a stand-in for the Azure VM agent's WaAppAgent.exe, for tests only.
 * Its version resource (set by fixtures.sh through windres) is what the tests read.
 * With no argument it exits 0; "sleep N" sleeps N seconds first, so a test can see it
 * running; "exit N" exits with code N; "service" runs as a real Windows service (the
 * fixture MSI built with services installs RdAgent and WindowsAzureGuestAgent with it):
 * StartServiceCtrlDispatcher, reports SERVICE_RUNNING, and stops on SERVICE_CONTROL_STOP
 * or SERVICE_CONTROL_SHUTDOWN.
 */
#include <stdlib.h>
#include <string.h>
#include <windows.h>

static SERVICE_STATUS_HANDLE svc_handle;
static SERVICE_STATUS svc_status;
static HANDLE svc_stop;

static void svc_set(DWORD state)
{
	svc_status.dwCurrentState = state;
	svc_status.dwControlsAccepted =
		state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
	SetServiceStatus(svc_handle, &svc_status);
}

static DWORD WINAPI svc_control(DWORD control, DWORD type, LPVOID data, LPVOID ctx)
{
	(void)type;
	(void)data;
	(void)ctx;
	switch (control) {
	case SERVICE_CONTROL_STOP:
	case SERVICE_CONTROL_SHUTDOWN:
		svc_set(SERVICE_STOP_PENDING);
		SetEvent(svc_stop);
		return NO_ERROR;
	case SERVICE_CONTROL_INTERROGATE:
		return NO_ERROR;
	}
	return ERROR_CALL_NOT_IMPLEMENTED;
}

static void WINAPI svc_main(DWORD argc, LPSTR *argv)
{
	svc_handle = RegisterServiceCtrlHandlerExA(argc > 0 ? argv[0] : "", svc_control, NULL);
	if (svc_handle == NULL)
		return;
	svc_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
	svc_stop = CreateEventA(NULL, TRUE, FALSE, NULL);
	if (svc_stop == NULL) {
		svc_status.dwWin32ExitCode = GetLastError();
		svc_set(SERVICE_STOPPED);
		return;
	}
	svc_set(SERVICE_RUNNING);
	WaitForSingleObject(svc_stop, INFINITE);
	svc_set(SERVICE_STOPPED);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "sleep") == 0) {
		Sleep((DWORD)strtoul(argv[2], NULL, 10) * 1000);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "exit") == 0)
		return atoi(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "service") == 0) {
		/* SERVICE_WIN32_OWN_PROCESS: the name in the table is not used. */
		static char name[] = "";
		SERVICE_TABLE_ENTRYA table[] = {{name, svc_main}, {NULL, NULL}};
		if (!StartServiceCtrlDispatcherA(table))
			return (int)GetLastError();
		return 0;
	}
	return 0;
}
