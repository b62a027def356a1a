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
		if near := nearestCheck(id); near != "" {
			w += fmt.Sprintf(" (did you mean %q?)", near)
		}
		out = append(out, w)
	}
	return out
}

// nearestCheck is the catalogue's ID closest to id by edit distance ("" when
// none is within half the length of id), the first one on a tie.
func nearestCheck(id string) agent.CheckID {
	var best agent.CheckID
	bestD := len(id)/2 + 1
	for _, d := range agent.Catalogue() {
		if n := levenshtein(id, string(d.ID)); n < bestD {
			best, bestD = d.ID, n
		}
	}
	return best
}

// levenshtein is the edit distance between a and b, in bytes (check IDs are
// ASCII).
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
