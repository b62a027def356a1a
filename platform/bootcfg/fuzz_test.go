package bootcfg

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzParseGrubCfg(f *testing.F) {
	for _, n := range []string{"debian12.grub.cfg", "rhel9.grub.cfg"} {
		if b, err := os.ReadFile(filepath.Join("testdata", n)); err == nil {
			f.Add(b, "1>2")
		}
	}
	f.Add([]byte("menuentry 'a' {\n}\n}\n}\nsubmenu {\nmenuentry\n"), "a>b")
	f.Add([]byte("linux\ninitrd\nset\nset default=\n'\"\\"), ">")
	f.Fuzz(func(t *testing.T, data []byte, def string) {
		m := ParseGrubCfg(data)
		m.Find(def)
		ParseGrubEnv(data)
		ParseBLS(data)
		ParseKconfig(data)
		ParseShellVars(data, map[string]string{})
	})
}
