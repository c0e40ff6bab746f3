// Package netlab builds a hermetic network of hosts for tests: Linux network
// namespaces joined by a bridge, so that real multicast DNS crosses real
// sockets without ever touching the machine's own interfaces.
//
// The switch namespace holds bridge br0 (multicast snooping off, IPv6 off).
// Each host gets eth0, a veth created inside the switch namespace with its
// peer moved straight into the host, so nothing is ever attached to the
// root namespace. Host N has 10.88.0.N/24, fd88::N/64 and the link-local
// fe80::88:ff:fe00:N, lo up, and a 224.0.0.0/4 route on eth0.
//
// Network namespaces belong to OS threads, so work inside a host runs as its
// own process: Host.Command runs a program there (ip netns exec), and
// Host.Func re-executes the test binary there to run a registered Go
// function.
package netlab

import (
	"os"
	"os/exec"
	"testing"
)

// EnvRequire, set to "require", makes Require fail instead of skip.
const EnvRequire = "BONJOURCTL_NETLAB"

// Require skips the test when a lab cannot be built here (not Linux, not
// root, no iproute2, or -short), or fails it when BONJOURCTL_NETLAB=require.
func Require(t testing.TB) {
	t.Helper()
	if reason := unavailable(); reason != "" {
		if os.Getenv(EnvRequire) == "require" {
			t.Fatalf("netlab: %s (and %s=require)", reason, EnvRequire)
		}
		t.Skipf("netlab: %s; set %s=require to make this a failure", reason, EnvRequire)
	}
	if testing.Short() {
		t.Skip("netlab: skipped in -short mode")
	}
}

// LookPath finds a program a lab test needs, failing under
// BONJOURCTL_NETLAB=require and skipping otherwise when it is missing.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(EnvRequire) == "require" {
			t.Fatalf("netlab: %s is not installed (and %s=require)", name, EnvRequire)
		}
		t.Skipf("netlab: %s is not installed", name)
	}
	return p
}
