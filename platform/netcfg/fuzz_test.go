package netcfg

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzParsers(f *testing.F) {
	ents, _ := os.ReadDir("testdata")
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join("testdata", e.Name())); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("network:\n  ethernets:\n    eth0: [1]\n  bonds: 3\n"))
	f.Add([]byte("iface\niface eth0 inet\naddress\nsource\n\\\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if d, err := ParseNetplan(data); err == nil {
			NetplanIfaces([]map[string]any{d, d}, []string{"a", "b"})
		}
		ParseInterfaces(data)
		ParseNMKeyfile(data)
		ParseIfcfg(data, "eth0")
		ParseNetworkd(data)
		ParsePersistentNet(data)
	})
}
