package mdns

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// setRecvBuffer asks for a 4 MiB receive buffer, so a burst of packets
// waits in the kernel rather than being dropped. SO_RCVBUFFORCE goes past
// net.core.rmem_max when the process may (CAP_NET_ADMIN); otherwise the
// plain request is capped by the kernel.
func setRecvBuffer(pc net.PacketConn) {
	const size = 4 << 20
	if sc, ok := pc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			var serr error
			_ = rc.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size)
			})
			if serr == nil {
				return
			}
		}
	}
	if u, ok := pc.(*net.UDPConn); ok {
		_ = u.SetReadBuffer(size)
	}
}
