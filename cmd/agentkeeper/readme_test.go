//go:build !windows

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/agentkeeper/agentkeeper/agent"
	"github.com/agentkeeper/agentkeeper/agent/config"
	"github.com/agentkeeper/agentkeeper/agent/daemon"
	"github.com/agentkeeper/agentkeeper/agent/ensure"
)

// The README test: every agentkeeper command and flag, check id, config
// key, metric and JSON field that README.md names in code spans exists —
// commands and flags in cobra's command tree, check ids in the catalogue,
// keys in agent/config, metrics (and their labels) in agent/daemon, JSON
// fields in the types that are printed (or, for summarize, in what the real
// binary prints), Ansible variables in packaging/ansible.

// readme returns README.md and its code spans (inline and fenced lines),
// each with the section (## heading) it is in.
func readme(t *testing.T) (string, []span) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b), codeSpans(string(b))
}

// span is one piece of code in the README.
type span struct {
	section, text string
}

var inlineCode = regexp.MustCompile("`([^`]+)`")

// codeSpans returns the inline code spans (whitespace, newlines included,
// folded to one space) and the lines of indented or fenced code blocks.
func codeSpans(md string) []span {
	var out []span
	section := ""
	fenced := false
	var para strings.Builder
	flush := func() {
		for _, m := range inlineCode.FindAllStringSubmatch(para.String(), -1) {
			out = append(out, span{section, strings.Join(strings.Fields(m[1]), " ")})
		}
		para.Reset()
	}
	for _, line := range strings.Split(md, "\n") {
		switch {
		case strings.HasPrefix(line, "```"):
			flush()
			fenced = !fenced
		case fenced || strings.HasPrefix(line, "    ") && !strings.HasPrefix(strings.TrimSpace(line), "-") && para.Len() == 0:
			out = append(out, span{section, strings.TrimSpace(line)})
		case strings.HasPrefix(line, "## "):
			flush()
			section = strings.TrimPrefix(line, "## ")
		case strings.TrimSpace(line) == "" || strings.HasPrefix(line, "|"):
			para.WriteString(line + "\n")
			flush()
		default:
			para.WriteString(line + "\n")
		}
	}
	flush()
	return out
}

// foreignFlags are flags README names that belong to other tools.
var foreignFlags = map[string]string{
	"--check":       "ansible-playbook",
	"--limit":       "ansible-playbook",
	"--installroot": "dnf",
	"--add-drivers": "dracut",
	"--root":        "zypper, rpm (and agentkeeper)",
}

// cmdTree is the command tree as the binary has it (help and completion
// are added by Execute).
func cmdTree() *cobra.Command {
	root := (&app{}).rootCommand()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	root.InitDefaultVersionFlag()
	return root
}

// hasFlag reports whether cmd takes --name (its own, inherited, or an old
// name that the normalisation maps to one of them).
func hasFlag(cmd *cobra.Command, name string) bool {
	name = strings.TrimPrefix(name, "--")
	if name == "help" {
		return true
	}
	return cmd.Flags().Lookup(name) != nil || cmd.InheritedFlags().Lookup(name) != nil
}

// flagTakesValue reports whether --name needs a value (not a bool flag).
func flagTakesValue(cmd *cobra.Command, name string) bool {
	name = strings.TrimPrefix(name, "--")
	f := cmd.Flags().Lookup(name)
	if f == nil {
		f = cmd.InheritedFlags().Lookup(name)
	}
	return f != nil && f.NoOptDefVal == ""
}

var flagRE = regexp.MustCompile(`--[a-z][a-z0-9-]*`)

// checkInvocation checks one `agentkeeper ...` span: the words up to the
// first argument name a command; each alternative of an argument like
// install|uninstall is one of the command's ValidArgs (when it has any);
// every --flag is the command's.
func checkInvocation(t *testing.T, root *cobra.Command, text string) {
	t.Helper()
	words := strings.Fields(strings.NewReplacer("[", " ", "]", " ", "\\|", "|", "...", "").Replace(text))
	cmd := root
	args := false
	skipValue := false
	for _, w := range words[1:] {
		if skipValue {
			skipValue = false
			continue
		}
		if strings.HasPrefix(w, "-") {
			for _, alt := range strings.Split(w, "|") {
				f := flagRE.FindString(alt)
				if f == "" {
					continue
				}
				if !hasFlag(cmd, f) {
					t.Errorf("`%s`: %q has no flag %s", text, cmd.CommandPath(), f)
					continue
				}
				// A flag that takes a value: the next word is its value.
				skipValue = !strings.Contains(alt, "=") && flagTakesValue(cmd, f)
			}
			continue
		}
		if !args {
			if sub, _, err := cmd.Find([]string{w}); err == nil && sub != cmd {
				cmd = sub
				continue
			}
		}
		args = true
		if len(cmd.ValidArgs) > 0 {
			for _, alt := range strings.Split(w, "|") {
				if !slices.Contains(cmd.ValidArgs, alt) {
					t.Errorf("`%s`: %q does not take %q (it takes %v)", text, cmd.CommandPath(), alt, cmd.ValidArgs)
				}
			}
		}
	}
	if cmd == root && len(words) > 1 && !strings.HasPrefix(words[1], "-") {
		t.Errorf("`%s`: no command %q", text, words[1])
	}
}

func allCommands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, s := range c.Commands() {
		out = append(out, allCommands(s)...)
	}
	return out
}

func TestReadmeCommandsAndFlags(t *testing.T) {
	_, spans := readme(t)
	root := cmdTree()
	invocations := 0
	for _, s := range spans {
		text := strings.TrimPrefix(s.text, "sudo ")
		// agentkeeper.exe on Windows is the same binary.
		if strings.HasPrefix(text, "agentkeeper.exe ") {
			text = "agentkeeper " + strings.TrimPrefix(text, "agentkeeper.exe ")
		}
		switch {
		case strings.HasPrefix(text, "agentkeeper "):
			invocations++
			checkInvocation(t, root, strings.TrimSpace(strings.SplitN(text, "#", 2)[0]))
		case strings.HasPrefix(text, "--"):
			f := flagRE.FindString(text)
			if _, ok := foreignFlags[f]; ok {
				continue
			}
			found := false
			for _, c := range allCommands(root) {
				found = found || hasFlag(c, f)
			}
			if !found {
				t.Errorf("README (%s) names the flag %s: no command has it", s.section, f)
			}
		}
	}
	if invocations < 10 {
		t.Fatalf("found only %d agentkeeper invocations in README: is the parser broken?", invocations)
	}
}

// A table row's first cell: `a`, `b` (the ids or keys it names).
var firstCell = regexp.MustCompile("(?m)^\\| ((?:`[^`]+`(?:, | or )?)+) \\|")

// firstCells returns the code spans in the first cells of the tables of
// the section named heading.
func firstCells(md, heading string) []string {
	i := strings.Index(md, "\n## "+heading+"\n")
	if i < 0 {
		return nil
	}
	sec := md[i+1:]
	if j := strings.Index(sec[3:], "\n## "); j >= 0 {
		sec = sec[:j+3]
	}
	var out []string
	for _, m := range firstCell.FindAllStringSubmatch(sec, -1) {
		for _, c := range inlineCode.FindAllStringSubmatch(m[1], -1) {
			out = append(out, c[1])
		}
	}
	return out
}

func TestReadmeCheckIDsAndConfigKeys(t *testing.T) {
	md, _ := readme(t)
	ids := firstCells(md, "What is checked")
	if len(ids) < 10 {
		t.Fatalf("only %d check ids found in README's table", len(ids))
	}
	for _, id := range ids {
		if _, ok := agent.Lookup(agent.CheckID(id)); !ok {
			t.Errorf("README names the check %q: not in the catalogue", id)
		}
	}
	keys := append(firstCells(md, "Configuration"), firstCells(md, "Service mode")...)
	n := 0
	for _, k := range keys {
		if !strings.Contains(k, ".") && k != "offline" {
			continue // the service mode's other tables: paths, metrics, commands
		}
		if strings.HasPrefix(k, "/") || strings.HasPrefix(k, "agentkeeper") {
			continue
		}
		n++
		if _, ok := config.Lookup(k); !ok {
			t.Errorf("README names the config key %q: agent/config does not declare it", k)
		}
	}
	if n < 10 {
		t.Fatalf("only %d config keys found in README's tables", n)
	}
}

var metricRE = regexp.MustCompile(`^(agentkeeper_[a-z_]+)(?:\{([a-z_,]+)\})?$`)
var descRE = regexp.MustCompile(`fqName: "([a-z_]+)".*variableLabels: \{([a-z_,]*)\}`)

func TestReadmeMetrics(t *testing.T) {
	md, _ := readme(t)
	have := map[string][]string{}
	m := daemon.NewMetrics()
	ch := make(chan *prometheus.Desc, 16)
	go func() { m.Registry.Describe(ch); close(ch) }()
	for d := range ch {
		if g := descRE.FindStringSubmatch(d.String()); g != nil {
			have[g[1]] = strings.Split(g[2], ",")
		}
	}
	names := firstCells(md, "Service mode")
	n := 0
	for _, c := range names {
		g := metricRE.FindStringSubmatch(c)
		if g == nil {
			continue
		}
		n++
		labels, ok := have[g[1]]
		if !ok {
			t.Errorf("README names the metric %s: agent/daemon has no such metric (has %v)", g[1], have)
			continue
		}
		if g[2] != "" && !slices.Equal(strings.Split(g[2], ","), labels) {
			t.Errorf("README: %s has labels {%s}, agent/daemon {%s}", g[1], g[2], strings.Join(labels, ","))
		}
	}
	if n < 5 {
		t.Fatalf("only %d metrics found in README", n)
	}
}

// Ansible variables and facts README names exist in packaging/ansible.
func TestReadmeAnsibleVariables(t *testing.T) {
	_, spans := readme(t)
	var all strings.Builder
	err := filepath.WalkDir(filepath.Join("..", "..", "packaging", "ansible"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		all.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	varRE := regexp.MustCompile(`^(agentkeeper_[a-z_]+)(=.*|/.*)?$`)
	n := 0
	for _, s := range spans {
		g := varRE.FindStringSubmatch(s.text)
		if g == nil || s.section != "Fleets and images: Ansible and Packer" {
			continue
		}
		n++
		if !strings.Contains(all.String(), g[1]) {
			t.Errorf("README names the Ansible variable %s: packaging/ansible does not use it", g[1])
		}
	}
	if n < 10 {
		t.Fatalf("only %d Ansible variables found in README", n)
	}
}

// jsonFields is the JSON shape of a Go type: field name → shape of its
// value; nil for a value with no fixed fields (a scalar, a map, raw JSON).
type jsonFields map[string]jsonFields

func shapeOf(t reflect.Type) jsonFields {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		if t == reflect.TypeOf(json.RawMessage{}) {
			return nil
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	out := jsonFields{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			for k, v := range shapeOf(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = shapeOf(f.Type)
	}
	return out
}

// shapeOfValue is the shape of decoded JSON (what a binary printed).
func shapeOfValue(v any) jsonFields {
	switch v := v.(type) {
	case map[string]any:
		out := jsonFields{}
		for k, x := range v {
			out[k] = shapeOfValue(x)
		}
		return out
	case []any:
		out := jsonFields{}
		for _, x := range v {
			for k, y := range shapeOfValue(x) {
				out[k] = y
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return nil
}

// parseFieldList reads README's field lists: {a, b: {c, d}, e: [{f}]}.
func parseFieldList(s string) (jsonFields, bool) {
	toks := regexp.MustCompile(`[a-z_]+|[{}\[\]:,]`).FindAllString(s, -1)
	pos := 0
	var obj func() (jsonFields, bool)
	obj = func() (jsonFields, bool) {
		if pos >= len(toks) || toks[pos] != "{" {
			return nil, false
		}
		pos++
		out := jsonFields{}
		for pos < len(toks) && toks[pos] != "}" {
			name := toks[pos]
			pos++
			out[name] = nil
			if pos < len(toks) && toks[pos] == ":" {
				pos++
				brackets := 0
				for pos < len(toks) && toks[pos] == "[" {
					brackets++
					pos++
				}
				sub, ok := obj()
				if !ok {
					return nil, false
				}
				out[name] = sub
				for ; brackets > 0 && pos < len(toks) && toks[pos] == "]"; brackets-- {
					pos++
				}
			}
			if pos < len(toks) && toks[pos] == "," {
				pos++
			}
		}
		pos++
		return out, true
	}
	f, ok := obj()
	return f, ok && pos == len(toks)
}

// missingFields returns the fields of want (paths) that have do not.
func missingFields(want, have jsonFields, prefix string) []string {
	var out []string
	for k, sub := range want {
		h, ok := have[k]
		if !ok {
			out = append(out, prefix+k)
			continue
		}
		if sub != nil {
			out = append(out, missingFields(sub, h, prefix+k+".")...)
		}
	}
	return out
}

func TestReadmeJSONFields(t *testing.T) {
	md, spans := readme(t)
	reportShape := shapeOf(reflect.TypeOf(agent.Report{}))
	ensureShape := shapeOf(reflect.TypeOf(ensure.Result{}))

	// summarize --json as the real binary prints it, with a host (from an
	// ensure report), an unreadable file and a version in it.
	dir := writeReports(t, map[string]string{
		"a.json":   `{"outcome":"deferred","report":{"ready":true,"hostname":"a","os":{"id":"debian","version":"12"},"agent":{"version":"2.7.3.0"},"checks":[]}}`,
		"bad.json": "{",
	})
	r := runBin(t, nil, "summarize", "--json", dir)
	var printed any
	if err := json.Unmarshal([]byte(r.stdout), &printed); err != nil {
		t.Fatalf("summarize --json: %v\n%s", err, r.stdout)
	}
	summaryShape := shapeOfValue(printed)

	// Every field list, by its first field.
	shapes := map[string]jsonFields{"plan": ensureShape, "backup": reportShape, "total": summaryShape,
		"commit": shapeOf(reflect.TypeOf(versionInfo{}))}
	seen := map[string]bool{}
	for _, s := range spans {
		text := s.text
		if regexp.MustCompile(`^[a-z_]+: \{`).MatchString(text) {
			text = "{" + text + "}"
		}
		if !strings.HasPrefix(text, "{") || strings.HasPrefix(text, `{"`) {
			continue
		}
		want, ok := parseFieldList(text)
		if !ok {
			continue
		}
		for first := range shapes {
			if _, has := want[first]; has {
				seen[first] = true
				if miss := missingFields(want, shapes[first], ""); len(miss) > 0 {
					t.Errorf("README `%s`: no such JSON field %v", s.text, miss)
				}
			}
		}
	}
	for first := range shapes {
		if !seen[first] {
			t.Errorf("README's field list starting with %q not found", first)
		}
	}

	// The example report, and the dotted fields its section names.
	i := strings.Index(md, "## The JSON report")
	j := strings.Index(md[i:], "```json\n")
	k := strings.Index(md[i+j+8:], "```")
	if i < 0 || j < 0 || k < 0 {
		t.Fatal("README has no JSON report example")
	}
	var example any
	if err := json.Unmarshal([]byte(md[i+j+8:i+j+8+k]), &example); err != nil {
		t.Fatalf("README's JSON report example does not parse: %v", err)
	}
	if miss := missingFields(shapeOfValue(example), reportShape, ""); len(miss) > 0 {
		t.Errorf("README's JSON report example has fields agent.Report does not: %v", miss)
	}
	dotted := regexp.MustCompile(`^[a-z_]+(\[\])?(\.[a-z_]+)+$`)
	n := 0
	for _, s := range spans {
		if s.section != "The JSON report (`check --json`)" || !dotted.MatchString(s.text) {
			continue
		}
		n++
		want := jsonFields{}
		cur := want
		for _, p := range strings.Split(strings.ReplaceAll(s.text, "[]", ""), ".") {
			cur[p] = jsonFields{}
			cur = cur[p]
		}
		if miss := missingFields(want, reportShape, ""); len(miss) > 0 {
			t.Errorf("README names %s: agent.Report has no %v", s.text, miss)
		}
	}
	if n < 5 {
		t.Errorf("only %d dotted JSON fields found in README's JSON report section", n)
	}
}

// TestReadmeEnvironment: every AGENTKEEPER_* variable README names sets a
// config key (config.Key.Env), is the config file's, or is read by the
// build and test scripts or the Packer provisioning.
func TestReadmeEnvironment(t *testing.T) {
	_, spans := readme(t)
	env := map[string]bool{"AGENTKEEPER_CONFIG": true}
	for _, k := range config.Keys {
		env[k.Env()] = true
	}
	var scripts strings.Builder
	for _, dir := range []string{"scripts", "e2e", "packaging"} {
		_ = filepath.WalkDir(filepath.Join("..", "..", dir), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".sh") || strings.HasSuffix(p, ".go") || strings.HasSuffix(p, ".ps1")) {
				b, _ := os.ReadFile(p)
				scripts.Write(b)
			}
			return nil
		})
	}
	mk, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	scripts.Write(mk)
	re := regexp.MustCompile(`^AGENTKEEPER_[A-Z0-9_]+$`)
	n := 0
	for _, s := range spans {
		if !re.MatchString(s.text) {
			continue
		}
		n++
		if !env[s.text] && !strings.Contains(scripts.String(), s.text) {
			t.Errorf("README names %s: no config key, script or test reads it", s.text)
		}
	}
	if n < 5 {
		t.Fatalf("only %d AGENTKEEPER_* variables found in README", n)
	}
}

// TestReadmeMakeTargets: every `make TARGET...` README names is a rule of
// the Makefile.
func TestReadmeMakeTargets(t *testing.T) {
	_, spans := readme(t)
	mk, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([a-z][a-z0-9-]*):`).FindAllStringSubmatch(string(mk), -1) {
		rules[m[1]] = true
	}
	n := 0
	for _, s := range spans {
		words := strings.Fields(strings.SplitN(s.text, "#", 2)[0])
		if len(words) < 2 || words[0] != "make" {
			continue
		}
		for _, w := range words[1:] {
			if strings.Contains(w, "=") || strings.HasPrefix(w, "-") {
				continue
			}
			n++
			if !rules[w] {
				t.Errorf("README `%s`: the Makefile has no target %q", s.text, w)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d make targets found in README", n)
	}
}
