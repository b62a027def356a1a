// Package initramfs reads Linux initramfs images as the kernel unpacks them:
// one or more concatenated cpio (newc) archives, each stored plain (early
// microcode, usually first) or compressed with gzip, zstd, xz, lzma, lz4 or
// bzip2, separated by zero padding. It streams: file contents are skipped,
// never held, a walk can stop as soon as the caller has what it wants, and
// the unpacked size and every decoder's window are capped.
package initramfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/cavaliergopher/cpio"
	"github.com/klauspost/compress/zstd"
)

// Compression names how one segment of an image is stored.
type Compression string

// The segment encodings the kernel knows (lib/decompress.c). LZO is
// recognised but cannot be read here.
const (
	None  Compression = "none"
	Gzip  Compression = "gzip"
	Zstd  Compression = "zstd"
	XZ    Compression = "xz"
	LZMA  Compression = "lzma"
	LZ4   Compression = "lz4"
	Bzip2 Compression = "bzip2"
	LZO   Compression = "lzo"
)

// Limits bound the work of one walk.
type Limits struct {
	// MaxUnpacked is the most unpacked bytes (cpio headers and contents of
	// every segment together) read before the walk gives up with
	// ErrTooLarge. Zero means DefaultMaxUnpacked.
	MaxUnpacked int64
	// MaxWindow caps the history a decoder may allocate (zstd window, xz
	// and lzma dictionary). Zero means DefaultMaxWindow.
	MaxWindow int64
}

// DefaultMaxUnpacked is four times the largest initramfs a stock
// distribution kernel makes (about 128 MB unpacked for Debian's MODULES=most).
const DefaultMaxUnpacked = 1 << 30

// DefaultMaxWindow is the largest decoder window accepted: 64 MiB is xz -9's
// dictionary and far above what mkinitramfs, dracut or mkinitrd use (zstd
// -19 needs 8 MiB, xz -6 8 MiB).
const DefaultMaxWindow = 64 << 20

func (l Limits) fill() Limits {
	if l.MaxUnpacked <= 0 {
		l.MaxUnpacked = DefaultMaxUnpacked
	}
	if l.MaxWindow <= 0 {
		l.MaxWindow = DefaultMaxWindow
	}
	return l
}

// ErrTooLarge is returned (wrapped) when an image unpacks to more than
// Limits.MaxUnpacked or asks for a decoder window above Limits.MaxWindow.
var ErrTooLarge = errors.New("initramfs too large")

// ErrFormat is returned (wrapped) when the data is not an initramfs: an
// unknown magic, a broken cpio header, a truncated archive.
var ErrFormat = errors.New("not a readable initramfs")

// Header is one archive entry as Walk hands it to the visitor.
type Header struct {
	// Name is the path inside the image, without a leading "./" or "/".
	Name string
	// Mode holds the cpio type and permission bits.
	Mode cpio.FileMode
	// Size is the content's length in bytes (0 for directories and links).
	Size int64
	// Linkname is a symbolic link's target.
	Linkname string
	// Segment is the index of the segment (0 first) the entry came from.
	Segment int
}

// Regular reports whether the entry is a regular file.
func (h Header) Regular() bool { return h.Mode&^cpio.ModePerm == cpio.TypeReg }

// Segment describes one concatenated part of an image.
type Segment struct {
	// Offset is where the segment starts in the image file.
	Offset int64 `json:"offset"`
	// Compression is how it is stored.
	Compression Compression `json:"compression"`
	// Entries is how many cpio entries were read from it.
	Entries int `json:"entries"`
}

// Summary says what a walk read.
type Summary struct {
	Segments []Segment
	// Entries is the number of entries read in all segments.
	Entries int
	// Unpacked is the number of unpacked bytes read.
	Unpacked int64
	// Stopped is true when the visitor ended the walk early.
	Stopped bool
	// Rest is true when data followed a compressed segment whose decoder
	// does not say where it ended (every format but gzip); the kernel
	// would go on unpacking it (or skip it as padding), this reader does
	// not. Distributions put their compressed archive last.
	Rest bool
	// RestErr is the decoder's complaint about that data, when it had one.
	RestErr string
}

// Visitor is called for every entry in order. body reads the entry's
// contents (it may be left unread); returning stop=true ends the walk
// without error.
type Visitor func(h Header, body io.Reader) (stop bool, err error)

// errStop is how a visitor's stop travels up through the segment loops.
var errStop = errors.New("stop")

// Walk reads the image from r segment by segment and calls fn for every
// entry. It returns what it read and, on bad or oversized input, an error
// wrapping ErrFormat or ErrTooLarge (the summary then covers what was read
// before it).
func Walk(r io.Reader, lim Limits, fn Visitor) (Summary, error) {
	w := walker{lim: lim.fill(), fn: fn}
	w.src = &countReader{r: r}
	w.br = bufio.NewReaderSize(w.src, 64<<10)
	err := w.run()
	if errors.Is(err, errStop) {
		w.sum.Stopped = true
		err = nil
	}
	return w.sum, err
}

type walker struct {
	lim Limits
	fn  Visitor
	src *countReader
	br  *bufio.Reader
	sum Summary
}

// offset is the position in the image of the next unread byte of br.
func (w *walker) offset() int64 { return w.src.n - int64(w.br.Buffered()) }

func (w *walker) run() error {
	for {
		if err := skipZeros(w.br); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("read padding at offset %d: %w", w.offset(), err)
		}
		off := w.offset()
		magic, err := w.br.Peek(6)
		if err != nil && len(magic) == 0 {
			return fmt.Errorf("read at offset %d: %w", off, err)
		}
		c := detect(magic)
		if c == "" {
			return fmt.Errorf("%w: unknown data at offset %d (starts % x)", ErrFormat, off, magic)
		}
		seg := len(w.sum.Segments)
		w.sum.Segments = append(w.sum.Segments, Segment{Offset: off, Compression: c})
		if c == None {
			// A plain archive: read it in place, then look for the next segment.
			if err := w.archive(w.br, seg); err != nil {
				return fmt.Errorf("segment %d (plain cpio at offset %d): %w", seg, off, err)
			}
			continue
		}
		if c == LZO {
			return fmt.Errorf("%w: segment %d at offset %d is lzo-compressed, which this reader cannot decode", ErrFormat, seg, off)
		}
		dec, closeDec, err := newDecoder(c, w.br, w.lim)
		if err != nil {
			return fmt.Errorf("segment %d (%s at offset %d): %w", seg, c, off, err)
		}
		err = w.archives(dec, seg)
		closeDec()
		var tail *errTail
		if errors.As(err, &tail) {
			w.sum.Rest = true
			w.sum.RestErr = fmt.Sprintf("after segment %d (%s at offset %d): %v", seg, c, off, tail.err)
			return nil
		}
		if err != nil {
			return fmt.Errorf("segment %d (%s at offset %d): %w", seg, c, off, err)
		}
		if c != Gzip {
			// The decoder may have read past its stream's end: what follows
			// cannot be found again exactly.
			if _, err := w.br.Peek(1); err == nil || w.src.more() {
				w.sum.Rest = true
			}
			return nil
		}
	}
}

// archives reads the cpio archives (with zero padding between them) of one
// decompressed stream until it ends. A decoder that fails after at least
// one whole archive (zero padding or other data after its stream, which
// most decoders take for a next stream) ends the segment with errTail.
func (w *walker) archives(dec io.Reader, seg int) error {
	br := bufio.NewReaderSize(dec, 32<<10)
	for done := 0; ; done++ {
		err := skipZeros(br)
		var magic []byte
		if err == nil {
			magic, err = br.Peek(6)
			if len(magic) > 0 {
				err = nil
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if done > 0 && !errors.Is(err, ErrTooLarge) {
				return &errTail{decodeErr(err)}
			}
			return decodeErr(err)
		}
		if detect(magic) != None {
			return fmt.Errorf("%w: decompressed data is not a cpio archive (starts % x)", ErrFormat, magic)
		}
		if err := w.archive(br, seg); err != nil {
			return err
		}
	}
}

// errTail is a decoder's failure after the last whole archive of a stream.
type errTail struct{ err error }

func (e *errTail) Error() string { return e.err.Error() }
func (e *errTail) Unwrap() error { return e.err }

// archive reads one cpio archive from r up to and including its trailer.
func (w *walker) archive(r io.Reader, seg int) error {
	lr := &limitReader{r: r, left: w.lim.MaxUnpacked - w.sum.Unpacked}
	defer func() { w.sum.Unpacked = w.lim.MaxUnpacked - lr.left }()
	cr := cpio.NewReader(lr)
	for {
		before := lr.read
		h, err := cr.Next()
		if err == io.EOF {
			// The library says io.EOF both for the trailer and for input
			// that ends between entries; only the trailer is a header's
			// worth of bytes (110 + "TRAILER!!!\x00").
			if lr.read-before >= 121 {
				return nil
			}
			return fmt.Errorf("%w: archive ends without its TRAILER!!! entry", ErrFormat)
		}
		if err != nil {
			return cpioErr(err)
		}
		// The library parses c_filesize with strconv.ParseInt, which takes
		// a sign: "-00000F0" would be a negative size, on which its Read
		// panics (found by FuzzWalkCpio). The format has no sign.
		if h.Size < 0 {
			return fmt.Errorf("%w: bad cpio header (negative file size)", ErrFormat)
		}
		w.sum.Entries++
		w.sum.Segments[seg].Entries++
		hd := Header{
			Name:     cleanName(h.Name),
			Mode:     h.Mode,
			Size:     h.Size,
			Linkname: h.Linkname,
			Segment:  seg,
		}
		body := &bodyReader{r: cr}
		stop, err := w.fn(hd, body)
		if err != nil {
			return err
		}
		if stop {
			return errStop
		}
		// Skip what the visitor left, and tell a short input apart from
		// the end: cpio.Reader returns io.EOF when its source ends inside
		// a file.
		if _, err := io.Copy(io.Discard, body); err != nil {
			return cpioErr(err)
		}
		if body.n < h.Size {
			return fmt.Errorf("%w: archive truncated inside %s", ErrFormat, hd.Name)
		}
	}
}

func cleanName(n string) string {
	n = strings.TrimLeft(n, "/")
	for strings.HasPrefix(n, "./") {
		n = strings.TrimLeft(n[2:], "/")
	}
	if n == "." {
		return ""
	}
	return path.Clean("/" + n)[1:]
}

// detect names the segment that starts with magic, or "" when unknown.
func detect(m []byte) Compression {
	switch {
	case bytes.HasPrefix(m, []byte("07070")):
		return None
	case bytes.HasPrefix(m, []byte{0x1f, 0x8b}), bytes.HasPrefix(m, []byte{0x1f, 0x9e}):
		return Gzip
	case bytes.HasPrefix(m, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return Zstd
	case bytes.HasPrefix(m, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		return XZ
	case bytes.HasPrefix(m, []byte{0x5d, 0x00, 0x00}):
		return LZMA
	case bytes.HasPrefix(m, []byte{0x02, 0x21, 0x4c, 0x18}):
		return LZ4
	case bytes.HasPrefix(m, []byte("BZh")):
		return Bzip2
	case bytes.HasPrefix(m, []byte{0x89, 'L', 'Z', 'O'}):
		return LZO
	}
	return ""
}

// skipZeros consumes zero bytes; io.EOF means nothing but zeros was left.
func skipZeros(br *bufio.Reader) error {
	for {
		b, err := br.Peek(br.Buffered())
		if len(b) == 0 {
			if _, err = br.Peek(1); err != nil {
				return err
			}
			continue
		}
		i := 0
		for i < len(b) && b[i] == 0 {
			i++
		}
		br.Discard(i)
		if i < len(b) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func cpioErr(err error) error {
	switch {
	case errors.Is(err, ErrTooLarge):
		return err
	case errors.Is(err, cpio.ErrHeader):
		return fmt.Errorf("%w: bad cpio header", ErrFormat)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("%w: archive truncated", ErrFormat)
	}
	return decodeErr(err)
}

// decodeErr marks a decoder's complaint as a format error.
func decodeErr(err error) error {
	if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrFormat) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: compressed stream truncated", ErrFormat)
	}
	if errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		return fmt.Errorf("%w: %v", ErrTooLarge, err)
	}
	return fmt.Errorf("%w: %v", ErrFormat, err)
}

// countReader counts the bytes read from the image.
type countReader struct {
	r   io.Reader
	n   int64
	eof bool
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err == io.EOF {
		c.eof = true
	}
	return n, err
}

// more reports whether the image may still hold unread bytes.
func (c *countReader) more() bool { return !c.eof }

// bodyReader is an entry's contents as the visitor reads them: it counts,
// and marks a decoder's failure as ErrFormat.
type bodyReader struct {
	r io.Reader
	n int64
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF {
		err = decodeErr(err)
	}
	return n, err
}

// limitReader fails with ErrTooLarge past left bytes and counts what it read.
type limitReader struct {
	r    io.Reader
	left int64
	read int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, fmt.Errorf("%w: more than the limit of unpacked bytes", ErrTooLarge)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	l.read += int64(n)
	return n, err
}
