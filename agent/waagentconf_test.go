package agent

import (
	"reflect"
	"strings"
	"testing"
	"unicode"
)

// debian12Conf is /etc/waagent.conf as shipped by Debian 12's waagent
// 2.7.3.0-4.1 package.
const debian12Conf = `#
# Microsoft Azure Linux Agent Configuration
#

# Enable extension handling. Do not disable this unless you do not need password reset,
# backup, monitoring, or any extension handling whatsoever.
Extensions.Enabled=y

# Which provisioning agent to use. Supported values are "auto" (default), "waagent",
# "cloud-init", or "disabled".
Provisioning.Agent=cloud-init

# Password authentication for root account will be unavailable.
Provisioning.DeleteRootPassword=y

# Generate fresh host key pair.
Provisioning.RegenerateSshHostKeyPair=y

# Supported values are "rsa", "dsa", "ecdsa", "ed25519", and "auto".
# The "auto" option is supported on OpenSSH 5.9 (2011) and later.
Provisioning.SshHostKeyPairType=auto

# Monitor host name changes and publish changes via DHCP requests.
Provisioning.MonitorHostName=y

# Decode CustomData from Base64.
Provisioning.DecodeCustomData=n

# Execute CustomData after provisioning.
Provisioning.ExecuteCustomData=n

# Algorithm used by crypt when generating password hash.
#Provisioning.PasswordCryptId=6

# Length of random salt used when generating password hash.
#Provisioning.PasswordCryptSaltLength=10

# Allow reset password of sys user
Provisioning.AllowResetSysUser=n

# Format if unformatted. If 'n', resource disk will not be mounted.
ResourceDisk.Format=y

# File system on the resource disk
# Typically ext3 or ext4. FreeBSD images should use 'ufs2' here.
ResourceDisk.Filesystem=ext4

# Mount point for the resource disk
ResourceDisk.MountPoint=/mnt/resource

# Create and use swapfile on resource disk.
ResourceDisk.EnableSwap=n

# Size of the swapfile.
ResourceDisk.SwapSizeMB=0

# Comma-separated list of mount options. See mount(8) for valid options.
ResourceDisk.MountOptions=None

# Enable verbose logging (y|n)
Logs.Verbose=n

# Enable Console logging, default is y
# Logs.Console=y

# Enable periodic log collection, default is n
Logs.Collect=y

# How frequently to collect logs, default is each hour
Logs.CollectPeriod=3600

# Is FIPS enabled
OS.EnableFIPS=n

# Root device timeout in seconds.
OS.RootDeviceScsiTimeout=300

# If "None", the system default version is used.
OS.OpensslPath=None

# Set the SSH ClientAliveInterval
# OS.SshClientAliveInterval=180

# Set the path to SSH keys and configuration files
OS.SshDir=/etc/ssh

# If set, agent will use proxy server to access internet
#HttpProxy.Host=None
#HttpProxy.Port=None

# Detect Scvmm environment, default is n
# DetectScvmmEnv=n

#
# Lib.Dir=/var/lib/waagent

#
# DVD.MountPoint=/mnt/cdrom/secure

#
# Pid.File=/var/run/waagent.pid

#
# Extension.LogDir=/var/log/azure

#
# Home.Dir=/home

# Enable RDMA management and set up, should only be used in HPC images
# OS.EnableRDMA=y

# Enable or disable goal state processing auto-update, default is enabled
AutoUpdate.Enabled=n

# Determine the update family, this should not be changed
# AutoUpdate.GAFamily=Prod

# Determine if the overprovisioning feature is enabled. If yes, hold extension
# handling until inVMArtifactsProfile.OnHold is false.
# Default is enabled
# EnableOverProvisioning=y

# Allow fallback to HTTP if HTTPS is unavailable
# Note: Allowing HTTP (vs. HTTPS) may cause security risks
# OS.AllowHTTP=n

# Add firewall rules to protect access to Azure host node services
# Note:
# - The default is false to protect the state of existing VMs
OS.EnableFirewall=n

`

// debian12Values is what waagent itself reads from debian12Conf.
var debian12Values = map[string]string{
	"Extensions.Enabled":                    "y",
	"Provisioning.Agent":                    "cloud-init",
	"Provisioning.DeleteRootPassword":       "y",
	"Provisioning.RegenerateSshHostKeyPair": "y",
	"Provisioning.SshHostKeyPairType":       "auto",
	"Provisioning.MonitorHostName":          "y",
	"Provisioning.DecodeCustomData":         "n",
	"Provisioning.ExecuteCustomData":        "n",
	"Provisioning.AllowResetSysUser":        "n",
	"ResourceDisk.Format":                   "y",
	"ResourceDisk.Filesystem":               "ext4",
	"ResourceDisk.MountPoint":               "/mnt/resource",
	"ResourceDisk.EnableSwap":               "n",
	"ResourceDisk.SwapSizeMB":               "0",
	"ResourceDisk.MountOptions":             "None",
	"Logs.Verbose":                          "n",
	"Logs.Collect":                          "y",
	"Logs.CollectPeriod":                    "3600",
	"OS.EnableFIPS":                         "n",
	"OS.RootDeviceScsiTimeout":              "300",
	"OS.OpensslPath":                        "None",
	"OS.SshDir":                             "/etc/ssh",
	"AutoUpdate.Enabled":                    "n",
	"OS.EnableFirewall":                     "n",
}

// withValues returns debian12Values changed by set (an empty value deletes).
func withValues(set map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range debian12Values {
		m[k] = v
	}
	for k, v := range set {
		if v == "\x00delete" {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return m
}

func TestParseWaagentConf(t *testing.T) {
	extLine := "Extensions.Enabled=y\n"
	tests := []struct {
		desc         string
		data         string
		want         map[string]string // nil: do not compare
		wantExt      bool              // Extensions as waagent reads them (default on)
		wantProblems []string          // substrings, one per problem, in order
		wantErr      string            // substring; "" for no error
	}{
		{desc: "Debian 12 as shipped", data: debian12Conf, want: debian12Values, wantExt: true},
		{
			desc:    "Debian 12 with Extensions.Enabled=n",
			data:    strings.Replace(debian12Conf, extLine, "Extensions.Enabled=n\n", 1),
			want:    withValues(map[string]string{"Extensions.Enabled": "n"}),
			wantExt: false,
		},
		{
			desc:    "Debian 12 with Extensions.Enabled=N",
			data:    strings.Replace(debian12Conf, extLine, "Extensions.Enabled=N\n", 1),
			want:    withValues(map[string]string{"Extensions.Enabled": "N"}),
			wantExt: false,
		},
		{
			desc:    "Debian 12 without Extensions.Enabled",
			data:    strings.Replace(debian12Conf, extLine, "", 1),
			want:    withValues(map[string]string{"Extensions.Enabled": "\x00delete"}),
			wantExt: true,
		},
		{
			desc:    "Debian 12 with Extensions.Enabled commented out",
			data:    strings.Replace(debian12Conf, extLine, "#Extensions.Enabled=n\n", 1),
			want:    withValues(map[string]string{"Extensions.Enabled": "\x00delete"}),
			wantExt: true,
		},
		{
			desc:    "Debian 12 with CRLF line ends",
			data:    strings.ReplaceAll(debian12Conf, "\n", "\r\n"),
			want:    debian12Values,
			wantExt: true,
		},
		{
			desc:    "CRLF with Extensions.Enabled=n",
			data:    "# comment\r\nExtensions.Enabled=n\r\nAutoUpdate.Enabled=y\r\n",
			want:    map[string]string{"Extensions.Enabled": "n", "AutoUpdate.Enabled": "y"},
			wantExt: false,
		},
		{
			desc:    "no final newline",
			data:    "Extensions.Enabled=n",
			want:    map[string]string{"Extensions.Enabled": "n"},
			wantExt: false,
		},
		{
			desc:    "inline comments",
			data:    "Extensions.Enabled=n # backup off for now\nProvisioning.Agent=auto# default\nOS.SshDir=/etc/ssh#x\n",
			want:    map[string]string{"Extensions.Enabled": "n", "Provisioning.Agent": "auto", "OS.SshDir": "/etc/ssh"},
			wantExt: false,
		},
		{
			desc:    "spaces and quotes around keys and values",
			data:    "  Extensions.Enabled = \" n \"  \n\tProvisioning.Agent\t= \"auto\"\n",
			want:    map[string]string{"Extensions.Enabled": "n", "Provisioning.Agent": "auto"},
			wantExt: false,
		},
		{
			// waagent strips quotes and spaces, then whitespace: a tab
			// before the quote keeps the quote.
			desc:    "tab before a quoted value keeps the quote, as in waagent",
			data:    "Provisioning.Agent=\t\"auto\"\n",
			want:    map[string]string{"Provisioning.Agent": "\"auto"},
			wantExt: true,
		},
		{
			desc:    "blank value leaves the default on",
			data:    "Extensions.Enabled=\nResourceDisk.MountOptions=\n",
			want:    map[string]string{"Extensions.Enabled": "", "ResourceDisk.MountOptions": ""},
			wantExt: true,
		},
		{
			desc:    "unknown value leaves the default on",
			data:    "Extensions.Enabled=no\n",
			want:    map[string]string{"Extensions.Enabled": "no"},
			wantExt: true,
		},
		{
			desc:    "value with an equals sign",
			data:    "HttpProxy.Host=http://proxy?a=b\n",
			want:    map[string]string{"HttpProxy.Host": "http://proxy?a=b"},
			wantExt: true,
		},
		{
			desc:    "last setting wins",
			data:    "Extensions.Enabled=y\nExtensions.Enabled=n\n",
			want:    map[string]string{"Extensions.Enabled": "n"},
			wantExt: false,
		},
		{
			desc:         "garbage lines are problems, the rest is read",
			data:         "Extensions.Enabled=n\nthis is not a setting\n=y\nExtensions Enabled=y\n[section]\n",
			want:         map[string]string{"Extensions.Enabled": "n"},
			wantExt:      false,
			wantProblems: []string{"line 2: not Key=Value", "line 3: not Key=Value", "line 4: not Key=Value", "line 5: not Key=Value"},
		},
		{
			desc:         "key with a vertical tab",
			data:         "Extensions\vEnabled=n\nAutoUpdate.Enabled=y\n",
			want:         map[string]string{"AutoUpdate.Enabled": "y"},
			wantExt:      true,
			wantProblems: []string{"line 1: not Key=Value"},
		},
		{
			desc:         "key with a lone carriage return",
			data:         "Extensions\rEnabled=n\nAutoUpdate.Enabled=y\n",
			want:         map[string]string{"AutoUpdate.Enabled": "y"},
			wantExt:      true,
			wantProblems: []string{"line 1: not Key=Value"},
		},
		{
			desc:         "Latin-1 in an inline comment: a problem, the value still read",
			data:         "Extensions.Enabled=n # d\xe9sactiv\xe9\nAutoUpdate.Enabled=y\n",
			want:         map[string]string{"Extensions.Enabled": "n", "AutoUpdate.Enabled": "y"},
			wantExt:      false,
			wantProblems: []string{"line 1: not valid UTF-8"},
		},
		{
			desc:         "Latin-1 in a comment line is a problem too (waagent cannot decode the file)",
			data:         "# modifi\xe9 par l'administrateur\nExtensions.Enabled=y\n",
			want:         map[string]string{"Extensions.Enabled": "y"},
			wantExt:      true,
			wantProblems: []string{"line 1: not valid UTF-8"},
		},
		{
			desc:    "UTF-8 in a comment is fine",
			data:    "# modifié par l'administrateur\nExtensions.Enabled=y\n",
			want:    map[string]string{"Extensions.Enabled": "y"},
			wantExt: true,
		},
		{desc: "only comments and blank lines", data: "# nothing\n\n   \n", want: map[string]string{}, wantExt: true},
		{desc: "empty file", data: "", wantErr: "empty file"},
		{desc: "NUL bytes", data: "Extensions.Enabled=y\n\x00\x00\x00", wantErr: "NUL"},
		{desc: "a binary", data: "\x7fELF\x02\x01\x01\x00\x00\x00", wantErr: "NUL"},
		{desc: "only garbage", data: "hello world\nthis is not a config\n", wantErr: "no Key=Value lines (line 1: not Key=Value"},
		{desc: "only Latin-1 garbage", data: "\xe9t\xe9\n\xff\xfe\n", wantErr: "no Key=Value lines (line 1: not valid UTF-8"},
		{desc: "an HTML error page", data: "<html>\n<body>404 Not Found</body>\n</html>\n", wantErr: "no Key=Value lines"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			c, err := ParseWaagentConf([]byte(tc.data))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseWaagentConf: %v", err)
			}
			if tc.want != nil && !reflect.DeepEqual(c.Values, tc.want) {
				for k, v := range tc.want {
					if got, ok := c.Values[k]; !ok || got != v {
						t.Errorf("Values[%q] = %q (set %v), want %q", k, got, ok, v)
					}
				}
				for k, v := range c.Values {
					if _, ok := tc.want[k]; !ok {
						t.Errorf("unexpected Values[%q] = %q", k, v)
					}
				}
			}
			if got := c.Switch("Extensions.Enabled", true); got != tc.wantExt {
				t.Errorf("Switch(Extensions.Enabled, true) = %v, want %v", got, tc.wantExt)
			}
			v, set := c.Get("Extensions.Enabled")
			if disabled := set && !switchValue(v, true); disabled != !tc.wantExt {
				t.Errorf("Extensions.Enabled=%q (set %v) counted as disabled: %v, want %v", v, set, disabled, !tc.wantExt)
			}
			if len(c.Problems) != len(tc.wantProblems) {
				t.Fatalf("Problems = %q, want %d", c.Problems, len(tc.wantProblems))
			}
			for i, p := range c.Problems {
				if !strings.Contains(p, tc.wantProblems[i]) {
					t.Errorf("Problems[%d] = %q, want it to contain %q", i, p, tc.wantProblems[i])
				}
			}
		})
	}
}

func TestWaagentSwitch(t *testing.T) {
	c := WaagentConf{Values: map[string]string{
		"a.y": "y", "a.Y": "Y", "a.n": "n", "a.N": " N ", "a.blank": "", "a.none": "None", "a.yes": "yes", "a.true": "true",
	}}
	tests := []struct {
		desc string
		key  string
		def  bool
		want bool
	}{
		{desc: "y is on", key: "a.y", def: false, want: true},
		{desc: "Y is on", key: "a.Y", def: false, want: true},
		{desc: "n is off", key: "a.n", def: true, want: false},
		{desc: "N with spaces is off", key: "a.N", def: true, want: false},
		{desc: "blank keeps the default on", key: "a.blank", def: true, want: true},
		{desc: "blank keeps the default off", key: "a.blank", def: false, want: false},
		{desc: "None keeps the default", key: "a.none", def: true, want: true},
		{desc: "yes is not y: default", key: "a.yes", def: false, want: false},
		{desc: "true is not y: default", key: "a.true", def: false, want: false},
		{desc: "unset keeps the default on", key: "a.unset", def: true, want: true},
		{desc: "unset keeps the default off", key: "a.unset", def: false, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := c.Switch(tc.key, tc.def); got != tc.want {
				t.Errorf("Switch(%q, %v) = %v, want %v", tc.key, tc.def, got, tc.want)
			}
		})
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		desc string
		s    string
		n    int
		want string
	}{
		{desc: "short", s: "abc", n: 5, want: "abc"},
		{desc: "exact", s: "abcde", n: 5, want: "abcde"},
		{desc: "long", s: "abcdef", n: 3, want: "abc…"},
		{desc: "does not split a rune", s: "ééé", n: 3, want: "é…"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := clip(tc.s, tc.n); got != tc.want {
				t.Errorf("clip(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
			}
		})
	}
}

func FuzzParseWaagentConf(f *testing.F) {
	for _, s := range []string{
		debian12Conf,
		"Extensions.Enabled=n\r\n",
		"Extensions.Enabled=y # c\n=\n==\n#=\n",
		"a\vb=c\nk=\"v\"\n",
		"\xe9=\xe9\n",
		"",
		"\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseWaagentConf(data)
		if err != nil {
			return
		}
		for k, v := range c.Values {
			if k == "" || strings.Contains(k, "=") || strings.ContainsFunc(k, unicode.IsSpace) {
				t.Errorf("bad key %q", k)
			}
			if strings.Contains(v, "#") || strings.ContainsAny(v, "\n\x00") {
				t.Errorf("bad value %q for %q", v, k)
			}
			if v != strings.TrimSpace(v) {
				t.Errorf("value %q for %q is not trimmed", v, k)
			}
		}
		for _, p := range c.Problems {
			if !strings.HasPrefix(p, "line ") || strings.Contains(p, "\n") {
				t.Errorf("problem %q is not one \"line N: ...\" line", p)
			}
		}
		for _, def := range []bool{false, true} {
			c.Switch("Extensions.Enabled", def)
		}
	})
}
