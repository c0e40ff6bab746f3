//go:build linux

package main

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
)

// TestCaptureKilledLeavesReadableFile: capture --pcap killed with SIGKILL
// (no chance to flush) leaves a pcapng holding at least every packet it
// printed a second and more before the kill, which tshark and capture
// --read both read.
func TestCaptureKilledLeavesReadableFile(t *testing.T) {
	lab := netlab.New(t, 2)
	tshark := netlab.LookPath(t, "tshark")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pcap := filepath.Join(t.TempDir(), "killed.pcapng")
	capCmd := lab.Host(1).Command(ctx, bin, "capture", "-i", "eth0", "--json", "--pcap", pcap)
	lines := netlab.Lines(t, capCmd)
	time.Sleep(300 * time.Millisecond)
	adv := lab.Host(2).Command(ctx, bin, "advertise", "Killed Node", "_p2p._tcp", "4001", "-i", "eth0", "--host", "killed", "--txt", "k=v")
	netlab.Lines(t, adv)
	// The three probes and the first announcement.
	printed := 0
	for printed < 4 {
		if _, ok := netlab.NextLine(lines, 10*time.Second, func(l string) bool { return strings.HasPrefix(l, "{") }); !ok {
			t.Fatalf("capture printed %d packets in 10 s, want the probes and an announcement", printed)
		}
		printed++
	}
	time.Sleep(1500 * time.Millisecond) // past the once-a-second flush
	_ = syscall.Kill(-capCmd.Process.Pid, syscall.SIGKILL)
	_ = capCmd.Wait()

	out, err := exec.Command(tshark, "-r", pcap, "-T", "fields", "-e", "frame.number").Output()
	if frames := strings.Count(string(out), "\n"); frames < printed {
		t.Errorf("tshark read %d frames from the killed capture's file (%v), want at least the %d printed more than a second before the kill", frames, err, printed)
	}
	read, err := exec.Command(bin, "capture", "--read", pcap, "--json").Output()
	var ee *exec.ExitError
	if err != nil && (!errors.As(err, &ee) || !strings.Contains(string(ee.Stderr), "cut short")) {
		t.Errorf("capture --read of the killed capture's file: %v", err)
	}
	if n := strings.Count(string(read), "\n"); n < printed {
		t.Errorf("capture --read shows %d packets from the killed capture's file, want at least %d", n, printed)
	}
}
