//go:build !linux

package mdns

import "time"

// linkWatch starts the link watcher: this system has no netlink, so the
// interfaces are read every second.
func (s *sockets) linkWatch() func() error {
	stop := make(chan struct{})
	s.closers = append(s.closers, func() error { close(stop); return nil })
	return func() error {
		s.core.watchLinks(nil, stop, time.Second)
		return nil
	}
}
