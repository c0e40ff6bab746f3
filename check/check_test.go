package check_test

import (
	"errors"
	"io"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/check"
	"github.com/bonjourctl/bonjourctl/internal/pcapfile"
	"github.com/bonjourctl/bonjourctl/mdns"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func rr(s string) dns.RR {
	r, err := dns.NewRR(s)
	if err != nil {
		panic(err)
	}
	return r
}

func flush(r dns.RR) dns.RR { r.Header().Class |= 1 << 15; return r }

type pkt struct {
	at     time.Duration
	src    string
	dst    string
	hop    int
	resp   bool
	aa     bool
	id     uint16
	qs     []dns.Question
	answer []dns.RR
	ns     []dns.RR
	extra  []dns.RR
}

func (p pkt) packet() *mdns.Packet {
	m := new(dns.Msg)
	m.Id, m.Response, m.Authoritative = p.id, p.resp, p.aa
	m.Question, m.Answer, m.Ns, m.Extra = p.qs, p.answer, p.ns, p.extra
	b, err := m.Pack()
	if err != nil {
		panic(err)
	}
	if p.src == "" {
		p.src = "10.88.0.2:5353"
	}
	if p.dst == "" {
		p.dst = "224.0.0.251:5353"
	}
	if p.hop == 0 {
		p.hop = 255
	}
	return &mdns.Packet{Received: t0.Add(p.at), Src: netip.MustParseAddrPort(p.src), Dst: netip.MustParseAddrPort(p.dst), HopLimit: p.hop, IfName: "eth0", Raw: b}
}

const inst = "bad._p2p._tcp.local."

func rules(fs []check.Finding) map[string]check.Level {
	out := map[string]check.Level{}
	for _, f := range fs {
		out[f.Rule] = f.Level
	}
	return out
}

func TestRules(t *testing.T) {
	ptr := rr("_p2p._tcp.local. 4500 IN PTR " + inst)
	srv := flush(rr(inst + " 120 IN SRV 0 0 1 h.local."))
	txt0 := &dns.RFC3597{Hdr: dns.RR_Header{Name: inst, Rrtype: dns.TypeTXT, Class: dns.ClassINET | 1<<15, Ttl: 4500}, Rdata: ""}
	q := []dns.Question{{Name: "_p2p._tcp.local.", Qtype: dns.TypePTR, Qclass: dns.ClassINET}}
	tests := []struct {
		name string
		pkts []pkt
		rule string
		want check.Level
	}{
		{"aa in query", []pkt{{aa: true, qs: q}}, "aa-in-query", check.Fail},
		{"response without aa", []pkt{{resp: true, answer: []dns.RR{srv}}}, "aa-in-response", check.Fail},
		{"ip ttl", []pkt{{resp: true, aa: true, hop: 64, answer: []dns.RR{srv}}}, "ip-ttl", check.Warn},
		{"id in multicast response", []pkt{{resp: true, aa: true, id: 5, answer: []dns.RR{srv}}}, "id-in-response", check.Fail},
		{"question in multicast response", []pkt{{resp: true, aa: true, qs: q, answer: []dns.RR{ptr}}}, "questions-in-response", check.Fail},
		{"answer within 1 s of the last multicast", []pkt{{resp: true, aa: true, answer: []dns.RR{srv}},
			{at: 500 * time.Millisecond, src: "10.88.0.9:5353", qs: []dns.Question{{Name: inst, Qtype: dns.TypeSRV, Qclass: dns.ClassINET}}},
			{at: 505 * time.Millisecond, resp: true, aa: true, answer: []dns.RR{srv}}}, "one-second-rule", check.Fail},
		{"QU answered by multicast", []pkt{{resp: true, aa: true, answer: []dns.RR{srv}},
			{at: 1500 * time.Millisecond, src: "10.88.0.9:5353", qs: []dns.Question{{Name: inst, Qtype: dns.TypeSRV, Qclass: dns.ClassINET | 1<<15}}},
			{at: 1505 * time.Millisecond, resp: true, aa: true, answer: []dns.RR{srv}}}, "qu-multicast", check.Warn},
		{"flush on ptr", []pkt{{resp: true, aa: true, answer: []dns.RR{flush(rr("_p2p._tcp.local. 4500 IN PTR " + inst))}}}, "flush-on-shared", check.Fail},
		{"no flush on srv", []pkt{{resp: true, aa: true, answer: []dns.RR{rr(inst + " 120 IN SRV 0 0 1 h.local.")}}}, "no-flush-on-unique", check.Warn},
		{"wrong ttl", []pkt{{resp: true, aa: true, answer: []dns.RR{flush(rr(inst + " 3200 IN SRV 0 0 1 h.local."))}}}, "ttl", check.Warn},
		{"zero-length txt", []pkt{{resp: true, aa: true, answer: []dns.RR{txt0}}}, "txt-zero-length-rdata", check.Fail},
		{"repeat within 1 s", []pkt{{resp: true, aa: true, answer: []dns.RR{ptr}}, {at: 200 * time.Millisecond, resp: true, aa: true, answer: []dns.RR{ptr}}}, "announce-spacing", check.Fail},
		{"legacy flush", []pkt{{resp: true, aa: true, dst: "10.88.0.9:40000", id: 7, answer: []dns.RR{srv}}}, "legacy-flush", check.Fail},
		{"no additionals", []pkt{{src: "10.88.0.9:40000", qs: q}, {at: 50 * time.Millisecond, resp: true, aa: true, dst: "10.88.0.9:40000", id: 9, qs: q, answer: []dns.RR{rr("_p2p._tcp.local. 10 IN PTR " + inst)}}}, "ptr-additionals", check.Warn},
		{"probe with flush", []pkt{{qs: []dns.Question{{Name: inst, Qtype: dns.TypeANY, Qclass: dns.ClassINET | 1<<15}}, ns: []dns.RR{srv}}}, "probe-flush", check.Fail},
		{"probe type", []pkt{{qs: []dns.Question{{Name: inst, Qtype: dns.TypePTR, Qclass: dns.ClassINET | 1<<15}}, ns: []dns.RR{rr(inst + " 120 IN SRV 0 0 1 h.local.")}}}, "probe-type", check.Warn},
		{"known answer ignored", []pkt{{src: "10.88.0.9:5353", qs: q, answer: []dns.RR{rr("_p2p._tcp.local. 4000 IN PTR " + inst)}}, {at: 60 * time.Millisecond, resp: true, aa: true, answer: []dns.RR{ptr}}}, "known-answer-ignored", check.Fail},
		{"slow unique answer", []pkt{{src: "10.88.0.9:5353", qs: []dns.Question{{Name: inst, Qtype: dns.TypeSRV, Qclass: dns.ClassINET}}}, {at: 400 * time.Millisecond, resp: true, aa: true, answer: []dns.RR{srv}}}, "unique-answer-delay", check.Warn},
		{"service name", []pkt{{resp: true, aa: true, answer: []dns.RR{rr("_this-name-is-too-long._tcp.local. 4500 IN PTR x._this-name-is-too-long._tcp.local.")}}}, "service-name", check.Warn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := check.New(nil)
			for _, p := range tt.pkts {
				c.Packet(p.packet())
			}
			fs := c.Findings(false)
			if got := rules(fs)[tt.rule]; got != tt.want {
				t.Errorf("rule %s = %q, want %q; findings %+v", tt.rule, got, tt.want, fs)
			}
			for _, f := range fs {
				if f.Rule == tt.rule && (f.Section == "" || f.Responder == "" || len(f.Evidence) == 0) {
					t.Errorf("finding lacks section, responder or evidence: %+v", f)
				}
			}
		})
	}
}

func TestProbing(t *testing.T) {
	probe := func(at time.Duration) pkt {
		return pkt{at: at, qs: []dns.Question{{Name: inst, Qtype: dns.TypeANY, Qclass: dns.ClassINET | 1<<15}}, ns: []dns.RR{rr(inst + " 120 IN SRV 0 0 1 h.local.")}}
	}
	announce := pkt{at: time.Second, resp: true, aa: true, answer: []dns.RR{flush(rr(inst + " 120 IN SRV 0 0 1 h.local."))}}
	good := check.New(nil)
	for _, p := range []pkt{probe(0), probe(250 * time.Millisecond), probe(500 * time.Millisecond), announce} {
		good.Packet(p.packet())
	}
	if fs := good.Findings(true); len(fs) != 0 {
		t.Errorf("conformant probing: %+v", fs)
	}
	bad := check.New(nil)
	bad.Packet(announce.packet())
	if rules(bad.Findings(true))["no-probes"] != check.Fail {
		t.Error("announcing without probes not flagged")
	}
	few := check.New(nil)
	for _, p := range []pkt{probe(0), probe(40 * time.Millisecond), announce} {
		few.Packet(p.packet())
	}
	if r := rules(few.Findings(true)); r["probe-count"] != check.Warn {
		t.Errorf("2 probes 40 ms apart: %v", r)
	}
}

func TestVanished(t *testing.T) {
	c := check.New(nil)
	c.Packet(pkt{resp: true, aa: true, answer: []dns.RR{flush(rr(inst + " 120 IN SRV 0 0 1 h.local."))}}.packet())
	c.Vanished(inst, t0.Add(5*time.Second), t0.Add(6*time.Second))
	if rules(c.Findings(false))["no-goodbye"] != check.Fail {
		t.Error("silent departure not flagged")
	}
	c = check.New(nil)
	c.Packet(pkt{resp: true, aa: true, answer: []dns.RR{flush(rr(inst + " 0 IN SRV 0 0 1 h.local."))}}.packet())
	c.Vanished(inst, t0.Add(5*time.Second), t0.Add(6*time.Second))
	if _, ok := rules(c.Findings(false))["no-goodbye"]; ok {
		t.Error("departure with goodbye flagged")
	}
}

// readCapture feeds every packet of a lab capture to a new Checker.
func readCapture(t *testing.T, path string) *check.Checker {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapfile.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	c := check.New(nil)
	for {
		p, _, err := r.Next()
		if errors.Is(err, io.EOF) {
			return c
		}
		if err != nil {
			t.Fatal(err)
		}
		c.Packet(&p)
	}
}

// TestAvahiCapture: in the lab capture, avahi-daemon's packets pass with
// no failure (only the documented warning: probes without the QU bit).
func TestAvahiCapture(t *testing.T) {
	c := readCapture(t, "../internal/cli/testdata/peers.pcapng")
	for _, fd := range c.Findings(false) {
		if !strings.HasPrefix(fd.Responder, "10.88.0.2") && !strings.HasPrefix(fd.Responder, "fd88::2") {
			continue // python3-zeroconf's deviations are not under test here
		}
		if fd.Level == check.Fail || !strings.HasPrefix(fd.Rule, "probe-qu") {
			t.Errorf("avahi: %+v", fd)
		}
	}
}

// TestGrandcatCapture: github.com/grandcat/zeroconf's packets in the lab
// capture show its known deviations, each against the publishing host.
func TestGrandcatCapture(t *testing.T) {
	c := readCapture(t, "../internal/cli/testdata/grandcat.pcapng")
	got := map[string]check.Level{}
	for _, fd := range c.Findings(false) {
		t.Logf("%s %s %s: %s", fd.Level, fd.Responder, fd.Rule, fd.Message)
		if strings.HasPrefix(fd.Responder, "10.88.0.2") || strings.HasPrefix(fd.Responder, "fe80::88:ff:fe00:2") {
			got[fd.Rule] = max(got[fd.Rule], fd.Level)
		}
		// Its answer left 2.3 ms after the querier's IPv4 question and
		// 0.2 ms after the IPv6 copy of it: the delay counts from the first.
		if fd.Rule == "shared-answer-delay" && !strings.Contains(fd.Message, "after 2.3ms") {
			t.Errorf("shared-answer-delay: %s", fd.Message)
		}
	}
	for rule, level := range map[string]check.Level{
		"aa-in-response":        check.Fail, // its announcements and goodbyes lack AA
		"txt-zero-length-rdata": check.Fail, // GC Empty
		"ttl":                   check.Warn, // 3200 s on SRV and TXT
		"shared-answer-delay":   check.Warn, // answers PTR questions at once
	} {
		if got[rule] != level {
			t.Errorf("rule %s: level %v, want %v (all: %v)", rule, got[rule], level, got)
		}
	}
}

// TestRightRule: a multicast answer to a question, 757 ms after the
// responder's previous multicast of the record (avahi-daemon answering a
// QU question), breaks the one-second rule (§6) and the QU rule (§5.4),
// not the announcement spacing; both findings name the question that
// triggered them. The same question over the other family, milliseconds
// later, is the same question.
func TestRightRule(t *testing.T) {
	srv := flush(rr(inst + " 120 IN SRV 0 0 1 h.local."))
	qu := []dns.Question{{Name: inst, Qtype: dns.TypeSRV, Qclass: dns.ClassINET | 1<<15}}
	c := check.New(nil)
	for _, p := range []pkt{
		{resp: true, aa: true, answer: []dns.RR{srv}},
		{at: 755 * time.Millisecond, src: "10.88.0.1:5353", qs: qu},
		{at: 756 * time.Millisecond, src: "[fe80::1]:5353", dst: "[ff02::fb]:5353", qs: qu},
		{at: 757 * time.Millisecond, resp: true, aa: true, answer: []dns.RR{srv}},
		{at: 758 * time.Millisecond, src: "[fe80::2]:5353", dst: "[ff02::fb]:5353", resp: true, aa: true, answer: []dns.RR{srv}},
	} {
		c.Packet(p.packet())
	}
	got := map[string]check.Finding{}
	for _, f := range c.Findings(false) {
		got[f.Rule] = f
	}
	if _, ok := got["announce-spacing"]; ok {
		t.Errorf("judged as an announcement: %+v", got["announce-spacing"])
	}
	for _, rule := range []string{"one-second-rule", "qu-multicast"} {
		f, ok := got[rule]
		if !ok || !strings.HasPrefix(f.Trigger, `query from 10.88.0.1:5353 at `) || !strings.HasSuffix(f.Trigger, `(bad._p2p._tcp.local. SRV QU)`) {
			t.Errorf("%s: %+v", rule, f)
		}
	}
}

// TestStartedSparesRunningResponders: with --started, a responder first
// heard answering a question (it was up before the check) is not failed
// for not probing; one first heard announcing unasked is.
func TestStartedSparesRunningResponders(t *testing.T) {
	srv := flush(rr(inst + " 120 IN SRV 0 0 1 h.local."))
	other := flush(rr("other._p2p._tcp.local. 120 IN SRV 0 0 1 o.local."))
	c := check.New(nil)
	for _, p := range []pkt{
		{src: "10.88.0.9:5353", qs: []dns.Question{{Name: inst, Qtype: dns.TypeSRV, Qclass: dns.ClassINET}}},
		{at: 5 * time.Millisecond, resp: true, aa: true, answer: []dns.RR{srv}},
		{at: 3 * time.Second, src: "10.88.0.3:5353", resp: true, aa: true, answer: []dns.RR{other}},
	} {
		c.Packet(p.packet())
	}
	var noProbes []string
	for _, f := range c.Findings(true) {
		if f.Rule == "no-probes" {
			noProbes = append(noProbes, f.Responder)
		}
	}
	if len(noProbes) != 1 || noProbes[0] != "10.88.0.3" {
		t.Errorf("no-probes for %v, want only 10.88.0.3", noProbes)
	}
}
