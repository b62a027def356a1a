package run

import (
	"context"
	"sync"
)

// Fake is a Runner for tests: it records every command and answers with
// whatever Respond returns (a zero Result when Respond is nil).
type Fake struct {
	Respond func(c Cmd) (Result, error)

	mu   sync.Mutex
	cmds []Cmd
}

// Run implements Runner.
func (f *Fake) Run(ctx context.Context, c Cmd) (Result, error) {
	f.mu.Lock()
	f.cmds = append(f.cmds, c)
	f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if f.Respond == nil {
		return Result{}, nil
	}
	return f.Respond(c)
}

// Commands returns the commands run so far, in order.
func (f *Fake) Commands() []Cmd {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Cmd(nil), f.cmds...)
}
