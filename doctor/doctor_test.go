package doctor

import (
	"net"
	"testing"
)

func TestClassify(t *testing.T) {
	up := net.FlagUp | net.FlagMulticast
	for _, tt := range []struct {
		name  string
		flags net.Flags
		want  Kind
	}{
		{"eth0", up, KindPhysical},
		{"en0", up, KindPhysical},
		{"lo", up | net.FlagLoopback, KindLoopback},
		{"docker0", up, KindBridge},
		{"br-1234", up, KindBridge},
		{"utun3", up, KindTunnel},
		{"wg0", up, KindTunnel},
		{"tailscale0", up, KindTunnel},
		{"veth12", up, KindVirtual},
		{"eth1", net.FlagMulticast, KindDown},
		{"eth2", net.FlagUp, KindNoMcast},
	} {
		if got := Classify(tt.name, tt.flags); got != tt.want {
			t.Errorf("Classify(%s) = %s, want %s", tt.name, got, tt.want)
		}
	}
}
