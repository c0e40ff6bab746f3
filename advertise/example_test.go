package advertise_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/bonjourctl/bonjourctl/advertise"
	"github.com/bonjourctl/bonjourctl/mdns/mdnstest"
)

// A responder probes for its names, announces twice and, when its context
// ends, says goodbye; every step is an event. With real sockets the link
// is mdns.Listen(ctx, mdns.Config{Unicast: true}).
func Example() {
	link := mdnstest.NewFamilies(true, false)
	defer link.Close()
	r := advertise.New(link, advertise.Service{
		Instance: "Node 1", Type: "_p2p._tcp", Port: 4001, Host: "node.local.",
		TXT: []byte("\x09key=value"), // the exact RDATA: one string, "key=value"
	}, advertise.Config{InterfaceAddrs: func(net.Interface) []netip.Addr { return []netip.Addr{netip.MustParseAddr("10.88.0.1")} }})
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	_ = r.Run(ctx, func(ev advertise.Event) error {
		fmt.Println(ev.Kind, ev.Detail)
		return nil
	})
	// Output:
	// probing 3 probes 250 ms apart (QU, type ANY, proposed records in the authority section)
	// announced announced (1 of 2)
	// announced announced (2 of 2)
	// goodbye records sent with TTL 0
}
