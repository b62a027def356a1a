/*
 * waappagent.c: a stand-in for the Azure VM agent's WaAppAgent.exe, for tests only.
 * Its version resource (set by fixtures.sh through windres) is what the tests read.
 * With no argument it exits 0; "sleep N" sleeps N seconds first, so a test can see it
 * running; "exit N" exits with code N.
 */
#include <stdlib.h>
#include <string.h>
#include <windows.h>

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "sleep") == 0) {
		Sleep((DWORD)strtoul(argv[2], NULL, 10) * 1000);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "exit") == 0)
		return atoi(argv[2]);
	return 0;
}
