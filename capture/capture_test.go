package capture_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/capture"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/mdns/mdnstest"
)

func packet(t *testing.T, name string) mdns.Packet {
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypePTR)
	m.Id, m.RecursionDesired = 0, false
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return mdns.Packet{Raw: b, HopLimit: 255}
}

// TestLiveAccounts: every packet the core received is in the summary, as
// shown, filtered out, after --count, lost (the capture's queue was full)
// or from an interface not selected.
func TestLiveAccounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := mdnstest.New()
		ctx, cancel := context.WithCancel(context.Background())
		var out bytes.Buffer
		var sum capture.Summary
		done := make(chan error)
		go func() {
			var err error
			sum, err = capture.Live(ctx, n, &out, capture.Options{Filter: capture.NewFilter("", "_p2p._tcp", "", 0, nil), Count: 3})
			done <- err
		}()
		synctest.Wait()
		other := packet(t, "_p2p._tcp.local.")
		other.IfIndex = 9
		n.Push(other)
		// Live closes the link once --count is reached, possibly before
		// the last of these is pushed: those never reach it, and are not
		// received. What it received must all be accounted for.
		for i := 0; i < 5; i++ {
			n.Push(packet(t, "_p2p._tcp.local."))
			n.Push(packet(t, "_http._tcp.local."))
		}
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if sum.Received < 6 || sum.OtherInterface != 1 || sum.Shown != 3 || sum.Lost != 0 ||
			uint64(sum.Shown+sum.FilteredOut+sum.NotShown)+sum.Lost+sum.OtherInterface != sum.Received {
			t.Errorf("summary %+v does not account for the %d packets received", sum, sum.Received)
		}
		if got := strings.Count(out.String(), "query id 0"); got != 3 {
			t.Errorf("%d packets printed, want 3:\n%s", got, out.String())
		}
		if !strings.HasPrefix(sum.String(), fmt.Sprintf("%d packets received, 3 shown, ", sum.Received-1)) || !strings.Contains(sum.String(), "; 1 from interfaces not selected, ignored") {
			t.Errorf("summary line %q", sum.String())
		}
		_ = time.Second
	})
}

func TestFilter(t *testing.T) {
	p := packet(t, `Node\ 1._p2p._tcp.local.`)
	p.Src = mdnsAddr("10.88.0.2:5353")
	p.IfName = "eth0"
	d := decode(p)
	for _, tt := range []struct {
		f    capture.Filter
		want bool
	}{
		{capture.NewFilter("", "", "", 0, nil), true},
		{capture.NewFilter("Node 1._p2p._tcp", "", "", 0, nil), true},
		{capture.NewFilter("node 1._P2P._tcp.local.", "", "", 0, nil), true},
		{capture.NewFilter("", "_p2p._tcp", "", 0, nil), true},
		{capture.NewFilter("", "_http._tcp", "", 0, nil), false},
		{capture.NewFilter("", "", "10.88.0.2", 0, nil), true},
		{capture.NewFilter("", "", "10.88.0.3", 0, nil), false},
		{capture.NewFilter("", "", "", 6, nil), false},
		{capture.NewFilter("", "", "", 4, []string{"eth1"}), false},
		{capture.NewFilter("", "", "", 4, []string{"eth0"}), true},
	} {
		if got := tt.f.Match(d); got != tt.want {
			t.Errorf("%+v: Match = %v, want %v", tt.f, got, tt.want)
		}
	}
}
