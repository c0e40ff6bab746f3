package advertise_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/advertise"
	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/mdns/mdnstest"
)

// running is a responder running until its stop is called.
type running struct {
	mu   sync.Mutex
	evs  []advertise.Event
	stop func()
}

func (r *running) events() []advertise.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]advertise.Event(nil), r.evs...)
}

func (r *running) has(k advertise.Kind) bool {
	for _, e := range r.events() {
		if e.Kind == k {
			return true
		}
	}
	return false
}

func runResponder(h *mdnstest.Net, svc advertise.Service, cfg advertise.Config) *running {
	if cfg.Rand == nil {
		cfg.Rand = func(n time.Duration) time.Duration { return n / 2 }
	}
	if cfg.InterfaceAddrs == nil {
		cfg.InterfaceAddrs = func(net.Interface) []netip.Addr { return []netip.Addr{h.Addr4, h.Addr6} }
	}
	rr := &running{}
	r := advertise.New(h, svc, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(ctx, func(e advertise.Event) error { rr.mu.Lock(); rr.evs = append(rr.evs, e); rr.mu.Unlock(); return nil })
	}()
	rr.stop = func() { cancel(); <-done }
	return rr
}

// addressRecords counts the A and AAAA records a host sent for name.
func addressRecords(h *mdnstest.Net, name string) int {
	n := 0
	for _, s := range h.SentAll() {
		for _, sec := range [][]mdns.Record{s.Msg.Answers, s.Msg.Authority, s.Msg.Additional} {
			for _, r := range sec {
				if (r.Type == dns.TypeA || r.Type == dns.TypeAAAA) && mdns.EqualNames(r.Name, name) && r.TTL > 0 {
					n++
				}
			}
		}
	}
	return n
}

// TestYieldHostToLocalStack: beside another mDNS stack on the same host
// that owns the machine's host name (avahi-daemon), in either order of
// start-up, bonjourctl publishes the service records only, says so, and
// the other stack never renames anything; a browser on another host
// resolves the service through the other stack's address records.
func TestYieldHostToLocalStack(t *testing.T) {
	for _, order := range []string{"stack first", "bonjourctl first"} {
		t.Run(order, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				lan := mdnstest.NewLAN()
				me := lan.HostFamilies(true, true)
				other := lan.SameHost(me)
				browser := lan.HostFamilies(true, true)
				stackSvc := advertise.Service{Instance: "Stack Service", Type: "_http._tcp", Port: 80, Host: "machine.local."}
				// The stack publishes only the IPv4 address; bonjourctl
				// would publish the link-local IPv6 one too: the sets differ.
				stackCfg := advertise.Config{InterfaceAddrs: func(net.Interface) []netip.Addr { return []netip.Addr{me.Addr4} }}
				mine := advertise.Service{Instance: "Node 1", Type: "_p2p._tcp", Port: 4001, Host: "machine.local.", TXT: []byte("\x09key=value")}
				myCfg := advertise.Config{YieldHost: true, LocalStack: func() string { return "avahi-daemon (pid 42)" }}
				var stack, us *running
				if order == "stack first" {
					stack = runResponder(other, stackSvc, stackCfg)
					time.Sleep(3 * time.Second)
					us = runResponder(me, mine, myCfg)
				} else {
					us = runResponder(me, mine, myCfg)
					time.Sleep(3 * time.Second)
					stack = runResponder(other, stackSvc, stackCfg)
				}
				time.Sleep(4 * time.Second)
				if stack.has(advertise.Conflict) || stack.has(advertise.Renamed) {
					t.Errorf("the other stack saw a conflict:\n%s", strings.Join(kinds(stack.events()), "\n"))
				}
				shared := false
				for _, e := range us.events() {
					switch e.Kind {
					case advertise.HostShared:
						shared = true
						if !strings.Contains(e.Detail, "machine.local. is published by another mDNS stack on this host (avahi-daemon (pid 42))") {
							t.Errorf("host-shared detail %q", e.Detail)
						}
					case advertise.Renamed, advertise.Conflict:
						t.Errorf("bonjourctl: %s %s", e.Kind, e.Detail)
					}
				}
				if !shared {
					t.Errorf("no host-shared event:\n%s", strings.Join(kinds(us.events()), "\n"))
				}
				if order == "stack first" {
					if n := addressRecords(me, "machine.local."); n != 0 {
						t.Errorf("bonjourctl sent %d address records for the stack's host name", n)
					}
				}
				b := browse.New(browser, browse.Config{})
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				go func() { _ = b.Run(ctx, func(browse.Event) error { return nil }) }()
				res, err := b.Resolve(ctx, `Node\ 1._p2p._tcp.local.`)
				if err != nil || !res.Complete || res.Service.Host != "machine.local." || len(res.Service.Addrs) == 0 {
					t.Errorf("resolve through the stack's addresses: %+v, %v", res, err)
				}
				cancel()
				us.stop()
				stack.stop()
			})
		})
	}
}

// TestHostConflictRenamesHost: another host claiming the host name with
// other addresses renames the host, not the service, once per conflicting
// packet, and the conflict names its source.
func TestHostConflictRenamesHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := mdnstest.NewLAN()
		me, twin := lan.HostFamilies(true, false), lan.HostFamilies(true, false)
		a := runResponder(me, advertise.Service{Instance: "Host A", Type: "_p2p._tcp", Port: 4001, Host: "pi.local."},
			advertise.Config{InterfaceAddrs: func(net.Interface) []netip.Addr { return []netip.Addr{me.Addr4} }})
		time.Sleep(3 * time.Second)
		b := runResponder(twin, advertise.Service{Instance: "Host B", Type: "_p2p._tcp", Port: 4001, Host: "pi.local."},
			advertise.Config{InterfaceAddrs: func(net.Interface) []netip.Addr { return []netip.Addr{twin.Addr4} }})
		time.Sleep(4 * time.Second)
		var renames []string
		for _, e := range b.events() {
			switch e.Kind {
			case advertise.Renamed:
				renames = append(renames, e.Detail)
			case advertise.Conflict:
				if e.Source != "another host" || e.From.Addr() != me.Addr4 {
					t.Errorf("conflict from %v, source %q", e.From, e.Source)
				}
			}
		}
		if len(renames) != 1 || renames[0] != "host name pi.local. is taken; now pi-2.local." {
			t.Errorf("renames %q, want one: the host", renames)
		}
		if !b.has(advertise.Announced) || a.has(advertise.Renamed) {
			t.Errorf("B announced %v, A renamed %v", b.has(advertise.Announced), a.has(advertise.Renamed))
		}
		a.stop()
		b.stop()
	})
}

// TestTXTUpdateCancelsOldAnnouncement: a TXT update between the two
// announcements of the old TXT stops the old series: the wire never
// carries the old TXT after the new one.
func TestTXTUpdateCancelsOldAnnouncement(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mdnstest.NewFamilies(true, false)
		svc := node
		svc.TXT = []byte("\x03v=1")
		r := advertise.New(f, svc, advertise.Config{Rand: func(n time.Duration) time.Duration { return n / 2 },
			InterfaceAddrs: func(net.Interface) []netip.Addr { return []netip.Addr{f.Addr4} }})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = r.Run(ctx, func(advertise.Event) error { return nil }) }()
		time.Sleep(1200 * time.Millisecond) // probed, first announcement of v=1 out
		r.SetTXT([]byte("\x03v=2"))
		time.Sleep(3 * time.Second)
		var seq []string
		for _, s := range f.Sent() {
			for _, a := range s.Msg.Answers {
				if a.Type == dns.TypeTXT && s.Msg.Response() {
					seq = append(seq, string(a.Data[1:]))
				}
			}
		}
		if strings.Join(seq, " ") != "v=1 v=2 v=2" {
			t.Errorf("TXT on the wire in order: %q, want v=1 v=2 v=2", seq)
		}
		cancel()
		<-done
	})
}

// TestLinkUpReprobes: when a link comes up (or an address changes) the
// responder says so and probes and announces again (RFC 6762 §8.3).
func TestLinkUpReprobes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mdnstest.NewFamilies(true, false)
		rr := runResponder(f, node, advertise.Config{InterfaceAddrs: func(net.Interface) []netip.Addr { return []netip.Addr{f.Addr4} }})
		time.Sleep(3 * time.Second)
		f.Take()
		f.LinkChange(mdns.LinkDown, netip.Addr{})
		time.Sleep(time.Second)
		if n := len(f.Take()); n != 0 {
			t.Errorf("%d packets after the link went down", n)
		}
		f.LinkChange(mdns.LinkUp, netip.Addr{})
		time.Sleep(3 * time.Second)
		probes, anns := 0, 0
		for _, s := range f.Take() {
			if s.Msg.Response() {
				anns++
			} else if len(s.Msg.Authority) > 0 {
				probes++
			}
		}
		if probes != 3 || anns != 2 {
			t.Errorf("after the link came up: %d probes, %d announcements; want 3 and 2", probes, anns)
		}
		var links []string
		for _, e := range rr.events() {
			if e.Kind == advertise.LinkChanged {
				links = append(links, e.Detail)
			}
		}
		if len(links) != 2 || links[0] != "eth0 down" || links[1] != "eth0 up; probing and announcing again (RFC 6762 §8.3)" {
			t.Errorf("link events %q", links)
		}
		rr.stop()
	})
}
