package mdns

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// observe opens a packet socket on each selected interface that sees
// unicast mDNS (to or from port 5353, not to a group) without taking it
// from whoever it is addressed to. It returns the readers, or why it
// cannot (no CAP_NET_RAW).
func (s *sockets) observe() ([]func() error, string) {
	prog, err := bpf.Assemble(unicastFilter())
	if err != nil {
		return nil, "unicast mDNS: " + err.Error()
	}
	filter := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		filter[i] = unix.SockFilter{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	var opened []*packetSock
	for _, ifi := range s.core.ifaces {
		f, err := openPacketSocket(ifi.Index, filter)
		if err != nil {
			for _, ps := range opened {
				ps.f.Close()
			}
			return nil, fmt.Sprintf("unicast mDNS between other programs on this host and the network (legacy queries and replies, answers to QU questions): watching it needs a packet socket (%v; run as root or with CAP_NET_RAW)", err)
		}
		opened = append(opened, &packetSock{f: f, ifIndex: ifi.Index, ifName: ifi.Name})
	}
	reads := make([]func() error, 0, len(opened))
	for _, ps := range opened {
		s.closers = append(s.closers, ps.f.Close)
		s.drops = append(s.drops, ps.kernelDrops)
		reads = append(reads, func() error { return s.readObserved(ps) })
	}
	return reads, ""
}

type packetSock struct {
	f       *os.File
	ifIndex int
	ifName  string
	drops   atomic.Uint64
}

func openPacketSocket(ifIndex int, filter []unix.SockFilter) (*os.File, error) {
	// Protocol 0: the socket receives nothing until it is bound, after the
	// filter is attached, so no unfiltered packet slips in.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("packet socket: %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("attach filter: %w", err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifIndex}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind packet socket: %w", err)
	}
	return os.NewFile(uintptr(fd), "packet"), nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (s *sockets) readObserved(ps *packetSock) error {
	rc, err := ps.f.SyscallConn()
	if err != nil {
		return err
	}
	buf := make([]byte, 65536)
	for {
		var (
			n    int
			from unix.Sockaddr
			rerr error
		)
		err := rc.Read(func(fd uintptr) bool {
			n, from, rerr = unix.Recvfrom(int(fd), buf, 0)
			return rerr != unix.EAGAIN
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return nil
			}
			return fmt.Errorf("read packet socket on %s: %w", ps.ifName, err)
		}
		now := time.Now()
		src, dst, hops, payload, _, ok := parseObserved(buf[:n])
		if !ok {
			continue
		}
		outgoing := false
		if ll, isLL := from.(*unix.SockaddrLinklayer); isLL {
			outgoing = ll.Pkttype == unix.PACKET_OUTGOING
		}
		// Replies to this process's own legacy socket reach it there.
		if !outgoing && s.legacyPort != 0 && int(dst.Port()) == s.legacyPort {
			continue
		}
		zone := func(a netip.AddrPort) netip.AddrPort {
			if a.Addr().Is6() && a.Addr().IsLinkLocalUnicast() {
				return netip.AddrPortFrom(a.Addr().WithZone(ps.ifName), a.Port())
			}
			return a
		}
		s.core.Deliver(Packet{
			Received: now, IfIndex: ps.ifIndex, IfName: ps.ifName,
			Src: zone(src), Dst: zone(dst), HopLimit: hops,
			Raw: append([]byte(nil), payload...), Observed: true,
		})
	}
}

// kernelDrops reads the packet socket's drop counter (PACKET_STATISTICS,
// which resets on each read, so it is summed here).
func (ps *packetSock) kernelDrops() (uint64, bool) {
	rc, err := ps.f.SyscallConn()
	if err != nil {
		return ps.drops.Load(), true
	}
	_ = rc.Control(func(fd uintptr) {
		if st, err := unix.GetsockoptTpacketStats(int(fd), unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
			ps.drops.Add(uint64(st.Drops))
		}
	})
	return ps.drops.Load(), true
}
