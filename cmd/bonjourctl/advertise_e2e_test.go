//go:build linux

package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
)

// TestAdvertiseSeenByPeers: bonjourctl advertise on host 1; avahi-browse on
// host 2 and a python3-zeroconf browser on host 3 resolve it with the exact
// TXT bytes; Ctrl-C makes both report the removal within 2 s.
func TestAdvertiseSeenByPeers(t *testing.T) {
	lab := netlab.New(t, 3)
	py := requireZeroconf(t)
	netlab.LookPath(t, "avahi-browse")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	av := lab.Host(2).StartAvahi(t, ctx, netlab.AvahiConfig{HostName: "avahi-h2", DBus: true})
	ab := lab.Host(2).Command(ctx, "avahi-browse", "-r", "-p", "_p2p._tcp")
	ab.Env = append(ab.Env, "DBUS_SYSTEM_BUS_ADDRESS="+av.BusAddress)
	avLines := netlab.Lines(t, ab)
	zb := lab.Host(3).Command(ctx, py, "testdata/zc_browse.py", "_p2p._tcp.local.", "10.88.0.3")
	zcLines := netlab.Lines(t, zb)
	netlab.WaitLine(t, zcLines, 20*time.Second, func(l string) bool { return l == "ready" })

	adv := lab.Host(1).Command(ctx, bin, "advertise", "Lab Adv", "_p2p._tcp", "4001", "-i", "eth0", "--host", "h1adv",
		"--txt", "key=value", "--txt", "flag", "--txt", "bin:hex=00ff")
	advLines := netlab.Lines(t, adv)
	netlab.WaitLine(t, advLines, 10*time.Second, func(l string) bool { return strings.Contains(l, "announced (1 of 2)") })

	const wire = "096b65793d76616c756504666c61670662696e3d00ff"
	l := netlab.WaitLine(t, avLines, 10*time.Second, func(l string) bool { return strings.HasPrefix(l, "=;") && strings.Contains(l, "IPv4") })
	// avahi-browse -p: strings in reverse wire order, \DDD escapes.
	// The address avahi picks may be any of the host's (A or AAAA).
	f := strings.Split(l, ";")
	if len(f) != 10 || f[3] != `Lab\032Adv` || f[6] != "h1adv.local" || f[8] != "4001" || f[9] != `"bin=\000\255" "flag" "key=value"` ||
		(f[7] != "10.88.0.1" && f[7] != "fd88::1" && f[7] != "fe80::88:ff:fe00:1") {
		t.Errorf("avahi-browse: %s", l)
	}
	l = netlab.WaitLine(t, zcLines, 10*time.Second, func(l string) bool { return strings.HasPrefix(l, "resolved ") })
	if l != "resolved Lab Adv._p2p._tcp.local. "+wire {
		t.Errorf("python3-zeroconf: %s, want TXT %s", l, wire)
	}
	stopped := time.Now()
	_ = syscall.Kill(-adv.Process.Pid, syscall.SIGINT)
	netlab.WaitLine(t, advLines, 5*time.Second, func(l string) bool { return strings.Contains(l, "goodbye") })
	netlab.WaitLine(t, avLines, 3*time.Second, func(l string) bool { return strings.HasPrefix(l, "-;") && strings.Contains(l, "Lab\\032Adv") })
	if d := time.Since(stopped); d > 2*time.Second {
		t.Errorf("avahi-browse reported the removal %v after Ctrl-C", d)
	}
	netlab.WaitLine(t, zcLines, 3*time.Second, func(l string) bool { return strings.HasPrefix(l, "removed Lab Adv") })
	if d := time.Since(stopped); d > 2*time.Second {
		t.Errorf("python3-zeroconf reported the removal %v after Ctrl-C", d)
	}
	if err := adv.Wait(); err == nil || !strings.Contains(err.Error(), "130") {
		t.Errorf("advertise after SIGINT: %v, want exit status 130", err)
	}
}

type wirePacket struct {
	Time      string `json:"time"`
	Src       string `json:"src"`
	HopLimit  int    `json:"hopLimit"`
	ID        int    `json:"id"`
	Response  bool   `json:"response"`
	Flags     string `json:"flags"`
	Questions []struct {
		Name string `json:"name"`
		Type string `json:"type"`
		QU   bool   `json:"qu"`
	} `json:"questions"`
	Answers   []wireRecord `json:"answers"`
	Authority []wireRecord `json:"authority"`
}

type wireRecord struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	CacheFlush bool   `json:"cacheFlush"`
	TTL        uint32 `json:"ttl"`
	RData      string `json:"rdata"`
}

// TestAdvertiseOnTheWire: tshark on the lab's bridge records what bonjourctl
// advertise sends; the capture shows 3 probes 250 ms apart (QU, ANY,
// authority records without cache-flush, AA clear), 2 announcements 1 s
// apart with the RFC TTLs and flags, the empty TXT as the byte 00, and
// goodbyes with TTL 0.
func TestAdvertiseOnTheWire(t *testing.T) {
	lab := netlab.New(t, 1)
	tshark := netlab.LookPath(t, "tshark")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pcap := filepath.Join(t.TempDir(), "bridge.pcapng")
	ts := lab.OnSwitch(ctx, tshark, "-i", "br0", "-f", "udp port 5353", "-w", pcap)
	tsErr := &netlab.Buffer{}
	ts.Stderr = tsErr
	if err := ts.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100 && !strings.Contains(tsErr.String(), "Capturing on"); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	out, err := lab.Host(1).Command(ctx, bin, "advertise", "Wire", "_p2p._tcp", "4001", "-i", "eth0", "-4", "--host", "wire", "--duration", "3s").CombinedOutput()
	if err != nil {
		t.Fatalf("advertise: %v\n%s", err, out)
	}
	time.Sleep(500 * time.Millisecond)
	_ = syscall.Kill(-ts.Process.Pid, syscall.SIGINT)
	_ = ts.Wait()
	js, err := lab.Host(1).Command(ctx, bin, "capture", "--read", pcap, "--json").Output()
	if err != nil {
		t.Fatalf("capture --read: %v (tshark: %s)", err, tsErr.String())
	}
	var probes, anns, byes []wirePacket
	var times []time.Time
	for _, l := range strings.Split(strings.TrimSpace(string(js)), "\n") {
		var p wirePacket
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatal(err)
		}
		at, _ := time.Parse(time.RFC3339Nano, p.Time)
		switch {
		case !p.Response:
			probes = append(probes, p)
			times = append(times, at)
		case len(p.Answers) > 0 && p.Answers[0].TTL == 0:
			byes = append(byes, p)
		default:
			anns = append(anns, p)
			times = append(times, at)
		}
	}
	if len(probes) != 3 || len(anns) < 2 || len(byes) != 1 {
		t.Fatalf("%d probes, %d announcements, %d goodbyes; want 3, 2+, 1\n%s", len(probes), len(anns), len(byes), js)
	}
	for i := 1; i < 3; i++ {
		if d := times[i].Sub(times[i-1]); d < 230*time.Millisecond || d > 330*time.Millisecond {
			t.Errorf("probe %d came %v after the previous one, want 250 ms", i, d)
		}
	}
	if d := times[4].Sub(times[3]); d < 980*time.Millisecond || d > 1200*time.Millisecond {
		t.Errorf("announcements %v apart, want 1 s", d)
	}
	for _, p := range probes {
		if p.Flags != "" || p.ID != 0 || p.HopLimit != 255 || p.Questions[0].Type != "ANY" || !p.Questions[0].QU || p.Questions[0].Name != "Wire._p2p._tcp.local." {
			t.Errorf("probe: %+v", p)
		}
		for _, a := range p.Authority {
			if a.CacheFlush {
				t.Errorf("probe authority %s %s has the cache-flush bit", a.Name, a.Type)
			}
		}
	}
	for _, p := range anns[:2] {
		if p.Flags != "qr aa" || p.ID != 0 || len(p.Questions) != 0 {
			t.Errorf("announcement header: flags %q id %d questions %d", p.Flags, p.ID, len(p.Questions))
		}
		for _, a := range p.Answers {
			wantTTL := map[string]uint32{"PTR": 4500, "TXT": 4500, "SRV": 120, "A": 120}[a.Type]
			if a.TTL != wantTTL || a.CacheFlush == (a.Type == "PTR") {
				t.Errorf("announced %s %s: ttl %d flush %v", a.Name, a.Type, a.TTL, a.CacheFlush)
			}
			if a.Type == "TXT" && a.RData != "00" {
				t.Errorf("empty TXT on the wire as %q, want 00", a.RData)
			}
		}
	}
	for _, a := range byes[0].Answers {
		if a.TTL != 0 || a.Name == "_services._dns-sd._udp.local." {
			t.Errorf("goodbye record %s %s ttl %d", a.Name, a.Type, a.TTL)
		}
	}
}

// TestAdvertiseConflicts: two bonjourctl advertisers started together with
// one name: exactly one renames. Against avahi-daemon already holding a
// name, bonjourctl renames.
func TestAdvertiseConflicts(t *testing.T) {
	lab := netlab.New(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	run := func(h *netlab.Host, name, host string) chan string {
		done := make(chan string, 1)
		go func() {
			out, _ := h.Command(ctx, bin, "advertise", name, "_p2p._tcp", "4001", "-i", "eth0", "--host", host, "--duration", "3s").CombinedOutput()
			done <- string(out)
		}()
		return done
	}
	a, b := run(lab.Host(1), "Same", "same-a"), run(lab.Host(2), "Same", "same-b")
	oa, ob := <-a, <-b
	ra, rb := strings.Contains(oa, "renamed"), strings.Contains(ob, "renamed")
	if ra == rb {
		t.Errorf("renamed: host 1 %v, host 2 %v; want exactly one\n--- host 1\n%s--- host 2\n%s", ra, rb, oa, ob)
	}
	if !strings.Contains(oa+ob, `now Same\ \(2\)._p2p._tcp.local.`) {
		t.Errorf("no rename to Same (2):\n%s%s", oa, ob)
	}

	lab.Host(3).StartAvahi(t, ctx, netlab.AvahiConfig{HostName: "avahi-h3", Services: map[string]string{"taken": `<?xml version="1.0" standalone='no'?><!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group><name>Taken</name><service><type>_p2p._tcp</type><port>5000</port></service></service-group>`}})
	time.Sleep(1500 * time.Millisecond)
	out := <-run(lab.Host(1), "Taken", "taken-bj")
	if !strings.Contains(out, `now Taken\ \(2\)._p2p._tcp.local.`) {
		t.Errorf("advertising a name avahi holds: no rename\n%s", out)
	}
}

// TestAdvertiseLegacyUnicast: dig -p 5353 at the responder's address (a
// legacy unicast query) gets a unicast answer with its ID and question.
func TestAdvertiseLegacyUnicast(t *testing.T) {
	lab := netlab.New(t, 2)
	dig := netlab.LookPath(t, "dig")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	adv := lab.Host(1).Command(ctx, bin, "advertise", "Dig", "_p2p._tcp", "4001", "-i", "eth0", "--host", "dig-me")
	lines := netlab.Lines(t, adv)
	netlab.WaitLine(t, lines, 10*time.Second, func(l string) bool { return strings.Contains(l, "announced (2 of 2)") })
	out, err := lab.Host(2).Command(ctx, dig, "-p", "5353", "@10.88.0.1", "dig-me.local", "A", "+norecurse", "+time=2", "+tries=1").CombinedOutput()
	if err != nil {
		t.Fatalf("dig: %v\n%s", err, out)
	}
	s := string(out)
	if !strings.Contains(s, "status: NOERROR") || !strings.Contains(s, "dig-me.local.\t\t10\tIN\tA\t10.88.0.1") || !strings.Contains(s, ";dig-me.local.\t\t\tIN\tA") {
		t.Errorf("dig output:\n%s", s)
	}
	netlab.WaitLine(t, lines, 5*time.Second, func(l string) bool { return strings.Contains(l, "legacy unicast") && strings.Contains(l, "10.88.0.2") })
	_ = syscall.Kill(-adv.Process.Pid, syscall.SIGTERM)
	_ = adv.Wait()
}

// TestAdvertiseGrandcatEngine: --engine grandcat with no TXT puts
// zero-length TXT RDATA on the wire, and browse flags it.
func TestAdvertiseGrandcatEngine(t *testing.T) {
	lab := netlab.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	adv := lab.Host(1).Command(ctx, bin, "advertise", "GC", "_p2p._tcp", "4001", "-i", "eth0", "--engine", "grandcat", "--raw", "zero-length-txt")
	lines := netlab.Lines(t, adv)
	netlab.WaitLine(t, lines, 10*time.Second, func(l string) bool { return strings.Contains(l, "zero-length RDATA") })
	netlab.WaitLine(t, lines, 10*time.Second, func(l string) bool { return strings.Contains(l, "published") })
	time.Sleep(500 * time.Millisecond)
	out, err := lab.Host(2).Command(ctx, bin, "browse", "--once", "-i", "eth0", "_p2p._tcp").Output()
	if err != nil || !strings.Contains(string(out), "GC  _p2p._tcp") || !strings.Contains(string(out), "zero-length TXT (illegal, RFC 6763 §6.1)") {
		t.Errorf("browse: %v\n%s", err, out)
	}
	_ = syscall.Kill(-adv.Process.Pid, syscall.SIGTERM)
	_ = adv.Wait()
}

// TestAdvertiseTXTUpdates: the three ways to change a published TXT record
// live (a --txt-file edit, a "txt ..." line on standard input, SIGHUP after
// an edit the file's mtime does not show) each reach a browser on another
// host as an update with the new bytes.
func TestAdvertiseTXTUpdates(t *testing.T) {
	lab := netlab.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	file := filepath.Join(t.TempDir(), "txt")
	// write replaces the file's contents and sets its mtime (a file system
	// may keep mtimes in whole seconds).
	t0 := time.Now().Truncate(time.Second)
	write := func(s string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(file, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	write("key=one\n", t0)

	br := lab.Host(2).Command(ctx, bin, "browse", "--json", "-i", "eth0", "_p2p._tcp")
	events := netlab.Lines(t, br)
	adv := lab.Host(1).Command(ctx, bin, "advertise", "TXT Live", "_p2p._tcp", "4001", "-i", "eth0", "--txt-file", file)
	stdin, err := adv.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	advLines := netlab.Lines(t, adv)
	defer func() { _ = syscall.Kill(-adv.Process.Pid, syscall.SIGINT); _ = adv.Wait() }()
	netlab.WaitLine(t, advLines, 10*time.Second, netlab.Containing("announced (1 of 2)"))

	// want waits for the browser's event carrying TXT key=value.
	want := func(kind, value string) {
		t.Helper()
		rdata := fmt.Sprintf("%02x", len("key="+value)) + hex.EncodeToString([]byte("key="+value))
		_, ok := netlab.NextLine(events, 5*time.Second, func(l string) bool {
			var e browseEvent
			return json.Unmarshal([]byte(l), &e) == nil && e.Instance == "TXT Live" && e.Event == kind && e.TXT.RData == rdata
		})
		if !ok {
			t.Fatalf("no %s event with TXT key=%s (%s) within 5 s", kind, value, rdata)
		}
	}
	want("added", "one")

	write("key=two\n", t0.Add(2*time.Second)) // seen by its new mtime, checked every second
	want("updated", "two")

	if _, err := io.WriteString(stdin, "txt key=three\n"); err != nil {
		t.Fatal(err)
	}
	want("updated", "three")

	write("key=four\n", t0.Add(2*time.Second)) // the same mtime: the watcher cannot tell
	time.Sleep(1500 * time.Millisecond)
	if l, ok := netlab.NextLine(events, 10*time.Millisecond, netlab.Containing(hex.EncodeToString([]byte("key=four")))); ok {
		t.Fatalf("key=four published before SIGHUP: %s", l)
	}
	if err := syscall.Kill(adv.Process.Pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	want("updated", "four")
}
