//go:build linux

package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
)

type doctorJSON struct {
	Verdict string `json:"verdict"`
	Lines   []struct {
		Level, Topic, Reason string
	} `json:"lines"`
	Plist string `json:"infoPlist"`
}

// TestDoctor: against avahi-daemon's service, doctor passes the loop test
// and says where the TXT record came from; against grandcat/zeroconf's
// empty text it fails on the zero-length TXT.
func TestDoctor(t *testing.T) {
	lab := netlab.New(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	lab.Host(2).StartAvahi(t, ctx, netlab.AvahiConfig{HostName: "doc-avahi", Services: map[string]string{"node": avahiNode}})
	time.Sleep(1500 * time.Millisecond)
	out, err := lab.Host(1).Command(ctx, bin, "doctor", "--json", "-i", "eth0", "--wait", "2s", "Avahi Node", "_p2p._tcp").Output()
	if err != nil {
		t.Fatalf("doctor: %v\n%s", err, out)
	}
	var rep doctorJSON
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatal(err)
	}
	if want := "TXT record is on the wire (3 strings, 24 bytes, from "; !strings.HasPrefix(rep.Verdict, want) || !strings.HasSuffix(rep.Verdict, " on eth0)") {
		t.Errorf("verdict %q", rep.Verdict)
	}
	passed, failed := map[string]bool{}, map[string]bool{}
	for _, l := range rep.Lines {
		passed[l.Topic] = passed[l.Topic] || l.Level == "pass"
		failed[l.Topic] = failed[l.Topic] || l.Level == "fail"
	}
	for _, want := range []string{"interface", "port 5353", "loop test", "announced", "txt"} {
		if !passed[want] || failed[want] {
			t.Errorf("%s: passed %v, failed %v\n%s", want, passed[want], failed[want], out)
		}
	}
	if !strings.Contains(rep.Plist, "<string>_p2p._tcp</string>") {
		t.Errorf("Info.plist snippet: %q", rep.Plist)
	}

	gc := lab.Host(3).Command(ctx, bin, "advertise", "GC Doc", "_p2p._tcp", "4001", "-i", "eth0", "--engine", "grandcat", "--raw", "zero-length-txt")
	lines := netlab.Lines(t, gc)
	netlab.WaitLine(t, lines, 10*time.Second, func(l string) bool { return strings.Contains(l, "published") })
	defer func() { _ = syscall.Kill(-gc.Process.Pid, syscall.SIGTERM); _ = gc.Wait() }()
	time.Sleep(500 * time.Millisecond)
	cmd := lab.Host(1).Command(ctx, bin, "doctor", "-i", "eth0", "--wait", "2s", "GC Doc", "_p2p._tcp")
	text, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("doctor on zero-length TXT: %v, want exit 1", err)
	}
	if !strings.HasPrefix(string(text), "verdict: TXT record is zero-length (illegal)") {
		t.Errorf("doctor output:\n%s", text)
	}
}
