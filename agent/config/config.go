// Package config loads agentkeeper's settings from a YAML file, AGENTKEEPER_*
// environment variables and command-line flags (flag > env > file > default)
// and validates them, naming the key and the file of anything wrong.
package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-version"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/agentkeeper/agentkeeper/agent"
)

// EnvPrefix is the prefix of environment variables: linux.min_version is
// AGENTKEEPER_LINUX_MIN_VERSION.
const EnvPrefix = "AGENTKEEPER"

// maxFile caps the size of a config file.
const maxFile = 1 << 20

// Config is the validated configuration. Each field below Warnings is
// filled by the key in Keys that points at it.
type Config struct {
	// File is the config file that was read ("" when none was).
	File string
	// Warnings are non-fatal findings to show the user: unknown keys, a
	// config file others can write, an HTTP address off loopback.
	Warnings []string

	LinuxMinVersion   *version.Version
	WindowsMinVersion *version.Version
	// WindowsSupportedVersion is windows.supported_version.
	WindowsSupportedVersion *version.Version
	Offline                 bool
	LogLevel                string
	// ChecksSkip are check IDs to report as skipped (config checks.skip).
	ChecksSkip []string

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

// Loader reads the configuration. Every Load starts from the defaults, so a
// reload after the file was deleted or a key removed forgets the old values.
type Loader struct {
	// File is the config file named by --config; "" means
	// AGENTKEEPER_CONFIG, else DefaultFile when it exists.
	File string
	// Flags are the command's flags: a flag bound to a key (Key.Flag) that
	// was given on the command line beats every other layer.
	Flags *pflag.FlagSet
	// DefaultFile is where the file is looked for when none is named; ""
	// means DefaultFile().
	DefaultFile string
	// MinInterval is the shortest service.interval accepted; 0 means the
	// package's MinInterval. Only tests lower it.
	MinInterval time.Duration
}

// Load reads the config file, the environment and the flags and validates
// every value, whichever layer it came from.
func (l Loader) Load() (*Config, error) {
	file, explicit := l.File, l.File != ""
	if !explicit {
		file = os.Getenv(EnvPrefix + "_CONFIG")
		explicit = file != ""
	}
	if !explicit {
		file = cmp.Or(l.DefaultFile, DefaultFile())
	}
	c := &Config{}
	var fv *viper.Viper
	data, err := readCapped(file)
	switch {
	case err == nil:
		c.File = file
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
		c.Warnings = append(c.Warnings, fileWarnings(file)...)
	case errors.Is(err, os.ErrNotExist) && !explicit:
		// No config file: defaults, environment and flags only.
	default:
		return nil, &Error{Source: file, Msg: err.Error(), Err: err}
	}
	for _, k := range Keys {
		if err := l.fill(c, k, fv); err != nil {
			return nil, err
		}
	}
	if w := listenWarning(c.ServiceListen); w != "" {
		c.Warnings = append(c.Warnings, w)
	}
	c.Warnings = append(c.Warnings, skipWarnings(c.ChecksSkip)...)
	return c, nil
}

// value returns the key's value from the highest layer that sets it, and
// names that layer: flag > environment > file > default. An empty
// environment variable counts as unset.
func (l Loader) value(k Key, fv *viper.Viper, file string) (any, string) {
	if l.Flags != nil && k.Flag != "" {
		if f := l.Flags.Lookup(k.Flag); f != nil && f.Changed {
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				return sv.GetSlice(), "command-line flag"
			}
			return f.Value.String(), "command-line flag"
		}
	}
	if e := os.Getenv(k.Env()); e != "" {
		return e, "environment variable " + k.Env()
	}
	if fv != nil && fv.IsSet(k.Name) {
		return fv.Get(k.Name), file
	}
	return k.Default, "default"
}

// fill validates the key's value and stores it in c.
func (l Loader) fill(c *Config, k Key, fv *viper.Viper) error {
	raw, src := l.value(k, fv, c.File)
	bad := func(format string, a ...any) error {
		return &Error{Key: k.Name, Source: src, Msg: fmt.Sprintf(format, a...)}
	}
	switch p := k.field(c).(type) {
	case *bool:
		b, err := parseBool(raw)
		if err != nil {
			return bad("%v", err)
		}
		*p = b
	case *[]string:
		*p = parseList(raw)
	case **version.Version:
		s := strings.TrimSpace(scalar(raw))
		ver, err := version.NewVersion(s)
		if err != nil || s == "" {
			return bad("%q is not a version (want e.g. %s)", s, agent.DefaultMinLinux)
		}
		if f, ok := raw.(float64); ok {
			// YAML reads 2.10 as the number 2.1: say so rather than
			// silently lowering the minimum.
			c.Warnings = append(c.Warnings, fmt.Sprintf("config %s: %s was read as the number %v; quote versions (\"2.10\") so that they are kept as written", c.File, k.Name, f))
		}
		*p = ver
	case *time.Duration:
		s := strings.TrimSpace(scalar(raw))
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return bad("%q is not a duration (want e.g. 30s, 5m, 2h)", s)
		}
		if min := l.min(k); d < min {
			return bad("%q is shorter than the minimum %s", s, shortDuration(min))
		}
		*p = d
	case *string:
		s := scalar(raw)
		if k.normalize != nil {
			s = k.normalize(s)
		}
		if len(k.Choices) > 0 {
			s = strings.ToLower(s)
			if !slices.Contains(k.Choices, s) {
				return bad("%q is not one of %s", s, strings.Join(k.Choices, ", "))
			}
		}
		*p = s
	default:
		panic(fmt.Sprintf("config: key %s fills a field of type %T", k.Name, p))
	}
	return nil
}

// min is the smallest duration the key accepts.
func (l Loader) min(k Key) time.Duration {
	if k.Name == "service.interval" && l.MinInterval > 0 {
		return l.MinInterval
	}
	return k.Min
}

// scalar renders a single value as the file, a variable or a flag wrote it.
func scalar(x any) string {
	switch v := x.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

// parseList reads a list: a YAML list, or one string of comma-separated
// items (an environment variable); blanks around items are dropped.
func parseList(x any) []string {
	var items []string
	switch v := x.(type) {
	case []string:
		for _, s := range v {
			items = append(items, strings.Split(s, ",")...)
		}
	case []any:
		for _, s := range v {
			items = append(items, scalar(s))
		}
	default:
		items = strings.Split(scalar(v), ",")
	}
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// shortDuration writes d without zero units: 1m, not 1m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
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

// unknownKeys returns the file's keys (read into fv) that are not declared
// in Keys, sorted. A known section given a value ("network: off") is an
// error, not an unknown key: it would hide every default under it.
func unknownKeys(fv *viper.Viper) ([]string, *keyError) {
	var out []string
	for _, k := range fv.AllKeys() {
		if _, ok := Lookup(k); ok {
			continue
		}
		var under []string
		for _, d := range Keys {
			if strings.HasPrefix(d.Name, k+".") {
				under = append(under, d.Name)
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
