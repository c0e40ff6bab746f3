// Package doctor gathers what `bonjourctl doctor` needs to know about the
// machine: what each network interface looks like (a LAN port, a container
// bridge, a VPN or tunnel) and which processes hold UDP port 5353.
package doctor

import (
	"net"
	"strings"
)

// Kind classifies an interface for multicast DNS.
type Kind string

const (
	KindLoopback  Kind = "loopback"
	KindBridge    Kind = "container or VM bridge"
	KindTunnel    Kind = "VPN or tunnel"
	KindVirtual   Kind = "virtual ethernet"
	KindPhysical  Kind = "network interface"
	KindNoMcast   Kind = "no multicast"
	KindDown      Kind = "down"
	KindPointToPt Kind = "point-to-point"
)

// Classify says what an interface looks like from its name and flags.
// Names are heuristics (docker0, br-*, virbr*, cni*, podman*, vmnet*, utun*,
// tun*, tap*, wg*, tailscale*, zt*, ppp*, ipsec*, veth*).
func Classify(name string, flags net.Flags) Kind {
	n := strings.ToLower(name)
	switch {
	case flags&net.FlagLoopback != 0:
		return KindLoopback
	case flags&net.FlagUp == 0:
		return KindDown
	}
	for _, p := range []string{"utun", "tun", "tap", "wg", "tailscale", "zt", "ppp", "ipsec", "gif", "stf"} {
		if strings.HasPrefix(n, p) {
			return KindTunnel
		}
	}
	for _, p := range []string{"docker", "br-", "virbr", "cni", "podman", "vmnet", "vboxnet", "lxcbr", "lxdbr", "cbr", "flannel", "vnic", "bridge"} {
		if strings.HasPrefix(n, p) {
			return KindBridge
		}
	}
	if strings.HasPrefix(n, "veth") {
		return KindVirtual
	}
	if flags&net.FlagPointToPoint != 0 {
		return KindPointToPt
	}
	if flags&net.FlagMulticast == 0 {
		return KindNoMcast
	}
	return KindPhysical
}

// Holder is a process with a UDP socket on port 5353.
type Holder struct {
	PID     int
	Command string
	Local   string // local address as the kernel lists it
}
