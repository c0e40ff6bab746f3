//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
)

var bin string // the bonjourctl binary under test, built once

func TestMain(m *testing.M) {
	if netlab.InHost() {
		os.Exit(netlab.Main(m, hostFuncs))
	}
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "bonjourctl-e2e")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		bin = filepath.Join(dir, "bonjourctl")
		args := []string{"build", "-o", bin}
		if raceEnabled {
			args = append(args, "-race")
		}
		if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build bonjourctl: %v\n%s", err, out)
			return 1
		}
		return m.Run()
	}())
}

type capturedPacket struct {
	Interface string `json:"interface"`
	Src       string `json:"src"`
	HopLimit  int    `json:"hopLimit"`
	Answers   []struct {
		Name       string `json:"name"`
		Type       string `json:"type"`
		CacheFlush bool   `json:"cacheFlush"`
		TTL        uint32 `json:"ttl"`
		RData      string `json:"rdata"`
	} `json:"answers"`
}

// TestCaptureSeesZeroconfTXT: python3-zeroconf publishes _p2p._tcp with TXT
// key=value on host 2; bonjourctl capture --json on host 1 shows the TXT
// record's exact bytes and cache-flush bit; the pcapng it wrote is read by
// tshark with the same packet count.
func TestCaptureSeesZeroconfTXT(t *testing.T) {
	lab := netlab.New(t, 2)
	py := netlab.LookPath(t, "/usr/bin/python3")
	tshark := netlab.LookPath(t, "tshark")
	if err := exec.Command(py, "-c", "import zeroconf").Run(); err != nil {
		if os.Getenv(netlab.EnvRequire) == "require" {
			t.Fatal("python3-zeroconf is not installed")
		}
		t.Skip("python3-zeroconf is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pcap := filepath.Join(t.TempDir(), "lab.pcapng")

	capCmd := lab.Host(1).Command(ctx, bin, "capture", "-i", "eth0", "--json", "--pcap", pcap)
	var capErr strings.Builder
	capCmd.Stderr = &capErr
	lines := netlab.Lines(t, capCmd)
	time.Sleep(300 * time.Millisecond) // let the sockets join before the peer speaks

	pub := lab.Host(2).Command(ctx, py, "testdata/zc_publish.py", "Lab Node", "_p2p._tcp.local.", "4001", lab.Host(2).IPv4.String(), "096b65793d76616c7565")
	pub.Stderr = os.Stderr
	pubOut := netlab.Lines(t, pub)
	netlab.WaitLine(t, pubOut, 20*time.Second, func(l string) bool { return l == "registered" })

	var got []string
	line := netlab.WaitLine(t, lines, 10*time.Second, func(l string) bool {
		got = append(got, l)
		var p capturedPacket
		if json.Unmarshal([]byte(l), &p) != nil {
			return false
		}
		for _, a := range p.Answers {
			if a.Type == "TXT" && strings.HasPrefix(a.Name, `Lab\ Node._p2p._tcp`) {
				return true
			}
		}
		return false
	})
	var p capturedPacket
	_ = json.Unmarshal([]byte(line), &p)
	if p.Interface != "eth0" || p.Src != "10.88.0.2:5353" || p.HopLimit != 255 {
		t.Errorf("packet from %s on %s with TTL %d, want 10.88.0.2:5353 on eth0 with 255", p.Src, p.Interface, p.HopLimit)
	}
	for _, a := range p.Answers {
		if a.Type == "TXT" {
			if a.RData != "096b65793d76616c7565" || !a.CacheFlush || a.TTL != 4500 {
				t.Errorf("TXT rdata %s flush %v ttl %d, want 096b65793d76616c7565 true 4500", a.RData, a.CacheFlush, a.TTL)
			}
		}
	}

	// Stop the publisher (goodbye), then capture with SIGINT: nothing is lost.
	_ = pub.Process.Signal(syscall.SIGTERM)
	_ = pub.Wait()
	time.Sleep(500 * time.Millisecond)
	_ = syscall.Kill(-capCmd.Process.Pid, syscall.SIGINT)
	for l := range lines {
		got = append(got, l)
	}
	err := capCmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Errorf("capture after SIGINT: %v, want exit status 130", err)
	}
	n := 0
	for _, l := range got {
		if strings.HasPrefix(l, "{") {
			n++
		}
	}
	if !strings.Contains(capErr.String(), fmt.Sprintf("%d written to %s", n, pcap)) {
		t.Errorf("capture printed %d packets; its summary says: %s", n, capErr.String())
	}
	out, err := exec.Command(tshark, "-r", pcap, "-T", "fields", "-e", "frame.number").Output()
	if err != nil {
		t.Fatalf("tshark -r: %v", err)
	}
	if frames := strings.Count(string(out), "\n"); frames != n {
		t.Errorf("tshark read %d packets from the pcapng, capture printed %d", frames, n)
	}
	out, _ = exec.Command(tshark, "-r", pcap, "-Y", "dns.txt == \"key=value\"", "-T", "fields", "-e", "frame.number").Output()
	if len(strings.TrimSpace(string(out))) == 0 {
		t.Error("tshark finds no TXT key=value in the pcapng")
	}
}

const avahiNode = `<?xml version="1.0" standalone='no'?><!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group><name>Avahi Node</name><service><type>_p2p._tcp</type><port>4001</port>
<txt-record>key=value</txt-record><txt-record>flag</txt-record><txt-record value-format="binary-hex">bin=00017f80</txt-record></service></service-group>`

// TestCaptureBesideAvahi: bonjourctl capture binds 5353 on a host where
// avahi-daemon already holds it, and sees avahi's announcements.
func TestCaptureBesideAvahi(t *testing.T) {
	lab := netlab.New(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	lab.Host(1).StartAvahi(t, ctx, netlab.AvahiConfig{HostName: "lab-avahi", Services: map[string]string{"node": avahiNode}})
	capCmd := lab.Host(1).Command(ctx, bin, "capture", "-i", "eth0", "--json", "--type", "_p2p._tcp", "--duration", "6s")
	var capErr strings.Builder
	capCmd.Stderr = &capErr
	lines := netlab.Lines(t, capCmd)
	netlab.WaitLine(t, lines, 15*time.Second, func(l string) bool {
		return strings.Contains(l, `"rdata":"096b65793d76616c756504666c61670862696e3d00017f80"`) && strings.Contains(l, `"cacheFlush":true`)
	})
	for range lines {
	}
	if err := capCmd.Wait(); err != nil {
		t.Errorf("capture: %v\n%s", err, capErr.String())
	}
}

// TestIPv6Only: advertise -6 and browse -6 work over IPv6 alone: the
// browser resolves the service from IPv6 packets only, and a capture on a
// third host, listening on both families, sees no IPv4 packet from either.
func TestIPv6Only(t *testing.T) {
	lab := netlab.New(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	capture := lab.Host(3).Command(ctx, bin, "capture", "--json", "-i", "eth0", "--duration", "6s")
	capLines := netlab.Lines(t, capture)
	adv := lab.Host(1).Command(ctx, bin, "advertise", "-6", "V6 Only", "_p2p._tcp", "4001", "-i", "eth0", "--txt", "key=value")
	advLines := netlab.Lines(t, adv)
	defer func() { _ = syscall.Kill(-adv.Process.Pid, syscall.SIGINT); _ = adv.Wait() }()
	netlab.WaitLine(t, advLines, 10*time.Second, netlab.Containing("announced (1 of 2)"))

	out, err := lab.Host(2).Command(ctx, bin, "browse", "-6", "--json", "--once", "-i", "eth0", "_p2p._tcp").Output()
	if err != nil {
		t.Fatalf("browse -6: %v", err)
	}
	evs := parseEvents(t, string(out))
	if len(evs) != 1 || evs[0].Instance != "V6 Only" || evs[0].Port != 4001 || evs[0].TXT.RData != "096b65793d76616c7565" {
		t.Fatalf("browse -6 events = %+v", evs)
	}
	if len(evs[0].Records) == 0 {
		t.Fatal("browse -6: no records behind the event")
	}
	for _, r := range evs[0].Records {
		if !strings.HasPrefix(r.Src, "[") {
			t.Errorf("browse -6: %s record from %s, not IPv6", r.Type, r.Src)
		}
	}

	n := 0
	for l := range capLines {
		var p struct {
			Family int    `json:"family"`
			Src    string `json:"src"`
		}
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			continue // the summary line
		}
		n++
		if p.Family != 6 {
			t.Errorf("an IPv4 packet from %s with only -6 in use", p.Src)
		}
	}
	if n == 0 {
		t.Error("the capture saw no packets")
	}
	if err := capture.Wait(); err != nil {
		t.Errorf("capture: %v", err)
	}
}
