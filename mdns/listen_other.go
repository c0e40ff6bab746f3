//go:build !linux

package mdns

import (
	"errors"
	"net"
)

// groupBound: off Linux the multicast sockets are bound to the wildcard
// address, as mDNSResponder's and Windows' own are.
const groupBound = false

func listenGroup(int, net.Interface) (net.PacketConn, error) {
	return nil, errors.New("mdns: group-bound sockets are Linux only")
}

func multicastAll(net.PacketConn, int, bool) error { return nil }

// observe cannot watch unicast traffic on this system.
func (s *sockets) observe() ([]func() error, string) {
	return nil, "unicast mDNS between other programs on this host and the network (watching it needs a packet socket, which bonjourctl opens on Linux only)"
}
