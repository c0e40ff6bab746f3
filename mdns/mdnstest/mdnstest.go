// Package mdnstest is an in-memory mDNS network for tests of the engines
// and commands built on package mdns (like net/http/httptest): each host is
// a real *mdns.Core whose sockets are replaced by memory. A test pushes
// packets in with Push and reads back what was sent, decoded, with when,
// where and from which socket it went, for both families. Hosts on one LAN
// hear each other: a multicast reaches every host, its sender included (as
// IP_MULTICAST_LOOP does), and a unicast reaches the host it is addressed
// to. Under testing/synctest everything runs on the bubble's fake clock.
package mdnstest

import (
	"errors"
	"fmt"
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

// Net is one in-memory host with one interface, eth0 (index 2, MTU 1500),
// on which the families asked for are open, and a legacy querier port.
// *Net is an *mdns.Core: hand it to the engines.
type Net struct {
	*mdns.Core
	// Addr4 and Addr6 are the host's addresses on eth0 (Addr6 link-local,
	// zone eth0): the source of what it sends on a LAN.
	Addr4, Addr6 netip.Addr

	lan  *LAN
	mu   sync.Mutex
	sent []Sent
	fail map[int]error // by family: sends fail with this
}

// Eth0 is the interface of a Net.
var Eth0 = net.Interface{Index: 2, MTU: 1500, Name: "eth0", Flags: net.FlagUp | net.FlagMulticast}

// LegacyPort is the port of a Net's legacy querier socket.
const LegacyPort = 49152

// New returns a Net alone on its link (what it sends goes nowhere), with
// both families open.
func New() *Net { return NewFamilies(true, true) }

// NewFamilies returns a Net alone on its link with the given families open.
func NewFamilies(v4, v6 bool) *Net {
	return newNet(nil, 1, v4, v6)
}

func newNet(lan *LAN, i int, v4, v6 bool) *Net {
	n := &Net{
		lan: lan, fail: map[int]error{},
		Addr4: netip.AddrFrom4([4]byte{10, 88, 0, byte(i)}),
		Addr6: netip.MustParseAddr(fmt.Sprintf("fe80::88:ff:fe00:%x", i)).WithZone("eth0"),
	}
	n.Core = mdns.NewCore(mdns.Backend{
		Interfaces: []net.Interface{Eth0}, IPv4: v4, IPv6: v6, LegacyPort: LegacyPort,
		LocalAddrs: []netip.Addr{n.Addr4, n.Addr6},
		Write:      n.write,
	})
	return n
}

// LAN joins in-memory hosts on one link.
type LAN struct {
	mu    sync.Mutex
	hosts []*Net
	down  map[*Net]bool // hosts cut off the link (Cut)
}

// NewLAN returns an empty LAN.
func NewLAN() *LAN { return &LAN{down: map[*Net]bool{}} }

// Host adds host number len+1 (10.88.0.N, fe80::88:ff:fe00:N) with both
// families open.
func (l *LAN) Host() *Net { return l.HostFamilies(true, true) }

// HostFamilies adds a host with the given families open.
func (l *LAN) HostFamilies(v4, v6 bool) *Net {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := newNet(l, len(l.hosts)+1, v4, v6)
	l.hosts = append(l.hosts, n)
	return n
}

// SameHost adds another mDNS stack on the host of n (another process, such
// as avahi-daemon beside bonjourctl): it has n's addresses, so what each
// sends arrives at the other from one of its own addresses (Packet.Local),
// yet is not its own (Packet.Own).
func (l *LAN) SameHost(n *Net) *Net {
	l.mu.Lock()
	defer l.mu.Unlock()
	o := &Net{lan: l, fail: map[int]error{}, Addr4: n.Addr4, Addr6: n.Addr6}
	o.Core = mdns.NewCore(mdns.Backend{
		Interfaces: []net.Interface{Eth0}, IPv4: n.IPv4(), IPv6: n.IPv6(), LegacyPort: LegacyPort + len(l.hosts),
		LocalAddrs: []netip.Addr{o.Addr4, o.Addr6},
		Write:      o.write,
	})
	l.hosts = append(l.hosts, o)
	return o
}

// LinkChange reports a change of eth0 to the engines on n, as the core's
// link watcher does.
func (n *Net) LinkChange(kind mdns.LinkKind, addr netip.Addr) {
	n.NotifyLink(mdns.LinkChange{At: time.Now(), IfIndex: Eth0.Index, Name: Eth0.Name, Kind: kind, Addr: addr})
}

// Cut makes a host deaf to the LAN (true) or hear it again (false).
func (l *LAN) Cut(n *Net, cut bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down[n] = cut
}

func (n *Net) write(msg []byte, ifIndex int, dst netip.AddrPort, legacy bool) error {
	m, err := mdns.Parse(msg)
	if err != nil {
		return errors.Join(errors.New("mdnstest: the engine sent a malformed message"), err)
	}
	fam := 6
	if dst.Addr().Is4() {
		fam = 4
	}
	n.mu.Lock()
	if err := n.fail[fam]; err != nil {
		n.mu.Unlock()
		return err
	}
	raw := append([]byte(nil), msg...)
	n.sent = append(n.sent, Sent{At: time.Now(), IfIndex: ifIndex, Dst: dst, Legacy: legacy, Raw: raw, Msg: m})
	n.mu.Unlock()
	if n.lan != nil {
		n.lan.carry(n, raw, dst, legacy, fam)
	}
	return nil
}

// carry delivers a datagram from one host to those that hear it.
func (l *LAN) carry(from *Net, raw []byte, dst netip.AddrPort, legacy bool, fam int) {
	src := from.Addr4
	if fam == 6 {
		src = from.Addr6
	}
	port := uint16(mdns.Port)
	if legacy {
		port = LegacyPort
	}
	l.mu.Lock()
	hosts := append([]*Net(nil), l.hosts...)
	down := map[*Net]bool{}
	for k, v := range l.down {
		down[k] = v
	}
	l.mu.Unlock()
	for _, h := range hosts {
		if down[h] || (down[from] && h != from) {
			continue
		}
		if !dst.Addr().IsMulticast() && dst.Addr().WithZone("") != h.Addr4 && dst.Addr().WithZone("") != h.Addr6.WithZone("") {
			continue
		}
		if (fam == 4 && !h.IPv4()) || (fam == 6 && !h.IPv6()) {
			continue
		}
		h.Deliver(mdns.Packet{
			Received: time.Now(), IfIndex: Eth0.Index, IfName: Eth0.Name, HopLimit: 255,
			Src: netip.AddrPortFrom(src, port), Dst: dst, Raw: raw,
		})
	}
}

// FailSends makes every later send on a family (4 or 6) fail with err;
// nil makes them succeed again.
func (n *Net) FailSends(family int, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.fail[family] = err
}

// Push delivers p as if it had arrived on the network. Without an
// interface it arrives on eth0; without a time, now; without a hop limit,
// 255.
func (n *Net) Push(p mdns.Packet) {
	if p.IfIndex == 0 {
		p.IfIndex, p.IfName = Eth0.Index, Eth0.Name
	}
	if p.Received.IsZero() {
		p.Received = time.Now()
	}
	if p.HopLimit == 0 {
		p.HopLimit = 255
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
