package advertise_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/advertise"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/mdns/mdnstest"
)

func kinds(evs []advertise.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Kind)+": "+e.Detail)
	}
	return out
}

// TestSendFailureIsNotAnnounced: when nothing goes out, the responder says
// so and never says "announced" or "goodbye".
func TestSendFailureIsNotAnnounced(t *testing.T) {
	start(t, node, advertise.Faults{}, func(ctx context.Context, f *mdnstest.Net, t0 time.Time, events func() []advertise.Event) {
		f.FailSends(4, errors.New("network is unreachable"))
		time.Sleep(3 * time.Second)
		synctest.Wait()
		failed := 0
		for _, e := range events() {
			switch e.Kind {
			case advertise.Announced:
				t.Errorf("announced although nothing was sent: %s", e.Detail)
			case advertise.SendFailed:
				failed++
				if !strings.Contains(e.Detail, "network is unreachable") {
					t.Errorf("send-failed event without the reason: %q", e.Detail)
				}
			}
		}
		if failed < 5 { // 3 probes, 2 announcements
			t.Errorf("%d send-failed events, want one per probe and announcement:\n%s", failed, strings.Join(kinds(events()), "\n"))
		}
	})
}

// TestPartialSendFailure: an announcement that went out on IPv4 but not
// IPv6 is announced, and names what failed.
func TestPartialSendFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mdnstest.New()
		f.FailSends(6, errors.New("no IPv6 address"))
		r := advertise.New(f, node, advertise.Config{Rand: func(n time.Duration) time.Duration { return 0 },
			InterfaceAddrs: func(net.Interface) []netip.Addr { return []netip.Addr{netip.MustParseAddr("10.88.0.1")} }})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var evs []advertise.Event
		_ = r.Run(ctx, func(e advertise.Event) error { evs = append(evs, e); return nil })
		ann := 0
		for _, e := range evs {
			if e.Kind == advertise.Announced {
				ann++
				if !strings.Contains(e.Detail, "not sent everywhere") || !strings.Contains(e.Detail, "(IPv6): no IPv6 address") {
					t.Errorf("announced detail %q does not name the IPv6 failure", e.Detail)
				}
			}
		}
		if ann != 2 {
			t.Errorf("%d announcements, want 2:\n%s", ann, strings.Join(kinds(evs), "\n"))
		}
		if st := r.Stats(); st.SendErrors == 0 {
			t.Errorf("stats %+v count no send error", st)
		}
	})
}

// TestStuckConsumerKeepsAnswering: an event consumer that never returns
// (a full pipe) does not stop the responder from answering queries; the
// events it missed are counted.
func TestStuckConsumerKeepsAnswering(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mdnstest.NewFamilies(true, false)
		r := advertise.New(f, node, advertise.Config{Events: 1, Rand: func(n time.Duration) time.Duration { return n / 2 },
			InterfaceAddrs: func(net.Interface) []netip.Addr { return []netip.Addr{netip.MustParseAddr("10.88.0.1")} }})
		ctx, cancel := context.WithCancel(context.Background())
		block := make(chan struct{})
		done := make(chan error)
		go func() { done <- r.Run(ctx, func(advertise.Event) error { <-block; return nil }) }()
		time.Sleep(3 * time.Second)
		synctest.Wait()
		f.Take()
		f.Push(query("10.88.0.9:5353", 0, nil, dns.Question{Name: inst, Qtype: dns.TypeSRV, Qclass: dns.ClassINET}))
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		if got := f.Take(); len(got) != 1 || len(got[0].Msg.Answers) != 1 || got[0].Msg.Answers[0].Type != dns.TypeSRV {
			t.Errorf("with the consumer stuck, the SRV question got %d packets", len(got))
		}
		if st := r.Stats(); st.EventsDropped == 0 {
			t.Errorf("stats %+v: no event counted as dropped", st)
		}
		close(block)
		cancel()
		<-done
	})
}

// TestTXTUpdatesMerge: several SetTXT calls while the responder is idle
// never block it; the latest wins, the event says how many were merged,
// and no announcement carries an older TXT after a newer one.
func TestTXTUpdatesMerge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mdnstest.NewFamilies(true, false)
		r := advertise.New(f, node, advertise.Config{Rand: func(n time.Duration) time.Duration { return n / 2 },
			InterfaceAddrs: func(net.Interface) []netip.Addr { return []netip.Addr{netip.MustParseAddr("10.88.0.1")} }})
		ctx, cancel := context.WithCancel(context.Background())
		var evs []advertise.Event
		done := make(chan error)
		go func() { done <- r.Run(ctx, func(e advertise.Event) error { evs = append(evs, e); return nil }) }()
		time.Sleep(3 * time.Second)
		synctest.Wait()
		f.Take()
		for _, v := range []string{"v=1", "v=2", "v=3"} {
			r.SetTXT(append([]byte{3}, v...))
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		var txts []string
		for _, s := range f.Take() {
			for _, a := range s.Msg.Answers {
				if a.Type == dns.TypeTXT {
					txts = append(txts, string(a.Data[1:]))
				}
			}
		}
		if len(txts) != 2 || txts[0] != "v=3" || txts[1] != "v=3" {
			t.Errorf("TXT announcements %q, want v=3 twice", txts)
		}
		r.SetTXT([]byte("\x03v=4")) // and once more, idle again: no deadlock
		time.Sleep(1500 * time.Millisecond)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v", err)
		}
		updates := 0
		for _, e := range evs {
			if e.Kind == advertise.TXTUpdated {
				updates++
				if updates == 1 && !strings.Contains(e.Detail, "latest of 3 updates") {
					t.Errorf("txt-updated detail %q does not say 3 updates were merged", e.Detail)
				}
			}
		}
		if updates != 2 {
			t.Errorf("%d txt-updated events, want 2:\n%s", updates, strings.Join(kinds(evs), "\n"))
		}
	})
}

// TestRecordTooLarge: a TXT record that cannot go out in one packet of at
// most 9000 bytes is refused before anything is sent.
func TestRecordTooLarge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mdnstest.New()
		svc := node
		svc.TXT = bytes.Repeat(append([]byte{255}, bytes.Repeat([]byte{'a'}, 255)...), 40) // 10,240 bytes
		r := advertise.New(f, svc, advertise.Config{})
		err := r.Run(context.Background(), func(advertise.Event) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "TXT record") || !strings.Contains(err.Error(), "9000 bytes") {
			t.Errorf("Run = %v, want the TXT record refused for its size", err)
		}
		if n := len(f.SentAll()); n != 0 {
			t.Errorf("%d packets sent", n)
		}
	})
}

// TestLargeTXTSplits: with a TXT record of 1,400 bytes the announcement
// does not fit the 1500-byte MTU: it goes out as several packets, each
// within the MTU or holding a single record (RFC 6762 §17), together
// carrying every record.
func TestLargeTXTSplits(t *testing.T) {
	svc := node
	svc.TXT = bytes.Repeat(append([]byte{139}, bytes.Repeat([]byte{'k'}, 139)...), 10) // 1,400 bytes
	start(t, svc, advertise.Faults{}, func(ctx context.Context, f *mdnstest.Net, t0 time.Time, events func() []advertise.Event) {
		time.Sleep(1200 * time.Millisecond) // probes and the first announcement
		synctest.Wait()
		types := map[uint16]int{}
		for _, s := range f.Take() {
			n := len(s.Msg.Answers) + len(s.Msg.Authority) + len(s.Msg.Additional)
			if len(s.Raw)+28 > mdnstest.Eth0.MTU && n > 1 {
				t.Errorf("a %d-byte packet with %d records", len(s.Raw), n)
			}
			if s.Msg.Response() {
				for _, a := range s.Msg.Answers {
					types[a.Type]++
				}
			}
		}
		if types[dns.TypeTXT] != 1 || types[dns.TypeSRV] != 1 || types[dns.TypePTR] != 2 || types[dns.TypeA] != 1 {
			t.Errorf("first announcement carried %v", types)
		}
		_ = mdns.Port
	})
}

// TestUnsendableRefused: a record that cannot go on the wire (a host name
// past 255 bytes, a TXT past the 9000-byte packet) is refused before
// anything is sent or reported, with what is wrong.
func TestUnsendableRefused(t *testing.T) {
	long := strings.Repeat("n", 63)
	bigTXT := make([]byte, 0, 9300)
	for len(bigTXT) < 9200 {
		bigTXT = append(bigTXT, 200)
		bigTXT = append(bigTXT, make([]byte, 200)...)
	}
	for _, c := range []struct {
		name string
		svc  advertise.Service
		want string
	}{
		{"host name over 255 bytes", advertise.Service{Instance: "N", Type: "_p2p._tcp", Port: 1, Host: long + "." + long + "." + long + "." + long + ".local."},
			"the SRV record of N._p2p._tcp.local. cannot be sent: " + long + "." + long},
		{"TXT over 9000 bytes", advertise.Service{Instance: "N", Type: "_p2p._tcp", Port: 1, Host: "h.local.", TXT: bigTXT},
			"the TXT record of N._p2p._tcp.local. cannot be sent: mdns: message not sent"},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := mdnstest.NewFamilies(true, false)
				r := advertise.New(f, c.svc, advertise.Config{InterfaceAddrs: func(net.Interface) []netip.Addr { return []netip.Addr{netip.MustParseAddr("10.88.0.1")} }})
				var evs []advertise.Event
				err := r.Run(context.Background(), func(e advertise.Event) error { evs = append(evs, e); return nil })
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("Run = %v, want an error with %q", err, c.want)
				}
				if sent := f.Take(); len(sent) != 0 || len(evs) != 0 {
					t.Errorf("%d packets sent and %d events reported for a service that cannot be sent", len(sent), len(evs))
				}
			})
		})
	}
}
