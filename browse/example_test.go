package browse_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/bonjourctl/bonjourctl/advertise"
	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/mdns/mdnstest"
)

// publishNode publishes "Node 1" with key=value from a host of lan until
// ctx ends; wait for it with wg. On a real network the peer is another
// machine; here it is an in-memory host.
func publishNode(ctx context.Context, lan *mdnstest.LAN, wg *sync.WaitGroup) {
	h := lan.HostFamilies(true, false)
	r := advertise.New(h, advertise.Service{Instance: "Node 1", Type: "_p2p._tcp", Port: 4001, Host: "node.local.", TXT: []byte("\x09key=value")},
		advertise.Config{InterfaceAddrs: func(net.Interface) []netip.Addr { return []netip.Addr{h.Addr4} }})
	wg.Go(func() { _ = r.Run(ctx, func(advertise.Event) error { return nil }) })
}

// A browser reports each instance once it has its SRV, TXT and address,
// with the TXT record's state kept apart from its strings. With real
// sockets the link is mdns.Listen(ctx, mdns.Config{}).
func Example() {
	lan := mdnstest.NewLAN()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	publishNode(ctx, lan, &wg)

	link := lan.HostFamilies(true, false)
	defer link.Close()
	b := browse.New(link, browse.Config{})
	b.Browse("_p2p._tcp")
	_ = b.Run(ctx, func(ev browse.Event) error {
		s := ev.Service
		fmt.Println(ev.Kind, s.Instance, s.Host, s.Port, s.Addrs, s.TXTState, s.TXTSummary())
		cancel()
		return nil
	})
	// Output: added Node 1 node.local. 4001 [10.88.0.1] present key=value (1 string, 10 bytes)
}

// Resolve asks for one instance until its SRV, TXT and an address have
// arrived, asking again at 1 s, 2 s... for what is missing.
func ExampleBrowser_Resolve() {
	lan := mdnstest.NewLAN()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	publishNode(ctx, lan, &wg)
	time.Sleep(1500 * time.Millisecond) // probed and announced

	link := lan.HostFamilies(true, false)
	defer link.Close()
	b := browse.New(link, browse.Config{})
	wg.Go(func() { _ = b.Run(ctx, func(browse.Event) error { return nil }) })
	r, err := b.Resolve(ctx, `Node\ 1._p2p._tcp.local.`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Complete, r.Service.Host, r.Service.Port, r.Service.TXTState, string(r.Service.TXTRaw[1:]))
	// Output: true node.local. 4001 present key=value
}
