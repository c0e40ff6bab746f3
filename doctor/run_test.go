package doctor_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bonjourctl/bonjourctl/advertise"
	"github.com/bonjourctl/bonjourctl/doctor"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/mdns/mdnstest"
	"github.com/miekg/dns"
)

func lines(r *doctor.Report) string {
	var out []string
	for _, l := range r.Lines {
		out = append(out, l.Level+" "+l.Topic+": "+l.Reason)
	}
	return strings.Join(out, "\n")
}

// examine runs doctor on host 1 of a LAN where host 2 publishes "Node 1"
// with faults (nil: nobody publishes).
func examine(t *testing.T, faults *advertise.Faults, txtData []byte, instance string) *doctor.Report {
	lan := mdnstest.NewLAN()
	me, peer := lan.HostFamilies(true, false), lan.HostFamilies(true, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	if faults != nil {
		r := advertise.New(peer, advertise.Service{Instance: "Node 1", Type: "_p2p._tcp", Port: 4001, Host: "h2.local.", TXT: txtData},
			advertise.Config{Faults: *faults, Rand: func(n time.Duration) time.Duration { return n / 2 },
				InterfaceAddrs: func(net.Interface) []netip.Addr { return []netip.Addr{peer.Addr4} }})
		go func() { done <- r.Run(ctx, func(advertise.Event) error { return nil }) }()
		time.Sleep(2 * time.Second)
	} else {
		done <- nil
	}
	rep, err := doctor.Run(context.Background(), doctor.Options{
		Listen:         func(context.Context) (doctor.Link, error) { return me, nil },
		ListInterfaces: func() ([]net.Interface, error) { return []net.Interface{mdnstest.Eth0}, nil },
		InterfaceAddrs: func(net.Interface) []netip.Addr { return []netip.Addr{me.Addr4} },
		Holders:        func(int) ([]doctor.Holder, bool) { return nil, true },
		Type:           "_p2p._tcp",
		Instance:       instance,
		Wait:           2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	return rep
}

// TestHealthyService: a conformant responder gets no warning and no
// failure: every question is answered the first time it is asked, because
// each waits out the second after the record's last multicast.
func TestHealthyService(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rep := examine(t, &advertise.Faults{}, []byte("\x09key=value"), "Node 1")
		if want := "TXT record is on the wire (1 string, 10 bytes, from 10.88.0.2 on eth0)"; rep.Verdict != want {
			t.Errorf("verdict %q, want %q", rep.Verdict, want)
		}
		for _, l := range rep.Lines {
			if l.Level == "warn" || l.Level == "fail" || strings.Contains(l.Reason, "asked again") {
				t.Errorf("%s %s: %s", l.Level, l.Topic, l.Reason)
			}
		}
		got := lines(rep)
		for _, want := range []string{"pass loop test: advertised bonjourctl-doctor-", "pass answers: answers PTR, SRV, TXT and A questions (QM)",
			"pass answers: answers PTR, SRV, TXT and A questions (QU)", `pass txt: TXT record is on the wire`} {
			if !strings.Contains(got, want) {
				t.Errorf("no line %q in\n%s", want, got)
			}
		}
	})
}

// TestZeroLengthTXT: the verdict says zero-length, and it fails.
func TestZeroLengthTXT(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rep := examine(t, &advertise.Faults{ZeroLengthTXT: true}, nil, "")
		if rep.Verdict != "TXT record is zero-length (illegal)" || !rep.Failed() {
			t.Errorf("verdict %q, failed %v\n%s", rep.Verdict, rep.Failed(), lines(rep))
		}
	})
}

// TestNotAnnounced: no instance answers: it fails and says what was seen.
func TestNotAnnounced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rep := examine(t, nil, nil, "Printer")
		if rep.Verdict != "Printer is not announced" || !strings.Contains(lines(rep), `fail announced: no instance "Printer" of _p2p._tcp answered a browse in 2s (seen: none)`) {
			t.Errorf("verdict %q\n%s", rep.Verdict, lines(rep))
		}
	})
}

// TestWrongSourcePort: a responder that answers from a port other than
// 5353 is named, with why browsers ignore it, and the instance is not
// announced as far as browsers can tell.
func TestWrongSourcePort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan := mdnstest.NewLAN()
		me := lan.HostFamilies(true, false)
		m := new(dns.Msg)
		m.Response, m.Authoritative = true, true
		ptr, _ := dns.NewRR(`_p2p._tcp.local. 4500 IN PTR Odd._p2p._tcp.local.`)
		m.Answer = []dns.RR{ptr}
		raw, _ := m.Pack()
		go func() {
			time.Sleep(5 * time.Second) // the service step is browsing by then
			me.Push(mdns.Packet{Raw: raw, Src: netip.MustParseAddrPort("10.88.0.3:37104"), Dst: netip.MustParseAddrPort("224.0.0.251:5353")})
		}()
		rep, err := doctor.Run(context.Background(), doctor.Options{
			Listen:         func(context.Context) (doctor.Link, error) { return me, nil },
			ListInterfaces: func() ([]net.Interface, error) { return []net.Interface{mdnstest.Eth0}, nil },
			InterfaceAddrs: func(net.Interface) []netip.Addr { return []netip.Addr{me.Addr4} },
			Holders:        func(int) ([]doctor.Holder, bool) { return nil, true },
			Type:           "_p2p._tcp", Wait: 2 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := lines(rep); !strings.Contains(got, "fail answers: 10.88.0.3 answers about _p2p._tcp from port 37104, not 5353: every conformant browser ignores those responses") ||
			rep.Verdict != "no _p2p._tcp service is announced" {
			t.Errorf("verdict %q\n%s", rep.Verdict, got)
		}
	})
}
