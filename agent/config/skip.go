package config

import (
	"fmt"

	"github.com/agentkeeper/agentkeeper/agent"
)

// skipWarnings warns about each ID in checks.skip that is not a check of
// the catalogue, naming the nearest real one.
func skipWarnings(ids []string) []string {
	var out []string
	for _, id := range ids {
		if _, ok := agent.Lookup(agent.CheckID(id)); ok {
			continue
		}
		w := fmt.Sprintf("checks.skip: %q is not a check, ignored", id)
		if near := agent.Nearest(id); near != "" {
			w += fmt.Sprintf(" (did you mean %q?)", near)
		}
		out = append(out, w)
	}
	return out
}
