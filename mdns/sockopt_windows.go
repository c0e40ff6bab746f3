//go:build windows

package mdns

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// reuseControl sets SO_REUSEADDR, which on Windows lets several mDNS stacks
// share port 5353 (there is no SO_REUSEPORT).
func reuseControl(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = windows.SetsockoptInt(windows.Handle(fd), windows.SOL_SOCKET, windows.SO_REUSEADDR, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
