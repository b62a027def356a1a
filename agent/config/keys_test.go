package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// readmeKeys parses every table of README.md whose header is
// "| key | default | meaning |" and returns each key's default cell, as
// written there (`2h`, `""`, platform default). A row may name several keys
// ("`backup.wait`, `backup.poll`") with one default each, or one for all.
func readmeKeys(t *testing.T, readme string) map[string]string {
	t.Helper()
	out := map[string]string{}
	inTable := false
	code := regexp.MustCompile("`([^`]*)`")
	for i, line := range strings.Split(readme, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "| key | default | meaning |"):
			inTable = true
			continue
		case !strings.HasPrefix(line, "|"):
			inTable = false
			continue
		case !inTable || strings.HasPrefix(line, "|---"):
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 3 {
			t.Errorf("README.md:%d: want 3 cells: %s", i+1, line)
			continue
		}
		var keys []string
		for _, m := range code.FindAllStringSubmatch(cells[0], -1) {
			keys = append(keys, m[1])
		}
		defaults := strings.Split(strings.TrimSpace(cells[1]), ", ")
		if len(defaults) != len(keys) && len(defaults) != 1 {
			t.Errorf("README.md:%d: %d keys but %d defaults", i+1, len(keys), len(defaults))
			continue
		}
		for j, k := range keys {
			d := defaults[0]
			if len(defaults) > 1 {
				d = defaults[j]
			}
			if _, dup := out[k]; dup {
				t.Errorf("README.md:%d: key %s listed twice", i+1, k)
			}
			out[k] = strings.TrimSpace(d)
		}
	}
	return out
}

// TestREADMEConfigTables: README's key tables list every declared key,
// exactly once and with its default, and no key that is not declared.
func TestREADMEConfigTables(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := readmeKeys(t, string(b))
	if len(listed) == 0 {
		t.Fatal("README.md has no | key | default | meaning | table")
	}
	for _, k := range Keys {
		got, ok := listed[k.Name]
		if !ok {
			t.Errorf("key %s is not in README.md's tables", k.Name)
			continue
		}
		want := "`" + k.Default + "`"
		if k.Default == "" {
			want = "`\"\"`"
		}
		if k.DocDefault != "" {
			want = k.DocDefault
		}
		if got != want {
			t.Errorf("README.md gives %s the default %s, the declaration %s", k.Name, got, want)
		}
	}
	for name := range listed {
		if _, ok := Lookup(name); !ok {
			t.Errorf("README.md lists %s, which is not a declared key", name)
		}
	}
}

// TestPackagedConfig: packaging/config.yaml names every key with its
// default, commented out; uncommented it is a valid config equal to the
// defaults.
func TestPackagedConfig(t *testing.T) {
	b, err := os.ReadFile("../../packaging/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Uncomment the commented-out settings ("#key:", "#  key: value",
	// "#  # a note"), leave prose comments alone.
	setting := regexp.MustCompile(`^#( *[a-z0-9_]+:| +#)`)
	var lines []string
	for _, line := range strings.Split(string(b), "\n") {
		if setting.MatchString(line) {
			line = strings.TrimPrefix(line, "#")
		}
		lines = append(lines, line)
	}
	fv := viper.New()
	fv.SetConfigType("yaml")
	if err := fv.ReadConfig(strings.NewReader(strings.Join(lines, "\n"))); err != nil {
		t.Fatalf("packaging/config.yaml uncommented is not YAML: %v", err)
	}
	for _, k := range Keys {
		if !fv.InConfig(k.Name) {
			t.Errorf("packaging/config.yaml lacks %s", k.Name)
			continue
		}
		if got := scalar(fv.Get(k.Name)); got != k.Default && !(k.Type() == TypeList && got == "[]") {
			t.Errorf("packaging/config.yaml gives %s the default %q, the declaration %q", k.Name, got, k.Default)
		}
	}
	unknown, kerr := unknownKeys(fv)
	if kerr != nil || len(unknown) > 0 {
		t.Errorf("packaging/config.yaml has keys that are not declared: %v %v", unknown, kerr)
	}
}

// TestDeclaration: every key has a doc line and a default its own type
// accepts, no flag or name is declared twice.
func TestDeclaration(t *testing.T) {
	flags := map[string]string{}
	names := map[string]bool{}
	for _, k := range Keys {
		if names[k.Name] {
			t.Errorf("key %s declared twice", k.Name)
		}
		names[k.Name] = true
		if k.Doc == "" {
			t.Errorf("key %s has no doc", k.Name)
		}
		if k.Flag != "" {
			if other, dup := flags[k.Flag]; dup {
				t.Errorf("flag --%s bound to %s and %s", k.Flag, other, k.Name)
			}
			flags[k.Flag] = k.Name
		}
		c := &Config{}
		if err := (Loader{}).fill(c, k, nil); err != nil {
			t.Errorf("key %s: its default does not load: %v", k.Name, err)
		}
	}
}

func TestAddFlags(t *testing.T) {
	clearEnv(t)
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddFlags(fs, "backup.wait", "offline", "service.listen")
	usage := fs.FlagUsages()
	for _, want := range []string{
		"--wait-backup DURATION", "(config backup.wait, default 0s)",
		"--listen ADDR", `(config service.listen, default 127.0.0.1:9867)`,
		"--no-network ", "skip the network checks (config offline, default false)",
	} {
		if !strings.Contains(usage, want) {
			t.Errorf("flag usage lacks %q:\n%s", want, usage)
		}
	}
	fs.SetNormalizeFunc(NormalizeFlag)
	if err := fs.Parse([]string{"--wait-backup", "7m", "--offline"}); err != nil {
		t.Fatal(err)
	}
	c, err := Loader{File: writeFile(t, "backup:\n  wait: 1m\n"), Flags: fs}.Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.BackupWait != 7*time.Minute || !c.Offline || c.ServiceListen != "127.0.0.1:9867" {
		t.Errorf("BackupWait %s Offline %v Listen %q; want 7m from the flag, true (the hidden alias --offline), the default", c.BackupWait, c.Offline, c.ServiceListen)
	}
	if strings.Contains(usage, "--offline") {
		t.Errorf("the alias --offline is shown in --help:\n%s", usage)
	}
}

func TestChecksSkip(t *testing.T) {
	tests := []struct {
		desc  string
		file  string
		env   string
		flags []string
		want  []string
		warn  []string // substrings, one per warning
	}{
		{desc: "none", want: nil},
		{desc: "a YAML list", file: "checks:\n  skip: [agent.python, mounts.noexec]\n", want: []string{"agent.python", "mounts.noexec"}},
		{desc: "a YAML block list", file: "checks:\n  skip:\n    - agent.python\n", want: []string{"agent.python"}},
		{desc: "one comma-separated string", file: "checks:\n  skip: agent.python, mounts.noexec\n", want: []string{"agent.python", "mounts.noexec"}},
		{desc: "the environment, comma-separated", env: " agent.python,,mounts.noexec ", want: []string{"agent.python", "mounts.noexec"}},
		{desc: "--skip repeated beats the environment", env: "agent.python", flags: []string{"--skip", "mounts.noexec", "--skip", "os.azure"},
			want: []string{"mounts.noexec", "os.azure"}},
		{desc: "an unknown ID names the nearest", flags: []string{"--skip", "agent.extension"}, want: []string{"agent.extension"},
			warn: []string{`checks.skip: "agent.extension" is not a check, ignored (did you mean "agent.extensions"?)`}},
		{desc: "nothing near", env: "frobnicate", want: []string{"frobnicate"},
			warn: []string{`checks.skip: "frobnicate" is not a check, ignored`}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			clearEnv(t)
			if tc.env != "" {
				t.Setenv("AGENTKEEPER_CHECKS_SKIP", tc.env)
			}
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			AddFlags(fs, "checks.skip")
			if err := fs.Parse(tc.flags); err != nil {
				t.Fatal(err)
			}
			c, err := Loader{File: writeFile(t, tc.file), Flags: fs}.Load()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(c.ChecksSkip, "|") != strings.Join(tc.want, "|") {
				t.Errorf("ChecksSkip = %q, want %q", c.ChecksSkip, tc.want)
			}
			if len(c.Warnings) != len(tc.warn) {
				t.Fatalf("warnings %q, want %d", c.Warnings, len(tc.warn))
			}
			for i, w := range tc.warn {
				if !strings.Contains(c.Warnings[i], w) {
					t.Errorf("warning %q, want %q", c.Warnings[i], w)
				}
			}
			if strings.Contains(tc.desc, "nothing near") && strings.Contains(c.Warnings[0], "did you mean") {
				t.Errorf("warning %q suggests a far-off ID", c.Warnings[0])
			}
		})
	}
}

// TestReloadStartsFromDefaults: a Loader used again after its (default)
// file was deleted or emptied forgets the file's values.
func TestReloadStartsFromDefaults(t *testing.T) {
	clearEnv(t)
	file := filepath.Join(t.TempDir(), "config.yaml")
	l := Loader{DefaultFile: file}
	load := func() *Config {
		t.Helper()
		c, err := l.Load()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if err := os.WriteFile(file, []byte("linux:\n  min_version: \"3.0\"\nservice:\n  interval: 5m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c := load(); c.LinuxMinVersion.String() != "3.0.0" || c.ServiceInterval != 5*time.Minute || c.File != file {
		t.Fatalf("with the file: %s %s %q", c.LinuxMinVersion, c.ServiceInterval, c.File)
	}
	if err := os.WriteFile(file, []byte("service:\n  interval: 7m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c := load(); c.LinuxMinVersion.String() != "2.2.53.1" || c.ServiceInterval != 7*time.Minute {
		t.Errorf("after removing a key: %s %s, want the default minimum and 7m", c.LinuxMinVersion, c.ServiceInterval)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	c := load()
	want := defaultConfig()
	equalConfig(t, c, &want)
}

func TestIntervalFloor(t *testing.T) {
	tests := []struct {
		desc     string
		interval string
		floor    time.Duration
		want     time.Duration
		wantErr  string
	}{
		{desc: "at the floor", interval: "1m", want: time.Minute},
		{desc: "below the floor", interval: "59s", wantErr: `service.interval (from FILE): "59s" is shorter than the minimum 1m`},
		{desc: "0s is not one hour", interval: "0s", wantErr: `"0s" is shorter than the minimum 1m`},
		{desc: "1ms would busy-loop", interval: "1ms", wantErr: "service.interval"},
		{desc: "a test may go lower", interval: "1s", floor: time.Second, want: time.Second},
		{desc: "but not below its own floor", interval: "100ms", floor: time.Second, wantErr: `"100ms" is shorter than the minimum 1s`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			clearEnv(t)
			file := writeFile(t, "service:\n  interval: "+tc.interval+"\n")
			c, err := Loader{File: file, MinInterval: tc.floor}.Load()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), strings.ReplaceAll(tc.wantErr, "FILE", file)) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || c.ServiceInterval != tc.want {
				t.Fatalf("interval %v, err %v; want %s", c.ServiceInterval, err, tc.want)
			}
		})
	}
}

func TestListenWarning(t *testing.T) {
	tests := []struct {
		listen string
		warn   bool
	}{
		{"127.0.0.1:9867", false}, {"[::1]:9867", false}, {"localhost:9867", false}, {"127.3.4.5:1", false},
		{"", false}, {":9867", true}, {"0.0.0.0:9867", true}, {"10.0.0.4:9867", true}, {"[::]:9867", true},
		{"build-42:9867", true},
	}
	for _, tc := range tests {
		t.Run(tc.listen, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("AGENTKEEPER_SERVICE_LISTEN", tc.listen)
			if tc.listen == "" {
				os.Unsetenv("AGENTKEEPER_SERVICE_LISTEN")
			}
			c, err := Loader{File: writeFile(t, "service:\n  listen: \"\"\n")}.Load()
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(c.Warnings, "\n")
			if warned := strings.Contains(got, "not on loopback"); warned != tc.warn {
				t.Errorf("warnings %q; want a loopback warning: %v", got, tc.warn)
			}
			if tc.warn && !strings.Contains(got, "/readyz then shows the whole report") {
				t.Errorf("warning %q does not say what /readyz shows", got)
			}
		})
	}
}

// FuzzLoad: any file content either loads, with every version set and
// every duration within its bounds, or is a *Error naming the file in one
// line; never a panic.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(everyKey))
	f.Add([]byte("linux:\n  min_version: 2.10\nchecks:\n  skip: [a, {b: c}]\n"))
	f.Add([]byte("service: {interval: 0s}\n"))
	f.Add([]byte("network: off\n"))
	f.Add([]byte("- a\n- b\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Loader{File: file}.Load()
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || strings.ContainsAny(err.Error(), "\n\x00") {
				t.Fatalf("error %q (%T) is not one line of a *config.Error", err, err)
			}
			return
		}
		if c.LinuxMinVersion == nil || c.WindowsMinVersion == nil {
			t.Fatalf("loaded without a minimum version: %+v", c)
		}
		if c.ServiceInterval < MinInterval || c.NetworkTimeout < 0 || c.BackupWait < 0 {
			t.Fatalf("loaded out-of-bounds durations: %+v", c)
		}
		if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
			t.Fatalf("log level %q", c.LogLevel)
		}
	})
}
