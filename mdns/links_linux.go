package mdns

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// linkWatch starts the link watcher: a netlink socket on the route
// groups wakes it as soon as a link or an address changes.
func (s *sockets) linkWatch() func() error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	var f *os.File
	if err == nil {
		if err = unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_LINK | unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR}); err != nil {
			unix.Close(fd)
		} else {
			f = os.NewFile(uintptr(fd), "netlink")
		}
	}
	stop := make(chan struct{})
	s.closers = append(s.closers, func() error {
		close(stop)
		if f != nil {
			return f.Close()
		}
		return nil
	})
	return func() error {
		wake := make(chan struct{}, 1)
		done := make(chan struct{})
		if f != nil {
			go func() { // reads netlink until the core closes it
				defer close(done)
				rc, err := f.SyscallConn()
				if err != nil {
					return
				}
				buf := make([]byte, 16384)
				for {
					var rerr error
					err := rc.Read(func(fd uintptr) bool {
						_, _, rerr = unix.Recvfrom(int(fd), buf, 0)
						return rerr != unix.EAGAIN
					})
					if err != nil || (rerr != nil && !errors.Is(rerr, unix.ENOBUFS)) {
						return
					}
					select {
					case wake <- struct{}{}:
					default:
					}
				}
			}()
		} else {
			close(done)
		}
		s.core.watchLinks(wake, stop, 2*time.Second)
		<-done
		return nil
	}
}
