//go:build !linux

package mdns

import (
	"net"
	"net/netip"
)

// HardwareAddr is not available on this system.
func HardwareAddr(int, netip.Addr) (net.HardwareAddr, bool) { return nil, false }
