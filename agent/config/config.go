// Package config loads agentkeeper's settings from a YAML file, AGENTKEEPER_*
// environment variables and command-line flags (flag > env > file > default)
// and validates them, naming the key and the file of anything wrong.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-version"
	"github.com/spf13/viper"
)

// EnvPrefix is the prefix of environment variables: linux.min_version is
// AGENTKEEPER_LINUX_MIN_VERSION.
const EnvPrefix = "AGENTKEEPER"

// maxFile caps the size of a config file.
const maxFile = 1 << 20

// Defaults holds every known key and its default. A key not listed here is
// unknown: it is warned about, never silently used.
var Defaults = map[string]any{
	"linux.min_version":   "2.2.53.1",
	"windows.min_version": "2.6.1198.718",
	"offline":             false,
	"log.level":           "info",
	// Network endpoints (Azure's fixed addresses; tests point them at loopback).
	"network.wireserver":   "http://168.63.129.16",
	"network.hostgaplugin": "http://168.63.129.16:32526",
	"network.imds":         "http://169.254.169.254",
	"network.timeout":      "3s",
	// Backup detection and waiting (ensure).
	"backup.stale_after": "2h",
	"backup.wait":        "0s",
	"backup.poll":        "30s",
	// Windows installer source and its verification.
	"windows.msi":        "",
	"windows.msi_sha256": "",
	"windows.msi_signer": "Microsoft Corporation",
	// Installing.
	"install.auto":         true,
	"install.lock_timeout": "5m",
	// Service mode.
	"service.interval":    "1h",
	"service.listen":      "127.0.0.1:9867",
	"service.textfile":    "",
	"service.report_file": "",
}

var durationKeys = []string{"network.timeout", "backup.stale_after", "backup.wait", "backup.poll",
	"install.lock_timeout", "service.interval"}

var versionKeys = []string{"linux.min_version", "windows.min_version"}

// Config is the validated configuration.
type Config struct {
	// File is the config file that was read ("" when none was).
	File string
	// Warnings are non-fatal findings (unknown keys) to show the user.
	Warnings []string

	LinuxMinVersion   *version.Version
	WindowsMinVersion *version.Version
	Offline           bool
	LogLevel          string

	WireServer, HostGAPlugin, IMDS string
	NetworkTimeout                 time.Duration

	BackupStaleAfter, BackupWait, BackupPoll time.Duration

	WindowsMSI, WindowsMSISHA256, WindowsMSISigner string

	InstallAuto        bool
	InstallLockTimeout time.Duration

	ServiceInterval                               time.Duration
	ServiceListen, ServiceTextfile, ServiceReport string
}

// Error is a configuration error: it names the key and where the value came from.
type Error struct {
	Key, Source, Msg string
}

func (e *Error) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("config %s: %s", e.Source, e.Msg)
	}
	return fmt.Sprintf("config %s: %s: %s", e.Source, e.Key, e.Msg)
}

// DefaultFile is where the config file is looked for when none is named.
func DefaultFile() string {
	if runtime.GOOS == "windows" {
		pd := os.Getenv("ProgramData")
		if pd == "" {
			pd = `C:\ProgramData`
		}
		return filepath.Join(pd, "agentkeeper", "config.yaml")
	}
	return "/etc/agentkeeper/config.yaml"
}

// New returns a viper with the defaults and the environment set up; the
// caller binds its flags to it and then calls Load.
func New() *viper.Viper {
	v := viper.New()
	for k, d := range Defaults {
		v.SetDefault(k, d)
	}
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	return v
}

// Load reads the config file (file, or the default file when file is ""
// and it exists), then validates every value, whichever layer it came from.
func Load(v *viper.Viper, file string) (*Config, error) {
	explicit := file != ""
	if !explicit {
		file = os.Getenv(EnvPrefix + "_CONFIG")
		explicit = file != ""
	}
	if !explicit {
		file = DefaultFile()
	}
	c := &Config{}
	data, err := readCapped(file)
	switch {
	case err == nil:
		c.File = file
		v.SetConfigType("yaml")
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			return nil, &Error{Source: file, Msg: "not valid YAML: " + oneLine(err.Error())}
		}
		unknown, err := unknownKeys(data)
		if err != nil {
			return nil, &Error{Source: file, Msg: "not valid YAML: " + oneLine(err.Error())}
		}
		for _, k := range unknown {
			c.Warnings = append(c.Warnings, fmt.Sprintf("config %s: unknown key %q ignored", file, k))
		}
	case errors.Is(err, os.ErrNotExist) && !explicit:
		// No config file: defaults, environment and flags only.
	default:
		return nil, &Error{Source: file, Msg: err.Error()}
	}
	return c, c.fill(v)
}

// fill copies and validates values from v.
func (c *Config) fill(v *viper.Viper) error {
	src := func(key string) string {
		env := EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
		if _, ok := os.LookupEnv(env); ok {
			return "environment " + env
		}
		if c.File != "" && v.InConfig(key) {
			return c.File
		}
		return "flag or default"
	}
	vers := map[string]*version.Version{}
	for _, k := range versionKeys {
		s := strings.TrimSpace(v.GetString(k))
		ver, err := version.NewVersion(s)
		if err != nil || s == "" {
			return &Error{Key: k, Source: src(k), Msg: fmt.Sprintf("%q is not a version (want e.g. 2.2.53.1)", s)}
		}
		vers[k] = ver
	}
	durs := map[string]time.Duration{}
	for _, k := range durationKeys {
		s := strings.TrimSpace(v.GetString(k))
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return &Error{Key: k, Source: src(k), Msg: fmt.Sprintf("%q is not a duration (want e.g. 30s, 5m, 2h)", s)}
		}
		durs[k] = d
	}
	bools := map[string]bool{}
	for _, k := range []string{"offline", "install.auto"} {
		b, err := parseBool(v.Get(k))
		if err != nil {
			return &Error{Key: k, Source: src(k), Msg: err.Error()}
		}
		bools[k] = b
	}
	c.LinuxMinVersion = vers["linux.min_version"]
	c.WindowsMinVersion = vers["windows.min_version"]
	c.Offline = bools["offline"]
	c.LogLevel = strings.ToLower(v.GetString("log.level"))
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return &Error{Key: "log.level", Source: src("log.level"), Msg: fmt.Sprintf("%q is not one of debug, info, warn, error", c.LogLevel)}
	}
	c.WireServer = v.GetString("network.wireserver")
	c.HostGAPlugin = v.GetString("network.hostgaplugin")
	c.IMDS = v.GetString("network.imds")
	c.NetworkTimeout = durs["network.timeout"]
	c.BackupStaleAfter = durs["backup.stale_after"]
	c.BackupWait = durs["backup.wait"]
	c.BackupPoll = durs["backup.poll"]
	c.WindowsMSI = v.GetString("windows.msi")
	c.WindowsMSISHA256 = strings.ToLower(strings.TrimSpace(v.GetString("windows.msi_sha256")))
	c.WindowsMSISigner = v.GetString("windows.msi_signer")
	c.InstallAuto = bools["install.auto"]
	c.InstallLockTimeout = durs["install.lock_timeout"]
	c.ServiceInterval = durs["service.interval"]
	c.ServiceListen = v.GetString("service.listen")
	c.ServiceTextfile = v.GetString("service.textfile")
	c.ServiceReport = v.GetString("service.report_file")
	return nil
}

func parseBool(x any) (bool, error) {
	switch b := x.(type) {
	case bool:
		return b, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(b)) {
		case "true", "yes", "y", "1", "on":
			return true, nil
		case "false", "no", "n", "0", "off", "":
			return false, nil
		}
		return false, fmt.Errorf("%q is not a boolean (want true or false)", b)
	case int:
		return b != 0, nil
	}
	return false, fmt.Errorf("%v is not a boolean (want true or false)", x)
}

// unknownKeys returns the file's keys that are not in Defaults, sorted.
func unknownKeys(data []byte) ([]string, error) {
	fv := viper.New()
	fv.SetConfigType("yaml")
	if err := fv.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, err
	}
	var out []string
	for _, k := range fv.AllKeys() {
		if _, ok := Defaults[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out, nil
}

func readCapped(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFile {
		return nil, fmt.Errorf("larger than %d bytes: not a config file", maxFile)
	}
	return data, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
