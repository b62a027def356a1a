package initramfs

import (
	"bufio"
	"compress/bzip2"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// newDecoder returns a reader of the decompressed stream of format c that
// starts at br's position, and a function that releases it.
func newDecoder(c Compression, br *bufio.Reader, lim Limits) (io.Reader, func(), error) {
	nop := func() {}
	switch c {
	case Gzip:
		// br is an io.ByteReader, so the inflater reads exactly up to the
		// member's end and the next segment can be found after it.
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nop, decodeErr(err)
		}
		zr.Multistream(false)
		return zr, func() { zr.Close() }, nil
	case Zstd:
		zr, err := zstd.NewReader(br,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(uint64(lim.MaxWindow)),
			zstd.WithDecoderMaxMemory(uint64(lim.MaxUnpacked)))
		if err != nil {
			return nil, nop, decodeErr(err)
		}
		return zr, zr.Close, nil
	case XZ:
		if err := checkXZDict(br, lim.MaxWindow); err != nil {
			return nil, nop, err
		}
		// DictCap is a floor for the xz reader: the smallest one, so the
		// dictionary is what the stream asks for (checked above).
		zr, err := xz.ReaderConfig{DictCap: lzma.MinDictCap}.NewReader(br)
		if err != nil {
			return nil, nop, decodeErr(err)
		}
		return zr, nop, nil
	case LZMA:
		// For .lzma DictCap is a ceiling: a larger header is refused.
		zr, err := lzma.ReaderConfig{DictCap: int(lim.MaxWindow)}.NewReader(br)
		if err != nil {
			return nil, nop, decodeErr(err)
		}
		return zr, nop, nil
	case LZ4:
		// The kernel's lz4 is the legacy frame (lz4 -l), which this reader
		// recognises by its magic like the current frame format.
		return lz4.NewReader(br), nop, nil
	case Bzip2:
		return bzip2.NewReader(br), nop, nil
	}
	return nil, nop, fmt.Errorf("%w: no decoder for %s", ErrFormat, c)
}

// checkXZDict reads the LZMA2 dictionary size from the stream's first
// block header and refuses one above max before any decoder allocates it.
func checkXZDict(br *bufio.Reader, max int64) error {
	b, _ := br.Peek(12 + 1024)
	dict, err := xzDictSize(b)
	if err != nil {
		return err
	}
	if dict > max {
		return fmt.Errorf("%w: xz dictionary of %d bytes (limit %d)", ErrTooLarge, dict, max)
	}
	return nil
}

// xzDictSize parses the LZMA2 dictionary size from an xz stream header
// and its first block header (xz file format 1.1, sections 2.1 and 3.1).
func xzDictSize(b []byte) (int64, error) {
	const streamHeader = 12
	if len(b) < streamHeader+2 {
		return 0, fmt.Errorf("%w: xz stream truncated", ErrFormat)
	}
	if b[streamHeader] == 0 {
		// An index indicator instead of a block: an empty stream.
		return 0, nil
	}
	size := (int(b[streamHeader]) + 1) * 4
	if len(b) < streamHeader+size {
		return 0, fmt.Errorf("%w: xz block header truncated", ErrFormat)
	}
	h := b[streamHeader+1 : streamHeader+size]
	flags := h[0]
	h = h[1:]
	filters := int(flags&0x03) + 1
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(h)
		if n <= 0 {
			return 0, false
		}
		h = h[n:]
		return v, true
	}
	if flags&0x40 != 0 {
		if _, ok := next(); !ok {
			return 0, fmt.Errorf("%w: bad xz block header", ErrFormat)
		}
	}
	if flags&0x80 != 0 {
		if _, ok := next(); !ok {
			return 0, fmt.Errorf("%w: bad xz block header", ErrFormat)
		}
	}
	for i := 0; i < filters; i++ {
		id, ok1 := next()
		psize, ok2 := next()
		if !ok1 || !ok2 || psize > uint64(len(h)) {
			return 0, fmt.Errorf("%w: bad xz filter flags", ErrFormat)
		}
		props := h[:psize]
		h = h[psize:]
		if id != 0x21 {
			continue
		}
		if len(props) != 1 || props[0]&0x3f > 40 {
			return 0, fmt.Errorf("%w: bad xz LZMA2 properties", ErrFormat)
		}
		bits := uint(props[0] & 0x3f)
		if bits == 40 {
			return 1<<32 - 1, nil
		}
		return int64(2|bits&1) << (bits/2 + 11), nil
	}
	return 0, fmt.Errorf("%w: xz block without an LZMA2 filter", ErrFormat)
}
