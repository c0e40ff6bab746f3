package mdns

import (
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// groupBound: on Linux the multicast sockets are bound to the group
// address of their interface, so that unicast datagrams for port 5353 go
// to the stacks that bound the wildcard address, never to bonjourctl.
const groupBound = true

func groupAddr(fam int, ifi net.Interface) string {
	if fam == 4 {
		return fmt.Sprintf("%s:%d", GroupV4, Port)
	}
	return fmt.Sprintf("[%s%%%s]:%d", GroupV6, ifi.Name, Port)
}

// multicastAll sets IP_MULTICAST_ALL (IPV6_MULTICAST_ALL): off, a socket
// receives only the groups it joined itself, on the interfaces it joined
// them on, instead of every group any socket on the host joined.
func multicastAll(pc net.PacketConn, fam int, on bool) error {
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	v := 0
	if on {
		v = 1
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		if fam == 4 {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, v)
		} else {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, v)
			if serr == unix.ENOPROTOOPT {
				serr = nil // before Linux 4.20; the socket is bound to its interface anyway
			}
		}
	})
	if err != nil {
		return err
	}
	return serr
}
