package check_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/check"
	"github.com/bonjourctl/bonjourctl/mdns"
)

// A Checker is fed packets in order and returns findings, each with the
// responder, the rule and the RFC section. Here one response breaks two
// rules: no AA bit, and no cache-flush bit on a unique record. check.Run
// does the same on a live link, and can ask questions itself.
func Example() {
	m := new(dns.Msg)
	m.Response = true // AA left out
	srv, _ := dns.NewRR(`node._p2p._tcp.local. 120 IN SRV 0 0 4001 node.local.`)
	m.Answer = []dns.RR{srv}
	raw, _ := m.Pack()

	c := check.New(nil)
	c.Packet(&mdns.Packet{Raw: raw, Received: time.Unix(0, 0), HopLimit: 255,
		Src: netip.MustParseAddrPort("10.88.0.2:5353"), Dst: netip.MustParseAddrPort("224.0.0.251:5353")})
	for _, f := range c.Findings(false) {
		fmt.Printf("%s %s %s (%s)\n", f.Level, f.Responder, f.Rule, f.Section)
	}
	// Output:
	// fail 10.88.0.2 aa-in-response (RFC 6762 §18.4)
	// warn 10.88.0.2 no-flush-on-unique (RFC 6762 §10.2)
}
