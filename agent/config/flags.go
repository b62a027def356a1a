package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// AddFlags defines on fs the flags of the named keys (their Key.Flag), with
// help derived from the declaration. A Loader given fs lets a flag that was
// set beat every other layer. It panics on a key that is not declared or
// has no flag: that is a programming error.
func AddFlags(fs *pflag.FlagSet, names ...string) {
	for _, name := range names {
		k, ok := Lookup(name)
		if !ok || k.Flag == "" {
			panic(fmt.Sprintf("config.AddFlags: key %q has no flag", name))
		}
		doc := k.Doc
		if k.Min > 0 {
			doc += ", at least " + shortDuration(k.Min)
		}
		usage := fmt.Sprintf("%s (config %s, default %s)", doc, k.Name, defaultShown(k))
		switch k.Type() {
		case TypeBool:
			fs.Bool(k.Flag, false, usage)
		case TypeList:
			fs.Var(&listValue{name: k.metavar()}, k.Flag, usage+"; repeatable")
		default:
			fs.Var(&stringValue{name: k.metavar()}, k.Flag, usage)
		}
	}
}

// NormalizeFlag maps a key's old flag names (Key.FlagAliases: --offline) to
// its flag (--no-network); install it with the command's
// SetGlobalNormalizationFunc.
func NormalizeFlag(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	for _, k := range Keys {
		if slices.Contains(k.FlagAliases, name) {
			return pflag.NormalizedName(k.Flag)
		}
	}
	return pflag.NormalizedName(name)
}

func defaultShown(k Key) string {
	switch {
	case k.DocDefault != "":
		return k.DocDefault
	case k.Default == "":
		return `""`
	}
	return k.Default
}

// stringValue is a flag's text, checked later by Load with the rest of the
// configuration; name is the value's name in --help (VERSION, DURATION).
type stringValue struct {
	s, name string
}

func (v *stringValue) String() string     { return v.s }
func (v *stringValue) Set(s string) error { v.s = s; return nil }
func (v *stringValue) Type() string       { return v.name }

// listValue collects a repeatable flag's values.
type listValue struct {
	items []string
	name  string
}

func (v *listValue) String() string        { return strings.Join(v.items, ",") }
func (v *listValue) Set(s string) error    { v.items = append(v.items, s); return nil }
func (v *listValue) Type() string          { return v.name }
func (v *listValue) GetSlice() []string    { return append([]string(nil), v.items...) }
func (v *listValue) Append(s string) error { return v.Set(s) }
func (v *listValue) Replace(items []string) error {
	v.items = append([]string(nil), items...)
	return nil
}

var _ pflag.SliceValue = (*listValue)(nil)
