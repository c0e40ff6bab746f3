package dump

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/mdns"
)

// TestSourcePortNote: a response to the group or to port 5353 from a port
// other than 5353 is flagged in text and JSON; a plain DNS answer to an
// ephemeral port and a conformant response are not.
func TestSourcePortNote(t *testing.T) {
	m := new(dns.Msg)
	m.Response, m.Authoritative = true, true
	rr, _ := dns.NewRR("x._p2p._tcp.local. 120 IN SRV 0 0 1 h.local.")
	m.Answer = []dns.RR{rr}
	raw, _ := m.Pack()
	for _, tt := range []struct {
		src, dst string
		note     bool
	}{
		{"10.88.0.3:37104", "224.0.0.251:5353", true},
		{"10.88.0.3:37104", "10.88.0.1:5353", true},
		{"10.88.0.3:5353", "224.0.0.251:5353", false},
		{"8.8.8.8:53", "10.0.0.1:40000", false},
	} {
		d := Decode(mdns.Packet{Raw: raw, Src: netip.MustParseAddrPort(tt.src), Dst: netip.MustParseAddrPort(tt.dst), HopLimit: 255}, 0)
		text := string(NewPrinter(nil).Append(nil, d))
		has := strings.Contains(text, "! 10.88.0.3 answers from port 37104, not 5353: queriers ignore such responses (RFC 6762 §6)")
		if has != tt.note || (len(JSON(d).Notes) > 0) != tt.note {
			t.Errorf("%s > %s: note in text %v, in JSON %v, want %v\n%s", tt.src, tt.dst, has, JSON(d).Notes, tt.note, text)
		}
	}
}
