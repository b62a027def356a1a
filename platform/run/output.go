package run

import (
	"bytes"
	"context"
	"strings"
	"sync"
)

// WithOutput returns a Runner that also hands every line a command prints
// (stdout and stderr, in the order they come) to line, for progress that a
// person watches: Exec passes each line on as soon as it is complete; any
// other Runner (a fake) has its output's lines passed on after the command
// ends. line is called from one goroutine at a time. A nil line returns r.
func WithOutput(r Runner, line func(string)) Runner {
	if line == nil {
		return r
	}
	var mu sync.Mutex
	safe := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		line(s)
	}
	if e, ok := r.(Exec); ok {
		e.Output = safe
		return e
	}
	return afterOutput{r, safe}
}

// afterOutput passes a finished command's output on, line by line.
type afterOutput struct {
	r    Runner
	line func(string)
}

func (a afterOutput) Run(ctx context.Context, c Cmd) (Result, error) {
	res, err := a.r.Run(ctx, c)
	for _, b := range [][]byte{res.Stdout, res.Stderr} {
		w := &lineWriter{line: a.line}
		_, _ = w.Write(b)
		w.Flush()
	}
	return res, err
}

// maxLine caps one passed-on line; the rest of a longer line is dropped.
const maxLine = 4096

// lineWriter splits what is written into lines (without the newline; a
// carriage return ends a line too, as progress bars use it) and passes each
// non-empty one to line.
type lineWriter struct {
	line func(string)
	buf  []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexAny(p, "\r\n")
		if i < 0 {
			if room := maxLine - len(w.buf); room > 0 {
				w.buf = append(w.buf, p[:min(room, len(p))]...)
			}
			break
		}
		if room := maxLine - len(w.buf); room > 0 {
			w.buf = append(w.buf, p[:min(room, i)]...)
		}
		w.Flush()
		p = p[i+1:]
	}
	return n, nil
}

// Flush passes on a last line that had no newline.
func (w *lineWriter) Flush() {
	if s := strings.TrimRight(string(w.buf), " \t"); s != "" {
		w.line(s)
	}
	w.buf = w.buf[:0]
}
