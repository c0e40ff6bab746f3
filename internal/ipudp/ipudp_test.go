package ipudp_test

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"testing"

	"github.com/bonjourctl/bonjourctl/internal/ipudp"
)

var payload, _ = hex.DecodeString("000084000000000100000000036e6f64056c6f63616c000010800100001194000a096b65793d76616c7565")

func TestBuildParseRoundTrip(t *testing.T) {
	for _, tt := range []struct{ src, dst string }{
		{"10.88.0.2:5353", "224.0.0.251:5353"},
		{"[fe80::88:ff:fe00:2]:5353", "[ff02::fb]:5353"},
		{"10.88.0.2:5353", "10.88.0.1:40000"},
	} {
		src, dst := netip.MustParseAddrPort(tt.src), netip.MustParseAddrPort(tt.dst)
		b := ipudp.Build(src, dst, 255, payload)
		d, err := ipudp.Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		if !d.Valid() || d.Src != src || d.Dst != dst || d.HopLimit != 255 || !bytes.Equal(d.Payload, payload) {
			t.Errorf("%s: %+v", tt.src, d)
		}
		s, ds, hop, p, ok := ipudp.Split(b)
		if !ok || s != src || ds != dst || hop != 255 || !bytes.Equal(p, payload) {
			t.Errorf("Split %s: %v %v %d %v", tt.src, s, ds, hop, ok)
		}
	}
}

// TestParseNamesTheWrongField corrupts one field at a time and checks that
// exactly that check fails.
func TestParseNamesTheWrongField(t *testing.T) {
	good := ipudp.Build(netip.MustParseAddrPort("10.88.0.2:5353"), netip.MustParseAddrPort("224.0.0.251:5353"), 255, payload)
	for _, tt := range []struct {
		off   int
		field string
	}{
		{3, "IPv4 total length (offset 2)"},
		{11, "IPv4 header checksum (offset 10)"},
		{25, "UDP length (offset 24)"},
		{27, "UDP checksum (offset 26)"},
		{40, "UDP checksum (offset 26)"}, // payload byte: only the UDP checksum notices
	} {
		b := append([]byte(nil), good...)
		b[tt.off] ^= 0x01
		d, err := ipudp.Parse(b)
		if err != nil {
			t.Fatalf("byte %d: %v", tt.off, err)
		}
		var failed []string
		for _, c := range d.Checks {
			if !c.OK {
				failed = append(failed, c.Field)
			}
		}
		if len(failed) == 0 || failed[0] != tt.field {
			t.Errorf("byte %d flipped: failed checks %q, want first %q", tt.off, failed, tt.field)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string
	}{
		{"45000014", "offset 4: IPv4 header needs 20 bytes, have 4"},
		{"4f000014000000004011000000000000000000000000", "offset 22: IPv4 header length field says 60 bytes, have 22"},
		{"450000140000000040060000000000000000000000", "offset 9: IPv4 protocol is 6, not UDP (17)"},
		{"7000", "offset 0: IP version 7"},
	} {
		b, _ := hex.DecodeString(tt.in)
		if _, err := ipudp.Parse(b); err == nil || err.Error()[:len(tt.want)] != tt.want {
			t.Errorf("Parse(%s) = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(ipudp.Build(netip.MustParseAddrPort("10.88.0.2:5353"), netip.MustParseAddrPort("224.0.0.251:5353"), 255, payload))
	f.Add(ipudp.Build(netip.MustParseAddrPort("[fe80::1]:5353"), netip.MustParseAddrPort("[ff02::fb]:5353"), 1, payload))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ipudp.Parse(b)
		if err == nil && d.PayloadOffset+len(d.Payload) > len(b) {
			t.Fatalf("payload runs past the input")
		}
		_, _, _, p, ok := ipudp.Split(b)
		if ok && len(p) > len(b) {
			t.Fatal("Split payload longer than input")
		}
	})
}

// TestLooksLikeIPNotDNS: a DNS message whose ID starts like an IP header
// (0x45.., 0x6...) is not taken for one; real headers still are.
func TestLooksLikeIPNotDNS(t *testing.T) {
	for _, id := range []uint16{0x4500, 0x4511, 0x6000, 0x6abc, 0x6fff} {
		for _, ancount := range []byte{0, 1, 17} {
			msg := []byte{byte(id >> 8), byte(id), 0x84, 0x00, 0, 0, 0, ancount, 0, 0, 0, 17}
			msg = append(msg, make([]byte, 60)...)
			if ipudp.LooksLikeIP(msg) {
				t.Errorf("DNS message with ID %#04x, ANCOUNT %d taken for an IP packet", id, ancount)
			}
		}
	}
	for _, fam := range []string{"10.88.0.2:5353", "[fe80::2]:5353"} {
		src := netip.MustParseAddrPort(fam)
		dst := netip.AddrPortFrom(src.Addr(), 5353)
		if b := ipudp.Build(src, dst, 255, make([]byte, 20)); !ipudp.LooksLikeIP(b) {
			t.Errorf("a %s packet is not taken for IP", fam)
		}
	}
}
