package initramfs

import (
	"bytes"
	"io"
	"testing"
)

// Zero padding after a compressed stream is what some tools write and the
// kernel skips: it is not an error, but the reader says it did not read it.
func TestPaddingAfterCompressed(t *testing.T) {
	for _, c := range allCompressions {
		t.Run(string(c), func(t *testing.T) {
			img := append(compress(t, c, mkcpio(t, file{name: "usr/lib/modules/x/hv_vmbus.ko", data: "x"})), make([]byte, 509)...)
			m, err := FindModules(bytes.NewReader(img), Limits{}, "", hv)
			if err != nil {
				t.Fatal(err)
			}
			if !m.Has("hv_vmbus") || m.Summary.Entries != 1 {
				t.Errorf("%+v", m)
			}
			if want := c != None && c != Gzip; m.Summary.Rest != want {
				t.Errorf("Rest = %v (%s), want %v", m.Summary.Rest, m.Summary.RestErr, want)
			}
		})
	}
}

func TestGarbageInsideCompressedStream(t *testing.T) {
	// Not after a whole archive: an error, whatever the decoder.
	img := compress(t, Zstd, append(mkcpio(t, file{name: "a", data: "x"})[:100], "\x01junk"...))
	_, err := Walk(bytes.NewReader(img), Limits{}, func(Header, io.Reader) (bool, error) { return false, nil })
	if err == nil {
		t.Fatal("no error")
	}
}
