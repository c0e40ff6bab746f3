package advertise_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/advertise"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/mdns/mdnstest"
)

const inst = `Node\ 1._p2p._tcp.local.`

func start(t *testing.T, svc advertise.Service, faults advertise.Faults, body func(ctx context.Context, f *mdnstest.Net, t0 time.Time, events func() []advertise.Event)) {
	synctest.Test(t, func(t *testing.T) {
		f := mdnstest.NewFamilies(true, false)
		r := advertise.New(f, svc, advertise.Config{
			Faults:         faults,
			Rand:           func(n time.Duration) time.Duration { return n / 2 },
			InterfaceAddrs: func(net.Interface) []netip.Addr { return []netip.Addr{netip.MustParseAddr("10.88.0.1")} },
		})
		var mu sync.Mutex
		var evs []advertise.Event
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		t0 := time.Now()
		go func() {
			done <- r.Run(ctx, func(e advertise.Event) error { mu.Lock(); evs = append(evs, e); mu.Unlock(); return nil })
		}()
		defer func() { // also when body fails the test and exits
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run = %v", err)
			}
		}()
		body(ctx, f, t0, func() []advertise.Event { mu.Lock(); defer mu.Unlock(); return append([]advertise.Event(nil), evs...) })
	})
}

var node = advertise.Service{Instance: "Node 1", Type: "_p2p._tcp", Port: 4001, Host: "h1.local."}

func TestProbeAnnounceGoodbye(t *testing.T) {
	svc := node
	svc.TXT = nil // the legal empty TXT: byte 00
	start(t, svc, advertise.Faults{}, func(ctx context.Context, f *mdnstest.Net, t0 time.Time, events func() []advertise.Event) {
		time.Sleep(3 * time.Second)
		synctest.Wait()
		got := f.Take()
		if len(got) != 5 {
			t.Fatalf("%d packets in 3 s, want 3 probes and 2 announcements", len(got))
		}
		// Probes: after 125 ms (half the 0-250 ms window), then 250 ms apart.
		for i, want := range []time.Duration{125, 375, 625} {
			p := got[i]
			if d := p.At.Sub(t0); d != want*time.Millisecond {
				t.Errorf("probe %d at %v, want %v", i, d, want*time.Millisecond)
			}
			m := p.Msg
			if m.Response() || m.Authoritative() || m.ID != 0 || len(m.Questions) != 2 {
				t.Fatalf("probe %d header/questions wrong: %+v", i, m)
			}
			q := m.Questions[0]
			if q.Name != inst || q.Type != dns.TypeANY || !q.QU {
				t.Errorf("probe %d question = %+v, want %s ANY QU", i, q, inst)
			}
			if len(m.Authority) != 3 {
				t.Errorf("probe %d: %d authority records, want SRV, TXT, A", i, len(m.Authority))
			}
			for _, a := range m.Authority {
				if a.CacheFlush {
					t.Errorf("probe %d: %s %s in authority has the cache-flush bit", i, a.Name, mdns.TypeString(a.Type))
				}
			}
		}
		// Announcements: right after probing, then 1 s later.
		if d := got[4].At.Sub(got[3].At); d != time.Second {
			t.Errorf("announcements %v apart, want 1s", d)
		}
		for _, p := range got[3:] {
			m := p.Msg
			if !m.Response() || !m.Authoritative() || m.ID != 0 || len(m.Questions) != 0 {
				t.Errorf("announcement header: %+v", m)
			}
			for _, r := range m.Answers {
				shared := r.Type == dns.TypePTR
				if r.CacheFlush == shared {
					t.Errorf("%s %s: cache-flush %v", r.Name, mdns.TypeString(r.Type), r.CacheFlush)
				}
				want := map[uint16]uint32{dns.TypePTR: 4500, dns.TypeTXT: 4500, dns.TypeSRV: 120, dns.TypeA: 120}[r.Type]
				if r.TTL != want {
					t.Errorf("%s TTL %d, want %d", mdns.TypeString(r.Type), r.TTL, want)
				}
				if r.Type == dns.TypeTXT && string(r.Data) != "\x00" {
					t.Errorf("empty TXT on the wire as %x, want 00", r.Data)
				}
			}
		}
	})
}

func TestGoodbyeSkipsServicesPTR(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mdnstest.NewFamilies(true, false)
		r := advertise.New(f, node, advertise.Config{Rand: func(time.Duration) time.Duration { return 0 },
			InterfaceAddrs: func(net.Interface) []netip.Addr { return []netip.Addr{netip.MustParseAddr("10.88.0.1")} }})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- r.Run(ctx, func(advertise.Event) error { return nil }) }()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		f.Take()
		cancel()
		<-done
		got := f.Take()
		if len(got) != 1 {
			t.Fatalf("%d packets on stop, want one goodbye", len(got))
		}
		for _, rec := range got[0].Msg.Answers {
			if rec.TTL != 0 {
				t.Errorf("goodbye %s %s with TTL %d", rec.Name, mdns.TypeString(rec.Type), rec.TTL)
			}
			if rec.Name == "_services._dns-sd._udp.local." {
				t.Error("goodbye for the _services._dns-sd._udp PTR")
			}
		}
	})
}

func query(src string, id uint16, known []dns.RR, qs ...dns.Question) mdns.Packet {
	m := new(dns.Msg)
	m.Id = id
	m.Question = qs
	m.Answer = known
	m.Compress = true
	b, _ := m.Pack()
	return mdns.Packet{Received: time.Now(), IfIndex: 2, IfName: "eth0", Src: netip.MustParseAddrPort(src), HopLimit: 255, Raw: b}
}

func types(rs []mdns.Record) string {
	var s []string
	for _, r := range rs {
		s = append(s, mdns.TypeString(r.Type))
	}
	return strings.Join(s, " ")
}

func TestAnswers(t *testing.T) {
	start(t, node, advertise.Faults{}, func(ctx context.Context, f *mdnstest.Net, t0 time.Time, events func() []advertise.Event) {
		time.Sleep(3 * time.Second) // probed and announced; 1 s rate limit passed
		f.Take()

		// A shared PTR answer waits 20-120 ms (here 70) and brings SRV, TXT
		// and A as additional records.
		f.Push(query("10.88.0.9:5353", 0, nil, dns.Question{Name: "_p2p._tcp.local.", Qtype: dns.TypePTR, Qclass: dns.ClassINET}))
		synctest.Wait()
		asked := time.Now()
		if len(f.Take()) != 0 {
			t.Error("shared answer sent at once")
		}
		time.Sleep(200 * time.Millisecond)
		got := f.Take()
		if len(got) != 1 || got[0].At.Sub(asked) != 70*time.Millisecond || got[0].Dst.Addr() != mdns.GroupV4 {
			t.Fatalf("PTR answer: %d packets, %+v", len(got), got)
		}
		if a, x := types(got[0].Msg.Answers), types(got[0].Msg.Additional); a != "PTR" || x != "SRV TXT A" {
			t.Errorf("PTR answer %q, additional %q", a, x)
		}

		// A PTR the querier lists as a known answer (compressed in its
		// packet) is not repeated (§7.1).
		time.Sleep(1100 * time.Millisecond)
		kp := []dns.RR{&dns.PTR{Hdr: dns.RR_Header{Name: "_p2p._tcp.local.", Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 4000}, Ptr: inst}}
		f.Push(query("10.88.0.9:5353", 0, kp, dns.Question{Name: "_p2p._tcp.local.", Qtype: dns.TypePTR, Qclass: dns.ClassINET}))
		synctest.Wait()
		time.Sleep(200 * time.Millisecond)
		if got := f.Take(); len(got) != 0 {
			t.Fatalf("answered a known PTR: %+v", got[0].Msg.Answers)
		}

		// Unique records go at once; known answers are suppressed.
		time.Sleep(1100 * time.Millisecond)
		known := []dns.RR{&dns.SRV{Hdr: dns.RR_Header{Name: inst, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 100}, Port: 4001, Target: "h1.local."}}
		f.Push(query("10.88.0.9:5353", 0, known, dns.Question{Name: inst, Qtype: dns.TypeSRV, Qclass: dns.ClassINET}, dns.Question{Name: inst, Qtype: dns.TypeTXT, Qclass: dns.ClassINET}))
		synctest.Wait()
		got = f.Take()
		if len(got) != 1 || types(got[0].Msg.Answers) != "TXT" {
			t.Fatalf("SRV+TXT with SRV known: %+v", got)
		}

		// QU: unicast to the asker.
		time.Sleep(1100 * time.Millisecond)
		f.Push(query("10.88.0.9:5353", 0, nil, dns.Question{Name: "h1.local.", Qtype: dns.TypeA, Qclass: dns.ClassINET | 1<<15}))
		synctest.Wait()
		got = f.Take()
		if len(got) != 1 || got[0].Dst != netip.MustParseAddrPort("10.88.0.9:5353") || types(got[0].Msg.Answers) != "A" {
			t.Fatalf("QU A: %+v", got)
		}

		// Legacy unicast: to the source port, ID and question echoed, no
		// cache-flush, TTL at most 10.
		f.Push(query("10.88.0.9:40000", 4242, nil, dns.Question{Name: inst, Qtype: dns.TypeTXT, Qclass: dns.ClassINET}))
		synctest.Wait()
		got = f.Take()
		if len(got) != 1 {
			t.Fatalf("legacy: %d packets", len(got))
		}
		m := got[0].Msg
		if got[0].Dst.Port() != 40000 || m.ID != 4242 || len(m.Questions) != 1 || m.Answers[0].CacheFlush || m.Answers[0].TTL > 10 {
			t.Errorf("legacy reply to %v: id %d, %d questions, flush %v, ttl %d", got[0].Dst, m.ID, len(m.Questions), m.Answers[0].CacheFlush, m.Answers[0].TTL)
		}

		// A type the instance does not have: NSEC listing TXT and SRV.
		time.Sleep(1100 * time.Millisecond)
		f.Push(query("10.88.0.9:5353", 0, nil, dns.Question{Name: inst, Qtype: dns.TypeAAAA, Qclass: dns.ClassINET}))
		synctest.Wait()
		got = f.Take()
		if len(got) != 1 || types(got[0].Msg.Answers) != "NSEC" {
			t.Fatalf("AAAA on the instance: %+v", got)
		}
	})
}

func TestConflictRenames(t *testing.T) {
	start(t, node, advertise.Faults{}, func(ctx context.Context, f *mdnstest.Net, t0 time.Time, events func() []advertise.Event) {
		time.Sleep(200 * time.Millisecond) // first probe out
		// Another host already owns the name with other data.
		m := new(dns.Msg)
		m.Response, m.Authoritative = true, true
		m.Answer = []dns.RR{&dns.SRV{Hdr: dns.RR_Header{Name: inst, Rrtype: dns.TypeSRV, Class: dns.ClassINET | 1<<15, Ttl: 120}, Port: 9999, Target: "other.local."}}
		b, _ := m.Pack()
		f.Push(mdns.Packet{Received: time.Now(), IfIndex: 2, IfName: "eth0", Src: netip.MustParseAddrPort("10.88.0.7:5353"), Raw: b})
		time.Sleep(3 * time.Second)
		synctest.Wait()
		var kinds []string
		for _, e := range events() {
			kinds = append(kinds, string(e.Kind))
		}
		if !strings.HasPrefix(strings.Join(kinds, " "), "probing conflict renamed probing announced announced") {
			t.Errorf("events %v", kinds)
		}
		last := f.Take()
		ann := last[len(last)-1].Msg
		if tgt, _ := ann.Answers[0].Target(); tgt != `Node\ 1\ \(2\)._p2p._tcp.local.` {
			t.Errorf("announced PTR -> %s, want Node 1 (2)", func() string { t, _ := ann.Answers[0].Target(); return t }())
		}
	})
}

// TestConflictRateLimit: a host that claims every name probed makes the
// responder rename 15 times in quick succession; then it says so and waits
// 5 s before probing again (RFC 6762 §8.1).
func TestConflictRateLimit(t *testing.T) {
	start(t, node, advertise.Faults{}, func(ctx context.Context, f *mdnstest.Net, t0 time.Time, events func() []advertise.Event) {
		var probes []time.Time // the first probe for each name
		last := ""
		for time.Since(t0) < 8*time.Second {
			time.Sleep(10 * time.Millisecond)
			for _, s := range f.Take() {
				m := s.Msg
				if m.Response() || len(m.Authority) == 0 || len(m.Questions) == 0 {
					continue
				}
				if m.Questions[0].Name != last {
					last = m.Questions[0].Name
					probes = append(probes, s.At)
				}
				claim := new(dns.Msg)
				claim.Response, claim.Authoritative = true, true
				claim.Answer = []dns.RR{&dns.SRV{Hdr: dns.RR_Header{Name: m.Questions[0].Name, Rrtype: dns.TypeSRV, Class: dns.ClassINET | 1<<15, Ttl: 120}, Port: 9999, Target: "other.local."}}
				b, err := claim.Pack()
				if err != nil {
					t.Fatal(err)
				}
				f.Push(mdns.Packet{Received: time.Now(), IfIndex: 2, IfName: "eth0", Src: netip.MustParseAddrPort("10.88.0.7:5353"), Raw: b})
			}
		}
		renamed, limited := 0, -1
		for _, e := range events() {
			switch e.Kind {
			case advertise.Renamed:
				renamed++
			case advertise.RateLimit:
				if limited < 0 {
					limited = renamed
				}
			}
		}
		if limited != 15 {
			t.Errorf("rate limit after %d renames, want 15 (%d renames in all)", limited, renamed)
		}
		// Probe rounds 1-15 (15 conflicts) follow each other after the
		// usual random 0-250 ms; round 16 waits 5 s.
		if len(probes) != 16 {
			t.Errorf("%d probe rounds in 8 s, want 16", len(probes))
			return
		}
		if quick := probes[14].Sub(probes[0]); quick > 14*260*time.Millisecond {
			t.Errorf("15 rounds took %v, want each within 250 ms of the last conflict", quick)
		}
		if gap := probes[15].Sub(probes[14]); gap < 5*time.Second {
			t.Errorf("round 16 came %v after round 15, want at least 5 s", gap)
		}
	})
}

func TestFaults(t *testing.T) {
	start(t, node, advertise.Faults{ZeroLengthTXT: true, NoProbe: true, NoCacheFlush: true, FlushShared: true}, func(ctx context.Context, f *mdnstest.Net, t0 time.Time, events func() []advertise.Event) {
		synctest.Wait()
		got := f.Take()
		if len(got) != 1 || !got[0].Msg.Response() {
			t.Fatalf("no-probe: first packet should be an announcement at once, got %d", len(got))
		}
		for _, r := range got[0].Msg.Answers {
			if r.Type == dns.TypeTXT && len(r.Data) != 0 {
				t.Errorf("zero-length-txt: TXT is %x", r.Data)
			}
			if (r.Type == dns.TypePTR) != r.CacheFlush {
				t.Errorf("%s: cache-flush %v with no-cache-flush + flush-shared", mdns.TypeString(r.Type), r.CacheFlush)
			}
		}
	})
}

// TestProbeDelayCountsFromStart: the first probe's random delay counts
// from Config.Started, so start-up work is spent inside it; the probes
// keep their 250 ms grid.
func TestProbeDelayCountsFromStart(t *testing.T) {
	for _, c := range []struct {
		before time.Duration // Started this long before Run
		first  time.Duration // first probe after Run
	}{{0, 125 * time.Millisecond}, {100 * time.Millisecond, 25 * time.Millisecond}, {400 * time.Millisecond, 0}} {
		synctest.Test(t, func(t *testing.T) {
			f := mdnstest.NewFamilies(true, false)
			t0 := time.Now()
			r := advertise.New(f, node, advertise.Config{Started: t0.Add(-c.before),
				Rand:           func(n time.Duration) time.Duration { return n / 2 },
				InterfaceAddrs: func(net.Interface) []netip.Addr { return []netip.Addr{netip.MustParseAddr("10.88.0.1")} },
			})
			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			defer cancel()
			_ = r.Run(ctx, func(advertise.Event) error { return nil })
			var at []time.Duration
			for _, p := range f.Take() {
				at = append(at, p.At.Sub(t0))
			}
			ms := time.Millisecond
			want := []time.Duration{c.first, c.first + 250*ms, c.first + 500*ms, c.first + 750*ms}
			if len(at) < len(want) || !slices.Equal(at[:len(want)], want) {
				t.Errorf("started %v before Run: packets at %v, want probes and the first announcement at %v", c.before, at, want)
			}
		})
	}
}
