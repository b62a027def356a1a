package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// PathScriptPluginConfig is the app-consistent backup configuration of the
// Linux snapshot extension (backup-azure-linux-app-consistent.md).
const PathScriptPluginConfig = "/etc/azure/VMSnapshotScriptPluginConfig.json"

// The snapshot extension's own names for what goes wrong with the pre- and
// post-scripts (the troubleshooting table of backup-azure-linux-app-consistent.md).
const (
	errPreScriptNotFound        = "Pre-ScriptNotFound"
	errPostScriptNotFound       = "Post-ScriptNotFound"
	errPrePermission            = "InsufficientPermissionforPre-Script"
	errPostPermission           = "InsufficientPermissionforPost-Script"
	errIncorrectJSONConfig      = "IncorrectJSONConfigFile"
	maxScriptTimeoutSeconds     = 1800 // timeoutInSeconds "maximum value can be 1800"
	minPollSeconds, maxPollSecs = 1, 5 // ScriptsExecutionPollTimeSeconds "1 and 5 ... strictly an integer"
)

// PluginConfig is a parsed VMSnapshotScriptPluginConfig.json. Numbers keep
// their JSON text so that 2.5 (not an integer) can be told from 2.
type PluginConfig struct {
	PluginName         string
	PreScriptLocation  string
	PostScriptLocation string
	PreScriptParams    []string
	PostScriptParams   []string
	// TimeoutInSeconds and PollSeconds are nil when absent.
	TimeoutInSeconds *json.Number
	PollSeconds      *json.Number
	// ContinueBackupOnFailure and FsFreezeEnabled are nil when absent.
	ContinueBackupOnFailure *bool
	FsFreezeEnabled         *bool
}

// ParsePluginConfig parses VMSnapshotScriptPluginConfig.json (the template in
// MicrosoftAzureBackup/VMSnapshotPluginConfig). The file must be one JSON
// object; the fields the extension reads must have the types of the
// template (strings, lists of strings, numbers, booleans). A UTF-8 byte
// order mark is allowed. Unknown fields are ignored, as the extension does.
func ParsePluginConfig(data []byte) (PluginConfig, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return PluginConfig{}, errors.New("empty file")
	}
	if !utf8.Valid(data) {
		return PluginConfig{}, errors.New("not UTF-8 text")
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return PluginConfig{}, fmt.Errorf("not a JSON object: %v", jsonErr(err))
	}
	if raw == nil {
		return PluginConfig{}, errors.New("not a JSON object: null")
	}
	if dec.More() {
		return PluginConfig{}, errors.New("more than one JSON value")
	}
	var c PluginConfig
	var errs []error
	str := func(key string, dst *string) {
		if v, ok := raw[key]; ok && string(v) != "null" {
			if err := json.Unmarshal(v, dst); err != nil {
				errs = append(errs, fmt.Errorf("%s is not a string", key))
			}
		}
	}
	list := func(key string, dst *[]string) {
		if v, ok := raw[key]; ok && string(v) != "null" {
			if err := json.Unmarshal(v, dst); err != nil {
				errs = append(errs, fmt.Errorf("%s is not a list of strings", key))
			}
		}
	}
	num := func(key string) *json.Number {
		v, ok := raw[key]
		if !ok || string(v) == "null" {
			return nil
		}
		var n json.Number
		d := json.NewDecoder(bytes.NewReader(v))
		d.UseNumber()
		var x any
		if err := d.Decode(&x); err != nil {
			errs = append(errs, fmt.Errorf("%s is not a number", key))
			return nil
		}
		n, ok = x.(json.Number)
		if !ok {
			errs = append(errs, fmt.Errorf("%s is not a number", key))
			return nil
		}
		return &n
	}
	boolean := func(key string) *bool {
		v, ok := raw[key]
		if !ok || string(v) == "null" {
			return nil
		}
		var b bool
		if err := json.Unmarshal(v, &b); err != nil {
			errs = append(errs, fmt.Errorf("%s is not true or false", key))
			return nil
		}
		return &b
	}
	str("pluginName", &c.PluginName)
	str("preScriptLocation", &c.PreScriptLocation)
	str("postScriptLocation", &c.PostScriptLocation)
	list("preScriptParams", &c.PreScriptParams)
	list("postScriptParams", &c.PostScriptParams)
	for _, k := range []string{"preScriptNoOfRetries", "postScriptNoOfRetries"} {
		if n := num(k); n != nil {
			if _, ok := wholeNumber(*n); !ok {
				errs = append(errs, fmt.Errorf("%s is %s, not a whole number", k, clip(n.String(), 20)))
			}
		}
	}
	c.TimeoutInSeconds = num("timeoutInSeconds")
	c.PollSeconds = num("ScriptsExecutionPollTimeSeconds")
	c.ContinueBackupOnFailure = boolean("continueBackupOnFailure")
	c.FsFreezeEnabled = boolean("fsFreezeEnabled")
	return c, errors.Join(errs...)
}

// wholeNumber returns n as an integer when it is one (2, 2.0, 2e1).
func wholeNumber(n json.Number) (int64, bool) {
	if i, err := n.Int64(); err == nil {
		return i, true
	}
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// strictInteger reports whether n is written as an integer (no fraction, no
// exponent): ScriptsExecutionPollTimeSeconds "should be strictly an integer".
func strictInteger(n json.Number) (int64, bool) {
	i, err := n.Int64()
	return i, err == nil
}

// jsonErr renders a decoding error without quoting the file's content.
func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "the top level is a JSON " + te.Value + ", not an object"
	}
	return err.Error()
}

// scriptProblem is one finding of backup.scripts: the extension's error
// name and what is wrong.
type scriptProblem struct{ name, what string }

// backupScriptsProbe judges the app-consistent backup configuration: the
// JSON (owner root, mode 600), the pre/post scripts (absolute, present,
// regular, owner root, mode 700), the timeout and poll settings.
func backupScriptsProbe(_ context.Context, t *Target) Check {
	file := t.Root.Join(PathScriptPluginConfig)
	fi, err := t.Root.Stat(PathScriptPluginConfig)
	if errors.Is(err, fs.ErrNotExist) {
		return Check{Status: StatusPass, Message: "file-system consistent backups; no app-consistent scripts configured (" + file + " is absent)"}
	}
	if err != nil {
		return Check{Status: StatusFail, Message: fmt.Sprintf("%s: %s: %v", errIncorrectJSONConfig, file, err),
			Fix: "make " + PathScriptPluginConfig + " a readable regular file owned by root with mode 600, or remove it"}
	}
	var probs []scriptProblem
	if p := ownerModeProblem(fi, 0o600); p != "" {
		probs = append(probs, scriptProblem{errIncorrectJSONConfig, file + " " + p + " (want owner root, mode 600)"})
	}
	data, err := t.Root.ReadFile(PathScriptPluginConfig, fsroot.MaxSmallFile)
	if err != nil {
		probs = append(probs, scriptProblem{errIncorrectJSONConfig, fmt.Sprintf("%s: %v", file, err)})
		return scriptsVerdict(t, file, probs)
	}
	c, err := ParsePluginConfig(data)
	if err != nil {
		probs = append(probs, scriptProblem{errIncorrectJSONConfig, fmt.Sprintf("%s: %s", file, strings.ReplaceAll(err.Error(), "\n", "; "))})
		return scriptsVerdict(t, file, probs)
	}
	probs = append(probs, scriptFileProblems(t, "preScriptLocation", c.PreScriptLocation, errPreScriptNotFound, errPrePermission)...)
	probs = append(probs, scriptFileProblems(t, "postScriptLocation", c.PostScriptLocation, errPostScriptNotFound, errPostPermission)...)
	if n := c.TimeoutInSeconds; n != nil {
		if v, ok := wholeNumber(*n); !ok || v < 1 || v > maxScriptTimeoutSeconds {
			probs = append(probs, scriptProblem{errIncorrectJSONConfig,
				fmt.Sprintf("%s: timeoutInSeconds is %s, want a whole number from 1 to %d", file, clip(n.String(), 20), maxScriptTimeoutSeconds)})
		}
	}
	if n := c.PollSeconds; n != nil {
		if v, ok := strictInteger(*n); !ok || v < minPollSeconds || v > maxPollSecs {
			probs = append(probs, scriptProblem{errIncorrectJSONConfig,
				fmt.Sprintf("%s: ScriptsExecutionPollTimeSeconds is %s, want an integer from %d to %d", file, clip(n.String(), 20), minPollSeconds, maxPollSecs)})
		}
	}
	if len(probs) > 0 {
		return scriptsVerdict(t, file, probs)
	}
	msg := fmt.Sprintf("app-consistent backups: pre-script %s, post-script %s (%s)", c.PreScriptLocation, c.PostScriptLocation, file)
	if c.FsFreezeEnabled != nil && !*c.FsFreezeEnabled {
		msg += "; fsFreezeEnabled is false: the file systems are not frozen"
	}
	return Check{Status: StatusPass, Message: msg}
}

func scriptsVerdict(t *Target, file string, probs []scriptProblem) Check {
	parts := make([]string, len(probs))
	for i, p := range probs {
		parts[i] = p.name + ": " + p.what
	}
	return Check{Status: StatusFail,
		Message: "app-consistent scripts will not run: " + strings.Join(parts, "; "),
		Fix: "as root: " + t.Cmd("chown root:root "+PathScriptPluginConfig) + "; " + t.Cmd("chmod 600 "+PathScriptPluginConfig) +
			"; for each script: " + t.Cmd("chown root:root SCRIPT") + "; " + t.Cmd("chmod 700 SCRIPT") +
			"; keep timeoutInSeconds at most 1800 and ScriptsExecutionPollTimeSeconds an integer 1-5 (or remove " + file + " for file-system consistent backups)"}
}

// scriptFileProblems checks one script named in the configuration.
func scriptFileProblems(t *Target, key, loc, notFound, perm string) []scriptProblem {
	switch {
	case strings.TrimSpace(loc) == "":
		return []scriptProblem{{notFound, key + " is empty"}}
	case !strings.HasPrefix(loc, "/"):
		return []scriptProblem{{notFound, fmt.Sprintf("%s %q is not an absolute path", key, clip(loc, 120))}}
	}
	p := path.Clean(loc)
	host := t.Root.Join(p)
	fi, err := t.Root.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return []scriptProblem{{notFound, host + " does not exist"}}
	case err != nil:
		return []scriptProblem{{notFound, err.Error()}}
	case !fi.Mode().IsRegular():
		return []scriptProblem{{notFound, host + " is not a regular file (" + fsroot.Kind(fi.Mode()) + ")"}}
	}
	if pr := ownerModeProblem(fi, 0o700); pr != "" {
		return []scriptProblem{{perm, host + " " + pr + " (want owner root, mode 700)"}}
	}
	return nil
}

// ownerModeProblem says what is wrong with a file that must be owned by
// root with exactly mode want (no group or other bits); "" when nothing.
func ownerModeProblem(fi fs.FileInfo, want fs.FileMode) string {
	var bad []string
	if uid, ok := fileOwner(fi); !ok {
		bad = append(bad, "has an owner that cannot be read here")
	} else if uid != 0 {
		bad = append(bad, fmt.Sprintf("is owned by uid %d", uid))
	}
	if m := fi.Mode().Perm(); m != want {
		bad = append(bad, fmt.Sprintf("has mode %03o", m))
	}
	if fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 {
		bad = append(bad, "has setuid, setgid or sticky bits")
	}
	return strings.Join(bad, " and ")
}
