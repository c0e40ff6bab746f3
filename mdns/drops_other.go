//go:build !linux

package mdns

import "net"

// socketDrops is not available on this platform.
func socketDrops(net.PacketConn) (uint64, bool) { return 0, false }
