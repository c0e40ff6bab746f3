//go:build linux

package main

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
)

// TestFlood is a load run, not part of CI: BONJOURCTL_FLOOD=1 go test
// -run TestFlood ./cmd/bonjourctl. Host 2 sends 20,000 mDNS packets per
// second for 10 seconds; bonjourctl capture on host 1 must account for every
// one: received, or counted as dropped (bonjourctl queue or kernel buffer).
func TestFlood(t *testing.T) {
	if os.Getenv("BONJOURCTL_FLOOD") == "" {
		t.Skip("load run; set BONJOURCTL_FLOOD=1")
	}
	lab := netlab.New(t, 2)
	py := netlab.LookPath(t, "/usr/bin/python3")
	const rate, secs = 20000, 10
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	capCmd := lab.Host(1).Command(ctx, bin, "capture", "-i", "eth0", "-4", "--duration", strconv.Itoa(secs+4)+"s")
	var capErr strings.Builder
	capCmd.Stderr = &capErr
	if err := capCmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	out, err := lab.Host(2).Exec(ctx, py, "testdata/flood.py", strconv.Itoa(rate), strconv.Itoa(rate*secs))
	if err != nil {
		t.Fatalf("flood: %v\n%s", err, out)
	}
	if err := capCmd.Wait(); err != nil {
		t.Fatalf("capture: %v\n%s", err, capErr.String())
	}
	sent, _ := strconv.Atoi(strings.Fields(out)[0])
	m := regexp.MustCompile(`(\d+) packets received, \d+ shown, (\d+) dropped by bonjourctl.*?(?:, (\d+) dropped by the kernel)?`).FindStringSubmatch(capErr.String())
	if m == nil {
		t.Fatalf("no summary in: %s", capErr.String())
	}
	recv, _ := strconv.Atoi(m[1])
	drop, _ := strconv.Atoi(m[2])
	kern, _ := strconv.Atoi(m[3])
	t.Logf("sent %d in %s s; capture: %s", sent, strings.Fields(out)[1], strings.TrimSpace(capErr.String()))
	if recv+drop+kern < sent {
		t.Errorf("sent %d, capture accounts for %d (received %d + dropped %d + kernel %d): %d lost unreported",
			sent, recv+drop+kern, recv, drop, kern, sent-recv-drop-kern)
	}
	if drop+kern > 0 {
		t.Errorf("%d packets dropped (reported) at %d packets/s", drop+kern, rate)
	}
}
