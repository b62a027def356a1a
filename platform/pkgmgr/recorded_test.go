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

// aptPolicyLocalRepo is `apt-cache policy waagent` in a Debian 12 root whose
// only source is a local file: repository (dpkg-scanpackages --multiversion)
// holding 2.10.0.8-1 and 2.2.45-1, with 2.2.45-1 installed (recorded here).
const aptPolicyLocalRepo = `waagent:
  Installed: 2.2.45-1
  Candidate: 2.10.0.8-1
  Version table:
     2.10.0.8-1 500
        500 file:/srv/agentkeeper-repo ./ Packages
 *** 2.2.45-1 500
        500 file:/srv/agentkeeper-repo ./ Packages
        100 /var/lib/dpkg/status
`
