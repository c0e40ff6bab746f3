package browse_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/mdns/mdnstest"
)

// engine runs a Browser on f (browsing types, or nothing) for body.
func engine(t *testing.T, types []string, body func(ctx context.Context, f *mdnstest.Net, b *browse.Browser, rec *recorder)) {
	synctest.Test(t, func(t *testing.T) {
		f := mdnstest.New()
		rec := &recorder{}
		b := browse.New(f, browse.Config{Rand: func(n time.Duration) time.Duration { return n / 2 }})
		if len(types) > 0 {
			b.Browse(types...)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- b.Run(ctx, rec.fn) }()
		defer func() { // also when body fails the test and exits
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		}()
		synctest.Wait()
		body(ctx, f, b, rec)
	})
}

// asked returns when each query went, relative to start, and its
// questions' types.
func asked(sent []mdnstest.Sent, start time.Time) (at []time.Duration, types [][]uint16) {
	for _, s := range sent {
		at = append(at, s.At.Sub(start))
		var ts []uint16
		for _, q := range s.Msg.Questions {
			ts = append(ts, q.Type)
		}
		types = append(types, ts)
	}
	return at, types
}

// TestResolveRetransmits: a responder silent at first (it multicast the
// records less than a second ago, RFC 6762 §6) is asked again at 1 s and
// 2 s later; the answer's SRV and TXT, with the address in the additional
// section of the same packet, complete the resolution at once.
func TestResolveRetransmits(t *testing.T) {
	engine(t, nil, func(ctx context.Context, f *mdnstest.Net, b *browse.Browser, _ *recorder) {
		start := time.Now()
		got := make(chan browse.Resolution)
		go func() {
			r, err := b.Resolve(ctx, inst)
			if err != nil {
				t.Errorf("Resolve: %v", err)
			}
			got <- r
		}()
		time.Sleep(3500 * time.Millisecond)
		synctest.Wait()
		at, types := asked(f.Sent(), start)
		want := []time.Duration{0, time.Second, 3 * time.Second}
		if len(at) != 3 {
			t.Fatalf("queries at %v, want %v", at, want)
		}
		for i := range want {
			if at[i] != want[i] || len(types[i]) != 2 || types[i][0] != dns.TypeSRV || types[i][1] != dns.TypeTXT {
				t.Errorf("query %d at %v asking %v, want %v asking SRV and TXT", i, at[i], types[i], want[i])
			}
		}
		f.Push(response([]dns.RR{flush(rr(inst + " 120 IN SRV 0 0 4001 host1.local.")), txtRR(inst, 4500, true, []byte("\x09key=value"))},
			flush(rr("host1.local. 120 IN A 10.88.0.2"))))
		r := <-got
		s := r.Service
		if !r.Complete || r.Queries != 3 || s.Host != "host1.local." || s.Port != 4001 || s.TXTState != browse.TXTPresent ||
			len(s.Addrs) != 1 || s.Addrs[0].String() != "10.88.0.2" || len(r.Packets) != 1 || len(r.Missing()) != 0 {
			t.Errorf("resolution = %+v", r)
		}
		for _, rec := range s.Records {
			if rec.Src.String() != "10.88.0.2:5353" || rec.IfName != "eth0" || rec.HopLimit != 255 {
				t.Errorf("%s record provenance: from %s on %s hop limit %d", mdns.TypeString(rec.Type), rec.Src, rec.IfName, rec.HopLimit)
			}
		}
	})
}

// TestResolveAsksForAddresses: with SRV and TXT known but no address, the
// next question is for the host's A and AAAA only.
func TestResolveAsksForAddresses(t *testing.T) {
	engine(t, nil, func(ctx context.Context, f *mdnstest.Net, b *browse.Browser, _ *recorder) {
		start := time.Now()
		go func() { _, _ = b.Resolve(ctx, inst) }()
		synctest.Wait()
		f.Push(response([]dns.RR{flush(rr(inst + " 120 IN SRV 0 0 4001 host1.local.")), txtRR(inst, 4500, true, []byte{0})}))
		time.Sleep(1100 * time.Millisecond)
		synctest.Wait()
		_, types := asked(f.Sent(), start)
		if len(types) != 2 || len(types[1]) != 2 || types[1][0] != dns.TypeA || types[1][1] != dns.TypeAAAA {
			t.Errorf("questions %v, want SRV+TXT, then A+AAAA", types)
		}
	})
}

// TestResolveFromCache: what the engine learnt while browsing answers at
// once; nothing is asked.
func TestResolveFromCache(t *testing.T) {
	engine(t, []string{"_p2p._tcp"}, func(ctx context.Context, f *mdnstest.Net, b *browse.Browser, _ *recorder) {
		f.Push(announce([]byte("\x09key=value"), 4500))
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		before := len(f.SentAll())
		r, err := b.Resolve(ctx, `node\ 1._P2P._tcp.local.`)
		if err != nil || !r.Complete || r.Queries != 0 || len(f.SentAll()) != before {
			t.Errorf("Resolve = %+v, %v; %d packets sent", r, err, len(f.SentAll())-before)
		}
	})
}

// TestResolveZeroLengthTXT: zero-length RDATA is a TXT record in the
// zero-length state, not a missing one, and completes the resolution.
func TestResolveZeroLengthTXT(t *testing.T) {
	engine(t, nil, func(ctx context.Context, f *mdnstest.Net, b *browse.Browser, _ *recorder) {
		got := make(chan browse.Resolution)
		go func() { r, _ := b.Resolve(ctx, inst); got <- r }()
		synctest.Wait()
		f.Push(response([]dns.RR{flush(rr(inst + " 120 IN SRV 0 0 4001 host1.local.")), txtRR(inst, 4500, true, nil)},
			flush(rr("host1.local. 120 IN A 10.88.0.2"))))
		r := <-got
		if !r.Complete || r.Service.TXTState != browse.TXTZeroLength || len(r.Service.TXTRaw) != 0 {
			t.Errorf("resolution: complete %v, TXT %s %x", r.Complete, r.Service.TXTState, r.Service.TXTRaw)
		}
	})
}

// TestResolveTimesOut: when ctx ends first, Resolve says what arrived,
// what did not, and how often it asked.
func TestResolveTimesOut(t *testing.T) {
	engine(t, nil, func(ctx context.Context, f *mdnstest.Net, b *browse.Browser, _ *recorder) {
		rctx, cancel := context.WithTimeout(ctx, 2500*time.Millisecond)
		defer cancel()
		go func() {
			time.Sleep(10 * time.Millisecond)
			f.Push(response([]dns.RR{flush(rr(inst + " 120 IN SRV 0 0 4001 host1.local."))}, flush(rr("host1.local. 120 IN A 10.88.0.2"))))
		}()
		r, err := b.Resolve(rctx, inst)
		if !errors.Is(err, context.DeadlineExceeded) || r.Complete || r.Queries != 2 || r.Service.Host != "host1.local." {
			t.Errorf("Resolve = %+v, %v", r, err)
		}
		if m := r.Missing(); len(m) != 1 || m[0] != "TXT" {
			t.Errorf("missing %v, want [TXT]", m)
		}
	})
}

// TestIgnoresOtherSourcePorts: a response from a port other than 5353 is
// not mDNS (RFC 6762 §6): nothing is cached from it; it is counted.
func TestIgnoresOtherSourcePorts(t *testing.T) {
	run(t, []string{"_p2p._tcp"}, func(ctx context.Context, f *mdnstest.Net, rec *recorder, start time.Time) {
		p := announce([]byte("\x09key=value"), 4500)
		p.Src = netip.MustParseAddrPort("10.88.0.3:37104")
		f.Push(p)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if evs := rec.all(); len(evs) != 0 {
			t.Errorf("events from a response sent from port 37104: %+v", evs)
		}
	})
}

// TestAsk: a one-shot question goes out at once and again at 1 s and 2 s
// later until answered; then no more.
func TestAsk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mdnstest.New()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		go func() {
			time.Sleep(3500 * time.Millisecond)
			f.Push(response([]dns.RR{txtRR(inst, 4500, true, []byte{0})}))
		}()
		n := 0
		res, err := browse.Ask(ctx, f, browse.Question{Questions: []mdns.Question{{Name: inst, Type: dns.TypeTXT}}, Retransmit: true},
			func(p *mdns.Packet, m *mdns.Message) bool { n++; return len(browse.Answers(m, inst, dns.TypeTXT)) > 0 })
		if err != nil || res.Queries != 3 || n != 1 || res.Answered.Sub(start) != 3500*time.Millisecond {
			t.Errorf("Ask = %+v, %v; %d responses", res, err, n)
		}
		if at, _ := asked(f.Sent(), start); len(at) != 3 || at[2] != 3*time.Second {
			t.Errorf("asked at %v", at)
		}
	})
}

// TestAskSendFailure: a question that could not be sent anywhere is an
// error, not a silent "no answer".
func TestAskSendFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mdnstest.New()
		f.FailSends(4, errors.New("no route"))
		f.FailSends(6, errors.New("no route"))
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		res, err := browse.Ask(ctx, f, browse.Question{Questions: []mdns.Question{{Name: inst, Type: dns.TypeTXT}}, Retransmit: true},
			func(*mdns.Packet, *mdns.Message) bool { return false })
		if err == nil || res.SendErrors != 2 || res.Queries != 2 {
			t.Errorf("Ask = %+v, %v; want both queries reported unsent", res, err)
		}
	})
}

// TestSlowConsumer: an event consumer that never returns does not stop the
// engine: it keeps querying on schedule, and the events it could not
// deliver are counted.
func TestSlowConsumer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mdnstest.New()
		b := browse.New(f, browse.Config{Events: 2, Rand: func(n time.Duration) time.Duration { return n / 2 }})
		b.Browse("_p2p._tcp")
		ctx, cancel := context.WithCancel(context.Background())
		block := make(chan struct{})
		done := make(chan error)
		go func() {
			done <- b.Run(ctx, func(browse.Event) error { <-block; return nil })
		}()
		synctest.Wait()
		for i := 0; i < 6; i++ {
			f.Push(announce([]byte("\x03a=1"), 4500))
			f.Push(response([]dns.RR{txtRR(inst, 4500, true, []byte{byte(2 + i%2), 'a', '=', byte('1' + i)})}))
		}
		time.Sleep(8 * time.Second)
		synctest.Wait()
		if n := len(f.Sent()); n < 4 {
			t.Errorf("%d queries in 8 s with the consumer stuck, want the schedule kept (4)", n)
		}
		if st := b.Stats(); st.EventsDropped == 0 {
			t.Errorf("stats %+v: no event counted as dropped", st)
		}
		close(block)
		cancel()
		<-done
	})
}
