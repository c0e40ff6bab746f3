package check_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bonjourctl/bonjourctl/advertise"
	"github.com/bonjourctl/bonjourctl/check"
	"github.com/bonjourctl/bonjourctl/mdns/mdnstest"
)

// publish runs a responder for "Node 1" on host h until ctx ends.
func publish(ctx context.Context, h *mdnstest.Net, faults advertise.Faults) chan error {
	r := advertise.New(h, advertise.Service{Instance: "Node 1", Type: "_p2p._tcp", Port: 4001, Host: "h2.local.", TXT: []byte("\x09key=value")},
		advertise.Config{Faults: faults, Rand: func(n time.Duration) time.Duration { return n / 2 },
			InterfaceAddrs: func(net.Interface) []netip.Addr { return []netip.Addr{h.Addr4} }})
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, func(advertise.Event) error { return nil }) }()
	return done
}

func findingLines(fs []check.Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Level)+" "+f.Rule+": "+f.Message)
	}
	return strings.Join(out, "\n")
}

// TestRunActive: every stage goes out on time, and bonjourctl's own
// responder comes out with no failure and no warning.
func TestRunActive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := mdnstest.NewLAN()
		checker, peer := lan.HostFamilies(true, false), lan.HostFamilies(true, false)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := publish(ctx, peer, advertise.Faults{})
		time.Sleep(3 * time.Second)
		rep, err := check.Run(context.Background(), checker, check.Options{Target: "_p2p._tcp", Duration: 7 * time.Second, Active: true})
		if err != nil {
			t.Fatal(err)
		}
		var stages []string
		for _, s := range rep.Sent {
			stages = append(stages, s.Stage+": "+s.Question)
			if s.Error != "" {
				t.Errorf("stage %s: %s", s.Stage, s.Error)
			}
		}
		want := []string{
			"1 browse: _p2p._tcp.local. PTR",
			"2 browse: _p2p._tcp.local. PTR",
			"2 legacy: _p2p._tcp.local. PTR (legacy unicast, id 16961)",
			`2 resolve QU: Node\ 1._p2p._tcp.local. SRV QU, Node\ 1._p2p._tcp.local. TXT QU`,
			`2 legacy: Node\ 1._p2p._tcp.local. TXT (legacy unicast, id 16962)`,
			"3 known answers: _p2p._tcp.local. PTR with 1 known answers",
			"3 legacy: _p2p._tcp.local. PTR (legacy unicast, id 16963)",
			`4 still there?: Node\ 1._p2p._tcp.local. SRV`,
		}
		if strings.Join(stages, "\n") != strings.Join(want, "\n") {
			t.Errorf("stages:\n%s\nwant:\n%s", strings.Join(stages, "\n"), strings.Join(want, "\n"))
		}
		if rep.Packets < 10 || len(rep.Findings) != 0 {
			t.Errorf("%d packets; findings:\n%s", rep.Packets, findingLines(rep.Findings))
		}
		cancel()
		<-done
	})
}

// TestRunNoGoodbye: a responder that leaves silently is caught by the last
// stage; when that stage's question could not be sent, no such verdict is
// given, and the report says the question did not go out.
func TestRunNoGoodbye(t *testing.T) {
	for _, sendFails := range []bool{false, true} {
		t.Run(map[bool]string{false: "sent", true: "not sent"}[sendFails], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				lan := mdnstest.NewLAN()
				checker, peer := lan.HostFamilies(true, false), lan.HostFamilies(true, false)
				pctx, stop := context.WithCancel(context.Background())
				done := publish(pctx, peer, advertise.Faults{NoGoodbye: true})
				time.Sleep(3 * time.Second)
				go func() {
					time.Sleep(3 * time.Second)
					stop() // gone, without goodbyes
					if sendFails {
						checker.FailSends(4, errors.New("network is down"))
					}
				}()
				rep, err := check.Run(context.Background(), checker, check.Options{Target: "_p2p._tcp", Duration: 8 * time.Second, Active: true})
				if err != nil {
					t.Fatal(err)
				}
				<-done
				caught := strings.Contains(findingLines(rep.Findings), "no-goodbye")
				if caught == sendFails {
					t.Errorf("no-goodbye found: %v, with the last question sent: %v\n%s", caught, !sendFails, findingLines(rep.Findings))
				}
				last := rep.Sent[len(rep.Sent)-1]
				if sendFails && (last.Stage != "4 still there?" || !strings.Contains(last.Error, "network is down")) {
					t.Errorf("last stage %+v does not say it was not sent", last)
				}
			})
		})
	}
}

// TestRunPassive: without --active nothing is sent; a faulty responder
// (zero-length TXT, no cache-flush) is judged from what it sends.
func TestRunPassive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := mdnstest.NewLAN()
		checker, peer := lan.HostFamilies(true, false), lan.HostFamilies(true, false)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := publish(ctx, peer, advertise.Faults{NoCacheFlush: true})
		rep, err := check.Run(context.Background(), checker, check.Options{Duration: 4 * time.Second, Started: true})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(checker.SentAll()); n != 0 || len(rep.Sent) != 0 {
			t.Errorf("a passive check sent %d packets", n)
		}
		got := findingLines(rep.Findings)
		if !strings.Contains(got, "warn no-flush-on-unique") || strings.Contains(got, "fail") {
			t.Errorf("findings:\n%s", got)
		}
		cancel()
		<-done
	})
}
