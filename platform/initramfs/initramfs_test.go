package initramfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

var allCompressions = []Compression{None, Gzip, Zstd, XZ, LZMA, LZ4, Bzip2}

func TestFindModulesEachCompression(t *testing.T) {
	for _, c := range allCompressions {
		for _, early := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/early=%v", c, early), func(t *testing.T) {
				var img []byte
				if early {
					img = microcode(t)
				}
				img = append(img, compress(t, c, hvImage(t))...)
				m, err := FindModules(bytes.NewReader(img), Limits{}, kver, hv)
				if err != nil {
					t.Fatal(err)
				}
				for _, mod := range hv {
					if !m.Has(mod) {
						t.Errorf("%s not found; files %v", mod, m.Files)
					}
				}
				if got := m.Files["hv_storvsc"]; got != "usr/lib/modules/"+kver+"/kernel/drivers/scsi/hv_storvsc.ko.xz" {
					t.Errorf("hv_storvsc at %q", got)
				}
				if !m.Summary.Stopped {
					t.Error("walk did not stop once all three were found")
				}
				segs := m.Summary.Segments
				want := 1
				if early {
					want = 2
				}
				if len(segs) != want || segs[len(segs)-1].Compression != c {
					t.Errorf("segments %+v, want %d ending in %s", segs, want, c)
				}
				if early && segs[0].Compression != None {
					t.Errorf("early segment %+v", segs[0])
				}
			})
		}
	}
}

func TestFindModules(t *testing.T) {
	d := "usr/lib/modules/" + kver + "/"
	for _, tc := range []struct {
		desc    string
		img     func(t *testing.T) []byte
		kver    string
		files   []string // modules found as files
		builtin []string // modules found in modules.builtin
		stopped bool
	}{
		{
			desc: "no Hyper-V drivers: the whole image is read",
			img: func(t *testing.T) []byte {
				return compress(t, Zstd, mkcpio(t, file{name: d + "kernel/drivers/net/virtio_net.ko", data: "x"}))
			},
			kver: kver,
		},
		{
			desc: "modules of another kernel do not count",
			img: func(t *testing.T) []byte {
				return compress(t, Gzip, mkcpio(t, file{name: "usr/lib/modules/5.10.0-9-amd64/kernel/drivers/hv/hv_vmbus.ko", data: "x"}))
			},
			kver: kver,
		},
		{
			desc: "lib/modules without usr (not merged-usr), dashes in names",
			img: func(t *testing.T) []byte {
				return mkcpio(t, file{name: "./lib/modules/" + kver + "/kernel/drivers/hv/hv-vmbus.ko.gz", data: "x"})
			},
			kver:  kver,
			files: []string{"hv_vmbus"},
		},
		{
			desc: "modules.builtin lists built-in drivers",
			img: func(t *testing.T) []byte {
				return compress(t, XZ, mkcpio(t,
					file{name: d + "modules.builtin", data: "kernel/drivers/hv/hv_vmbus.ko\nkernel/drivers/scsi/hv_storvsc.ko\nkernel/fs/ext4/ext4.ko\n"},
					file{name: d + "kernel/drivers/net/hyperv/hv_netvsc.ko", data: "x"},
				))
			},
			kver:    kver,
			files:   []string{"hv_netvsc"},
			builtin: []string{"hv_vmbus", "hv_storvsc"},
			stopped: true,
		},
		{
			desc: "directories and links named like modules are not modules",
			img: func(t *testing.T) []byte {
				return mkcpio(t, file{name: d + "hv_vmbus.ko", dir: true}, file{name: d + "hv_netvsc.ko", link: "x.ko"})
			},
			kver: kver,
		},
		{
			desc: "any kernel when the version is not known",
			img: func(t *testing.T) []byte {
				return compress(t, LZ4, hvImage(t))
			},
			files:   hv,
			stopped: true,
		},
		{
			desc: "two gzip segments after each other: the second is read too",
			img: func(t *testing.T) []byte {
				a := compress(t, Gzip, mkcpio(t, file{name: d + "kernel/hv_vmbus.ko", data: "x"}))
				b := compress(t, Gzip, mkcpio(t, file{name: d + "kernel/hv_storvsc.ko", data: "y"}))
				return append(padTo(a, 4), b...)
			},
			kver:  kver,
			files: []string{"hv_vmbus", "hv_storvsc"},
		},
		{
			desc: "two archives inside one compressed stream",
			img: func(t *testing.T) []byte {
				a := padTo(mkcpio(t, file{name: d + "kernel/hv_vmbus.ko", data: "x"}), 512)
				b := mkcpio(t, file{name: d + "kernel/hv_netvsc.ko", data: "y"})
				return compress(t, Zstd, append(a, b...))
			},
			kver:  kver,
			files: []string{"hv_vmbus", "hv_netvsc"},
		},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			m, err := FindModules(bytes.NewReader(tc.img(t)), Limits{}, tc.kver, hv)
			if err != nil {
				t.Fatal(err)
			}
			for _, mod := range hv {
				wantFile, wantBuiltin := contains(tc.files, mod), contains(tc.builtin, mod)
				if _, ok := m.Files[mod]; ok != wantFile {
					t.Errorf("%s as a file: %v, want %v (%v)", mod, ok, wantFile, m.Files)
				}
				if _, ok := m.Builtin[mod]; ok != wantBuiltin {
					t.Errorf("%s built in: %v, want %v (%v)", mod, ok, wantBuiltin, m.Builtin)
				}
			}
			if m.Summary.Stopped != tc.stopped {
				t.Errorf("stopped = %v, want %v", m.Summary.Stopped, tc.stopped)
			}
		})
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func TestWalkBadInput(t *testing.T) {
	good := mkcpio(t, file{name: "a", data: "hello"}, file{name: "b", data: "world!"})
	hugeLen := append([]byte(nil), good...)
	// Entry "a"'s c_filesize field (bytes 54..62 of its header): 4 GiB - 1.
	copy(hugeLen[54:62], "FFFFFFFF")
	negLen := append([]byte(nil), good...)
	copy(negLen[54:62], "-00000F0")
	zst := compress(t, Zstd, good)
	for _, tc := range []struct {
		desc string
		img  []byte
		lim  Limits
		want error
		msg  string
	}{
		{desc: "empty", img: nil},
		{desc: "only zeros", img: make([]byte, 1024)},
		{desc: "garbage", img: []byte("this is not an initramfs"), want: ErrFormat, msg: "unknown data at offset 0"},
		{desc: "truncated inside a file", img: good[:115], want: ErrFormat, msg: "truncated"},
		{desc: "truncated between entries", img: good[:120], want: ErrFormat, msg: "TRAILER"},
		{desc: "truncated inside a header", img: good[:50], want: ErrFormat, msg: "truncated"},
		{desc: "no trailer", img: good[:len(good)-124], want: ErrFormat, msg: "TRAILER"},
		{desc: "a 4 GiB length field", img: hugeLen, want: ErrFormat, msg: "truncated"},
		{desc: "a negative length field", img: negLen, want: ErrFormat, msg: "negative file size"},
		{desc: "bad header magic", img: []byte("070709" + strings.Repeat("0", 200)), want: ErrFormat, msg: "bad cpio header"},
		{desc: "garbage after the archive", img: append(append([]byte(nil), good...), "\x01garbage"...), want: ErrFormat, msg: "unknown data at offset"},
		{desc: "truncated zstd", img: zst[:len(zst)/2], want: ErrFormat},
		{desc: "truncated gzip", img: compress(t, Gzip, good)[:30], want: ErrFormat},
		{desc: "truncated xz", img: compress(t, XZ, good)[:40], want: ErrFormat},
		{desc: "truncated bzip2", img: compress(t, Bzip2, good)[:30], want: ErrFormat},
		{desc: "compressed garbage", img: compress(t, Gzip, []byte("not a cpio archive")), want: ErrFormat, msg: "decompressed data is not a cpio archive"},
		{desc: "lzo cannot be read", img: []byte("\x89LZO\x00\r\n\x1a\n"), want: ErrFormat, msg: "lzo"},
		{desc: "unpacked size over the limit", img: compress(t, Zstd, mkcpio(t, file{name: "big", data: strings.Repeat("x", 1<<16)})), lim: Limits{MaxUnpacked: 1 << 12}, want: ErrTooLarge},
		{desc: "xz dictionary over the window limit", img: compress(t, XZ, good), lim: Limits{MaxWindow: 1 << 20}, want: ErrTooLarge, msg: "xz dictionary"},
		{desc: "zstd window over the limit", img: compress(t, Zstd, mkcpio(t, file{name: "big", data: strings.Repeat("xyz", 1<<20)})), lim: Limits{MaxWindow: 1 << 10}, want: ErrTooLarge, msg: "window"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			n := 0
			_, err := Walk(bytes.NewReader(tc.img), tc.lim, func(h Header, body io.Reader) (bool, error) {
				n++
				return false, nil
			})
			if tc.want == nil {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %q, want it to say %q", err, tc.msg)
			}
		})
	}
}

func TestWalkEntries(t *testing.T) {
	img := append(microcode(t), compress(t, Gzip, mkcpio(t,
		file{name: ".", dir: true},
		file{name: "./etc/", dir: true},
		file{name: "bin", link: "usr/bin"},
		file{name: "/etc/hostname", data: "box\n"},
	))...)
	var got []string
	sum, err := Walk(bytes.NewReader(img), Limits{}, func(h Header, body io.Reader) (bool, error) {
		b, _ := io.ReadAll(body)
		got = append(got, fmt.Sprintf("%d:%s:%s:%s:%v", h.Segment, h.Name, h.Linkname, b, h.Regular()))
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"0:kernel:::false", "0:kernel/x86/microcode/GenuineIntel.bin::microcode blob:true",
		"1::::false", "1:etc:::false", "1:bin:usr/bin::false", "1:etc/hostname::box\n:true",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("entries\n got %q\nwant %q", got, want)
	}
	if sum.Entries != 6 || len(sum.Segments) != 2 || sum.Segments[0].Entries != 2 || sum.Segments[1].Offset != 512 || sum.Stopped || sum.Rest {
		t.Errorf("summary %+v", sum)
	}
}

func TestWalkVisitorError(t *testing.T) {
	boom := errors.New("boom")
	_, err := Walk(bytes.NewReader(hvImage(t)), Limits{}, func(Header, io.Reader) (bool, error) { return false, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

func TestRestAfterCompressedSegment(t *testing.T) {
	img := append(compress(t, Zstd, hvImage(t)), compress(t, Gzip, mkcpio(t, file{name: "late", data: "x"}))...)
	sum, err := Walk(bytes.NewReader(img), Limits{}, func(Header, io.Reader) (bool, error) { return false, nil })
	if err == nil && !sum.Rest {
		t.Errorf("data after a zstd segment: no error and Rest not set: %+v", sum)
	}
}

func TestModuleName(t *testing.T) {
	for in, want := range map[string]string{
		"a/b/hv_vmbus.ko":     "hv_vmbus",
		"hv_storvsc.ko.xz":    "hv_storvsc",
		"x/hv_netvsc.ko.zst":  "hv_netvsc",
		"x/hv-netvsc.ko.gz":   "hv_netvsc",
		"x/hv_netvsc.ko.bz2":  "",
		"modules.dep":         "",
		".ko":                 "",
		"x/hv_vmbus.ko.sig":   "",
		"kernel/hv_vmbus.kox": "",
	} {
		if got := ModuleName(in); got != want {
			t.Errorf("ModuleName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestXZDictSize(t *testing.T) {
	img := compress(t, XZ, []byte("hello"))
	got, err := xzDictSize(img)
	if err != nil || got != 8<<20 {
		t.Errorf("xzDictSize = %d, %v; want 8 MiB (the encoder's default)", got, err)
	}
	for _, n := range []int{0, 12, 13, 14, 20} {
		if _, err := xzDictSize(img[:n]); !errors.Is(err, ErrFormat) {
			t.Errorf("xzDictSize of %d bytes: err = %v", n, err)
		}
	}
}

// TestRealCompressors reads images compressed by the real tools with the
// options initramfs-tools' mkinitramfs passes them (COMPRESS=gzip, zstd,
// xz, lzma, lz4, bzip2), behind a plain early archive.
func TestRealCompressors(t *testing.T) {
	for _, tc := range []struct {
		c    Compression
		argv []string
	}{
		{Gzip, []string{"gzip", "-n"}},
		{Zstd, []string{"zstd", "-q", "-1", "-T0"}},
		{Zstd, []string{"zstd", "-q", "-19", "-T0"}},
		{XZ, []string{"xz", "--check=crc32", "--threads=0"}},
		{LZMA, []string{"lzma", "-9"}},
		{LZ4, []string{"lz4", "-9", "-l"}},
		{Bzip2, []string{"bzip2", "-9"}},
	} {
		t.Run(strings.Join(tc.argv, " "), func(t *testing.T) {
			img := append(microcode(t), tool(t, hvImage(t), tc.argv...)...)
			m, err := FindModules(bytes.NewReader(img), Limits{}, kver, hv)
			if err != nil {
				t.Fatal(err)
			}
			for _, mod := range hv {
				if !m.Has(mod) {
					t.Errorf("%s not found: %+v", mod, m)
				}
			}
			if s := m.Summary.Segments; len(s) != 2 || s[1].Compression != tc.c {
				t.Errorf("segments %+v, want none then %s", s, tc.c)
			}
		})
	}
}
