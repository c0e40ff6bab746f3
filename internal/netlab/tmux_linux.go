//go:build linux

package netlab

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Tmux is a command line running in a detached tmux session of 120x40,
// for tests of the terminal UI; the session ends with the test.
type Tmux struct {
	t       testing.TB
	tmux    string
	sock    string
	session string
}

// NewTmux starts cmdline in a tmux session.
func NewTmux(t testing.TB, ctx context.Context, cmdline string) *Tmux {
	t.Helper()
	tm := &Tmux{t: t, tmux: LookPath(t, "tmux"), sock: t.TempDir() + "/tmux.sock", session: "bctl"}
	start := exec.CommandContext(ctx, tm.tmux, "-S", tm.sock, "new-session", "-d", "-s", tm.session, "-x", "120", "-y", "40", cmdline)
	start.Env = append(start.Environ(), "TERM=xterm-256color")
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(tm.tmux, "-S", tm.sock, "kill-server").Run() })
	return tm
}

// Screen returns what the pane shows.
func (tm *Tmux) Screen() string {
	out, _ := exec.Command(tm.tmux, "-S", tm.sock, "capture-pane", "-p", "-t", tm.session).Output()
	return string(out)
}

// Wait waits up to d for the screen to show what, and returns the screen;
// it fails the test if it never does.
func (tm *Tmux) Wait(what string, d time.Duration) string {
	tm.t.Helper()
	deadline := time.Now().Add(d)
	for {
		s := tm.Screen()
		if strings.Contains(s, what) {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("screen never showed %q; last screen:\n%s", what, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Keys sends keys to the pane (tmux send-keys syntax).
func (tm *Tmux) Keys(keys ...string) {
	tm.t.Helper()
	if err := exec.Command(tm.tmux, append([]string{"-S", tm.sock, "send-keys", "-t", tm.session}, keys...)...).Run(); err != nil {
		tm.t.Fatal(err)
	}
}

// Resize makes the window w columns by h lines.
func (tm *Tmux) Resize(w, h int) {
	tm.t.Helper()
	if out, err := exec.Command(tm.tmux, "-S", tm.sock, "resize-window", "-t", tm.session, "-x", strconv.Itoa(w), "-y", strconv.Itoa(h)).CombinedOutput(); err != nil {
		tm.t.Fatalf("tmux resize-window: %v %s", err, out)
	}
}

// Quit presses q and waits up to 5 s for the session to end.
func (tm *Tmux) Quit() {
	tm.t.Helper()
	tm.Keys("q")
	deadline := time.Now().Add(5 * time.Second)
	for exec.Command(tm.tmux, "-S", tm.sock, "has-session", "-t", tm.session).Run() == nil {
		if time.Now().After(deadline) {
			tm.t.Fatalf("did not quit on q; screen:\n%s", tm.Screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// PanePID returns the PID of the process the pane runs.
func (tm *Tmux) PanePID() int {
	out, err := exec.Command(tm.tmux, "-S", tm.sock, "list-panes", "-t", tm.session, "-F", "#{pane_pid}").Output()
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return pid
}
