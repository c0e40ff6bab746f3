package mdns_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/txt"
)

// corpus returns the real packets in testdata/peers.hex.
func corpus(tb testing.TB) [][]byte {
	tb.Helper()
	f, err := os.Open("testdata/peers.hex")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		b, err := hex.DecodeString(line)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		tb.Fatal("empty corpus")
	}
	return out
}

func TestParseCorpus(t *testing.T) {
	for i, b := range corpus(t) {
		m, err := mdns.Parse(b)
		if err != nil {
			t.Errorf("packet %d: %v", i, err)
			continue
		}
		if m.Trailing != 0 {
			t.Errorf("packet %d: %d trailing bytes", i, m.Trailing)
		}
		n := len(m.Questions) + len(m.Answers) + len(m.Authority) + len(m.Additional)
		want := int(m.Counts[0]) + int(m.Counts[1]) + int(m.Counts[2]) + int(m.Counts[3])
		if n != want {
			t.Errorf("packet %d: decoded %d entries, header says %d", i, n, want)
		}
	}
}

// TestParseAvahiAnnouncement checks the mDNS bits and the exact TXT bytes of
// avahi-daemon's announcement (packet 3 of the corpus).
func TestParseAvahiAnnouncement(t *testing.T) {
	m, err := mdns.Parse(corpus(t)[3])
	if err != nil {
		t.Fatal(err)
	}
	if !m.Response() || !m.Authoritative() || m.ID != 0 {
		t.Fatalf("header: response=%v aa=%v id=%d, want true true 0", m.Response(), m.Authoritative(), m.ID)
	}
	var sawTXT, sawPTR bool
	for _, r := range m.Answers {
		switch r.Type {
		case dns.TypeTXT:
			sawTXT = true
			if !r.CacheFlush || r.TTL != 4500 || r.Class != dns.ClassINET {
				t.Errorf("TXT: flush=%v ttl=%d class=%d, want true 4500 1", r.CacheFlush, r.TTL, r.Class)
			}
			want := []byte("\x09key=value\x04flag\x08bin=\x00\x01\x7f\x80")
			if !bytes.Equal(r.Data, want) {
				t.Errorf("TXT data = %x, want %x", r.Data, want)
			}
			rec, err := r.TXT()
			if err != nil || len(rec.Strings) != 3 {
				t.Errorf("TXT() = %d strings, %v", len(rec.Strings), err)
			}
		case dns.TypePTR:
			if r.Name == "_p2p._tcp.local." {
				sawPTR = true
				if r.CacheFlush {
					t.Error("shared PTR record has the cache-flush bit")
				}
				if ptr, ok := r.RR.(*dns.PTR); !ok || ptr.Ptr != `Node\ 1._p2p._tcp.local.` {
					t.Errorf("PTR RR = %v", r.RR)
				}
			}
		}
	}
	if !sawTXT || !sawPTR {
		t.Errorf("saw TXT %v, PTR %v; want both", sawTXT, sawPTR)
	}
}

// TestParseQU checks the QU bit on python-zeroconf's probe (packet 6).
func TestParseQU(t *testing.T) {
	m, err := mdns.Parse(corpus(t)[6])
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Questions) != 1 || !m.Questions[0].QU || m.Questions[0].Class != dns.ClassINET {
		t.Fatalf("questions = %+v, want one QU question of class IN", m.Questions)
	}
	if m.Response() || !m.Authoritative() {
		t.Errorf("python-zeroconf probe: response=%v aa=%v, want a query with AA set (its known deviation)", m.Response(), m.Authoritative())
	}
}

func TestParseZeroLengthTXT(t *testing.T) {
	msg := []byte{
		0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0,
		1, 'x', 5, 'l', 'o', 'c', 'a', 'l', 0,
		0, 16, 0x80, 1, 0, 0, 0x11, 0x94, 0, 0,
	}
	m, err := mdns.Parse(msg)
	if err != nil {
		t.Fatal(err)
	}
	r := m.Answers[0]
	if len(r.Data) != 0 || !r.CacheFlush || r.TTL != 4500 {
		t.Fatalf("record = %+v", r)
	}
	if got := r.RDataText(); got != "(zero-length rdata)" {
		t.Errorf("RDataText = %q", got)
	}
	fs := txt.Lint(r.Data)
	if len(fs) != 1 || fs[0].Code != txt.CodeZeroLength {
		t.Errorf("lint = %v, want zero-length-rdata", fs)
	}
}

// TestParseTruncated cuts every corpus packet at every length: Parse must
// return an error whose offset lies within the data, never panic.
func TestParseTruncated(t *testing.T) {
	for i, b := range corpus(t) {
		for n := 0; n < len(b); n++ {
			m, err := mdns.Parse(b[:n])
			if m == nil {
				t.Fatalf("packet %d cut at %d: nil message", i, n)
			}
			if err == nil {
				// A cut exactly between records leaves a shorter but
				// well-formed message only if the counts say so; they don't.
				t.Errorf("packet %d cut at %d: no error", i, n)
				continue
			}
			var pe *mdns.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("packet %d cut at %d: error %T", i, n, err)
			}
			if pe.Offset < 0 || pe.Offset > n {
				t.Errorf("packet %d cut at %d: offset %d outside the data", i, n, pe.Offset)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		msg  []byte
		want string
	}{
		{"short", []byte{0, 0, 0}, "offset 3 (header): 3 bytes, shorter than the 12-byte header"},
		{"question cut", []byte{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0}, "offset 15 (question 0): type and class cut off"},
		{"pointer loop", []byte{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1}, "(question 0): name:"},
		{"rdlength overrun", []byte{0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 9, 1, 'a'},
			"offset 21 (answer 0): RDLENGTH 9 overruns the message (2 bytes remain)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mdns.Parse(tt.msg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestEscapeText(t *testing.T) {
	got := mdns.EscapeText("a\x1b[31mb\x7f")
	if got != `a\x1b[31mb\x7f` {
		t.Errorf("EscapeText = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, b := range corpus(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := mdns.Parse(b)
		if m == nil {
			t.Fatal("nil message")
		}
		var pe *mdns.ParseError
		if err != nil && (!errors.As(err, &pe) || pe.Offset < 0 || pe.Offset > len(b)) {
			t.Fatalf("bad error %v", err)
		}
		for _, sec := range [][]mdns.Record{m.Answers, m.Authority, m.Additional} {
			for i := range sec {
				_ = sec[i].RDataText()
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	pkts := corpus(b)
	size := 0
	for _, p := range pkts {
		size += len(p)
	}
	b.SetBytes(int64(size / len(pkts)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := mdns.Parse(pkts[i%len(pkts)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}
