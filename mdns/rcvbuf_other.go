//go:build !linux

package mdns

import "net"

// setRecvBuffer asks for a 4 MiB receive buffer (the OS may cap it).
func setRecvBuffer(pc net.PacketConn) {
	if u, ok := pc.(*net.UDPConn); ok {
		_ = u.SetReadBuffer(4 << 20)
	}
}
