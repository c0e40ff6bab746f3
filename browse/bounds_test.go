package browse_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/mdns/mdnstest"
)

// engineWith runs a Browser with cfg on a fresh network for body.
func engineWith(t *testing.T, cfg browse.Config, setup func(b *browse.Browser), body func(f *mdnstest.Net, b *browse.Browser, rec *recorder)) {
	synctest.Test(t, func(t *testing.T) {
		f := mdnstest.New()
		rec := &recorder{}
		if cfg.Rand == nil {
			cfg.Rand = func(n time.Duration) time.Duration { return n / 2 }
		}
		b := browse.New(f, cfg)
		setup(b)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- b.Run(ctx, rec.fn) }()
		defer func() { cancel(); <-done }()
		synctest.Wait()
		body(f, b, rec)
	})
}

// TestTypeStormBounded: a host that announces 5,000 service types cannot
// make bonjourctl query them all: the types are capped (and the excess
// counted), and query packets are paced by the budget; over 20 s the
// browser sends at most its burst plus 40 packets a second.
func TestTypeStormBounded(t *testing.T) {
	engineWith(t, browse.Config{MaxTypes: 1000}, func(b *browse.Browser) { b.BrowseAll() }, func(f *mdnstest.Net, b *browse.Browser, rec *recorder) {
		for p := 0; p < 100; p++ {
			var ans []dns.RR
			for i := 0; i < 50; i++ {
				ans = append(ans, rr(fmt.Sprintf("%s 4500 IN PTR _t%d-%d._tcp.local.", browse.ServicesName, p, i)))
			}
			f.Push(response(ans))
		}
		time.Sleep(20 * time.Second)
		synctest.Wait()
		st := b.Stats()
		sent, continued := 0, 0
		for _, s := range f.Sent() {
			if len(s.Msg.Questions) > 0 {
				sent++
			} else {
				continued++ // known answers continued from a query (RFC 6762 §7.2)
			}
		}
		if sent > 80+40*20 || continued > sent {
			t.Errorf("%d queries (and %d continuations) in 20 s, want at most the budget's %d", sent, continued, 80+40*20)
		}
		if st.TypesShed != 4000 {
			t.Errorf("types shed %d, want 4000 (5000 over a cap of 1000)", st.TypesShed)
		}
		if st.QueriesDeferred == 0 {
			t.Errorf("stats %+v: no query waited for the budget", st)
		}
	})
}

// TestOneTaskPerRecord: an unchanged service announced 10,000 times keeps
// one scheduled entry per record, type and instance: the schedule does
// not grow with the packets.
func TestOneTaskPerRecord(t *testing.T) {
	engineWith(t, browse.Config{}, func(b *browse.Browser) { b.Browse("_p2p._tcp") }, func(f *mdnstest.Net, b *browse.Browser, rec *recorder) {
		for i := 0; i < 10000; i++ {
			f.Push(announce([]byte{0}, 4500))
			if i%1000 == 999 {
				synctest.Wait()
			}
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if st := b.Stats(); st.Scheduled > 8 || st.Packets != 10000 {
			t.Errorf("after 10,000 announcements: %d entries scheduled, %d packets", st.Scheduled, st.Packets)
		}
	})
}

// TestHugeTTL: a TTL of 0xFFFFFFFF (RFC 2181 §8 makes its top bit
// meaningless) does not overflow into refreshes due at once: nothing is
// queried for it soon, and it is listed as a known answer.
func TestHugeTTL(t *testing.T) {
	engineWith(t, browse.Config{}, func(b *browse.Browser) { b.Browse("_p2p._tcp") }, func(f *mdnstest.Net, b *browse.Browser, rec *recorder) {
		time.Sleep(100 * time.Millisecond)
		f.Push(response([]dns.RR{rr("_p2p._tcp.local. 4294967295 IN PTR " + inst)},
			flush(rr(inst+" 4294967295 IN SRV 0 0 4001 host1.local.")), txtRR(inst, 4294967295, true, []byte{0}),
			flush(rr("host1.local. 4294967295 IN A 10.88.0.2"))))
		synctest.Wait()
		f.Take()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		sent := f.Take()
		for _, s := range sent {
			for _, q := range s.Msg.Questions {
				if q.Type != dns.TypePTR {
					t.Errorf("refresh query for %s %s within 10 s of a TTL of 0xFFFFFFFF", q.Name, mdns.TypeString(q.Type))
				}
			}
		}
		if len(sent) == 0 || len(sent[len(sent)-1].Msg.Answers) != 1 {
			t.Errorf("the PTR query did not list the record as a known answer: %d queries", len(sent))
		}
		if ev := rec.all(); len(ev) != 1 || ev[0].Service.Records[0].TTL != 4294967295 {
			t.Errorf("events %+v: want one added, with the TTL as received", ev)
		}
	})
}

// TestEvictionReported: with the cache full, a record pushed out is
// reported as evicted, not as a record that changed.
func TestEvictionReported(t *testing.T) {
	engineWith(t, browse.Config{MaxRecords: 8}, func(b *browse.Browser) { b.Browse("_p2p._tcp") }, func(f *mdnstest.Net, b *browse.Browser, rec *recorder) {
		time.Sleep(100 * time.Millisecond)
		f.Push(announce([]byte{0}, 4500))
		synctest.Wait()
		for i := 0; i < 6; i++ {
			name := fmt.Sprintf(`N%d._p2p._tcp.local.`, i)
			f.Push(response([]dns.RR{rr("_p2p._tcp.local. 4500 IN PTR " + name)}, flush(rr(name+" 4500 IN SRV 0 0 1 other.local."))))
		}
		synctest.Wait()
		var lines []string
		for _, e := range rec.all() {
			if e.Service.Instance != "Node 1" {
				continue
			}
			for _, c := range e.Changes {
				lines = append(lines, c.Field+": "+c.Old+" -> "+c.New)
			}
			if e.Kind == browse.Removed {
				lines = append(lines, "removed: "+string(e.Cause))
			}
		}
		got := strings.Join(lines, "\n")
		if !strings.Contains(got, "evicted: ") || !strings.Contains(got, "dropped: the cache is full (8 records)") {
			t.Errorf("Node 1's changes do not say it was evicted:\n%s", got)
		}
		if b.Stats().Evicted == 0 {
			t.Error("no eviction counted")
		}
	})
}

// BenchmarkInsertFullCache: inserting records into a full cache costs
// O(log n) each (the record closest to expiry comes off a heap).
func BenchmarkInsertFullCache(b *testing.B) {
	const size = 50000
	f := mdnstest.New()
	br := browse.New(f, browse.Config{MaxRecords: size})
	br.Browse("_p2p._tcp")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- br.Run(ctx, func(browse.Event) error { return nil }) }()
	defer func() { cancel(); <-done }()
	for len(f.Stats().Subscribers) == 0 {
		time.Sleep(time.Millisecond)
	}
	push := func(i int) {
		f.Push(response([]dns.RR{flush(rr(fmt.Sprintf("h%d.local. 120 IN A 10.%d.%d.%d", i, i>>16&255, i>>8&255, i&255)))}))
	}
	wait := func(n int) {
		for br.Stats().Packets < n {
			time.Sleep(100 * time.Microsecond)
		}
	}
	for i := 0; i < size; i++ { // fill it
		push(i)
		if i%1000 == 999 {
			wait(i + 1)
		}
	}
	wait(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		push(size + i)
		if i%1000 == 999 {
			wait(size + i + 1)
		}
	}
	wait(size + b.N)
	b.ReportMetric(float64(br.Stats().Evicted), "evicted")
}

// BenchmarkInstancesOneHost: 30,000 instances on one host, each packet
// carrying the host's (unchanged) address: the address refresh must not
// touch every instance of the host.
func BenchmarkInstancesOneHost(b *testing.B) {
	const n = 30000
	f := mdnstest.New()
	br := browse.New(f, browse.Config{})
	br.Browse("_p2p._tcp")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- br.Run(ctx, func(browse.Event) error { return nil }) }()
	defer func() { cancel(); <-done }()
	for len(f.Stats().Subscribers) == 0 {
		time.Sleep(time.Millisecond)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % n
		name := fmt.Sprintf("i%d._p2p._tcp.local.", k)
		f.Push(response([]dns.RR{rr("_p2p._tcp.local. 4500 IN PTR " + name)},
			flush(rr(name+" 120 IN SRV 0 0 1 onehost.local.")), txtRR(name, 4500, true, []byte{0}),
			flush(rr("onehost.local. 120 IN A 10.88.0.2"))))
		if i%1000 == 999 {
			for br.Stats().Packets < i+1 {
				time.Sleep(100 * time.Microsecond)
			}
		}
	}
	for br.Stats().Packets < b.N {
		time.Sleep(100 * time.Microsecond)
	}
}

// TestFirstQueryDelayCountsFromStart: the first query's random delay
// (20-40 ms, 30 ms with this Rand) counts from Config.Started for types
// asked for at start-up; later types wait their full delay.
func TestFirstQueryDelayCountsFromStart(t *testing.T) {
	for _, c := range []struct {
		before time.Duration // Started this long before Browse
		first  time.Duration // first query after Browse
	}{{0, 30 * time.Millisecond}, {15 * time.Millisecond, 15 * time.Millisecond}, {100 * time.Millisecond, 0}, {2 * time.Second, 30 * time.Millisecond}} {
		synctest.Test(t, func(t *testing.T) {
			f := mdnstest.New()
			t0 := time.Now()
			b := browse.New(f, browse.Config{Started: t0.Add(-c.before), Rand: func(n time.Duration) time.Duration { return n / 2 }})
			b.Browse("_p2p._tcp")
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			_ = b.Run(ctx, func(browse.Event) error { return nil })
			sent := f.Take()
			if len(sent) == 0 || sent[0].At.Sub(t0) != c.first {
				var at []time.Duration
				for _, p := range sent {
					at = append(at, p.At.Sub(t0))
				}
				t.Errorf("started %v before: queries at %v, want the first at %v", c.before, at, c.first)
			}
		})
	}
}

// TestLegitTypeDuringTypeStorm: while a host announces thousands of empty
// service types, a real service announced 5 s in (its enumeration PTR, its
// type's PTR, SRV, TXT and A in one packet) is browsed and reported at
// once: idle types make room, and the packet's own PTR is taken without
// waiting for a query.
func TestLegitTypeDuringTypeStorm(t *testing.T) {
	engineWith(t, browse.Config{MaxTypes: 1000}, func(b *browse.Browser) { b.BrowseAll() }, func(f *mdnstest.Net, b *browse.Browser, rec *recorder) {
		for p := 0; p < 100; p++ {
			var ans []dns.RR
			for i := 0; i < 50; i++ {
				ans = append(ans, rr(fmt.Sprintf("%s 4500 IN PTR _t%d-%d._tcp.local.", browse.ServicesName, p, i)))
			}
			f.Push(response(ans))
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(time.Second)
		at := time.Now()
		f.Push(response([]dns.RR{
			rr(browse.ServicesName + " 4500 IN PTR _legit._tcp.local."),
			rr(`_legit._tcp.local. 4500 IN PTR Legit._legit._tcp.local.`),
			flush(rr(`Legit._legit._tcp.local. 120 IN SRV 0 0 4001 legit.local.`)),
			flush(rr(`Legit._legit._tcp.local. 4500 IN TXT "k=v"`)),
			flush(rr(`legit.local. 120 IN A 10.88.0.7`)),
		}))
		time.Sleep(time.Second)
		synctest.Wait()
		for _, ev := range rec.all() {
			if ev.Kind == browse.Added && ev.Service.Instance == "Legit" {
				if d := ev.At.Sub(at); d > 0 {
					t.Errorf("Legit reported %v after its announcement, want at once", d)
				}
				if st := b.Stats(); st.TypesDropped == 0 {
					t.Errorf("no idle type was dropped to make room: %+v", st)
				}
				return
			}
		}
		t.Fatalf("Legit not reported during the storm; stats %+v", b.Stats())
	})
}
