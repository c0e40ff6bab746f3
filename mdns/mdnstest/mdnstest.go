// Package mdnstest is an in-memory mDNS transport for tests of the engines
// built on package mdns (like net/http/httptest): tests push packets in and
// read back what was sent, decoded, with when and where it went.
package mdnstest

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/bonjourctl/bonjourctl/mdns"
)

// Sent is one message the engine sent.
type Sent struct {
	At      time.Time
	IfIndex int
	Dst     netip.AddrPort
	Msg     *mdns.Message
}

// Net is a Transport for browse and advertise: one interface, eth0 (index
// 2), with the families V4 and V6 open.
type Net struct {
	In     chan mdns.Packet // packets the engine will receive
	V4, V6 bool

	mu   sync.Mutex
	sent []Sent
}

// New returns a Net with both families open.
func New() *Net { return &Net{In: make(chan mdns.Packet, 64), V4: true, V6: true} }

// Recv returns the next packet pushed into In.
func (n *Net) Recv(ctx context.Context) (mdns.Packet, error) {
	select {
	case p := <-n.In:
		return p, nil
	case <-ctx.Done():
		return mdns.Packet{}, ctx.Err()
	}
}

// Send records a multicast to the family's group.
func (n *Net) Send(msg []byte, ifIndex int, v6 bool) error {
	dst := netip.AddrPortFrom(mdns.GroupV4, mdns.Port)
	if v6 {
		dst = netip.AddrPortFrom(mdns.GroupV6, mdns.Port)
	}
	return n.SendTo(msg, ifIndex, dst)
}

// SendTo records a message; it must decode.
func (n *Net) SendTo(msg []byte, ifIndex int, dst netip.AddrPort) error {
	m, err := mdns.Parse(msg)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.sent = append(n.sent, Sent{At: time.Now(), IfIndex: ifIndex, Dst: dst, Msg: m})
	n.mu.Unlock()
	return nil
}

// Interfaces returns eth0.
func (n *Net) Interfaces() []net.Interface {
	return []net.Interface{{Index: 2, Name: "eth0", Flags: net.FlagUp | net.FlagMulticast}}
}

// IPv4 and IPv6 report the open families.
func (n *Net) IPv4() bool { return n.V4 }
func (n *Net) IPv6() bool { return n.V6 }

// Sent returns what was sent over IPv4 so far (each multicast once).
func (n *Net) Sent() []Sent {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []Sent
	for _, s := range n.sent {
		if s.Dst.Addr().Is4() {
			out = append(out, s)
		}
	}
	return out
}

// Take is Sent, forgetting what it returns.
func (n *Net) Take() []Sent {
	out := n.Sent()
	n.mu.Lock()
	n.sent = nil
	n.mu.Unlock()
	return out
}
