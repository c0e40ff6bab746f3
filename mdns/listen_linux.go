package mdns

import (
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// groupBound: on Linux the multicast sockets are bound to the group
// address of their interface, so that unicast datagrams for port 5353 go
// to the stacks that bound the wildcard address, never to bonjourctl.
const groupBound = true

// listenGroup opens a UDP socket bound to the mDNS group address of a
// family on port 5353, scoped to ifi (IPv6 through the address's zone),
// with address reuse so it shares the port with other stacks. It is built
// by hand because package net binds any multicast address as the wildcard,
// which would make the socket receive unicast datagrams meant for others.
func listenGroup(fam int, ifi net.Interface) (net.PacketConn, error) {
	domain, sa := unix.AF_INET, unix.Sockaddr(&unix.SockaddrInet4{Port: Port, Addr: GroupV4.As4()})
	if fam == 6 {
		domain, sa = unix.AF_INET6, &unix.SockaddrInet6{Port: Port, Addr: GroupV6.As16(), ZoneId: uint32(ifi.Index)}
	}
	fd, err := unix.Socket(domain, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	fail := func(what string, err error) (net.PacketConn, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("%s for the IPv%d group on %s: %w", what, fam, ifi.Name, err)
	}
	for _, opt := range []int{unix.SO_REUSEADDR, unix.SO_REUSEPORT} {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, 1); err != nil {
			return fail("set address reuse", err)
		}
	}
	if fam == 6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			return fail("set IPV6_V6ONLY", err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	f := os.NewFile(uintptr(fd), "mdns")
	defer f.Close()
	pc, err := net.FilePacketConn(f)
	if err != nil {
		return nil, fmt.Errorf("IPv%d group socket on %s: %w", fam, ifi.Name, err)
	}
	setRecvBuffer(pc)
	return pc, nil
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
