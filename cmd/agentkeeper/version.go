package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// versionInfo is what `agentkeeper version --json` prints.
type versionInfo struct {
	// Version is -X main.version from the build (make, the packages), else
	// the module version Go stamped into the binary (a pseudo-version made
	// from the commit for a plain `go build` in a git checkout), else "dev".
	Version string `json:"version"`
	// Commit, CommitTime and Modified come from the build's VCS stamp
	// (null and false when the build had none: -buildvcs=false, no git).
	Commit     *string `json:"commit"`
	CommitTime *string `json:"commit_time"`
	Modified   bool    `json:"modified"`
	Go         string  `json:"go"`
	OS         string  `json:"os"`
	Arch       string  `json:"arch"`
}

// buildVersion resolves the version from the ldflags value (ldVersion,
// "dev" when unset) and the build info Go embeds (bi nil when there is
// none). Pure: tested with fixed build infos.
func buildVersion(ldVersion string, bi *debug.BuildInfo) versionInfo {
	v := versionInfo{Version: ldVersion, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if bi == nil {
		return v
	}
	if bi.GoVersion != "" {
		v.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			c := s.Value
			v.Commit = &c
		case "vcs.time":
			t := s.Value
			v.CommitTime = &t
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	if v.Version == "dev" || v.Version == "" {
		switch mv := bi.Main.Version; {
		case mv != "" && mv != "(devel)":
			v.Version = mv
		case v.Commit != nil:
			c := *v.Commit
			if len(c) > 12 {
				c = c[:12]
			}
			v.Version = "dev-" + c
			if v.Modified {
				v.Version += "-dirty"
			}
		default:
			v.Version = "dev"
		}
	}
	return v
}

// appVersion is this binary's version, resolved once.
func appVersion() versionInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return buildVersion(version, bi)
}

func (a *app) versionCommand() *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print agentkeeper's version (--json: with the commit and Go version)",
		Long: `version prints agentkeeper's version: the one set by the build (make, the packages),
or, for a plain "go build" in a git checkout, the module version Go derives from the
commit. --json adds the commit, its time, whether the tree was modified, the Go
version and the platform.`,
		Example: `  agentkeeper version
  agentkeeper --version
  agentkeeper version --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := appVersion()
			out := cmd.OutOrStdout()
			if !jsonOut {
				_, err := fmt.Fprintln(out, "agentkeeper", v.Version)
				return err
			}
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			return enc.Encode(v)
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print one JSON object: version, commit, commit_time, modified, go, os, arch")
	return cmd
}
