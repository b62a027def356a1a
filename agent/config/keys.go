package config

import (
	"strings"
	"time"

	"github.com/hashicorp/go-version"

	"github.com/agentkeeper/agentkeeper/agent"
)

// MinInterval is the shortest service.interval accepted: checking more often
// only repeats the same answer and keeps the machine busy.
const MinInterval = time.Minute

// Key declares one setting. Everything else about a key is derived from its
// declaration: its default, its environment variable, its flag and the
// flag's help, its type (from the Config field it fills) and how it is
// validated. README's tables of keys are tested against Keys.
type Key struct {
	// Name is the dotted path in the YAML file ("linux.min_version").
	Name string
	// Default is the value when no layer sets one, written as in the file
	// ("2h", "true", "" for empty; a list is comma-separated).
	Default string
	// DocDefault is how README names a default that is not worth writing
	// out ("Azure's addresses", "platform default"); "" shows Default.
	DocDefault string
	// Flag is the command-line flag bound to the key ("" for none); a
	// command defines it with AddFlags.
	Flag string
	// FlagAliases are older names of Flag, accepted and hidden from --help
	// (NormalizeFlag maps them).
	FlagAliases []string
	// Metavar names the flag's value in --help; "" derives it from the type.
	Metavar string
	// Doc says what the key is for, in one line.
	Doc string
	// Choices, when set, are the only values accepted (case-insensitive;
	// the value is lowercased).
	Choices []string
	// Min is the smallest duration accepted (durations only).
	Min time.Duration
	// normalize rewrites a string value before it is stored.
	normalize func(string) string
	// field points into the Config the key fills; its type is the key's
	// type: *string, *bool, *time.Duration, **version.Version, *[]string.
	field func(*Config) any
}

// Keys is every setting, in the order README lists them. A key not declared
// here is unknown: it is warned about, never silently used.
var Keys = []Key{
	{Name: "linux.min_version", Default: agent.DefaultMinLinux, Flag: "linux-min-version",
		Doc:   "oldest acceptable Linux agent version",
		field: func(c *Config) any { return &c.LinuxMinVersion }},
	{Name: "windows.min_version", Default: agent.DefaultMinWindows, Flag: "windows-min-version",
		Doc:   "oldest acceptable WaAppAgent.exe product version",
		field: func(c *Config) any { return &c.WindowsMinVersion }},
	{Name: "windows.supported_version", Default: agent.DefaultSupportedWindows,
		Doc:   "oldest Windows agent Azure supports extensions on (KB 4049215); between windows.min_version and it agent.version warns",
		field: func(c *Config) any { return &c.WindowsSupportedVersion }},
	{Name: "offline", Default: "false", Flag: "no-network", FlagAliases: []string{"offline"},
		Doc:   "skip the network checks",
		field: func(c *Config) any { return &c.Offline }},
	{Name: "checks.skip", Default: "", DocDefault: "none", Flag: "skip",
		Doc:   "check IDs reported as \"skip\" instead of being run",
		field: func(c *Config) any { return &c.ChecksSkip }},
	{Name: "network.wireserver", Default: "http://168.63.129.16", DocDefault: "Azure's addresses",
		Doc:   "WireServer endpoint of the network checks",
		field: func(c *Config) any { return &c.WireServer }},
	{Name: "network.hostgaplugin", Default: "http://168.63.129.16:32526", DocDefault: "Azure's addresses",
		Doc:   "HostGAPlugin endpoint of the network checks",
		field: func(c *Config) any { return &c.HostGAPlugin }},
	{Name: "network.imds", Default: "http://169.254.169.254", DocDefault: "Azure's addresses",
		Doc:   "IMDS endpoint of the network checks",
		field: func(c *Config) any { return &c.IMDS }},
	{Name: "network.timeout", Default: "3s",
		Doc:   "timeout of each network check",
		field: func(c *Config) any { return &c.NetworkTimeout }},
	{Name: "log.level", Default: "info", Flag: "log-level", Metavar: "LEVEL",
		Doc: "log level: debug, info, warn, error; logs go to stderr", Choices: []string{"debug", "info", "warn", "error"},
		field: func(c *Config) any { return &c.LogLevel }},
	{Name: "backup.stale_after", Default: "2h",
		Doc:   "how long a transitioning snapshot status counts as a running backup",
		field: func(c *Config) any { return &c.BackupStaleAfter }},
	{Name: "backup.wait", Default: "0s", Flag: "wait-backup",
		Doc:   "how long ensure waits for a running backup to end before deferring",
		field: func(c *Config) any { return &c.BackupWait }},
	{Name: "backup.poll", Default: "30s",
		Doc:   "how often ensure looks again while a backup runs",
		field: func(c *Config) any { return &c.BackupPoll }},
	{Name: "install.lock_file", Default: "", DocDefault: "platform default",
		Doc:   "the single-instance lock; \"\" is the platform default",
		field: func(c *Config) any { return &c.InstallLockFile }},
	{Name: "install.lock_timeout", Default: "5m",
		Doc:   "how long to wait for the single-instance lock and the package manager's lock",
		field: func(c *Config) any { return &c.InstallLockTimeout }},
	{Name: "windows.msi", Default: "",
		Doc:   "the Windows agent MSI: a path or an https:// URL",
		field: func(c *Config) any { return &c.WindowsMSI }},
	{Name: "windows.msi_sha256", Default: "",
		Doc:       "SHA-256 the MSI must have",
		normalize: func(s string) string { return strings.ToLower(strings.TrimSpace(s)) },
		field:     func(c *Config) any { return &c.WindowsMSISHA256 }},
	{Name: "windows.msi_signer", Default: "Microsoft Corporation",
		Doc:   "signer of the MSI's Authenticode signature, checked when no SHA-256 is set",
		field: func(c *Config) any { return &c.WindowsMSISigner }},
	{Name: "service.interval", Default: "1h", Flag: "interval", Min: MinInterval,
		Doc:   "time between checks, ±10 %",
		field: func(c *Config) any { return &c.ServiceInterval }},
	{Name: "service.listen", Default: "127.0.0.1:9867", Flag: "listen", Metavar: "ADDR",
		Doc:   "HTTP address of /healthz, /readyz and /metrics; \"\" disables it",
		field: func(c *Config) any { return &c.ServiceListen }},
	{Name: "service.textfile", Default: "", Metavar: "FILE",
		Doc:   "also write the metrics there, for node_exporter's textfile collector",
		field: func(c *Config) any { return &c.ServiceTextfile }},
	{Name: "service.report_file", Default: "", Metavar: "FILE",
		Doc:   "also write the last report JSON there",
		field: func(c *Config) any { return &c.ServiceReport }},
	{Name: "install.auto", Default: "true",
		Doc:   "install or update the agent when it is missing or too old, in service mode",
		field: func(c *Config) any { return &c.InstallAuto }},
}

// Lookup returns the declaration of the key called name.
func Lookup(name string) (Key, bool) {
	for _, k := range Keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// Env is the environment variable that sets the key: AGENTKEEPER_ and the
// name in capitals, dots as underscores.
func (k Key) Env() string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(k.Name, ".", "_"))
}

// Types of keys, as Key.Type returns them.
const (
	TypeString   = "string"
	TypeBool     = "bool"
	TypeDuration = "duration"
	TypeVersion  = "version"
	TypeList     = "list"
)

// Type is the key's type, read from the Config field it fills.
func (k Key) Type() string {
	switch k.field(&Config{}).(type) {
	case *bool:
		return TypeBool
	case *time.Duration:
		return TypeDuration
	case **version.Version:
		return TypeVersion
	case *[]string:
		return TypeList
	default:
		return TypeString
	}
}

// DefaultText is the default as README shows it: DocDefault, else Default.
func (k Key) DefaultText() string {
	if k.DocDefault != "" {
		return k.DocDefault
	}
	return k.Default
}

func (k Key) metavar() string {
	if k.Metavar != "" {
		return k.Metavar
	}
	switch k.Type() {
	case TypeDuration:
		return "DURATION"
	case TypeVersion:
		return "VERSION"
	case TypeList:
		return "ID"
	}
	return "STRING"
}
