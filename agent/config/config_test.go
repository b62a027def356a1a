package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-version"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// clearEnv makes the test independent of AGENTKEEPER_* variables set on the
// machine running it.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(strings.ToUpper(k), EnvPrefix+"_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

// writeFile writes content to a file in a fresh temp dir and returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustVersion(s string) *version.Version { return version.Must(version.NewVersion(s)) }

func defaultConfig() Config {
	return Config{
		LinuxMinVersion:         mustVersion("2.2.53.1"),
		WindowsMinVersion:       mustVersion("2.6.1198.718"),
		WindowsSupportedVersion: mustVersion("2.7.41491.1010"),
		LogLevel:                "info",
		WireServer:              "http://168.63.129.16",
		HostGAPlugin:            "http://168.63.129.16:32526",
		IMDS:                    "http://169.254.169.254",
		NetworkTimeout:          3 * time.Second,
		BackupStaleAfter:        2 * time.Hour,
		BackupWait:              0,
		BackupPoll:              30 * time.Second,
		WindowsMSISigner:        "Microsoft Corporation",
		InstallAuto:             true,
		InstallLockTimeout:      5 * time.Minute,
		ServiceInterval:         time.Hour,
		ServiceListen:           "127.0.0.1:9867",
	}
}

// equalConfig compares two configs, versions by value.
func equalConfig(t *testing.T, got, want *Config) {
	t.Helper()
	g, w := *got, *want
	if !g.LinuxMinVersion.Equal(w.LinuxMinVersion) {
		t.Errorf("LinuxMinVersion = %s, want %s", g.LinuxMinVersion, w.LinuxMinVersion)
	}
	if !g.WindowsMinVersion.Equal(w.WindowsMinVersion) {
		t.Errorf("WindowsMinVersion = %s, want %s", g.WindowsMinVersion, w.WindowsMinVersion)
	}
	if !g.WindowsSupportedVersion.Equal(w.WindowsSupportedVersion) {
		t.Errorf("WindowsSupportedVersion = %s, want %s", g.WindowsSupportedVersion, w.WindowsSupportedVersion)
	}
	g.LinuxMinVersion, w.LinuxMinVersion = nil, nil
	g.WindowsMinVersion, w.WindowsMinVersion = nil, nil
	g.WindowsSupportedVersion, w.WindowsSupportedVersion = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("config =\n%+v\nwant\n%+v", g, w)
	}
}

func TestLoadDefaultsWithoutFile(t *testing.T) {
	clearEnv(t)
	if _, err := os.Stat(DefaultFile()); err == nil {
		t.Skipf("%s exists on this machine", DefaultFile())
	}
	c, err := Loader{}.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := defaultConfig()
	equalConfig(t, c, &want)
}

// everyKey sets every key in Defaults to a valid value other than its default.
const everyKey = `
linux:
  min_version: 2.9.1.1
windows:
  min_version: "2.7.41491.1102"
  supported_version: "2.7.41491.1200"
  msi: 'C:\agent\WindowsAzureVmAgent.msi'
  msi_sha256: " 0123ABCD "
  msi_signer: Contoso
offline: true
checks:
  skip: [agent.python, " mounts.noexec "]
log:
  level: DEBUG
network:
  wireserver: http://127.0.0.1:8080
  hostgaplugin: http://127.0.0.1:8081
  imds: http://127.0.0.1:8082
  timeout: 1.5s
backup:
  stale_after: 90m
  wait: 10m
  poll: 5s
install:
  auto: false
  lock_timeout: 1m
  lock_file: /run/agentkeeper.lock
service:
  interval: 15m
  listen: "127.0.0.1:9100"
  textfile: /var/lib/node_exporter/agentkeeper.prom
  report_file: /var/lib/agentkeeper/report.json
`

// TestEveryKeyTested keeps everyKey (and so TestLoadFile) in step with
// Defaults: a new key must be tested being read into Config.
func TestEveryKeyTested(t *testing.T) {
	clearEnv(t)
	c, err := Loader{File: writeFile(t, everyKey)}.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) > 0 {
		t.Errorf("everyKey has keys not in Defaults: %q", c.Warnings)
	}
	fv := viper.New()
	fv.SetConfigType("yaml")
	if err := fv.ReadConfig(strings.NewReader(everyKey)); err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys {
		if !fv.InConfig(k.Name) {
			t.Errorf("key %s is not in everyKey: add it there and to TestLoadFile's want", k.Name)
		}
	}
}

func TestLoadFile(t *testing.T) {
	clearEnv(t)
	full := defaultConfig()
	full.LinuxMinVersion = mustVersion("2.9.1.1")
	full.WindowsMinVersion = mustVersion("2.7.41491.1102")
	full.WindowsSupportedVersion = mustVersion("2.7.41491.1200")
	full.Offline = true
	full.ChecksSkip = []string{"agent.python", "mounts.noexec"}
	full.LogLevel = "debug"
	full.WireServer = "http://127.0.0.1:8080"
	full.HostGAPlugin = "http://127.0.0.1:8081"
	full.IMDS = "http://127.0.0.1:8082"
	full.NetworkTimeout = 1500 * time.Millisecond
	full.BackupStaleAfter = 90 * time.Minute
	full.BackupWait = 10 * time.Minute
	full.BackupPoll = 5 * time.Second
	full.WindowsMSI = `C:\agent\WindowsAzureVmAgent.msi`
	full.WindowsMSISHA256 = "0123abcd"
	full.WindowsMSISigner = "Contoso"
	full.InstallAuto = false
	full.InstallLockTimeout = time.Minute
	full.InstallLockFile = "/run/agentkeeper.lock"
	full.ServiceInterval = 15 * time.Minute
	full.ServiceListen = "127.0.0.1:9100"
	full.ServiceTextfile = "/var/lib/node_exporter/agentkeeper.prom"
	full.ServiceReport = "/var/lib/agentkeeper/report.json"

	withLinux := defaultConfig()
	withLinux.LinuxMinVersion = mustVersion("2.9")
	withWindows21 := defaultConfig()
	withWindows21.WindowsMinVersion = mustVersion("2.1")

	tests := []struct {
		desc         string
		content      string
		want         Config
		wantWarnings []string // substrings, one per warning, in order
	}{
		{desc: "empty file", content: "", want: defaultConfig()},
		{desc: "only comments", content: "# nothing here\n", want: defaultConfig()},
		{desc: "one key", content: "linux:\n  min_version: \"2.9\"\n", want: withLinux},
		{desc: "unquoted number version works but is warned about", content: "linux:\n  min_version: 2.9\n", want: withLinux,
			wantWarnings: []string{"linux.min_version was read as the number 2.9"}},
		{desc: "unquoted 2.10 is the number 2.1, and said so", content: "windows:\n  min_version: 2.10\n", want: withWindows21,
			wantWarnings: []string{"windows.min_version was read as the number 2.1; quote versions"}},
		{desc: "dotted key names are not nested keys", content: "linux.min_version: '2.9'\n", want: withLinux},
		{desc: "every key", content: everyKey, want: full},
		{
			desc:         "unknown keys are warned about and ignored",
			content:      "colour: blue\nlinux:\n  min_version: \"2.9\"\n  minversion: 3.0\n",
			want:         withLinux,
			wantWarnings: []string{`"colour"`, `"linux.minversion"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			file := writeFile(t, tc.content)
			c, err := Loader{File: file}.Load()
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := tc.want
			want.File = file
			want.Warnings = c.Warnings
			equalConfig(t, c, &want)
			if len(c.Warnings) != len(tc.wantWarnings) {
				t.Fatalf("Warnings = %q, want %d", c.Warnings, len(tc.wantWarnings))
			}
			for i, w := range c.Warnings {
				if !strings.Contains(w, tc.wantWarnings[i]) || !strings.Contains(w, file) {
					t.Errorf("warning %q does not name %s and %s", w, tc.wantWarnings[i], file)
				}
			}
		})
	}
}

func TestLoadConfigFromEnv(t *testing.T) {
	clearEnv(t)
	file := writeFile(t, "linux:\n  min_version: 3.1\n")
	t.Setenv("AGENTKEEPER_CONFIG", file)
	c, err := Loader{}.Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.File != file || c.LinuxMinVersion.String() != "3.1.0" {
		t.Errorf("File = %q, LinuxMinVersion = %s; want %q, 3.1.0", c.File, c.LinuxMinVersion, file)
	}
	t.Run("explicit file beats AGENTKEEPER_CONFIG", func(t *testing.T) {
		other := writeFile(t, "linux:\n  min_version: 4.2\n")
		c, err := Loader{File: other}.Load()
		if err != nil {
			t.Fatal(err)
		}
		if c.File != other || c.LinuxMinVersion.String() != "4.2.0" {
			t.Errorf("File = %q, LinuxMinVersion = %s; want %q, 4.2.0", c.File, c.LinuxMinVersion, other)
		}
	})
	t.Run("missing AGENTKEEPER_CONFIG is an error", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "none.yaml")
		t.Setenv("AGENTKEEPER_CONFIG", missing)
		if _, err := (Loader{}).Load(); err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("Load error = %v, want one naming %s", err, missing)
		}
	})
}

func TestPrecedence(t *testing.T) {
	tests := []struct {
		desc string
		file string // linux.min_version in the file, "" for none
		env  string
		flag string
		want string
	}{
		{desc: "default", want: "2.2.53.1"},
		{desc: "file beats default", file: "3.0", want: "3.0"},
		{desc: "env beats file", file: "3.0", env: "4.0", want: "4.0"},
		{desc: "env beats default", env: "4.0", want: "4.0"},
		{desc: "flag beats env and file", file: "3.0", env: "4.0", flag: "5.0", want: "5.0"},
		{desc: "flag beats file", file: "3.0", flag: "5.0", want: "5.0"},
		{desc: "empty env is unset", file: "3.0", env: "", want: "3.0"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			clearEnv(t)
			if tc.env != "" || strings.Contains(tc.desc, "empty env") {
				t.Setenv("AGENTKEEPER_LINUX_MIN_VERSION", tc.env)
			}
			content := ""
			if tc.file != "" {
				content = "linux:\n  min_version: \"" + tc.file + "\"\n"
			}
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			AddFlags(fs, "linux.min_version")
			if tc.flag != "" {
				if err := fs.Set("linux-min-version", tc.flag); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Loader{File: writeFile(t, content), Flags: fs}.Load()
			if err != nil {
				t.Fatal(err)
			}
			if !c.LinuxMinVersion.Equal(mustVersion(tc.want)) {
				t.Errorf("LinuxMinVersion = %s, want %s", c.LinuxMinVersion, tc.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", 2<<20)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	binary := filepath.Join(dir, "binary.yaml")
	if err := os.WriteFile(binary, []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00>\x00\x01\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.yaml")

	tests := []struct {
		desc       string
		content    string // written to a file, unless file is set
		file       string
		env        map[string]string
		flag       string // value for a flag bound to linux.min_version
		wantKey    string
		wantSource string // exact Source
		wantMsg    []string
		wantIs     error
	}{
		{
			desc:       "bad version in the file",
			content:    "linux:\n  min_version: banana\n",
			wantKey:    "linux.min_version",
			wantSource: "FILE",
			wantMsg:    []string{"linux.min_version", `"banana"`, "not a version", "FILE"},
		},
		{
			desc:       "empty version in the file",
			content:    "windows:\n  min_version: \"\"\n",
			wantKey:    "windows.min_version",
			wantSource: "FILE",
			wantMsg:    []string{"windows.min_version", "not a version"},
		},
		{
			desc:       "bad version in the environment",
			env:        map[string]string{"AGENTKEEPER_LINUX_MIN_VERSION": "banana"},
			wantKey:    "linux.min_version",
			wantSource: "environment variable AGENTKEEPER_LINUX_MIN_VERSION",
			wantMsg:    []string{"AGENTKEEPER_LINUX_MIN_VERSION", `"banana"`},
		},
		{
			desc:       "bad duration in the environment",
			content:    "network:\n  timeout: 5s\n",
			env:        map[string]string{"AGENTKEEPER_NETWORK_TIMEOUT": "soon"},
			wantKey:    "network.timeout",
			wantSource: "environment variable AGENTKEEPER_NETWORK_TIMEOUT",
			wantMsg:    []string{"network.timeout", `"soon"`, "not a duration", "AGENTKEEPER_NETWORK_TIMEOUT"},
		},
		{
			desc:       "duration without a unit in the file",
			content:    "backup:\n  poll: 30\n",
			wantKey:    "backup.poll",
			wantSource: "FILE",
			wantMsg:    []string{"backup.poll", `"30"`, "not a duration"},
		},
		{
			desc:       "negative duration",
			content:    "service:\n  interval: -1h\n",
			wantKey:    "service.interval",
			wantSource: "FILE",
			wantMsg:    []string{"service.interval", `"-1h"`},
		},
		{
			desc:       "bad value in the file while an empty variable is set",
			content:    "linux:\n  min_version: banana\n",
			env:        map[string]string{"AGENTKEEPER_LINUX_MIN_VERSION": ""},
			wantKey:    "linux.min_version",
			wantSource: "FILE",
		},
		{
			desc:       "bad flag beats a good environment variable",
			env:        map[string]string{"AGENTKEEPER_LINUX_MIN_VERSION": "2.9"},
			flag:       "banana",
			wantKey:    "linux.min_version",
			wantSource: "command-line flag",
			wantMsg:    []string{"linux.min_version", `"banana"`},
		},
		{
			desc:       "bad log level",
			content:    "log:\n  level: loud\n",
			wantKey:    "log.level",
			wantSource: "FILE",
			wantMsg:    []string{"log.level", `"loud"`, "debug, info, warn, error"},
		},
		{
			desc:       "bad boolean in the file",
			content:    "offline: banana\n",
			wantKey:    "offline",
			wantSource: "FILE",
			wantMsg:    []string{"offline", `"banana"`, "not a boolean"},
		},
		{
			desc:       "bad boolean in the environment",
			env:        map[string]string{"AGENTKEEPER_INSTALL_AUTO": "sometimes"},
			wantKey:    "install.auto",
			wantSource: "environment variable AGENTKEEPER_INSTALL_AUTO",
			wantMsg:    []string{"install.auto", `"sometimes"`},
		},
		{
			desc:       "list where a boolean goes",
			content:    "offline: [1, 2]\n",
			wantKey:    "offline",
			wantSource: "FILE",
			wantMsg:    []string{"offline", "not a boolean"},
		},
		{
			desc:       "a known section given a value",
			content:    "network: off\n",
			wantKey:    "network",
			wantSource: "FILE",
			wantMsg:    []string{"network", "section", "network.timeout"},
		},
		{desc: "garbage YAML", content: "linux: [\n", wantSource: "FILE", wantMsg: []string{"FILE", "not valid YAML"}},
		{desc: "tabs for indentation", content: "linux:\n\tmin_version: 2.9\n", wantSource: "FILE", wantMsg: []string{"FILE", "not valid YAML"}},
		{desc: "a list at the top", content: "- linux\n- windows\n", wantSource: "FILE", wantMsg: []string{"FILE", "not valid YAML"}},
		{desc: "a scalar at the top", content: "just some words\n", wantSource: "FILE", wantMsg: []string{"FILE", "not valid YAML"}},
		{desc: "binary file", file: binary, wantSource: binary, wantMsg: []string{binary}},
		{desc: "2 MB file", file: big, wantSource: big, wantMsg: []string{big, "larger than"}},
		{desc: "a directory", file: dir, wantSource: dir, wantMsg: []string{dir, "not a regular file"}},
		{desc: "explicit missing file", file: missing, wantSource: missing, wantMsg: []string{missing}, wantIs: fs.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			clearEnv(t)
			for k, val := range tc.env {
				t.Setenv(k, val)
			}
			file := tc.file
			if file == "" {
				file = writeFile(t, tc.content)
			}
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			AddFlags(fs, "linux.min_version")
			if tc.flag != "" {
				if err := fs.Set("linux-min-version", tc.flag); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Loader{File: file, Flags: fs}.Load()
			if err == nil {
				t.Fatalf("Load = %+v, want an error", c)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %q (%T) is not a *config.Error", err, err)
			}
			if ce.Key != tc.wantKey {
				t.Errorf("Key = %q, want %q", ce.Key, tc.wantKey)
			}
			wantSource := strings.ReplaceAll(tc.wantSource, "FILE", file)
			if ce.Source != wantSource {
				t.Errorf("Source = %q, want %q", ce.Source, wantSource)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %q is not %v", err, tc.wantIs)
			}
			msg := err.Error()
			t.Log(msg)
			for _, w := range tc.wantMsg {
				w = strings.ReplaceAll(w, "FILE", file)
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not contain %q", msg, w)
				}
			}
			if strings.Count(msg, file) > 1 {
				t.Errorf("message %q repeats the file name", msg)
			}
			if strings.ContainsAny(msg, "\n\x00") {
				t.Errorf("message %q is not one printable line", msg)
			}
		})
	}
}

func TestBooleans(t *testing.T) {
	tests := []struct {
		desc    string
		yaml    string // value of offline in the file, "" for none
		env     string // AGENTKEEPER_OFFLINE, "" for unset
		want    bool
		wantErr bool
	}{
		{desc: "yaml true", yaml: "true", want: true},
		{desc: "yaml false", yaml: "false", want: false},
		{desc: "yaml yes (a string in YAML 1.2)", yaml: "yes", want: true},
		{desc: "yaml no", yaml: "no", want: false},
		{desc: "yaml quoted yes", yaml: `"yes"`, want: true},
		{desc: "yaml on", yaml: "on", want: true},
		{desc: "yaml 1", yaml: "1", want: true},
		{desc: "yaml 0", yaml: "0", want: false},
		{desc: "yaml banana", yaml: "banana", wantErr: true},
		{desc: "env yes", env: "yes", want: true},
		{desc: "env no beats yaml true", yaml: "true", env: "no", want: false},
		{desc: "env TRUE", env: "TRUE", want: true},
		{desc: "env banana", env: "banana", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			clearEnv(t)
			if tc.env != "" {
				t.Setenv("AGENTKEEPER_OFFLINE", tc.env)
			}
			content := ""
			if tc.yaml != "" {
				content = "offline: " + tc.yaml + "\n"
			}
			c, err := Loader{File: writeFile(t, content)}.Load()
			if tc.wantErr {
				var ce *Error
				if !errors.As(err, &ce) || ce.Key != "offline" {
					t.Fatalf("Load error = %v, want a *config.Error for offline", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Offline != tc.want {
				t.Errorf("Offline = %v, want %v", c.Offline, tc.want)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		desc string
		err  Error
		want string
	}{
		{
			desc: "key from a file",
			err:  Error{Key: "linux.min_version", Source: "/etc/agentkeeper/config.yaml", Msg: `"banana" is not a version (want e.g. 2.2.53.1)`},
			want: `config: linux.min_version (from /etc/agentkeeper/config.yaml): "banana" is not a version (want e.g. 2.2.53.1)`,
		},
		{
			desc: "key from the environment",
			err:  Error{Key: "network.timeout", Source: "environment variable AGENTKEEPER_NETWORK_TIMEOUT", Msg: `"soon" is not a duration`},
			want: `config: network.timeout (from environment variable AGENTKEEPER_NETWORK_TIMEOUT): "soon" is not a duration`,
		},
		{
			desc: "the file itself",
			err:  Error{Source: "/tmp/c.yaml", Msg: "not valid YAML: yaml: line 1: did not find expected node content"},
			want: "config file /tmp/c.yaml: not valid YAML: yaml: line 1: did not find expected node content",
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}
