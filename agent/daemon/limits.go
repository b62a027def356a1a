package daemon

import (
	"strings"
	"syscall"

	"github.com/agentkeeper/agentkeeper/agent"
)

// ownLimitTexts are how errors read when the process ran out of its own
// descriptors (EMFILE) or the system out of file table entries (ENFILE).
// Checks carry their errors as text, so the text is what is looked for.
var ownLimitTexts = []string{syscall.EMFILE.Error(), syscall.ENFILE.Error(), "too many open files"}

// OwnLimit returns the first of texts that says agentkeeper hit a limit
// of its own (too many open files), or "". Such a failure says nothing
// about the machine's readiness: it is an internal error.
func OwnLimit(texts ...string) string {
	for _, t := range texts {
		lt := strings.ToLower(t)
		for _, p := range ownLimitTexts {
			if strings.Contains(lt, strings.ToLower(p)) {
				return t
			}
		}
	}
	return ""
}

// reportTexts are the messages of every check and the backup section's
// evidence and notes.
func reportTexts(rep *agent.Report) []string {
	var ts []string
	for _, c := range rep.Checks {
		ts = append(ts, c.Message)
	}
	for _, e := range rep.Backup.Evidence {
		ts = append(ts, e.What)
	}
	return append(ts, rep.Backup.Notes...)
}
