/*
 * processprng.c: a stand-in for bcryptprimitives.dll under Wine 8.0.
 *
 * Go 1.22 and later read random bytes through ProcessPrng, exported by
 * bcryptprimitives.dll, which Wine 8.0 does not ship; every Go program then
 * dies at start. This DLL exports ProcessPrng and fills the buffer with
 * advapi32's SystemFunction036 (RtlGenRandom). It is for tests only: it is
 * copied into a throwaway Wine prefix by e2e/wine/lib.sh.
 */
#include <windows.h>

/* RtlGenRandom is exported by advapi32 under this name. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	/* SystemFunction036 takes a ULONG length: feed it in chunks. */
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
	(void)inst;
	(void)reason;
	(void)reserved;
	return TRUE;
}
