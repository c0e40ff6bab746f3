package mdns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// The mDNS port and groups (RFC 6762 §3).
const Port = 5353

var (
	GroupV4 = netip.MustParseAddr("224.0.0.251")
	GroupV6 = netip.MustParseAddr("ff02::fb")
)

// MaxPacket is the largest mDNS message (RFC 6762 §17: 9000 bytes including
// IP and UDP headers); the receive buffer is larger so that an oversized
// packet is seen, not cut.
const MaxPacket = 9000

// Packet is one received UDP datagram and everything known about its arrival.
type Packet struct {
	Received time.Time
	IfIndex  int    // 0 when the platform does not say
	IfName   string // "" when unknown
	Src      netip.AddrPort
	Dst      netip.AddrPort // group or unicast address it was sent to; invalid when unknown
	HopLimit int            // IPv4 TTL or IPv6 hop limit; -1 when the platform does not say
	Raw      []byte         // the UDP payload exactly as received (shared by every subscriber: do not modify)
	// Observed is set on unicast packets seen on the link by the packet
	// socket (Config.Observe) rather than received by this process's
	// sockets: addressed to another stack on this host, or sent by one.
	Observed bool
	// Local is set when the source is one of this host's addresses: this
	// process (Own) or another program on the host (avahi-daemon,
	// mDNSResponder, another bonjourctl).
	Local bool
	// Own is set on this process's own packets coming back (multicast
	// loopback, or another interface on the same link).
	Own bool
}

// Family returns 4 or 6.
func (p *Packet) Family() int {
	if p.Src.Addr().Is4() || p.Src.Addr().Is4In6() {
		return 4
	}
	return 6
}

// Config selects where a Core listens and what it opens.
type Config struct {
	// Interfaces to use; empty means every interface that is up,
	// multicast-capable and not loopback.
	Interfaces []string
	// IPv4 and IPv6 select the families; both false means both.
	IPv4, IPv6 bool
	// Unicast also opens a socket on port 5353 that receives unicast mDNS:
	// legacy queries sent straight to this host and answers to QU
	// questions. Beside another mDNS stack on this host the operating
	// system shares those datagrams between it and bonjourctl (RFC 6762
	// §15), so only a responder, or a querier asking QU, opens it.
	Unicast bool
	// Legacy opens a socket on an ephemeral port, for queries sent as a
	// legacy unicast querier does (RFC 6762 §6.7); its replies come back
	// to that port.
	Legacy bool
	// Observe watches unicast mDNS to and from this host on the selected
	// interfaces without receiving it (Linux: a packet socket, which needs
	// CAP_NET_RAW). Where it cannot, Core.Unseen says so.
	Observe bool
	// ListInterfaces replaces net.Interfaces (its result depends on the
	// calling thread's network namespace).
	ListInterfaces func() ([]net.Interface, error)
}

// Listen opens the sockets and joins the mDNS groups on the selected
// interfaces. It fails when no interface is usable.
//
// On Linux the multicast sockets are bound to the group addresses, one per
// interface and family, with IP_MULTICAST_ALL off: they receive the
// group's packets from their own interface only, and never a unicast
// datagram meant for another stack on this host. Elsewhere they are bound
// to the wildcard address, as every mDNS stack there does.
func Listen(ctx context.Context, cfg Config) (*Core, error) {
	want4, want6 := cfg.IPv4 || !cfg.IPv6, cfg.IPv6 || !cfg.IPv4
	ifaces, err := selectInterfaces(cfg)
	if err != nil {
		return nil, err
	}
	c := newCore(ifaces, false, false)
	s := &sockets{core: c}
	var errs []error
	for _, fam := range []int{4, 6} {
		if (fam == 4 && !want4) || (fam == 6 && !want6) {
			continue
		}
		if err := s.openFamily(ctx, fam, cfg); err != nil {
			errs = append(errs, err)
			continue
		}
		if fam == 4 {
			c.v4 = true
		} else {
			c.v6 = true
		}
	}
	if !c.v4 && !c.v6 {
		s.close()
		return nil, errors.Join(errs...)
	}
	if cfg.Legacy {
		if err := s.openLegacy(ctx); err != nil {
			s.close()
			return nil, err
		}
		c.legacyPort = s.legacyPort
	}
	reads := s.readers()
	if cfg.Observe {
		obs, why := s.observe()
		if why != "" {
			c.unseen = append(c.unseen, why)
		}
		reads = append(reads, obs...)
	}
	if !groupBound && !cfg.Unicast {
		c.unseen = append(c.unseen, "on this system the mDNS sockets are bound to port 5353 on every address, as every mDNS stack here does, so the system may hand bonjourctl unicast packets meant for another stack on this host")
	}
	c.SetLocalAddrs(interfaceAddrs(ifaces))
	reads = append(reads, s.linkWatch())
	c.write = s.write
	c.closeIO = s.close
	c.kernelDrops = s.kernelDrops
	c.reads = reads
	return c, nil
}

func selectInterfaces(cfg Config) ([]net.Interface, error) {
	list := cfg.ListInterfaces
	if list == nil {
		list = net.Interfaces
	}
	all, err := list()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	if len(cfg.Interfaces) > 0 {
		var out []net.Interface
		for _, name := range cfg.Interfaces {
			found := false
			for _, ifi := range all {
				if ifi.Name == name {
					if ifi.Flags&net.FlagUp == 0 {
						return nil, &InterfaceError{Name: name, Reason: "is down"}
					}
					if ifi.Flags&net.FlagMulticast == 0 {
						return nil, &InterfaceError{Name: name, Reason: "does not support multicast"}
					}
					out = append(out, ifi)
					found = true
				}
			}
			if !found {
				names := make([]string, 0, len(all))
				for _, ifi := range all {
					names = append(names, ifi.Name)
				}
				return nil, &InterfaceError{Name: name, Reason: "does not exist (interfaces: " + strings.Join(names, ", ") + ")"}
			}
		}
		return out, nil
	}
	var out []net.Interface
	for _, ifi := range all {
		if ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagMulticast != 0 && ifi.Flags&net.FlagLoopback == 0 {
			out = append(out, ifi)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no interface is up and multicast-capable (select one with -i)")
	}
	return out, nil
}

// interfaceAddrs lists the unicast addresses of the interfaces.
func interfaceAddrs(ifaces []net.Interface) []netip.Addr {
	var out []netip.Addr
	for _, ifi := range ifaces {
		as, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, a := range as {
			if pn, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(pn.IP); ok {
					out = append(out, ip.Unmap())
				}
			}
		}
	}
	return out
}

// InterfaceError is an interface named by the user that cannot be used.
type InterfaceError struct {
	Name   string
	Reason string
}

func (e *InterfaceError) Error() string { return fmt.Sprintf("interface %q %s", e.Name, e.Reason) }

type sockKind int

const (
	kindGroup   sockKind = iota // receives the group's packets (and, off Linux, unicast to 5353)
	kindUnicast                 // port 5353, no group: unicast only
	kindLegacy                  // ephemeral port, no group
)

// sock is one open socket of a Core.
type sock struct {
	family  int
	kind    sockKind
	ifIndex int // the interface a group socket serves; 0 for all
	pc      net.PacketConn
	p4      *ipv4.PacketConn
	p6      *ipv6.PacketConn
}

// sockets is a Core's socket set.
type sockets struct {
	core       *Core
	all        []*sock
	legacyPort int
	closers    []func() error
	drops      []func() (uint64, bool)
}

func (s *sockets) add(k *sock) {
	s.all = append(s.all, k)
	s.closers = append(s.closers, k.pc.Close)
	pc := k.pc
	s.drops = append(s.drops, func() (uint64, bool) { return socketDrops(pc) })
}

func (s *sockets) find(family int, kind sockKind, ifIndex int) *sock {
	for _, k := range s.all {
		if k.family == family && k.kind == kind && (k.ifIndex == 0 || k.ifIndex == ifIndex) {
			return k
		}
	}
	return nil
}

func listenUDP(ctx context.Context, family int, addr string, reuse bool) (net.PacketConn, error) {
	lc := net.ListenConfig{}
	if reuse {
		lc.Control = reuseControl
	}
	network := "udp4"
	if family == 6 {
		network = "udp6"
	}
	pc, err := lc.ListenPacket(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s %s: %w", network, addr, err)
	}
	setRecvBuffer(pc)
	return pc, nil
}

// openFamily opens the group socket(s) of a family and, with cfg.Unicast,
// its unicast socket.
func (s *sockets) openFamily(ctx context.Context, fam int, cfg Config) error {
	var errs []error
	opened := 0
	if groupBound {
		for _, ifi := range s.core.ifaces {
			pc, err := listenGroup(fam, ifi)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			k, err := s.setupGroup(pc, fam, []net.Interface{ifi})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			k.ifIndex = ifi.Index
			s.add(k)
			opened++
		}
	} else {
		pc, err := listenUDP(ctx, fam, wildcard(fam, Port), true)
		if err != nil {
			return err
		}
		k, err := s.setupGroup(pc, fam, s.core.ifaces)
		if err != nil {
			errs = append(errs, err)
		} else {
			s.add(k)
			opened++
		}
	}
	if opened == 0 {
		return errors.Join(errs...)
	}
	if cfg.Unicast && groupBound {
		pc, err := listenUDP(ctx, fam, wildcard(fam, Port), true)
		if err != nil {
			return err
		}
		k := &sock{family: fam, kind: kindUnicast, pc: pc}
		if err := k.setup(nil); err != nil {
			pc.Close()
			return err
		}
		s.add(k)
	}
	return nil
}

func (s *sockets) setupGroup(pc net.PacketConn, fam int, ifaces []net.Interface) (*sock, error) {
	k := &sock{family: fam, kind: kindGroup, pc: pc}
	if err := k.setup(ifaces); err != nil {
		pc.Close()
		return nil, err
	}
	return k, nil
}

// openLegacy opens the legacy querier's sockets, one port for both
// families.
func (s *sockets) openLegacy(ctx context.Context) error {
	var last error
	for try := 0; try < 8; try++ {
		port := 0
		var opened []*sock
		ok := true
		for _, fam := range []int{4, 6} {
			if (fam == 4 && !s.core.v4) || (fam == 6 && !s.core.v6) {
				continue
			}
			pc, err := listenUDP(ctx, fam, wildcard(fam, port), false)
			if err != nil {
				last, ok = err, false
				break
			}
			k := &sock{family: fam, kind: kindLegacy, pc: pc}
			if err := k.setup(nil); err != nil {
				pc.Close()
				last, ok = err, false
				break
			}
			opened = append(opened, k)
			port = pc.LocalAddr().(*net.UDPAddr).Port
		}
		if ok {
			for _, k := range opened {
				s.add(k)
			}
			s.legacyPort = port
			return nil
		}
		for _, k := range opened {
			k.pc.Close()
		}
	}
	return fmt.Errorf("open a legacy unicast socket: %w", last)
}

func wildcard(fam, port int) string {
	if fam == 4 {
		return fmt.Sprintf("0.0.0.0:%d", port)
	}
	return fmt.Sprintf("[::]:%d", port)
}

// setup joins the groups on ifaces (none for unicast and legacy sockets)
// and sets the options every mDNS socket needs.
func (k *sock) setup(ifaces []net.Interface) error {
	var errs []error
	joined := 0
	switch k.family {
	case 4:
		p := ipv4.NewPacketConn(k.pc)
		for i := range ifaces {
			if err := p.JoinGroup(&ifaces[i], &net.UDPAddr{IP: GroupV4.AsSlice()}); err != nil {
				errs = append(errs, fmt.Errorf("join %v on %s: %w", GroupV4, ifaces[i].Name, err))
				continue
			}
			joined++
		}
		if len(ifaces) == 1 {
			_ = p.SetMulticastInterface(&ifaces[0])
		}
		// Control messages are unsupported on some platforms (Windows);
		// the packets then carry no interface, destination or TTL.
		_ = p.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true)
		_ = p.SetMulticastTTL(255) // RFC 6762 §11
		_ = p.SetTTL(255)
		_ = p.SetMulticastLoopback(true)
		k.p4 = p
	default:
		p := ipv6.NewPacketConn(k.pc)
		for i := range ifaces {
			if err := p.JoinGroup(&ifaces[i], &net.UDPAddr{IP: GroupV6.AsSlice()}); err != nil {
				errs = append(errs, fmt.Errorf("join %v on %s: %w", GroupV6, ifaces[i].Name, err))
				continue
			}
			joined++
		}
		if len(ifaces) == 1 {
			_ = p.SetMulticastInterface(&ifaces[0])
		}
		_ = p.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true)
		_ = p.SetMulticastHopLimit(255)
		_ = p.SetHopLimit(255)
		_ = p.SetMulticastLoopback(true)
		k.p6 = p
	}
	if len(ifaces) > 0 && joined == 0 {
		return errors.Join(append(errs, fmt.Errorf("ipv%d: no interface joined", k.family))...)
	}
	if err := multicastAll(k.pc, k.family, false); err != nil {
		return fmt.Errorf("ipv%d: turn IP_MULTICAST_ALL off: %w", k.family, err)
	}
	return nil
}

func (s *sockets) readers() []func() error {
	reads := make([]func() error, 0, len(s.all))
	for _, k := range s.all {
		reads = append(reads, func() error { return s.read(k) })
	}
	return reads
}

// read copies every datagram of one socket to the core until it closes.
func (s *sockets) read(k *sock) error {
	c := s.core
	buf := make([]byte, 65536)
	port := uint16(k.pc.LocalAddr().(*net.UDPAddr).Port)
	for {
		var (
			n, ifIndex int
			hops       = -1
			dst        net.IP
			src        net.Addr
			err        error
		)
		if k.p4 != nil {
			var cm *ipv4.ControlMessage
			n, cm, src, err = k.p4.ReadFrom(buf)
			if cm != nil {
				ifIndex, hops, dst = cm.IfIndex, cm.TTL, cm.Dst
			}
		} else {
			var cm *ipv6.ControlMessage
			n, cm, src, err = k.p6.ReadFrom(buf)
			if cm != nil {
				ifIndex, hops, dst = cm.IfIndex, cm.HopLimit, cm.Dst
			}
		}
		now := time.Now()
		if err != nil {
			return err
		}
		if ifIndex == 0 {
			ifIndex = k.ifIndex
		}
		p := Packet{Received: now, IfIndex: ifIndex, HopLimit: hops, Raw: append([]byte(nil), buf[:n]...)}
		if ua, ok := src.(*net.UDPAddr); ok {
			p.Src = ua.AddrPort()
			if a := p.Src.Addr(); a.Is4In6() {
				p.Src = netip.AddrPortFrom(a.Unmap(), p.Src.Port())
			}
		}
		if ifIndex == 0 && len(c.ifaces) == 1 {
			p.IfIndex = c.ifaces[0].Index // one interface: the packet came in on it
		}
		if ifi, ok := c.byIdx[p.IfIndex]; ok {
			p.IfName = ifi.Name
		} else if p.IfIndex != 0 {
			p.IfName = fmt.Sprintf("if%d", p.IfIndex)
		}
		if a := p.Src.Addr(); a.Is6() && a.IsLinkLocalUnicast() && a.Zone() == "" && p.IfName != "" {
			p.Src = netip.AddrPortFrom(a.WithZone(p.IfName), p.Src.Port())
		}
		if d, ok := netip.AddrFromSlice(dst); ok {
			p.Dst = netip.AddrPortFrom(d.Unmap(), port)
		}
		c.Deliver(p)
	}
}

// write sends one datagram through the socket that serves it: the legacy
// socket for legacy queries, the group socket of the interface for
// multicast, the unicast socket (or else the group socket) for unicast.
func (s *sockets) write(msg []byte, ifIndex int, dst netip.AddrPort, legacy bool) error {
	fam := 6
	if dst.Addr().Is4() {
		fam = 4
	}
	var k *sock
	switch {
	case legacy:
		k = s.find(fam, kindLegacy, ifIndex)
	case dst.Addr().IsMulticast():
		k = s.find(fam, kindGroup, ifIndex)
	default:
		if k = s.find(fam, kindUnicast, ifIndex); k == nil {
			k = s.find(fam, kindGroup, ifIndex)
		}
	}
	if k == nil {
		return fmt.Errorf("no IPv%d socket is open for this", fam)
	}
	ua := net.UDPAddrFromAddrPort(dst)
	if fam == 4 {
		_, err := k.p4.WriteTo(msg, &ipv4.ControlMessage{IfIndex: ifIndex}, ua)
		return err
	}
	if a := dst.Addr(); a.IsLinkLocalMulticast() || a.IsLinkLocalUnicast() || a.IsInterfaceLocalMulticast() {
		if ifi, ok := s.core.byIdx[ifIndex]; ok {
			ua.Zone = ifi.Name
		}
	}
	_, err := k.p6.WriteTo(msg, &ipv6.ControlMessage{IfIndex: ifIndex, HopLimit: 255}, ua)
	return err
}

func (s *sockets) close() error {
	var errs []error
	for _, c := range s.closers {
		if err := c(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *sockets) kernelDrops() (uint64, bool) {
	var n uint64
	known := false
	for _, d := range s.drops {
		v, ok := d()
		if !ok {
			return 0, false
		}
		n += v
		known = true
	}
	return n, known
}
