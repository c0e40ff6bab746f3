package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/iostreams"
	"github.com/bonjourctl/bonjourctl/internal/pcapfile"
	"github.com/bonjourctl/bonjourctl/mdns"
)

// benchPcap writes n packets cycling through testdata/peers.pcapng (real
// avahi-daemon and python3-zeroconf traffic) to a pcapng file.
func benchPcap(b *testing.B, n int) string {
	b.Helper()
	src, err := os.Open("testdata/peers.pcapng")
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	r, err := pcapfile.NewReader(src)
	if err != nil {
		b.Fatal(err)
	}
	var pkts []mdns.Packet
	for {
		p, _, err := r.Next()
		if err != nil {
			break
		}
		pkts = append(pkts, p)
	}
	path := filepath.Join(b.TempDir(), "bench.pcapng")
	fh, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	w := pcapfile.NewWriter(fh)
	for i := 0; i < n; i++ {
		if err := w.Write(pkts[i%len(pkts)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkCaptureRead decodes and renders a 100k-packet file, as
// `bonjourctl capture --read` does, on all of GOMAXPROCS, writing to
// io.Discard. bench/tshark_ratio.sh compares the built binary with tshark.
func BenchmarkCaptureRead(b *testing.B) {
	const n = 100000
	path := benchPcap(b, n)
	for _, mode := range []struct {
		name string
		args []string
	}{{"text", nil}, {"json", []string{"--json"}}} {
		b.Run(mode.name, func(b *testing.B) {
			for b.Loop() {
				ios := &iostreams.IOStreams{In: eofReader{}, Out: io.Discard, ErrOut: io.Discard}
				f := &Factory{IOStreams: ios, Now: time.Now, Getenv: func(string) string { return "" }}
				if code := Run(context.Background(), f, append([]string{"capture", "--read", path}, mode.args...)); code != 0 {
					b.Fatalf("exit %d", code)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
