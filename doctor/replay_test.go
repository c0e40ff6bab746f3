package doctor_test

import (
	"context"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/doctor"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/miekg/dns"
)

// announcement is a response from src carrying "Node 1"'s PTR, SRV and
// TXT (flush: the cache-flush bit on SRV and TXT).
func announcement(t *testing.T, at time.Time, src string, port uint16, txtStrings []string, flush bool) mdns.Packet {
	t.Helper()
	class := uint16(dns.ClassINET)
	if flush {
		class |= 1 << 15
	}
	inst := `Node\ 1._p2p._tcp.local.`
	m := new(dns.Msg)
	m.Response, m.Authoritative = true, true
	m.Answer = []dns.RR{
		&dns.PTR{Hdr: dns.RR_Header{Name: "_p2p._tcp.local.", Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 4500}, Ptr: inst},
		&dns.SRV{Hdr: dns.RR_Header{Name: inst, Rrtype: dns.TypeSRV, Class: class, Ttl: 120}, Port: port, Target: "host.local."},
		&dns.TXT{Hdr: dns.RR_Header{Name: inst, Rrtype: dns.TypeTXT, Class: class, Ttl: 4500}, Txt: txtStrings},
	}
	raw, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return mdns.Packet{Received: at, Src: netip.AddrPortFrom(netip.MustParseAddr(src), 5353), Dst: netip.MustParseAddrPort("224.0.0.251:5353"), Raw: raw, HopLimit: 255}
}

func replay(t *testing.T, pkts ...mdns.Packet) string {
	t.Helper()
	next := func() (mdns.Packet, error) {
		if len(pkts) == 0 {
			return mdns.Packet{}, io.EOF
		}
		p := pkts[0]
		pkts = pkts[1:]
		return p, nil
	}
	rep, err := doctor.Replay(context.Background(), next, "test.pcap", doctor.Options{Type: "_p2p._tcp", Instance: "Node 1"})
	if err != nil {
		t.Fatal(err)
	}
	return lines(rep)
}

// TestReplayConflictAndUpdate: two responders giving one instance
// different TXT is a conflict; one responder changing its TXT is an
// update, a warning when it comes without the cache-flush bit.
func TestReplayConflictAndUpdate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	got := replay(t,
		announcement(t, t0, "10.0.0.1", 80, []string{"a=1"}, true),
		announcement(t, t0.Add(time.Second), "10.0.0.2", 80, []string{"a=2"}, true))
	if !strings.Contains(got, `fail conflict: TXT of "Node 1" went out from 2 responders with different data: 03613d31 from 10.0.0.1; 03613d32 from 10.0.0.2`) {
		t.Errorf("two responders:\n%s", got)
	}
	got = replay(t,
		announcement(t, t0, "10.0.0.1", 80, []string{"a=1"}, true),
		announcement(t, t0.Add(time.Second), "10.0.0.1", 81, []string{"a=2"}, true))
	if strings.Contains(got, "conflict") || !strings.Contains(got, `info update: TXT of "Node 1" changed 1 times (from 10.0.0.1), announced with the cache-flush bit`) ||
		!strings.Contains(got, `info update: SRV of "Node 1" changed 1 times`) {
		t.Errorf("one responder's update:\n%s", got)
	}
	got = replay(t,
		announcement(t, t0, "10.0.0.1", 80, []string{"a=1"}, true),
		announcement(t, t0.Add(time.Second), "10.0.0.1", 80, []string{"a=2"}, false))
	if !strings.Contains(got, `warn update: TXT of "Node 1" changed 1 times (from 10.0.0.1) without the cache-flush bit`) {
		t.Errorf("update without cache-flush:\n%s", got)
	}
	// The same data from one host's two addresses is no conflict.
	got = replay(t,
		announcement(t, t0, "10.0.0.1", 80, []string{"a=1"}, true),
		announcement(t, t0, "fd00::1", 80, []string{"a=1"}, true))
	if strings.Contains(got, "conflict") || strings.Contains(got, "update") {
		t.Errorf("one host, two families:\n%s", got)
	}
}
