//go:build !linux

package mdns

import "net"

// groupBound: off Linux the multicast sockets are bound to the wildcard
// address, as mDNSResponder's and Windows' own are.
const groupBound = false

func groupAddr(int, net.Interface) string { return "" }

func multicastAll(net.PacketConn, int, bool) error { return nil }

// observe cannot watch unicast traffic on this system.
func (s *sockets) observe() ([]func() error, string) {
	return nil, "unicast mDNS between other programs on this host and the network (watching it needs a packet socket, which bonjourctl opens on Linux only)"
}
