package pkgmgr

// waagentMkdirFailure is the end of `apt-get install waagent` in a Debian 12
// root that has /var/lib/waagent already (recorded on this machine; the
// real test is e2e/debiantest's TestEnsureInstallsOverLeftBehindAgentData).
const waagentMkdirFailure = `Setting up python3-distro (1.8.0-1) ...
Setting up waagent (2.7.3.0-4.1) ...
mkdir: cannot create directory '/var/lib/waagent': File exists
dpkg: error processing package waagent (--configure):
 installed waagent package post-installation script subprocess returned error exit status 1
Processing triggers for libc-bin (2.36-9+deb12u14) ...
Errors were encountered while processing:
 waagent
E: Sub-process /usr/bin/dpkg returned an error code (1)
`
