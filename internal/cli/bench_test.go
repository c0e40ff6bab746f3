package cli

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/iostreams"
)

// BenchmarkCaptureRead decodes and renders a 100k-packet file, as
// `bonjourctl capture --read` does, on all of GOMAXPROCS, writing to
// io.Discard. bench/tshark_ratio.sh compares the built binary with tshark.
func BenchmarkCaptureRead(b *testing.B) {
	const n = 100000
	path := bigCapture(b, n)
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
