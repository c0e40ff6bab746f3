package mdns_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/internal/dump"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/txt"
)

// corpus returns the real packets in testdata/peers.hex (avahi-daemon and
// python3-zeroconf); the tests that index it rely on its order.
func corpus(tb testing.TB) [][]byte { return hexFile(tb, "testdata/peers.hex") }

// allPeers returns every real packet: corpus and then
// testdata/grandcat.hex (github.com/grandcat/zeroconf).
func allPeers(tb testing.TB) [][]byte {
	return append(corpus(tb), hexFile(tb, "testdata/grandcat.hex")...)
}

// hexFile reads one message per line of hex; # starts a comment line.
func hexFile(tb testing.TB, path string) [][]byte {
	tb.Helper()
	f, err := os.Open(path)
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
		tb.Fatalf("%s: no messages", path)
	}
	return out
}

func TestParseCorpus(t *testing.T) {
	for i, b := range allPeers(t) {
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
				if ptr, ok := r.RR().(*dns.PTR); !ok || ptr.Ptr != `Node\ 1._p2p._tcp.local.` {
					t.Errorf("PTR RR = %v", r.RR())
				}
			}
		}
	}
	if !sawTXT || !sawPTR {
		t.Errorf("saw TXT %v, PTR %v; want both", sawTXT, sawPTR)
	}
}

// TestParseGrandcat checks what github.com/grandcat/zeroconf put on the wire
// for a service without TXT strings: zero-length TXT RDATA, in an
// announcement without the AA bit, with TTL 3200 on every service record.
func TestParseGrandcat(t *testing.T) {
	var ann *mdns.Message
	for _, b := range hexFile(t, "testdata/grandcat.hex") {
		m, err := mdns.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if m.Response() && m.ID == 0 && len(m.Answers) > 0 && strings.HasPrefix(m.Answers[0].Name, `GC\ Empty.`) && m.Answers[0].TTL != 0 {
			ann = m
			break
		}
	}
	if ann == nil {
		t.Fatal("no announcement of GC Empty in testdata/grandcat.hex")
	}
	if ann.Authoritative() {
		t.Error("grandcat's announcement has AA set; the capture shows it without")
	}
	var txtSeen bool
	for _, r := range ann.Answers {
		if r.Type == dns.TypeTXT {
			txtSeen = true
			if len(r.Data) != 0 || !r.CacheFlush || r.TTL != 3200 {
				t.Errorf("TXT = %d bytes, flush %v, ttl %d; want 0 bytes, flush, 3200", len(r.Data), r.CacheFlush, r.TTL)
			}
		}
		if r.Type == dns.TypeSRV {
			if _, _, port, target, ok := r.SRV(); !ok || port != 4301 || target != "vm.local." {
				t.Errorf("SRV = port %d target %q ok %v", port, target, ok)
			}
		}
	}
	if !txtSeen {
		t.Error("no TXT record in the announcement")
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
	if got := dump.RDataText(&r); got != "(zero-length rdata)" {
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
	for i, b := range allPeers(t) {
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

// sameAsMiekg checks that Parse decoded every PTR, SRV, A and AAAA record
// of b (which it reads itself) exactly as miekg/dns does: the same data, or
// an error where miekg has one.
func sameAsMiekg(t *testing.T, b []byte, m *mdns.Message) {
	t.Helper()
	for _, sec := range [][]mdns.Record{m.Answers, m.Authority, m.Additional} {
		for i := range sec {
			r := &sec[i]
			switch r.Type {
			case dns.TypePTR, dns.TypeSRV, dns.TypeA, dns.TypeAAAA:
			default:
				continue
			}
			if len(r.Data) == 0 {
				continue
			}
			hdr := dns.RR_Header{Name: r.Name, Rrtype: r.Type, Class: r.Class, Ttl: r.TTL, Rdlength: uint16(len(r.Data))}
			want, _, werr := unpackMiekg(hdr, b, r.Offset)
			got := r.RR()
			switch {
			case werr == nil && r.Type == dns.TypeSRV && len(r.Data) < 7 && r.Offset+len(r.Data) == len(b):
				// miekg/dns takes an SRV cut off at the end of the message
				// as zero fields and an empty target; Parse calls it short.
				if r.DataErr == nil {
					t.Errorf("SRV at %d: %d bytes decoded without error", r.Offset, len(r.Data))
				}
			case werr != nil && r.DataErr == nil:
				t.Errorf("%s at %d: decoded as %v, miekg/dns says %v", mdns.TypeString(r.Type), r.Offset, got, werr)
			case werr == nil && r.DataErr != nil:
				t.Errorf("%s at %d: error %v, miekg/dns decodes %v", mdns.TypeString(r.Type), r.Offset, r.DataErr, want)
			case werr == nil && got.String() != want.String():
				t.Errorf("%s at %d: decoded %q, miekg/dns %q", mdns.TypeString(r.Type), r.Offset, got, want)
			}
		}
	}
}

func unpackMiekg(hdr dns.RR_Header, b []byte, off int) (rr dns.RR, next int, err error) {
	defer func() {
		if p := recover(); p != nil {
			rr, next, err = nil, 0, errors.New("panic")
		}
	}()
	return dns.UnpackRRWithHeader(hdr, b, off)
}

func TestParseMatchesMiekg(t *testing.T) {
	for _, b := range allPeers(t) {
		m, err := mdns.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		sameAsMiekg(t, b, m)
	}
}

// TestParseRecordDataErrors: record data that does not decode keeps its
// bytes, says why, and renders as hex; the rest of the message still decodes.
func TestParseRecordDataErrors(t *testing.T) {
	hdr := []byte{0, 0, 0x84, 0, 0, 0, 0, 2, 0, 0, 0, 0}
	rec := func(typ byte, rdata ...byte) []byte {
		return append([]byte{1, 'x', 0, 0, typ, 0, 1, 0, 0, 0, 120, 0, byte(len(rdata))}, rdata...)
	}
	a := rec(1, 10, 0, 0, 1)
	tests := []struct {
		name string
		rec  []byte
		err  string
		text string
	}{
		{"short A", rec(1, 10, 0, 0), "record data is 3 bytes; an A record holds 4", `\# 3 0a0000`},
		{"long AAAA", rec(28, make([]byte, 17)...), "record data is 17 bytes; an AAAA record holds 16", `\# 17 ` + strings.Repeat("00", 17)},
		{"PTR past its data", rec(12, 1, 'y'), "record data is 2 bytes but its target name ends after 5", `\# 2 0179`},
		{"PTR bad label", rec(12, 0x80, 0), "target name at offset 25: bad rdata", `\# 2 8000`},
		{"PTR longer than its name", rec(12, 0, 0), "record data is 2 bytes but its target name ends after 1", `\# 2 0000`},
		{"short SRV", rec(33, 0, 0, 0, 0, 0, 9), "record data is 6 bytes; an SRV record needs at least 7", `\# 6 000000000009`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := append(append(append([]byte(nil), hdr...), tt.rec...), a...)
			m, err := mdns.Parse(msg)
			if err != nil {
				t.Fatal(err)
			}
			r := &m.Answers[0]
			if r.DataErr == nil || !strings.Contains(r.DataErr.Error(), tt.err) {
				t.Errorf("DataErr = %v, want %q", r.DataErr, tt.err)
			}
			if got := dump.RDataText(r); got != tt.text {
				t.Errorf("RDataText = %q, want %q", got, tt.text)
			}
			if r.RR() != nil {
				t.Errorf("RR() = %v, want nil", r.RR())
			}
			if got, ok := m.Answers[1].Addr(); !ok || got.String() != "10.0.0.1" {
				t.Errorf("next record's address = %v %v, want 10.0.0.1", got, ok)
			}
			sameAsMiekg(t, msg, m)
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, b := range allPeers(f) {
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
				_ = dump.RDataText(&sec[i])
			}
		}
		sameAsMiekg(t, b, m)
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

func TestTypeAndClassString(t *testing.T) {
	for typ := range uint16(300) {
		want, ok := dns.TypeToString[typ]
		if !ok {
			want = "TYPE" + strconv.Itoa(int(typ))
		}
		if got := mdns.TypeString(typ); got != want {
			t.Errorf("TypeString(%d) = %q, want %q", typ, got, want)
		}
	}
	for c, want := range map[uint16]string{1: "IN", 3: "CH", 255: "ANY", 7: "CLASS7"} {
		if got := mdns.ClassString(c); got != want {
			t.Errorf("ClassString(%d) = %q, want %q", c, got, want)
		}
	}
}
