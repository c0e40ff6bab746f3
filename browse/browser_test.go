package browse_test

import (
	"context"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/mdns/mdnstest"
)

func rr(s string) dns.RR {
	r, err := dns.NewRR(s)
	if err != nil {
		panic(err)
	}
	return r
}

func txtRR(name string, ttl uint32, flush bool, rdata []byte) dns.RR {
	cl := uint16(dns.ClassINET)
	if flush {
		cl |= 1 << 15
	}
	return &dns.RFC3597{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTXT, Class: cl, Ttl: ttl}, Rdata: hex.EncodeToString(rdata)}
}

func flush(r dns.RR) dns.RR {
	r.Header().Class |= 1 << 15
	return r
}

// response packs an mDNS response from answers and additionals.
func response(answers []dns.RR, extra ...dns.RR) mdns.Packet {
	m := new(dns.Msg)
	m.Response, m.Authoritative = true, true
	m.Answer, m.Extra = answers, extra
	b, err := m.Pack()
	if err != nil {
		panic(err)
	}
	return mdns.Packet{
		Received: time.Now(), IfIndex: 2, IfName: "eth0", HopLimit: 255,
		Src: netip.MustParseAddrPort("10.88.0.2:5353"), Raw: b,
	}
}

type recorder struct {
	mu     sync.Mutex
	events []browse.Event
}

func (r *recorder) fn(e browse.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) all() []browse.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]browse.Event(nil), r.events...)
}

func run(t *testing.T, types []string, body func(ctx context.Context, f *mdnstest.Net, rec *recorder, start time.Time)) {
	synctest.Test(t, func(t *testing.T) {
		f := mdnstest.New()
		rec := &recorder{}
		b := browse.New(f, browse.Config{Rand: func(n time.Duration) time.Duration { return n / 2 }})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		start := time.Now()
		if types == nil {
			b.BrowseAll()
		} else {
			b.Browse(types...)
		}
		go func() { done <- b.Run(ctx, rec.fn) }()
		defer func() { // also when body fails the test and exits
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		}()
		synctest.Wait() // subscribed, waiting for packets
		body(ctx, f, rec, start)
	})
}

const inst = `Node\ 1._p2p._tcp.local.`

func announce(txt []byte, ptrTTL uint32) mdns.Packet {
	return response(
		[]dns.RR{rr("_p2p._tcp.local. " + itoa(ptrTTL) + " IN PTR " + inst)},
		flush(rr(inst+" 120 IN SRV 0 0 4001 host1.local.")),
		txtRR(inst, 4500, true, txt),
		flush(rr("host1.local. 120 IN A 10.88.0.2")),
	)
}

func itoa(n uint32) string {
	return strings.TrimSpace(strings.Repeat(" ", 0) + func() string {
		b := []byte{}
		if n == 0 {
			return "0"
		}
		for n > 0 {
			b = append([]byte{byte('0' + n%10)}, b...)
			n /= 10
		}
		return string(b)
	}())
}

func TestQuerySchedule(t *testing.T) {
	run(t, []string{"_p2p._tcp"}, func(ctx context.Context, f *mdnstest.Net, rec *recorder, start time.Time) {
		time.Sleep(16 * time.Second)
		synctest.Wait()
		qs := f.Sent()
		// RFC 6762 §5.2: first after 20-120 ms (here 20 ms plus half of
		// the 20 ms jitter window), then 1, 2, 4, 8 s apart.
		want := []time.Duration{30 * time.Millisecond, 1030 * time.Millisecond, 3030 * time.Millisecond, 7030 * time.Millisecond, 15030 * time.Millisecond}
		if len(qs) != len(want) {
			t.Fatalf("%d queries in 16 s, want %d", len(qs), len(want))
		}
		for i, q := range qs {
			if got := q.At.Sub(start); got != want[i] {
				t.Errorf("query %d at %v, want %v", i, got, want[i])
			}
			if len(q.Msg.Questions) != 1 || q.Msg.Questions[0].Name != "_p2p._tcp.local." || q.Msg.Questions[0].Type != dns.TypePTR || q.Msg.Response() {
				t.Errorf("query %d = %+v", i, q.Msg.Questions)
			}
		}
	})
}

func TestAddUpdateGoodbye(t *testing.T) {
	run(t, []string{"_p2p._tcp"}, func(ctx context.Context, f *mdnstest.Net, rec *recorder, start time.Time) {
		time.Sleep(200 * time.Millisecond)
		f.Push(announce([]byte("\x09key=value"), 4500))
		synctest.Wait()
		ev := rec.all()
		if len(ev) != 1 || ev[0].Kind != browse.Added {
			t.Fatalf("events = %v, want one added", ev)
		}
		s := ev[0].Service
		if s.Instance != "Node 1" || s.Type != "_p2p._tcp" || s.Host != "host1.local." || s.Port != 4001 ||
			len(s.Addrs) != 1 || s.Addrs[0] != netip.MustParseAddr("10.88.0.2") || s.TXTState != browse.TXTPresent ||
			string(s.TXTRaw) != "\x09key=value" {
			t.Fatalf("added service = %+v", s)
		}
		if got := s.TXTSummary(); got != "key=value (1 string, 10 bytes)" {
			t.Errorf("TXTSummary = %q", got)
		}
		// Known-answer suppression: the next query lists the PTR.
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		qs := f.Sent()
		last := qs[len(qs)-1].Msg
		if len(last.Answers) != 1 || last.Answers[0].Type != dns.TypePTR || last.Answers[0].TTL > 4500 || last.Answers[0].TTL < 4490 {
			t.Errorf("known answers = %+v, want the PTR with its remaining TTL", last.Answers)
		}

		// A new TXT with the cache-flush bit more than 1 s later: updated.
		f.Push(response([]dns.RR{txtRR(inst, 4500, true, []byte("\x0akey=value2"))}))
		synctest.Wait()
		ev = rec.all()
		if len(ev) != 2 || ev[1].Kind != browse.Updated || len(ev[1].Changes) != 1 || ev[1].Changes[0].Field != "txt" ||
			ev[1].Changes[0].Old != "key=value (1 string, 10 bytes)" || ev[1].Changes[0].New != "key=value2 (1 string, 11 bytes)" {
			t.Fatalf("events = %+v, want an update of the TXT", ev)
		}
		// Goodbye: reported when it arrives, removed one second later.
		f.Push(response([]dns.RR{rr("_p2p._tcp.local. 0 IN PTR " + inst)}))
		synctest.Wait()
		gb := time.Now()
		ev = rec.all()
		if len(ev) != 3 || ev[2].Kind != browse.Updated || ev[2].Changes[0] != (browse.Change{Field: "state", Old: "live", New: "goodbye"}) || !ev[2].At.Equal(gb) {
			t.Fatalf("events = %+v; want the goodbye reported at once, not removed yet", ev)
		}
		time.Sleep(1100 * time.Millisecond)
		synctest.Wait()
		ev = rec.all()
		if len(ev) != 4 || ev[3].Kind != browse.Removed || ev[3].Cause != browse.CauseGoodbye {
			t.Fatalf("events = %+v, want removed (goodbye)", ev)
		}
		if d := ev[3].At.Sub(gb); d != time.Second {
			t.Errorf("removed %v after the goodbye, want 1s", d)
		}
	})
}

func TestExpiryAndRefresh(t *testing.T) {
	run(t, []string{"_p2p._tcp"}, func(ctx context.Context, f *mdnstest.Net, rec *recorder, start time.Time) {
		time.Sleep(200 * time.Millisecond)
		f.Push(announce([]byte{0}, 10))
		synctest.Wait()
		arrived := time.Now()
		if ev := rec.all(); len(ev) != 1 || ev[0].Service.TXTState != browse.TXTEmpty {
			t.Fatalf("events = %+v, want added with the legal empty TXT", ev)
		}
		time.Sleep(11 * time.Second)
		synctest.Wait()
		ev := rec.all()
		// Stale once the refresh query at 80% went unanswered by the 85%
		// point; removed when the TTL runs out.
		if len(ev) != 3 || ev[1].Kind != browse.Updated || ev[1].Changes[0] != (browse.Change{Field: "state", Old: "live", New: "stale"}) ||
			ev[2].Kind != browse.Removed || ev[2].Cause != browse.CauseExpired {
			t.Fatalf("events = %+v, want stale, then removed (expired)", ev)
		}
		if s := ev[1].Service; s.StateSince.Sub(arrived) != 8500*time.Millisecond || s.Unanswered != 1 || ev[1].At.Sub(arrived) != 8600*time.Millisecond {
			t.Errorf("stale at %v since %v with %d unanswered; want at 8.6 s since 8.5 s, 1 unanswered", ev[1].At.Sub(arrived), s.StateSince.Sub(arrived), s.Unanswered)
		}
		if d := ev[2].At.Sub(arrived); d != 10*time.Second {
			t.Errorf("expired after %v, want 10s", d)
		}
		// Refresh queries for the PTR at 80, 85, 90, 95% of 10 s (+1% jitter).
		var refresh []time.Duration
		for _, q := range f.Sent() {
			if q.At.After(arrived) && len(q.Msg.Answers) == 0 && q.Msg.Questions[0].Type == dns.TypePTR && q.At.Sub(arrived) < 10*time.Second {
				for _, qq := range q.Msg.Questions {
					if qq.Name == "_p2p._tcp.local." {
						refresh = append(refresh, q.At.Sub(arrived).Round(10*time.Millisecond))
					}
				}
			}
		}
		want := []time.Duration{8100 * time.Millisecond, 8600 * time.Millisecond, 9100 * time.Millisecond, 9600 * time.Millisecond}
		for _, w := range want {
			found := false
			for _, r := range refresh {
				if r == w {
					found = true
				}
			}
			if !found {
				t.Errorf("no refresh query at %v after arrival; saw %v", w, refresh)
			}
		}
	})
}

func TestResolveMissingTXT(t *testing.T) {
	run(t, []string{"_p2p._tcp"}, func(ctx context.Context, f *mdnstest.Net, rec *recorder, start time.Time) {
		time.Sleep(200 * time.Millisecond)
		before := len(f.Sent())
		f.Push(response(
			[]dns.RR{rr("_p2p._tcp.local. 4500 IN PTR " + inst)},
			flush(rr(inst+" 120 IN SRV 0 0 4001 host1.local.")),
			flush(rr("host1.local. 120 IN A 10.88.0.2")),
		))
		synctest.Wait()
		if len(rec.all()) != 0 {
			t.Fatal("announced before the TXT had a chance to arrive")
		}
		qs := f.Sent()[before:]
		if len(qs) == 0 || !hasQuestion(qs[0].Msg, inst, dns.TypeTXT) {
			t.Fatalf("no direct TXT query after the PTR; sent %d", len(qs))
		}
		time.Sleep(time.Second)
		synctest.Wait()
		ev := rec.all()
		if len(ev) != 1 || ev[0].Service.TXTState != browse.TXTMissing || ev[0].Service.TXTSummary() != "no TXT record seen" {
			t.Fatalf("events = %+v, want added with no TXT seen", ev)
		}
		// A zero-length TXT later is reported as such, not as missing.
		f.Push(response([]dns.RR{txtRR(inst, 4500, true, nil)}))
		synctest.Wait()
		ev = rec.all()
		if len(ev) != 2 || ev[1].Service.TXTState != browse.TXTZeroLength {
			t.Fatalf("events = %+v, want an update to zero-length", ev)
		}
	})
}

func TestFlushedAddressAndEnumeration(t *testing.T) {
	run(t, nil, func(ctx context.Context, f *mdnstest.Net, rec *recorder, start time.Time) {
		time.Sleep(200 * time.Millisecond)
		if qs := f.Sent(); len(qs) == 0 || !hasQuestion(qs[0].Msg, browse.ServicesName, dns.TypePTR) {
			t.Fatal("no service type enumeration query")
		}
		f.Push(response([]dns.RR{rr(browse.ServicesName + " 4500 IN PTR _p2p._tcp.local.")}))
		synctest.Wait()
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		found := false
		for _, q := range f.Sent() {
			if hasQuestion(q.Msg, "_p2p._tcp.local.", dns.TypePTR) {
				found = true
			}
		}
		if !found {
			t.Fatal("enumerated type not browsed")
		}
		f.Push(announce([]byte("\x03a=1"), 4500))
		synctest.Wait()
		time.Sleep(2 * time.Second)
		// The host moves: a cache-flush A record replaces the old address.
		f.Push(response([]dns.RR{flush(rr("host1.local. 120 IN A 10.88.0.9"))}))
		synctest.Wait()
		time.Sleep(1100 * time.Millisecond)
		synctest.Wait()
		ev := rec.all()
		last := ev[len(ev)-1]
		if last.Kind != browse.Updated || len(last.Service.Addrs) != 1 || last.Service.Addrs[0] != netip.MustParseAddr("10.88.0.9") {
			t.Fatalf("events = %+v, want the old address flushed", ev)
		}
	})
}

func hasQuestion(m *mdns.Message, name string, typ uint16) bool {
	for _, q := range m.Questions {
		if strings.EqualFold(q.Name, name) && q.Type == typ {
			return true
		}
	}
	return false
}

// TestUnresolvable: a responder killed without goodbyes: its SRV and
// address (TTL 120) expire while its PTR and TXT (TTL 4500) remain: the
// instance turns stale, then unresolvable, and is not reported healthy.
func TestUnresolvable(t *testing.T) {
	run(t, []string{"_p2p._tcp"}, func(ctx context.Context, f *mdnstest.Net, rec *recorder, start time.Time) {
		time.Sleep(200 * time.Millisecond)
		f.Push(announce([]byte{0}, 4500))
		time.Sleep(125 * time.Second)
		synctest.Wait()
		var states []string
		for _, e := range rec.all() {
			for _, c := range e.Changes {
				if c.Field == "state" {
					states = append(states, c.Old+"->"+c.New)
				}
			}
		}
		if strings.Join(states, " ") != "live->stale stale->unresolvable" {
			t.Errorf("state changes %q, want live->stale stale->unresolvable", states)
		}
		last := rec.all()[len(rec.all())-1]
		if last.Kind != browse.Updated || last.Service.State != browse.StateUnresolvable || last.Service.Host != "" {
			t.Errorf("last event %s, state %s, host %q", last.Kind, last.Service.State, last.Service.Host)
		}
	})
}

// TestRefreshedEvents: answers that change nothing still reach the
// consumer, with the records' new TTLs and packet counts, at most once a
// second per instance.
func TestRefreshedEvents(t *testing.T) {
	run(t, []string{"_p2p._tcp"}, func(ctx context.Context, f *mdnstest.Net, rec *recorder, start time.Time) {
		time.Sleep(200 * time.Millisecond)
		for i := 0; i < 4; i++ {
			f.Push(announce([]byte{0}, 4500))
			time.Sleep(400 * time.Millisecond)
		}
		synctest.Wait()
		ev := rec.all()
		if len(ev) != 2 || ev[0].Kind != browse.Added || ev[1].Kind != browse.Refreshed {
			t.Fatalf("events %v, want added and one refreshed (rate limited to 1/s)", ev)
		}
		for _, r := range ev[1].Service.Records {
			if r.Packets != 4 {
				t.Errorf("%s record: %d packets, want 4", mdns.TypeString(r.Type), r.Packets)
			}
		}
	})
}
