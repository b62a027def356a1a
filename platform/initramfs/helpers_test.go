package initramfs

import (
	"bytes"
	"os/exec"
	"runtime"
	"testing"

	"github.com/cavaliergopher/cpio"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// file is one entry of a test archive.
type file struct {
	name string
	data string
	link string // a symlink's target
	dir  bool
}

// mkcpio writes files as one newc archive with its trailer, as
// `cpio -o -H newc` does.
func mkcpio(t testing.TB, files ...file) []byte {
	t.Helper()
	var b bytes.Buffer
	w := cpio.NewWriter(&b)
	for i, f := range files {
		h := &cpio.Header{Name: f.name, Inode: int64(i + 1), Links: 1}
		switch {
		case f.dir:
			h.Mode = cpio.TypeDir | 0o755
		case f.link != "":
			h.Mode = cpio.TypeSymlink | 0o777
			h.Size = int64(len(f.link))
		default:
			h.Mode = cpio.TypeReg | 0o644
			h.Size = int64(len(f.data))
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		body := f.data
		if f.link != "" {
			body = f.link
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// compress encodes data with the Go encoder for c.
func compress(t testing.TB, c Compression, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	switch c {
	case None:
		return data
	case Gzip:
		w := gzip.NewWriter(&b)
		w.Write(data)
		w.Close()
	case Zstd:
		w, err := zstd.NewWriter(&b)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()
	case XZ:
		// The kernel wants CRC32 checks in initramfs xz streams.
		w, err := xz.WriterConfig{CheckSum: xz.CRC32}.NewWriter(&b)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()
	case LZMA:
		w, err := lzma.NewWriter(&b)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()
	case LZ4:
		w := lz4.NewWriter(&b)
		if err := w.Apply(lz4.LegacyOption(true)); err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()
	case Bzip2:
		// The standard library has no bzip2 encoder: the real tool.
		return tool(t, data, "bzip2", "-9")
	default:
		t.Fatalf("no encoder for %s", c)
	}
	return b.Bytes()
}

// tool runs a real compressor as mkinitramfs and dracut do, data on stdin.
func tool(t testing.TB, data []byte, argv ...string) []byte {
	t.Helper()
	if runtime.GOOS == "windows" {
		// The Windows build of these tests runs under Wine, where Debian's
		// compressors do not exist; make unit runs the same tests natively.
		t.Skipf("%s: the real compressors are Linux tools (these tests run in make unit)", argv[0])
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		t.Fatalf("%s not found (scripts/deps.sh installs it): %v", argv[0], err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(data)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %v: %s", argv, err, errb.String())
	}
	return out.Bytes()
}

// pad4 zero-pads b to a multiple of n bytes, as mkinitramfs pads early archives.
func padTo(b []byte, n int) []byte {
	for len(b)%n != 0 {
		b = append(b, 0)
	}
	return b
}

const kver = "6.1.0-50-amd64"

// hvImage is a main archive with the three Hyper-V drivers among others,
// stored the ways distributions store modules.
func hvImage(t testing.TB) []byte {
	d := "usr/lib/modules/" + kver + "/kernel/drivers/"
	return mkcpio(t,
		file{name: ".", dir: true},
		file{name: "usr", dir: true},
		file{name: "lib", link: "usr/lib"},
		file{name: "init", data: "#!/bin/sh\nexec /sbin/init\n"},
		file{name: d + "ata/ata_piix.ko", data: "ELF ata"},
		file{name: d + "hv/hv_vmbus.ko", data: "ELF vmbus"},
		file{name: d + "scsi/hv_storvsc.ko.xz", data: "xz storvsc"},
		file{name: d + "net/virtio_net.ko", data: "ELF virtio"},
		file{name: d + "net/hyperv/hv_netvsc.ko.zst", data: "zst netvsc"},
		file{name: d + "zz/last.ko", data: "after the three"},
	)
}

// microcode is an early uncompressed archive as the kernel expects it.
func microcode(t testing.TB) []byte {
	return padTo(mkcpio(t,
		file{name: "kernel", dir: true},
		file{name: "kernel/x86/microcode/GenuineIntel.bin", data: "microcode blob"},
	), 512)
}

var hv = []string{"hv_vmbus", "hv_storvsc", "hv_netvsc"}
