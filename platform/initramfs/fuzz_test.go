package initramfs

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// fuzzLimits keep every input cheap: a mutated length or dictionary size
// must end in an error, not in gigabytes of work.
var fuzzLimits = Limits{MaxUnpacked: 4 << 20, MaxWindow: 8 << 20}

// seeds are images of one encoding: whole, truncated, with garbage after
// them, with a 4 GiB length field, and behind an early archive.
func seeds(f *testing.F, c Compression) {
	img := compress(f, c, hvImage(f))
	f.Add(img)
	f.Add(img[:len(img)/2])
	f.Add(append(append([]byte(nil), img...), "\x00\x00\x00\x00garbage"...))
	f.Add(append(microcode(f), img...))
	huge := hvImage(f)
	copy(huge[54:62], "FFFFFFFF")
	f.Add(compress(f, c, huge))
}

// walkAll checks what must hold for any input: no panic, bounded work,
// and every error is one of the package's own.
func walkAll(t *testing.T, data []byte) {
	sum, err := Walk(bytes.NewReader(data), fuzzLimits, func(h Header, body io.Reader) (bool, error) {
		if _, err := io.Copy(io.Discard, body); err != nil {
			return false, err
		}
		return false, nil
	})
	if err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error of no known kind: %v", err)
	}
	if sum.Unpacked > fuzzLimits.MaxUnpacked {
		t.Fatalf("unpacked %d bytes, limit %d", sum.Unpacked, fuzzLimits.MaxUnpacked)
	}
	if _, err := FindModules(bytes.NewReader(data), fuzzLimits, kver, hv); err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrTooLarge) {
		t.Fatalf("FindModules: error of no known kind: %v", err)
	}
}

func FuzzWalkCpio(f *testing.F) {
	seeds(f, None)
	f.Add([]byte("070701"))
	f.Add([]byte("07070100000001"))
	f.Fuzz(walkAll)
}

func FuzzWalkGzip(f *testing.F)  { seeds(f, Gzip); f.Fuzz(walkAll) }
func FuzzWalkZstd(f *testing.F)  { seeds(f, Zstd); f.Fuzz(walkAll) }
func FuzzWalkXZ(f *testing.F)    { seeds(f, XZ); f.Fuzz(walkAll) }
func FuzzWalkLZMA(f *testing.F)  { seeds(f, LZMA); f.Fuzz(walkAll) }
func FuzzWalkLZ4(f *testing.F)   { seeds(f, LZ4); f.Fuzz(walkAll) }
func FuzzWalkBzip2(f *testing.F) { seeds(f, Bzip2); f.Fuzz(walkAll) }
