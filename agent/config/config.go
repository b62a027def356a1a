// Package config loads agentkeeper's settings from a YAML file, AGENTKEEPER_*
// environment variables and command-line flags (flag > env > file > default)
// and validates them, naming the key and the file of anything wrong.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
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
	"install.lock_file":    "",
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
	// InstallLockFile is the single-instance lock ("" = the platform default).
	InstallLockFile string

	ServiceInterval                               time.Duration
	ServiceListen, ServiceTextfile, ServiceReport string
}

// Error is a configuration error: it names the key and where the value came from.
type Error struct {
	// Key is the setting ("linux.min_version"), or "" when the file itself
	// is at fault.
	Key string
	// Source is where the value came from: the file's path, "environment
	// variable AGENTKEEPER_...", or "command-line flag".
	Source string
	// Msg says what is wrong, quoting the value.
	Msg string
	// Err is the underlying error, if any (e.g. fs.ErrNotExist).
	Err error
}

func (e *Error) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("config file %s: %s", e.Source, e.Msg)
	}
	return fmt.Sprintf("config: %s (from %s): %s", e.Key, e.Source, e.Msg)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// DefaultFile is where the config file is looked for when none is named.
func DefaultFile() string {
	if runtime.GOOS == "windows" {
		pd := ProgramData()
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
	var fv *viper.Viper
	data, err := readCapped(file)
	switch {
	case err == nil:
		c.File = file
		v.SetConfigType("yaml")
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			return nil, &Error{Source: file, Msg: yamlMsg(err)}
		}
		fv = viper.New()
		fv.SetConfigType("yaml")
		if err := fv.ReadConfig(bytes.NewReader(data)); err != nil {
			return nil, &Error{Source: file, Msg: yamlMsg(err)}
		}
		unknown, err := unknownKeys(fv)
		if err != nil {
			return nil, &Error{Key: err.key, Source: file, Msg: err.msg}
		}
		for _, k := range unknown {
			c.Warnings = append(c.Warnings, fmt.Sprintf("config %s: unknown key %q ignored", file, k))
		}
		for _, k := range versionKeys {
			// YAML reads 2.10 as the number 2.1: say so rather than
			// silently lowering the minimum.
			if f, ok := fv.Get(k).(float64); ok {
				c.Warnings = append(c.Warnings, fmt.Sprintf("config %s: %s was read as the number %v; quote versions (\"2.10\") so that they are kept as written", file, k, f))
			}
		}
	case errors.Is(err, os.ErrNotExist) && !explicit:
		// No config file: defaults, environment and flags only.
	default:
		return nil, &Error{Source: file, Msg: err.Error(), Err: err}
	}
	return c, c.fill(v, fv)
}

// fill copies and validates values from v; fv holds the file's own values
// (nil when no file was read), to tell where a bad value came from.
func (c *Config) fill(v *viper.Viper, fv *viper.Viper) error {
	// src names the layer that gave key its value. Viper does not say, so
	// the value is matched against each layer in order of precedence below
	// the flags (an empty variable is unset for viper too); a value that no
	// variable or file holds came from a flag, defaults being valid.
	src := func(key string) string {
		val := strings.TrimSpace(v.GetString(key))
		env := EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
		if e := os.Getenv(env); e != "" && strings.TrimSpace(e) == val {
			return "environment variable " + env
		}
		if fv != nil && fv.IsSet(key) && strings.TrimSpace(fv.GetString(key)) == val {
			return c.File
		}
		if val == strings.TrimSpace(fmt.Sprint(Defaults[key])) {
			return "default"
		}
		return "command-line flag"
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
	c.InstallLockFile = v.GetString("install.lock_file")
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

// keyError is a key of the file that cannot be ignored.
type keyError struct{ key, msg string }

// unknownKeys returns the file's keys (read into fv) that are not in
// Defaults, sorted. A known section given a value ("network: off") is an
// error, not an unknown key: it would hide every default under it.
func unknownKeys(fv *viper.Viper) ([]string, *keyError) {
	var out []string
	for _, k := range fv.AllKeys() {
		if _, ok := Defaults[k]; ok {
			continue
		}
		var under []string
		for d := range Defaults {
			if strings.HasPrefix(d, k+".") {
				under = append(under, d)
			}
		}
		if len(under) > 0 {
			sort.Strings(under)
			return nil, &keyError{key: k, msg: fmt.Sprintf("a section (of %s) cannot be given a value", strings.Join(under, ", "))}
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}

// readCapped reads a config file of at most maxFile bytes. Errors do not
// repeat the path: the caller's Error names it.
func readCapped(file string) ([]byte, error) {
	// Stat first: opening a named pipe would block until a writer appears.
	fi, err := os.Stat(file)
	if err != nil {
		return nil, unwrapPath(err)
	}
	if !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return nil, errors.New("not a regular file (a directory)")
		}
		return nil, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, unwrapPath(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, unwrapPath(err)
	}
	if len(data) > maxFile {
		return nil, fmt.Errorf("larger than %d bytes: not a config file", maxFile)
	}
	return data, nil
}

// yamlMsg says why the file is not the YAML expected, in one line.
func yamlMsg(err error) string {
	s := strings.TrimPrefix(oneLine(err.Error()), "While parsing config: ")
	if strings.Contains(s, "cannot unmarshal") {
		// A list or a plain word at the top instead of key: value lines;
		// the decoder's own words name Go types.
		if m := yamlLine.FindString(s); m != "" {
			return "not valid YAML: want key: value lines (" + m + ")"
		}
		return "not valid YAML: want key: value lines"
	}
	return "not valid YAML: " + s
}

var yamlLine = regexp.MustCompile(`line [0-9]+`)

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// unwrapPath drops the *fs.PathError wrapper, whose path would repeat the
// file name the Error already gives.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
