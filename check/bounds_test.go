package check

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/mdns"
)

// TestBoundedUnderFlood: 60,000 responses and queries from one host, each
// with invented names (and a finding each), keep every table within its
// bound; a real responder's finding made after the flood is still
// recorded, and the flood's excess is reported, not silently lost.
func TestBoundedUnderFlood(t *testing.T) {
	c := New(nil)
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	at := t0
	send := func(src string, m *dns.Msg) {
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		at = at.Add(time.Millisecond)
		c.Packet(&mdns.Packet{Received: at, Src: netip.MustParseAddrPort(src), Dst: netip.AddrPortFrom(mdns.GroupV4, mdns.Port), HopLimit: 255, Raw: b})
	}
	for i := range 60000 {
		name := fmt.Sprintf("x%06d._p2p._tcp.local.", i)
		q := new(dns.Msg)
		q.Question = []dns.Question{{Name: name, Qtype: dns.TypeSRV, Qclass: dns.ClassINET}}
		q.Answer = []dns.RR{&dns.PTR{Hdr: dns.RR_Header{Name: "_p2p._tcp.local.", Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 4500}, Ptr: name}}
		send("10.88.0.66:5353", q)
		r := new(dns.Msg)
		r.Response, r.Authoritative = true, true
		// No cache-flush bit on a unique record: a finding per name.
		r.Answer = []dns.RR{&dns.SRV{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 120}, Target: "h.local.", Port: 1}}
		send("10.88.0.66:5353", r)
	}
	for name, n := range map[string]int{"findings": len(c.findings), "lastSeen": len(c.lastSeen), "owner": len(c.owner), "lastMC": len(c.lastMC),
		"probes": len(c.probes), "asked": len(c.asked), "queried": len(c.queried), "annMC": len(c.annMC), "order": len(c.order)} {
		if n > maxTracked {
			t.Errorf("%s holds %d entries, over the bound of %d", name, n, maxTracked)
		}
	}
	if len(c.known) > maxKnown || len(c.asked) > 4000 || len(c.annMC) > 4000 {
		t.Errorf("windowed tables not pruned: known %d, asked %d, annMC %d", len(c.known), len(c.asked), len(c.annMC))
	}
	// A real responder after the flood: its finding is recorded.
	r := new(dns.Msg)
	r.Response = true // AA missing
	r.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "real.local.", Rrtype: dns.TypeA, Class: dns.ClassINET | 1<<15, Ttl: 120}, A: []byte{10, 88, 0, 2}}}
	send("10.88.0.2:5353", r)
	var sawReal, sawUntracked bool
	for _, f := range c.Findings(false) {
		sawReal = sawReal || (f.Rule == "aa-in-response" && strings.HasPrefix(f.Responder, "10.88.0.2"))
		sawUntracked = sawUntracked || (f.Rule == "untracked" && strings.Contains(f.Message, "not tracked"))
	}
	if !sawReal || !sawUntracked {
		t.Errorf("after the flood: real responder's finding %v, the flood's excess reported %v", sawReal, sawUntracked)
	}
}
