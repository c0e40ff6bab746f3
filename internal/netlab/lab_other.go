//go:build !linux

package netlab

import (
	"context"
	"errors"
	"net/netip"
	"os/exec"
	"testing"
)

// Lab is a set of hosts on one bridge (Linux only).
type Lab struct {
	ID     string
	Switch string
	Hosts  []*Host
}

// Host is one lab host (Linux only).
type Host struct {
	Index     int
	NS        string
	Iface     string
	IPv4      netip.Addr
	IPv6      netip.Addr
	LinkLocal netip.Addr
}

var errUnsupported = errors.New("network namespaces need Linux")

func unavailable() string { return errUnsupported.Error() }

// New skips or fails the test: there are no network namespaces here.
func New(t testing.TB, n int) *Lab {
	t.Helper()
	Require(t)
	return nil
}

// SecondLink is unavailable outside Linux.
func (l *Lab) SecondLink(hosts ...int) {}

// Host returns host i (1-based).
func (l *Lab) Host(i int) *Host { return l.Hosts[i-1] }

// Command is unavailable outside Linux.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, name, args...)
}

// Func is unavailable outside Linux.
func (h *Host) Func(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, name, args...)
}

// Exec is unavailable outside Linux.
func (h *Host) Exec(ctx context.Context, name string, args ...string) (string, error) {
	return "", errUnsupported
}

// OnSwitch is unavailable outside Linux.
func (l *Lab) OnSwitch(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, name, args...)
}
