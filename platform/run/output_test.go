package run

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestLineWriter(t *testing.T) {
	long := strings.Repeat("x", maxLine+10)
	tests := []struct {
		desc   string
		chunks []string
		want   []string
	}{
		{desc: "whole lines", chunks: []string{"a\nb\n"}, want: []string{"a", "b"}},
		{desc: "a line split over writes", chunks: []string{"Read", "ing package lists", "...\nDone\n"}, want: []string{"Reading package lists...", "Done"}},
		{desc: "last line without a newline", chunks: []string{"a\nb"}, want: []string{"a", "b"}},
		{desc: "CRLF and progress bars (CR)", chunks: []string{"a\r\n 10%\r 50%\r100%\n"}, want: []string{"a", " 10%", " 50%", "100%"}},
		{desc: "blank lines and trailing blanks dropped", chunks: []string{"\n\n  \nx  \n"}, want: []string{"x"}},
		{desc: "a line longer than maxLine is cut", chunks: []string{long + "\nnext\n"}, want: []string{long[:maxLine], "next"}},
		{desc: "nothing", chunks: nil, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var got []string
			w := &lineWriter{line: func(s string) { got = append(got, s) }}
			for _, c := range tc.chunks {
				if n, err := w.Write([]byte(c)); n != len(c) || err != nil {
					t.Fatalf("Write: %d, %v", n, err)
				}
			}
			w.Flush()
			if !slices.Equal(got, tc.want) {
				t.Errorf("lines %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWithOutputFake(t *testing.T) {
	f := &Fake{Respond: func(Cmd) (Result, error) {
		return Result{Stdout: []byte("one\ntwo"), Stderr: []byte("E: three\n")}, nil
	}}
	var got []string
	if _, err := WithOutput(f, func(s string) { got = append(got, s) }).Run(context.Background(), Cmd{Argv: []string{"apt-get"}}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"one", "two", "E: three"}; !slices.Equal(got, want) {
		t.Errorf("lines %q, want %q", got, want)
	}
	if len(f.Commands()) != 1 {
		t.Errorf("commands %v", f.Commands())
	}
}

func FuzzLineWriter(f *testing.F) {
	f.Add([]byte("a\nb\r\nc"), uint8(3))
	f.Add([]byte("\r\r\n\n"), uint8(1))
	f.Add([]byte(strings.Repeat("y", maxLine+1)), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, cut uint8) {
		var got []string
		w := &lineWriter{line: func(s string) { got = append(got, s) }}
		k := int(cut)%8 + 1
		for i := 0; i < len(data); i += k {
			_, _ = w.Write(data[i:min(i+k, len(data))])
		}
		w.Flush()
		var want []string
		for _, l := range strings.FieldsFunc(string(data), func(r rune) bool { return r == '\n' || r == '\r' }) {
			if len(l) > maxLine {
				l = l[:maxLine]
			}
			if l = strings.TrimRight(l, " \t"); l != "" {
				want = append(want, l)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("lines %q, want %q", got, want)
		}
	})
}
