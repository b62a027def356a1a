package privdir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestEnsureCreatesAndAccepts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "agentkeeper")
	if err := Ensure(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() {
		t.Fatalf("%s: %v %v", dir, fi, err)
	}
	checkPrivate(t, dir)
	// Again: an existing private directory is accepted as it is.
	if err := Ensure(dir); err != nil {
		t.Errorf("second Ensure: %v", err)
	}
	if err := Ensure(filepath.Join(t.TempDir(), "no", "parent")); err == nil || errors.Is(err, ErrUnsafe) {
		t.Errorf("missing parent: %v, want a create error", err)
	}
}

func TestEnsureRefusesAFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "agentkeeper")
	os.WriteFile(p, []byte("x"), 0o600)
	if err := Ensure(p); !errors.Is(err, ErrUnsafe) {
		t.Errorf("a file: %v, want ErrUnsafe", err)
	}
}

func TestCreateNew(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.unverified")
	f, err := CreateNew(p)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("data")
	f.Close()
	if _, err := CreateNew(p); !errors.Is(err, os.ErrExist) {
		t.Errorf("CreateNew over an existing file: %v, want ErrExist", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "data" {
		t.Errorf("the existing file was changed: %q", b)
	}
}
