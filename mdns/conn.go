package mdns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
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
// IP and UDP headers); the receive buffer is a little larger so that an
// oversized packet is seen, not cut.
const MaxPacket = 9000

// Packet is one received UDP datagram and everything known about its arrival.
type Packet struct {
	Received time.Time
	IfIndex  int    // 0 when the platform does not say
	IfName   string // "" when unknown
	Src      netip.AddrPort
	Dst      netip.AddrPort // group or unicast address it was sent to; invalid when unknown
	HopLimit int            // IPv4 TTL or IPv6 hop limit; -1 when the platform does not say
	Raw      []byte         // the UDP payload exactly as received
}

// Family returns 4 or 6.
func (p *Packet) Family() int {
	if p.Src.Addr().Is4() || p.Src.Addr().Is4In6() {
		return 4
	}
	return 6
}

// Config selects where a Conn listens.
type Config struct {
	// Interfaces to join the groups on; empty means every interface that is
	// up and multicast-capable.
	Interfaces []string
	// IPv4 and IPv6 select the families; both false means both.
	IPv4, IPv6 bool
	// Port to bind (default 5353). Tests may use another.
	Port int
	// Queue is the number of received packets held for a slow reader
	// before further ones are dropped and counted (default 8192).
	Queue int
	// Legacy binds an ephemeral port and joins no group: a "legacy unicast"
	// querier (RFC 6762 §6.7) that receives only unicast replies.
	Legacy bool
	// ListInterfaces replaces net.Interfaces (its result depends on the
	// calling thread's network namespace).
	ListInterfaces func() ([]net.Interface, error)
}

// Conn is a pair of mDNS sockets (IPv4 and IPv6) bound to port 5353 with
// address reuse, so it runs beside avahi-daemon or mDNSResponder. A reader
// goroutine per socket copies every datagram into a bounded queue; when the
// queue is full the packet is dropped and counted, so the sockets are always
// drained and Dropped tells the truth.
type Conn struct {
	v4     *ipv4.PacketConn
	v6     *ipv6.PacketConn
	ifaces []net.Interface
	byIdx  map[int]string

	queue   chan Packet
	dropped atomic.Uint64
	wg      sync.WaitGroup
	done    chan struct{}
	once    sync.Once
	errMu   sync.Mutex
	err     error
}

// Listen opens the mDNS sockets and joins the groups on the selected
// interfaces. It fails when no interface is usable.
func Listen(ctx context.Context, cfg Config) (*Conn, error) {
	if cfg.Port == 0 {
		cfg.Port = Port
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 8192
	}
	want4, want6 := cfg.IPv4 || !cfg.IPv6, cfg.IPv6 || !cfg.IPv4
	ifaces, err := selectInterfaces(cfg)
	if err != nil {
		return nil, err
	}
	c := &Conn{ifaces: ifaces, byIdx: map[int]string{}, queue: make(chan Packet, cfg.Queue), done: make(chan struct{})}
	for _, ifi := range ifaces {
		c.byIdx[ifi.Index] = ifi.Name
	}
	lc := net.ListenConfig{Control: reuseControl}
	if cfg.Legacy {
		cfg.Port = 0
		lc.Control = nil
	}
	var errs []error
	if want4 {
		pc, err := lc.ListenPacket(ctx, "udp4", fmt.Sprintf("0.0.0.0:%d", cfg.Port))
		if err != nil {
			errs = append(errs, fmt.Errorf("listen udp4 :%d: %w", cfg.Port, err))
		} else if err := c.setup4(pc, !cfg.Legacy); err != nil {
			pc.Close()
			errs = append(errs, err)
		}
	}
	if want6 {
		pc, err := lc.ListenPacket(ctx, "udp6", fmt.Sprintf("[::]:%d", cfg.Port))
		if err != nil {
			errs = append(errs, fmt.Errorf("listen udp6 :%d: %w", cfg.Port, err))
		} else if err := c.setup6(pc, !cfg.Legacy); err != nil {
			pc.Close()
			errs = append(errs, err)
		}
	}
	if c.v4 == nil && c.v6 == nil {
		return nil, errors.Join(errs...)
	}
	c.start()
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
						return nil, fmt.Errorf("interface %s is down", name)
					}
					if ifi.Flags&net.FlagMulticast == 0 {
						return nil, fmt.Errorf("interface %s does not support multicast", name)
					}
					out = append(out, ifi)
					found = true
				}
			}
			if !found {
				return nil, fmt.Errorf("no interface named %q", name)
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

func (c *Conn) setup4(pc net.PacketConn, join bool) error {
	p := ipv4.NewPacketConn(pc)
	joined := 0
	var errs []error
	if !join {
		joined = 1
	}
	for i := 0; join && i < len(c.ifaces); i++ {
		if err := p.JoinGroup(&c.ifaces[i], &net.UDPAddr{IP: GroupV4.AsSlice()}); err != nil {
			errs = append(errs, fmt.Errorf("join %v on %s: %w", GroupV4, c.ifaces[i].Name, err))
			continue
		}
		joined++
	}
	if joined == 0 {
		return errors.Join(append(errs, errors.New("ipv4: no interface joined"))...)
	}
	// Control messages are unsupported on some platforms (Windows); the
	// packets then carry no interface, destination or TTL.
	_ = p.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true)
	_ = p.SetMulticastTTL(255) // RFC 6762 §11
	_ = p.SetTTL(255)
	_ = p.SetMulticastLoopback(true)
	setRecvBuffer(pc)
	c.v4 = p
	return nil
}

func (c *Conn) setup6(pc net.PacketConn, join bool) error {
	p := ipv6.NewPacketConn(pc)
	joined := 0
	var errs []error
	if !join {
		joined = 1
	}
	for i := 0; join && i < len(c.ifaces); i++ {
		if err := p.JoinGroup(&c.ifaces[i], &net.UDPAddr{IP: GroupV6.AsSlice()}); err != nil {
			errs = append(errs, fmt.Errorf("join %v on %s: %w", GroupV6, c.ifaces[i].Name, err))
			continue
		}
		joined++
	}
	if joined == 0 {
		return errors.Join(append(errs, errors.New("ipv6: no interface joined"))...)
	}
	_ = p.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true)
	_ = p.SetMulticastHopLimit(255)
	_ = p.SetHopLimit(255)
	_ = p.SetMulticastLoopback(true)
	setRecvBuffer(pc)
	c.v6 = p
	return nil
}

// Interfaces returns the interfaces the Conn joined.
func (c *Conn) Interfaces() []net.Interface { return c.ifaces }

// IPv4 and IPv6 report which families are open.
func (c *Conn) IPv4() bool { return c.v4 != nil }
func (c *Conn) IPv6() bool { return c.v6 != nil }

func (c *Conn) start() {
	if c.v4 != nil {
		c.wg.Add(1)
		go c.readLoop(func(b []byte) (int, int, int, net.IP, net.Addr, error) {
			n, cm, src, err := c.v4.ReadFrom(b)
			if cm == nil {
				return n, 0, -1, nil, src, err
			}
			return n, cm.IfIndex, cm.TTL, cm.Dst, src, err
		})
	}
	if c.v6 != nil {
		c.wg.Add(1)
		go c.readLoop(func(b []byte) (int, int, int, net.IP, net.Addr, error) {
			n, cm, src, err := c.v6.ReadFrom(b)
			if cm == nil {
				return n, 0, -1, nil, src, err
			}
			return n, cm.IfIndex, cm.HopLimit, cm.Dst, src, err
		})
	}
	go func() {
		c.wg.Wait()
		close(c.queue)
	}()
}

func (c *Conn) readLoop(read func([]byte) (n, ifIndex, hops int, dst net.IP, src net.Addr, err error)) {
	defer c.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, ifIndex, hops, dst, src, err := read(buf)
		now := time.Now()
		if err != nil {
			select {
			case <-c.done:
			default:
				c.setErr(err)
				c.Close()
			}
			return
		}
		p := Packet{Received: now, IfIndex: ifIndex, HopLimit: hops, Raw: append([]byte(nil), buf[:n]...)}
		if ua, ok := src.(*net.UDPAddr); ok {
			p.Src = ua.AddrPort()
			if a := p.Src.Addr(); a.Is4In6() {
				p.Src = netip.AddrPortFrom(a.Unmap(), p.Src.Port())
			}
		}
		if ifIndex != 0 {
			p.IfName = c.ifName(ifIndex)
			if a := p.Src.Addr(); a.Is6() && a.IsLinkLocalUnicast() && a.Zone() == "" {
				p.Src = netip.AddrPortFrom(a.WithZone(p.IfName), p.Src.Port())
			}
		}
		if d, ok := netip.AddrFromSlice(dst); ok {
			p.Dst = netip.AddrPortFrom(d.Unmap(), c.localPort())
		}
		select {
		case c.queue <- p:
		default:
			c.dropped.Add(1)
		}
	}
}

func (c *Conn) localPort() uint16 {
	var a net.Addr
	if c.v4 != nil {
		a = c.v4.LocalAddr()
	} else {
		a = c.v6.LocalAddr()
	}
	if ua, ok := a.(*net.UDPAddr); ok {
		return uint16(ua.Port)
	}
	return Port
}

func (c *Conn) ifName(idx int) string {
	if n, ok := c.byIdx[idx]; ok {
		return n
	}
	if ifi, err := net.InterfaceByIndex(idx); err == nil {
		return ifi.Name
	}
	return fmt.Sprintf("if%d", idx)
}

func (c *Conn) setErr(err error) {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

// Recv returns the next received packet. It returns ctx.Err() when ctx ends
// and net.ErrClosed (or the socket's error) once the Conn is closed and its
// queue drained.
func (c *Conn) Recv(ctx context.Context) (Packet, error) {
	select {
	case p, ok := <-c.queue:
		if !ok {
			c.errMu.Lock()
			defer c.errMu.Unlock()
			if c.err != nil {
				return Packet{}, c.err
			}
			return Packet{}, net.ErrClosed
		}
		return p, nil
	case <-ctx.Done():
		return Packet{}, ctx.Err()
	}
}

// LocalPort returns the UDP port the Conn is bound to.
func (c *Conn) LocalPort() int { return int(c.localPort()) }

// Dropped returns how many received packets were discarded because the
// reader fell behind (the queue was full).
func (c *Conn) Dropped() uint64 { return c.dropped.Load() }

// KernelDrops returns how many datagrams the operating system dropped on
// these sockets before the Conn could read them (full socket buffers), where
// the platform tells; ok is false where it does not.
func (c *Conn) KernelDrops() (n uint64, ok bool) {
	for _, pc := range []net.PacketConn{c.pc4(), c.pc6()} {
		if pc == nil {
			continue
		}
		d, good := socketDrops(pc)
		if !good {
			return 0, false
		}
		n += d
		ok = true
	}
	return n, ok
}

func (c *Conn) pc4() net.PacketConn {
	if c.v4 == nil {
		return nil
	}
	return c.v4.PacketConn
}

func (c *Conn) pc6() net.PacketConn {
	if c.v6 == nil {
		return nil
	}
	return c.v6.PacketConn
}

// Send multicasts msg to the mDNS group of the family on interface ifIndex,
// from port 5353 with IP TTL 255.
func (c *Conn) Send(msg []byte, ifIndex int, ipv6 bool) error {
	if ipv6 {
		return c.SendTo(msg, ifIndex, netip.AddrPortFrom(GroupV6, Port))
	}
	return c.SendTo(msg, ifIndex, netip.AddrPortFrom(GroupV4, Port))
}

// SendTo sends msg to dst (a group or a unicast address) out of ifIndex.
func (c *Conn) SendTo(msg []byte, ifIndex int, dst netip.AddrPort) error {
	ua := net.UDPAddrFromAddrPort(dst)
	if dst.Addr().Is4() {
		if c.v4 == nil {
			return errors.New("mdns: IPv4 socket not open")
		}
		_, err := c.v4.WriteTo(msg, &ipv4.ControlMessage{IfIndex: ifIndex}, ua)
		return err
	}
	if c.v6 == nil {
		return errors.New("mdns: IPv6 socket not open")
	}
	if dst.Addr().IsLinkLocalMulticast() || dst.Addr().IsLinkLocalUnicast() {
		ua.Zone = c.ifName(ifIndex)
	}
	_, err := c.v6.WriteTo(msg, &ipv6.ControlMessage{IfIndex: ifIndex, HopLimit: 255}, ua)
	return err
}

// Close closes the sockets. Packets already queued can still be read with
// Recv until it reports the Conn closed. Close waits for the reader
// goroutines to finish.
func (c *Conn) Close() error {
	var err error
	c.once.Do(func() {
		close(c.done)
		if c.v4 != nil {
			err = errors.Join(err, c.v4.Close())
		}
		if c.v6 != nil {
			err = errors.Join(err, c.v6.Close())
		}
	})
	return err
}

// Wait blocks until the reader goroutines have exited (after Close).
func (c *Conn) Wait() { c.wg.Wait() }
