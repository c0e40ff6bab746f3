//go:build linux

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
)

// TestTUIReadSteps: tui --read steps through the lab capture (avahi-daemon
// and python3-zeroconf) in a terminal: paused at the start, one packet per
// n, a jump forward, a jump back that starts over, the end with the
// goodbye, and q. Nothing is sent, so it runs without a lab.
func TestTUIReadSteps(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	capture, err := filepath.Abs("../../internal/cli/testdata/peers.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	exitFile := filepath.Join(t.TempDir(), "exit")
	tm := netlab.NewTmux(t, ctx, "TZ=UTC "+bin+" tui --read "+capture+" _p2p._tcp; echo $? > "+exitFile+"; sleep 60")
	s := tm.Wait("packet 0", 10*time.Second)
	if !strings.Contains(s, "paused") || !strings.Contains(s, "no instances yet") {
		t.Errorf("not paused at the start:\n%s", s)
	}
	tm.Keys("n", "n", "n")
	s = tm.Wait("packet 3  15:51:34.387", 5*time.Second)
	if !strings.Contains(s, "Node 1") || strings.Contains(s, "ZC Node") {
		t.Errorf("after three packets, want Node 1 alone:\n%s", s)
	}
	tm.Keys("t", "+", "5", "s", "Enter")
	s = tm.Wait("packet 22  15:51:38.450", 5*time.Second)
	if !strings.Contains(s, "ZC Node") || !strings.Contains(s, "2 instances of _p2p._tcp") {
		t.Errorf("at +5s, want both instances:\n%s", s)
	}
	tm.Keys("t", "1", "5", ":", "5", "1", ":", "3", "5", "Enter")
	s = tm.Wait("packet 6  15:51:34.546", 5*time.Second) // the last before 15:51:35
	if strings.Contains(s, "ZC Node") {
		t.Errorf("back at 15:51:35, ZC Node (first seen 15:51:35.527) is shown:\n%s", s)
	}
	tm.Keys("t", "e", "n", "d", "Enter")
	s = tm.Wait("■ end  packet 23", 5*time.Second)
	if !strings.Contains(s, "goodbye") {
		t.Errorf("at the end, ZC Node said goodbye:\n%s", s)
	}
	tm.Keys("q")
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(exitFile)
		if code := strings.TrimSpace(string(b)); code != "" {
			if code != "0" {
				t.Errorf("q: exit %s, want 0", code)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("q did not exit; screen:\n%s", tm.Screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
