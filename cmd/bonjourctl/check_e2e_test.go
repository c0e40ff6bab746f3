//go:build linux

package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
)

type checkReport struct {
	Verdict  string `json:"verdict"`
	Findings []struct {
		Level     string `json:"level"`
		Rule      string `json:"rule"`
		Responder string `json:"responder"`
		Message   string `json:"message"`
	} `json:"findings"`
}

// startCheck runs `check --started --active` for 7 s on h, collecting its
// JSON report, and gives it 300 ms to open its sockets.
func startCheck(t *testing.T, ctx context.Context, h *netlab.Host) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := h.Command(ctx, bin, "check", "--json", "-i", "eth0", "-4", "--started", "--active", "-d", "7s", "_p2p._tcp")
	out := &strings.Builder{}
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	return cmd, out
}

// TestCheckFlagsFaults: two deliberately faulty bonjourctl responders (the
// --raw switches) start after check; every fault is flagged against the
// right responder.
func TestCheckFlagsFaults(t *testing.T) {
	lab := netlab.New(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// A capture beside check, for check --read on the same traffic.
	pcap := filepath.Join(t.TempDir(), "faults.pcapng")
	capCmd := lab.Host(3).Command(ctx, bin, "capture", "-i", "eth0", "-4", "--pcap", pcap)
	if err := capCmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd, out := startCheck(t, ctx, lab.Host(3))
	a := lab.Host(1).Command(ctx, bin, "advertise", "BadA", "_p2p._tcp", "4001", "-i", "eth0", "-4", "--host", "bad-a", "--duration", "3s",
		"--raw", "no-probe", "--raw", "zero-length-txt", "--raw", "flush-shared", "--raw", "no-cache-flush", "--raw", "no-goodbye", "--ttl-host", "3200")
	b := lab.Host(2).Command(ctx, bin, "advertise", "BadB", "_p2p._tcp", "4002", "-i", "eth0", "-4", "--host", "bad-b", "--duration", "9s",
		"--raw", "aa-in-queries", "--raw", "fast-announce", "--raw", "legacy-flush", "--raw", "no-additionals")
	for _, c := range []*exec.Cmd{a, b} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	err := cmd.Wait()
	_ = a.Wait()
	_ = syscall.Kill(-b.Process.Pid, syscall.SIGTERM)
	_ = b.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("check exited %v, want status 1 (failures found)", err)
	}
	var rep checkReport
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	got := map[string]bool{}
	for _, f := range rep.Findings {
		got[f.Rule+"@"+strings.Fields(f.Responder)[0]] = true
	}
	for _, want := range []string{
		"no-probes@10.88.0.1", "txt-zero-length-rdata@10.88.0.1", "flush-on-shared@10.88.0.1", "no-flush-on-unique@10.88.0.1",
		"ttl@10.88.0.1", "no-goodbye@10.88.0.1",
		"aa-in-query@10.88.0.2", "announce-spacing@10.88.0.2", "legacy-flush@10.88.0.2", "ptr-additionals@10.88.0.2",
	} {
		if !got[want] {
			t.Errorf("not flagged: %s", want)
		}
	}
	if t.Failed() {
		t.Logf("report:\n%s", out.String())
	}

	// check --read judges the capture of the same traffic alike: every
	// fault found live is found in the file but those that need check's
	// own questions, and nothing else is.
	time.Sleep(1500 * time.Millisecond) // past the capture's once-a-second flush
	_ = syscall.Kill(-capCmd.Process.Pid, syscall.SIGTERM)
	_ = capCmd.Wait()
	offline, err := exec.Command(bin, "check", "--read", pcap, "--started", "--json", "_p2p._tcp").Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("check --read exited %v, want status 1", err)
	}
	var orep checkReport
	if err := json.Unmarshal(offline, &orep); err != nil {
		t.Fatalf("check --read: %v\n%s", err, offline)
	}
	ogot := map[string]bool{}
	for _, f := range orep.Findings {
		k := f.Rule + "@" + strings.Fields(f.Responder)[0]
		ogot[k] = true
		if !got[k] {
			t.Errorf("check --read found %s (%s), live check did not", k, f.Message)
		}
	}
	for k := range got {
		// no-goodbye rests on check's own question going unanswered
		// (--active): a capture alone cannot show it.
		if !ogot[k] && !strings.HasPrefix(k, "no-goodbye@") {
			t.Errorf("live check found %s, check --read did not", k)
		}
	}
	if t.Failed() {
		t.Logf("check --read report:\n%s", offline)
	}
}

// TestCheckCleanResponders: avahi-daemon and bonjourctl advertise, started
// after check, come out with no failure but avahi's real deviations, which
// show when the timing falls so: its 500 ms hold-off instead of 1 s, its
// unicast replies to QU questions without AA, and multicast answers to QU
// questions. bonjourctl advertise gets not even a warning.
func TestCheckCleanResponders(t *testing.T) {
	lab := netlab.New(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd, out := startCheck(t, ctx, lab.Host(3))
	lab.Host(1).StartAvahi(t, ctx, netlab.AvahiConfig{HostName: "clean-avahi", Services: map[string]string{"node": avahiNode}})
	adv := lab.Host(2).Command(ctx, bin, "advertise", "Clean", "_p2p._tcp", "4002", "-i", "eth0", "-4", "--host", "clean-bj", "--txt", "key=value")
	if err := adv.Start(); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	_ = syscall.Kill(-adv.Process.Pid, syscall.SIGTERM)
	_ = adv.Wait()
	var rep checkReport
	if jerr := json.Unmarshal([]byte(out.String()), &rep); jerr != nil {
		t.Fatalf("%v\n%s", jerr, out.String())
	}
	for _, f := range rep.Findings {
		switch {
		case f.Rule == "one-second-rule" && strings.HasPrefix(f.Responder, "10.88.0.1") && avahiHoldOff(f.Message) >= 500*time.Millisecond:
			// avahi's response scheduler suppresses a repeat for 500 ms,
			// not 1 s (AVAHI_RESPONSE_HISTORY_MSEC in response-sched.c):
			// when check's question lands 500-1000 ms after avahi's
			// multicast, avahi multicasts again. A real deviation, seen
			// when the timing falls so.
			t.Logf("avahi's 500 ms hold-off: %s", f.Message)
		case f.Rule == "aa-in-response" && strings.HasPrefix(f.Responder, "10.88.0.1") && strings.Contains(f.Message, "unicast responses"):
			// avahi's unicast replies to QU questions lack AA: real, seen
			// when check's QU question reaches avahi after it started.
			t.Logf("avahi's unicast replies without AA: %s", f.Message)
		case f.Rule == "qu-multicast" && strings.HasPrefix(f.Responder, "10.88.0.1"):
			t.Logf("avahi multicasts answers to QU questions: %s", f.Message)
		case f.Level == "fail" || strings.HasPrefix(f.Responder, "10.88.0.2"):
			// No failure for anyone, and not even a warning for ours.
			t.Errorf("%s %s %s: %s", f.Level, f.Rule, f.Responder, f.Message)
		case f.Rule == "probe-qu" || f.Rule == "aa-in-legacy-reply":
			// avahi's documented deviations: its probes lack the QU bit,
			// and it answers legacy queries for others' records from its
			// cache.
		case f.Rule == "shared-answer-delay" || f.Rule == "unique-answer-delay":
			// Timing warnings depend on a busy 2-core machine's scheduling:
			// reported, not failed.
			t.Logf("timing warning for avahi: %s", f.Message)
		default:
			t.Errorf("%s %s %s: %s", f.Level, f.Rule, f.Responder, f.Message)
		}
	}
	// check exits 1 only for the tolerated avahi finding.
	tolerated := 0
	for _, f := range rep.Findings {
		if f.Rule == "one-second-rule" && avahiHoldOff(f.Message) >= 500*time.Millisecond || f.Rule == "aa-in-response" && strings.Contains(f.Message, "unicast responses") {
			tolerated++
		}
	}
	if err != nil && tolerated == 0 {
		t.Errorf("check: %v; verdict %q", err, rep.Verdict)
	}
}

// avahiHoldOff reads the interval from a one-second-rule finding
// ("... again 529ms after its previous multicast ..."); 0 if none.
func avahiHoldOff(msg string) time.Duration {
	_, rest, ok := strings.Cut(msg, " again ")
	if !ok {
		return 0
	}
	d, err := time.ParseDuration(strings.Fields(rest)[0])
	if err != nil {
		return 0
	}
	return d
}
