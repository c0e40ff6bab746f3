// Package mdnstest is an in-memory mDNS network for tests of the engines
// built on package mdns (like net/http/httptest): a real *mdns.Core whose
// sockets are replaced by memory. Tests push packets in with Push and read
// back what was sent, decoded, with when, where and from which socket it
// went, for both families.
package mdnstest

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/bonjourctl/bonjourctl/mdns"
)

// Sent is one datagram the engine sent.
type Sent struct {
	At      time.Time
	IfIndex int
	Dst     netip.AddrPort
	Legacy  bool // from the legacy querier's socket
	Raw     []byte
	Msg     *mdns.Message
}

// Family returns 4 or 6.
func (s Sent) Family() int {
	if s.Dst.Addr().Is4() {
		return 4
	}
	return 6
}

// Net is an in-memory network with one interface, eth0 (index 2, MTU
// 1500), on which both families are open, and a legacy querier port.
// *Net is an *mdns.Core: hand it to the engines.
type Net struct {
	*mdns.Core

	mu   sync.Mutex
	sent []Sent
	fail map[int]error // by family: sends fail with this
}

// Eth0 is the interface of a Net.
var Eth0 = net.Interface{Index: 2, MTU: 1500, Name: "eth0", Flags: net.FlagUp | net.FlagMulticast}

// LegacyPort is the port of a Net's legacy querier socket.
const LegacyPort = 49152

// New returns a Net with both families open.
func New() *Net { return NewFamilies(true, true) }

// NewFamilies returns a Net with the given families open.
func NewFamilies(v4, v6 bool) *Net {
	n := &Net{fail: map[int]error{}}
	n.Core = mdns.NewCore(mdns.Backend{
		Interfaces: []net.Interface{Eth0}, IPv4: v4, IPv6: v6, LegacyPort: LegacyPort,
		Write: n.write,
	})
	return n
}

func (n *Net) write(msg []byte, ifIndex int, dst netip.AddrPort, legacy bool) error {
	m, err := mdns.Parse(msg)
	if err != nil {
		return errors.Join(errors.New("mdnstest: the engine sent a malformed message"), err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	fam := 6
	if dst.Addr().Is4() {
		fam = 4
	}
	if err := n.fail[fam]; err != nil {
		return err
	}
	n.sent = append(n.sent, Sent{At: time.Now(), IfIndex: ifIndex, Dst: dst, Legacy: legacy, Raw: append([]byte(nil), msg...), Msg: m})
	return nil
}

// FailSends makes every later send on a family (4 or 6) fail with err;
// nil makes them succeed again.
func (n *Net) FailSends(family int, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.fail[family] = err
}

// Push delivers p as if it had arrived on the network. Without an
// interface it arrives on eth0; without a time, now.
func (n *Net) Push(p mdns.Packet) {
	if p.IfIndex == 0 {
		p.IfIndex, p.IfName = Eth0.Index, Eth0.Name
	}
	if p.Received.IsZero() {
		p.Received = time.Now()
	}
	n.Deliver(p)
}

// Sent returns what was sent over IPv4 so far (each multicast once: the
// IPv6 copies are in SentAll).
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

// SentAll returns everything sent so far, both families.
func (n *Net) SentAll() []Sent {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Sent(nil), n.sent...)
}

// Take is Sent, forgetting everything sent so far (both families).
func (n *Net) Take() []Sent {
	out := n.Sent()
	n.mu.Lock()
	n.sent = nil
	n.mu.Unlock()
	return out
}
