package netlab_test

import (
	"bytes"
	"sync"

	"golang.org/x/sys/unix"
)

// rootSniffer counts frames on every interface of the root namespace
// (AF_PACKET, passive: it sends nothing and sets no promiscuous mode).
type rootSniffer struct {
	fd     int
	mu     sync.Mutex
	frames [][]byte
	done   chan struct{}
}

func newRootSniffer() (*rootSniffer, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, err
	}
	tv := unix.Timeval{Usec: 100000}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	s := &rootSniffer{fd: fd, done: make(chan struct{})}
	go s.loop()
	return s, nil
}

func (s *rootSniffer) loop() {
	defer close(s.done)
	buf := make([]byte, 65536)
	for {
		n, _, err := unix.Recvfrom(s.fd, buf, 0)
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		if err != nil {
			return
		}
		s.mu.Lock()
		s.frames = append(s.frames, append([]byte(nil), buf[:n]...))
		s.mu.Unlock()
	}
}

// Count returns how many captured frames contain marker.
func (s *rootSniffer) Count(marker []byte) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.frames {
		if bytes.Contains(f, marker) {
			n++
		}
	}
	return n
}

func (s *rootSniffer) Close() {
	_ = unix.Shutdown(s.fd, unix.SHUT_RDWR)
	_ = unix.Close(s.fd)
	<-s.done
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
