//go:build linux

package main

import (
	"context"
	"os/exec"
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
	tmux := netlab.LookPath(t, "tmux")
	py := requireZeroconf(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sock := t.TempDir() + "/tmux.sock"
	session := "bctl"
	cmdline := "ip netns exec " + lab.Host(1).NS + " " + bin + " tui -i eth0 _p2p._tcp"
	start := exec.CommandContext(ctx, tmux, "-S", sock, "new-session", "-d", "-s", session, "-x", "120", "-y", "40", cmdline)
	start.Env = append(start.Environ(), "TERM=xterm-256color")
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v\n%s", err, out)
	}
	defer exec.Command(tmux, "-S", sock, "kill-server").Run()
	screen := func() string {
		out, _ := exec.Command(tmux, "-S", sock, "capture-pane", "-p", "-t", session).Output()
		return string(out)
	}
	waitScreen := func(what string, d time.Duration) string {
		t.Helper()
		deadline := time.Now().Add(d)
		for {
			s := screen()
			if strings.Contains(s, what) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("screen never showed %q; last screen:\n%s", what, s)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitScreen("waiting for instances", 10*time.Second)

	pub := lab.Host(2).Command(ctx, py, "testdata/zc_publish.py", "Lab TUI", "_p2p._tcp.local.", "4001", "10.88.0.2", "096b65793d76616c7565",
		"--update-after", "2", "--update-hex", "0a6b65793d76616c756532")
	lines := netlab.Lines(t, pub)
	netlab.WaitLine(t, lines, 20*time.Second, func(l string) bool { return l == "registered" })
	s := waitScreen("Lab TUI", 10*time.Second)
	if !strings.Contains(s, "key=value") || !strings.Contains(s, "ok") {
		t.Errorf("screen after registration:\n%s", s)
	}
	netlab.WaitLine(t, lines, 20*time.Second, func(l string) bool { return l == "updated" })
	waitScreen("-> key=value2 (1 string, 11 bytes)", 10*time.Second)
	_ = pub.Process.Signal(syscall.SIGTERM)
	_ = pub.Wait()
	waitScreen("goodbye", 10*time.Second)
	if err := exec.Command(tmux, "-S", sock, "send-keys", "-t", session, "q").Run(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for exec.Command(tmux, "-S", sock, "has-session", "-t", session).Run() == nil {
		if time.Now().After(deadline) {
			t.Fatalf("tui did not quit on q; screen:\n%s", screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
