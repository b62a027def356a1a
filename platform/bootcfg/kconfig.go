package bootcfg

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// maxKconfig caps a kernel .config (Debian's is about 260 KB).
const maxKconfig = 4 << 20

// ParseKconfig reads a kernel build configuration: "CONFIG_X=y|m|value"
// lines; "# CONFIG_X is not set" is recorded as "n".
func ParseKconfig(data []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 64<<10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "# CONFIG_") && strings.HasSuffix(line, " is not set") {
			out[strings.TrimSuffix(line[2:], " is not set")] = "n"
			continue
		}
		if !strings.HasPrefix(line, "CONFIG_") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = strings.Trim(v, `"`)
		}
	}
	return out
}

// KernelConfig reads the build configuration of kernel ver from
// /boot/config-<ver> (or lib/modules/<ver>/config, where Fedora and Arch
// also keep it). It returns the path read, or fs.ErrNotExist (wrapped)
// when there is none.
func KernelConfig(root fsroot.Root, ver string) (map[string]string, string, error) {
	var firstErr error
	for _, p := range []string{"/boot/config-" + ver, "/usr/lib/modules/" + ver + "/config", "/lib/modules/" + ver + "/config"} {
		data, err := root.ReadFile(p, maxKconfig)
		if err == nil {
			return ParseKconfig(data), p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, "", firstErr
	}
	return nil, "", fs.ErrNotExist
}

// BuiltinModules reads lib/modules/<ver>/modules.builtin: the modules
// compiled into kernel ver, by name ("hv_vmbus"). It returns the path read.
func BuiltinModules(root fsroot.Root, ver string) (map[string]bool, string, error) {
	var lastErr error = fs.ErrNotExist
	for _, p := range []string{"/usr/lib/modules/" + ver + "/modules.builtin", "/lib/modules/" + ver + "/modules.builtin"} {
		data, err := root.ReadFile(p, maxKconfig)
		if err != nil {
			lastErr = err
			continue
		}
		out := map[string]bool{}
		for _, line := range strings.Split(string(data), "\n") {
			base := line[strings.LastIndexByte(line, '/')+1:]
			if name, ok := strings.CutSuffix(strings.TrimSpace(base), ".ko"); ok && name != "" {
				out[strings.ReplaceAll(name, "-", "_")] = true
			}
		}
		return out, p, nil
	}
	return nil, "", lastErr
}
