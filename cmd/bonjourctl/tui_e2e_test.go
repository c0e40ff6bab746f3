//go:build linux

package main

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
)

// TestTUIInTmux: tmux runs bonjourctl tui on host 1 while python3-zeroconf
// publishes _p2p._tcp with key=value on host 2; the screen shows the
// instance and key=value, then the TXT change, then the removal cause.
func TestTUIInTmux(t *testing.T) {
	lab := netlab.New(t, 2)
	py := requireZeroconf(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tm := netlab.NewTmux(t, ctx, "ip netns exec "+lab.Host(1).NS+" "+bin+" tui -i eth0 _p2p._tcp")
	tm.Wait("waiting for instances", 10*time.Second)

	pub := lab.Host(2).Command(ctx, py, "testdata/zc_publish.py", "Lab TUI", "_p2p._tcp.local.", "4001", "10.88.0.2", "096b65793d76616c7565",
		"--update-after", "2", "--update-hex", "0a6b65793d76616c756532")
	lines := netlab.Lines(t, pub)
	netlab.WaitLine(t, lines, 20*time.Second, func(l string) bool { return l == "registered" })
	s := tm.Wait("Lab TUI", 10*time.Second)
	if !strings.Contains(s, "key=value") || !strings.Contains(s, "ok") {
		t.Errorf("screen after registration:\n%s", s)
	}
	netlab.WaitLine(t, lines, 20*time.Second, func(l string) bool { return l == "updated" })
	tm.Wait("-> key=value2 (1 string, 11 bytes)", 10*time.Second)
	_ = pub.Process.Signal(syscall.SIGTERM)
	_ = pub.Wait()
	tm.Wait("goodbye", 10*time.Second)
	tm.Quit()
}
