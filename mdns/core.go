package mdns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Core is a process's one mDNS endpoint: the sockets on the selected
// interfaces and families, one reader per socket, every received packet
// offered to every subscriber, and the one way to send.
//
// Each subscriber (a querier, a responder, a checker, a capture tap) has its
// own bounded queue: a slow subscriber loses its own packets, counted in its
// Dropped, never anyone else's. Packets that arrive on an interface that is
// not selected are dropped at the core and counted. Every send goes through
// Send, which never sends on an interface that is not selected, refuses a
// message the size rules forbid, and returns and counts every error.
type Core struct {
	ifaces     []net.Interface
	byIdx      map[int]net.Interface
	v4, v6     bool
	legacyPort int
	unseen     []string

	write       func(msg []byte, ifIndex int, dst netip.AddrPort, legacy bool) error
	closeIO     func() error
	kernelDrops func() (uint64, bool)
	readers     sync.WaitGroup

	mu     sync.RWMutex
	subs   []*Sub
	closed bool
	err    error // why the sockets stopped, if not Close

	received, otherIface, sent, sendFailed, refused atomic.Uint64
	lastErr                                         atomic.Pointer[errBox]
	closeOnce                                       sync.Once
	closeErr                                        error
	closing                                         bool // Close was called: read errors are expected
	closerDone                                      chan struct{}
	reads                                           []func() error
	startOnce                                       sync.Once

	local atomic.Pointer[map[netip.Addr]bool] // this host's addresses on the selected interfaces
	ownMu sync.Mutex
	own   [256]ownMark // what this core sent lately, to know its looped-back copies
	ownN  int
}

// ownMark is a message this core sent: its hash and when.
type ownMark struct {
	hash uint64
	at   time.Time
}

// ownWindow is how long a sent message is remembered: multicast loopback
// takes microseconds, a busy receive queue a little longer.
const ownWindow = 3 * time.Second

type errBox struct{ err error }

// Backend is where a Core's packets go when they do not go to sockets: a
// test's in-memory network or a capture file's replay. Packets come in
// through Core.Deliver.
type Backend struct {
	Interfaces []net.Interface
	IPv4, IPv6 bool
	// LegacyPort is the port of a legacy unicast querier's socket (RFC
	// 6762 §6.7); 0 when there is none.
	LegacyPort int
	// LocalAddrs are this host's addresses on the interfaces, to tell
	// packets from this host (Packet.Local) from the rest.
	LocalAddrs []netip.Addr
	// Write sends one datagram out of an interface; legacy selects the
	// legacy querier's socket.
	Write func(msg []byte, ifIndex int, dst netip.AddrPort, legacy bool) error
}

// NewCore returns a Core on b. Close it when done.
func NewCore(b Backend) *Core {
	c := newCore(b.Interfaces, b.IPv4, b.IPv6)
	c.legacyPort = b.LegacyPort
	c.SetLocalAddrs(b.LocalAddrs)
	c.write = b.Write
	if c.write == nil {
		c.write = func([]byte, int, netip.AddrPort, bool) error { return errors.New("mdns: this core cannot send") }
	}
	return c
}

func newCore(ifaces []net.Interface, v4, v6 bool) *Core {
	c := &Core{ifaces: ifaces, byIdx: map[int]net.Interface{}, v4: v4, v6: v6}
	for _, ifi := range ifaces {
		c.byIdx[ifi.Index] = ifi
	}
	c.closeIO = func() error { return nil }
	return c
}

// Interfaces returns the selected interfaces.
func (c *Core) Interfaces() []net.Interface { return c.ifaces }

// IPv4 and IPv6 report which families are open.
func (c *Core) IPv4() bool { return c.v4 }
func (c *Core) IPv6() bool { return c.v6 }

// LegacyPort returns the port of the legacy querier's socket, 0 without one.
func (c *Core) LegacyPort() int { return c.legacyPort }

// Unseen says what this core cannot see, one phrase per gap (for example
// unicast mDNS addressed to other processes on this host); empty when it
// sees everything mDNS on its interfaces.
func (c *Core) Unseen() []string { return c.unseen }

// Interface returns the selected interface with index idx.
func (c *Core) Interface(idx int) (net.Interface, bool) {
	ifi, ok := c.byIdx[idx]
	return ifi, ok
}

// Sub is one subscriber's view of a Core: every packet the core receives,
// in a bounded queue of its own.
type Sub struct {
	name      string
	core      *Core
	ch        chan Packet
	links     chan LinkChange
	delivered atomic.Uint64
	dropped   atomic.Uint64
	done      chan struct{}
	once      sync.Once
}

// DefaultQueue is a subscriber's queue length when Subscribe is given 0.
const DefaultQueue = 8192

// Subscribe registers a subscriber named name (for reports) with a queue
// of size packets (DefaultQueue when 0). It receives every packet that
// arrives from now on. Close it when done.
func (c *Core) Subscribe(name string, size int) *Sub {
	if size <= 0 {
		size = DefaultQueue
	}
	s := &Sub{name: name, core: c, ch: make(chan Packet, size), links: make(chan LinkChange, 64), done: make(chan struct{})}
	c.mu.Lock()
	if c.closed {
		close(s.ch)
		c.mu.Unlock()
		return s
	}
	c.subs = append(slices.Clip(c.subs), s)
	c.mu.Unlock()
	// The sockets are read from the first subscription on: until then
	// packets wait in the kernel, so none is lost uncounted in between.
	c.startOnce.Do(func() {
		if c.reads != nil {
			c.startReaders(c.reads)
		}
	})
	return s
}

// Recv returns the next packet. It returns ctx.Err() when ctx ends, and
// net.ErrClosed (or the error that stopped the sockets) once the
// subscriber or the core is closed and the queue is drained.
func (s *Sub) Recv(ctx context.Context) (Packet, error) {
	select {
	case <-s.done:
		return Packet{}, net.ErrClosed
	default:
	}
	select {
	case p, ok := <-s.ch:
		if !ok {
			return Packet{}, s.core.stopErr()
		}
		return p, nil
	case <-s.done:
		return Packet{}, net.ErrClosed
	case <-ctx.Done():
		return Packet{}, ctx.Err()
	}
}

// C returns the queue itself, for a select; it is closed when the core
// closes.
func (s *Sub) C() <-chan Packet { return s.ch }

// Close unregisters the subscriber. Recv then returns net.ErrClosed.
func (s *Sub) Close() {
	s.once.Do(func() {
		close(s.done)
		c := s.core
		c.mu.Lock()
		c.subs = slices.DeleteFunc(slices.Clone(c.subs), func(x *Sub) bool { return x == s })
		c.mu.Unlock()
	})
}

// Dropped returns how many packets this subscriber lost because its queue
// was full.
func (s *Sub) Dropped() uint64 { return s.dropped.Load() }

// Delivered returns how many packets were queued for this subscriber.
func (s *Sub) Delivered() uint64 { return s.delivered.Load() }

// Name returns the subscriber's name.
func (s *Sub) Name() string { return s.name }

// SetLocalAddrs replaces the set of this host's addresses (after a link
// change).
func (c *Core) SetLocalAddrs(addrs []netip.Addr) {
	m := make(map[netip.Addr]bool, len(addrs))
	for _, a := range addrs {
		m[a.WithZone("").Unmap()] = true
	}
	c.local.Store(&m)
}

// IsLocal reports whether a is one of this host's addresses on the
// selected interfaces.
func (c *Core) IsLocal(a netip.Addr) bool {
	m := c.local.Load()
	return m != nil && (*m)[a.WithZone("").Unmap()]
}

// markSent remembers a message this core sent.
func (c *Core) markSent(msg []byte) {
	h := hash64(msg)
	now := time.Now()
	c.ownMu.Lock()
	c.own[c.ownN%len(c.own)] = ownMark{h, now}
	c.ownN++
	c.ownMu.Unlock()
}

// sentLately reports whether this core sent msg in the last ownWindow.
func (c *Core) sentLately(msg []byte, now time.Time) bool {
	h := hash64(msg)
	c.ownMu.Lock()
	defer c.ownMu.Unlock()
	for i := range c.own {
		if m := c.own[i]; m.hash == h && now.Sub(m.at) < ownWindow && !m.at.IsZero() {
			return true
		}
	}
	return false
}

// hash64 is FNV-1a.
func hash64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// Deliver hands a received packet to every subscriber, as the socket
// readers do. Packets from an interface that is not selected are dropped
// and counted. Deliver marks packets from this host's addresses Local, and
// those this core sent itself (a looped-back copy) Own. Deliver after
// Close does nothing and is not counted: every packet counted as received
// reaches each subscriber's queue or its drop count, so a summary taken
// after Close accounts for all of them.
func (c *Core) Deliver(p Packet) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return
	}
	c.received.Add(1)
	if p.Src.IsValid() && c.IsLocal(p.Src.Addr()) {
		p.Local = true
		p.Own = c.sentLately(p.Raw, time.Now())
	}
	if p.IfIndex != 0 {
		if _, ok := c.byIdx[p.IfIndex]; !ok {
			c.otherIface.Add(1)
			return
		}
	}
	for _, s := range c.subs {
		select {
		case s.ch <- p:
			s.delivered.Add(1)
		default:
			s.dropped.Add(1)
		}
	}
}

// Dest says where Send sends a message.
type Dest struct {
	// IfIndex is the interface; 0 sends on every selected interface.
	IfIndex int
	// Addr is a unicast destination; the zero value sends to the mDNS
	// group of each open family (or of Family).
	Addr netip.AddrPort
	// Family limits a group send to 4 or 6; 0 sends on both.
	Family int
	// Legacy sends from the legacy querier's port (RFC 6762 §6.7) instead
	// of 5353.
	Legacy bool
}

// SendError is one datagram that was not sent.
type SendError struct {
	Interface string
	Family    int
	Dst       netip.AddrPort
	Err       error
}

func (e *SendError) Error() string {
	return fmt.Sprintf("send to %s on %s (IPv%d): %v", e.Dst, e.Interface, e.Family, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// SendErrors is Send's error when one or more datagrams failed; Sent says
// how many did go out.
type SendErrors struct {
	Sent   int
	Failed []*SendError
}

func (e *SendErrors) Error() string {
	parts := make([]string, len(e.Failed))
	for i, f := range e.Failed {
		parts[i] = f.Error()
	}
	s := strings.Join(parts, "; ")
	if e.Sent > 0 {
		s += fmt.Sprintf(" (%d other sends succeeded)", e.Sent)
	}
	return s
}

func (e *SendErrors) Unwrap() []error {
	out := make([]error, len(e.Failed))
	for i, f := range e.Failed {
		out[i] = f
	}
	return out
}

// SizeError is a message the size rules of RFC 6762 §17 forbid.
type SizeError struct {
	Size    int // message bytes
	Limit   int // what the interface's MTU leaves for the message
	Records int // questions and records in it
	Reason  string
}

func (e *SizeError) Error() string { return "mdns: message not sent: " + e.Reason }

// MaxMessage is the largest message that may be sent including IP and UDP
// headers, fragmented or not (RFC 6762 §17).
const MaxMessage = 9000

const (
	headers4 = 20 + 8 // IPv4 and UDP headers
	headers6 = 40 + 8
)

// CheckSize applies RFC 6762 §17 to a message for an interface of the given
// MTU and family: at most 9000 bytes with headers, and a message larger
// than the MTU (which goes out as IP fragments) must hold a single record.
func CheckSize(msg []byte, mtu, family int) error {
	if len(msg) < 12 {
		return &SizeError{Size: len(msg), Reason: fmt.Sprintf("%d bytes is shorter than a DNS header", len(msg))}
	}
	hdr := headers4
	if family == 6 {
		hdr = headers6
	}
	if mtu <= 0 {
		mtu = 1500
	}
	n := 0
	for i := 0; i < 4; i++ {
		n += int(binary.BigEndian.Uint16(msg[4+2*i:]))
	}
	if len(msg)+hdr > MaxMessage {
		return &SizeError{Size: len(msg), Limit: MaxMessage - hdr, Records: n,
			Reason: fmt.Sprintf("%d bytes with its headers, over the 9000 bytes an mDNS packet may have even in fragments (RFC 6762 §17)", len(msg)+hdr)}
	}
	if len(msg)+hdr > mtu && n > 1 {
		return &SizeError{Size: len(msg), Limit: mtu - hdr, Records: n,
			Reason: fmt.Sprintf("%d bytes with %d questions and records does not fit the %d-byte MTU; only a single record may go out IP-fragmented (RFC 6762 §17): split it", len(msg)+hdr, n, mtu)}
	}
	return nil
}

// PayloadLimit returns the largest message that fits every selected
// interface's MTU over both families (IPv6 headers assumed), for packing.
func (c *Core) PayloadLimit() int {
	limit := 1500 - headers6
	for i, ifi := range c.ifaces {
		mtu := ifi.MTU
		if mtu <= 0 {
			mtu = 1500
		}
		if i == 0 || mtu-headers6 < limit {
			limit = mtu - headers6
		}
	}
	return max(limit, 512)
}

// Send sends msg as Dest says. It returns nil only when every datagram went
// out; otherwise a *SizeError when the size rules forbid the message (no
// datagram is sent), or *SendErrors listing each interface and family that
// failed and how many succeeded.
func (c *Core) Send(msg []byte, to Dest) error {
	var ifaces []net.Interface
	if to.IfIndex != 0 {
		ifi, ok := c.byIdx[to.IfIndex]
		if !ok {
			return c.fail(&SendErrors{Failed: []*SendError{{Interface: fmt.Sprintf("if%d", to.IfIndex), Dst: to.Addr,
				Err: errors.New("interface is not selected: bonjourctl never sends there")}}})
		}
		ifaces = []net.Interface{ifi}
	} else {
		ifaces = c.ifaces
	}
	fams := []int{}
	switch {
	case to.Addr.IsValid() && to.Addr.Addr().Unmap().Is4():
		fams = append(fams, 4)
	case to.Addr.IsValid():
		fams = append(fams, 6)
	default:
		if c.v4 && to.Family != 6 {
			fams = append(fams, 4)
		}
		if c.v6 && to.Family != 4 {
			fams = append(fams, 6)
		}
	}
	if len(fams) == 0 || len(ifaces) == 0 {
		return c.fail(&SendErrors{Failed: []*SendError{{Interface: "-", Dst: to.Addr, Err: errors.New("no interface or address family is open for this destination")}}})
	}
	for _, ifi := range ifaces {
		for _, fam := range fams {
			if err := CheckSize(msg, ifi.MTU, fam); err != nil {
				c.refused.Add(1)
				c.lastErr.Store(&errBox{err})
				return err
			}
		}
	}
	res := &SendErrors{}
	for _, ifi := range ifaces {
		for _, fam := range fams {
			dst := to.Addr
			if !dst.IsValid() {
				dst = netip.AddrPortFrom(GroupV4, Port)
				if fam == 6 {
					dst = netip.AddrPortFrom(GroupV6, Port)
				}
			} else {
				dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
			}
			if (fam == 4 && !c.v4) || (fam == 6 && !c.v6) {
				res.Failed = append(res.Failed, &SendError{Interface: ifi.Name, Family: fam, Dst: dst, Err: fmt.Errorf("no IPv%d socket is open", fam)})
				continue
			}
			if res.Sent == 0 && len(res.Failed) == 0 {
				c.markSent(msg) // before the write: its loopback may come back at once
			}
			if err := c.write(msg, ifi.Index, dst, to.Legacy); err != nil {
				res.Failed = append(res.Failed, &SendError{Interface: ifi.Name, Family: fam, Dst: dst, Err: err})
				continue
			}
			res.Sent++
		}
	}
	c.sent.Add(uint64(res.Sent))
	if len(res.Failed) > 0 {
		return c.fail(res)
	}
	return nil
}

func (c *Core) fail(e *SendErrors) error {
	c.sendFailed.Add(uint64(len(e.Failed)))
	c.lastErr.Store(&errBox{e})
	return e
}

// Stats counts what a Core did.
type Stats struct {
	Received       uint64 // datagrams read (or delivered)
	OtherInterface uint64 // of which arrived on an interface not selected, and were dropped
	Sent           uint64 // datagrams written
	SendFailed     uint64 // datagrams that failed to go out
	Refused        uint64 // messages the size rules refused
	LastError      error  // the latest send error or refusal
	// KernelDrops is what the operating system dropped before the core
	// read it (full socket buffers), where it says (KernelDropsKnown).
	KernelDrops      uint64
	KernelDropsKnown bool
	Subscribers      []SubStats
}

// SubStats is one subscriber's count.
type SubStats struct {
	Name      string
	Delivered uint64
	Dropped   uint64
}

// Stats returns the counters so far.
func (c *Core) Stats() Stats {
	s := Stats{
		Received: c.received.Load(), OtherInterface: c.otherIface.Load(),
		Sent: c.sent.Load(), SendFailed: c.sendFailed.Load(), Refused: c.refused.Load(),
	}
	if b := c.lastErr.Load(); b != nil {
		s.LastError = b.err
	}
	if c.kernelDrops != nil {
		s.KernelDrops, s.KernelDropsKnown = c.kernelDrops()
	}
	c.mu.RLock()
	for _, sub := range c.subs {
		s.Subscribers = append(s.Subscribers, SubStats{Name: sub.name, Delivered: sub.Delivered(), Dropped: sub.Dropped()})
	}
	c.mu.RUnlock()
	return s
}

// Close closes the sockets and waits for their readers to stop. Packets
// already queued can still be read; then every subscriber's Recv reports
// the core closed.
func (c *Core) Close() error {
	c.startOnce.Do(func() {}) // never started: nothing will read
	err := c.shut()
	if c.closerDone != nil {
		<-c.closerDone
	} else {
		c.closeSubs()
	}
	return err
}

// shut closes the sockets once; the readers then stop.
func (c *Core) shut() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closing = true
		c.mu.Unlock()
		c.closeErr = c.closeIO()
	})
	return c.closeErr
}

// startReaders runs read for each socket until it fails, then closes the
// subscribers' queues once every reader has stopped.
func (c *Core) startReaders(reads []func() error) {
	c.closerDone = make(chan struct{})
	for _, read := range reads {
		c.readers.Add(1)
		go func() {
			defer c.readers.Done()
			if err := read(); err != nil {
				c.stop(err)
			}
		}()
	}
	go func() {
		c.readers.Wait()
		c.closeSubs()
		close(c.closerDone)
	}()
}

func (c *Core) closeSubs() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	for _, s := range c.subs {
		close(s.ch)
	}
}

// stop records why the sockets stopped (a read error that was not Close)
// and closes them.
func (c *Core) stop(err error) {
	c.mu.Lock()
	closing := c.closing
	if c.err == nil && !closing {
		c.err = err
	}
	c.mu.Unlock()
	_ = c.shut()
}

func (c *Core) stopErr() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.err != nil {
		return c.err
	}
	return net.ErrClosed
}
