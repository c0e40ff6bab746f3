//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
)

// TestPassiveBesideAvahi: with capture, check and the TUI running on the
// same host as avahi-daemon, avahi answers every one of 20 legacy unicast
// queries sent to it (none is taken by bonjourctl's sockets), and capture
// shows each query and each reply exactly once, its summary accounting for
// every packet.
func TestPassiveBesideAvahi(t *testing.T) {
	lab := netlab.New(t, 2)
	dig := netlab.LookPath(t, "dig")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	lab.Host(2).StartAvahi(t, ctx, netlab.AvahiConfig{HostName: "passive-avahi", Services: map[string]string{"node": avahiNode}})
	time.Sleep(1500 * time.Millisecond)

	capCmd := lab.Host(2).Command(ctx, bin, "capture", "-i", "eth0", "--json", "--duration", "25s")
	var capErr strings.Builder
	capCmd.Stderr = &capErr
	capLines := netlab.Lines(t, capCmd)
	chk := lab.Host(2).Command(ctx, bin, "check", "-i", "eth0", "--duration", "25s")
	chkOut := netlab.Lines(t, chk)
	tm := netlab.NewTmux(t, ctx, "ip netns exec "+lab.Host(2).NS+" "+bin+" tui -i eth0 _p2p._tcp")
	tm.Wait("Avahi Node", 15*time.Second)
	if out, err := lab.Host(2).Exec(ctx, "ss", "-ulpn"); err == nil {
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "bonjourctl") && (strings.Contains(l, " 0.0.0.0:5353") || strings.Contains(l, " [::]:5353") || strings.Contains(l, " *:5353")) {
				t.Errorf("a passive bonjourctl holds the wildcard address on 5353: %s", l)
			}
		}
	}

	answered := 0
	for i := 0; i < 20; i++ {
		out, _ := lab.Host(1).Exec(ctx, dig, "+time=2", "+tries=1", "-p", "5353", "@"+lab.Host(2).IPv4.String(), "Avahi Node._p2p._tcp.local.", "TXT")
		if strings.Contains(out, `"key=value"`) {
			answered++
		}
	}
	if answered != 20 {
		t.Errorf("avahi-daemon answered %d of 20 legacy unicast queries with capture, check and the TUI beside it", answered)
	}
	tm.Quit()
	queries, replies := 0, 0
	for l := range capLines {
		var p struct {
			Src, Dst string
			Response bool
		}
		if json.Unmarshal([]byte(l), &p) != nil {
			continue
		}
		switch {
		case strings.HasPrefix(p.Src, "10.88.0.1:") && p.Dst == "10.88.0.2:5353" && !p.Response:
			queries++
		case p.Src == "10.88.0.2:5353" && strings.HasPrefix(p.Dst, "10.88.0.1:") && p.Response:
			replies++
		}
	}
	if err := capCmd.Wait(); err != nil {
		t.Errorf("capture: %v\n%s", err, capErr.String())
	}
	if queries != 20 || replies != 20 {
		t.Errorf("capture showed %d unicast queries and %d replies, want 20 and 20", queries, replies)
	}
	// N packets received, N shown, 0 filtered out, 0 dropped by bonjourctl
	var recv, shown, filtered, dropped int
	summary := capErr.String()[strings.LastIndex(strings.TrimSpace(capErr.String()), "\n")+1:]
	if _, err := fmt.Sscanf(summary, "%d packets received, %d shown, %d filtered out, %d dropped by bonjourctl", &recv, &shown, &filtered, &dropped); err != nil || recv != shown+filtered+dropped || recv < 40 || dropped != 0 {
		t.Errorf("capture summary %q does not account for every packet", summary)
	}
	for range chkOut {
	}
	_ = chk.Wait()
}

// resolveJSON is what the test reads of resolve --json.
type resolveJSON struct {
	Complete bool     `json:"complete"`
	Missing  []string `json:"missing"`
	Addrs    []string `json:"addrs"`
	Host     string   `json:"host"`
	TXT      struct {
		State string `json:"state"`
		RData string `json:"rdata"`
	} `json:"txt"`
	Queries int `json:"queries"`
}

// TestResolveRepeatedly: resolve run 20 times, each right after another
// querier made the responder multicast the records (so it stays silent
// for a second, RFC 6762 §6), against avahi-daemon and python3-zeroconf,
// reports SRV, TXT and addresses every time; against a zero-length TXT it
// says zero-length, with the bytes, and exits 1.
func TestResolveRepeatedly(t *testing.T) {
	lab := netlab.New(t, 6)
	py := requireZeroconf(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	lab.Host(2).StartAvahi(t, ctx, netlab.AvahiConfig{HostName: "rep-avahi", Services: map[string]string{"node": avahiNode}})
	pub := lab.Host(3).Command(ctx, py, "testdata/zc_publish.py", "ZC Node", "_p2p._tcp.local.", "4001", lab.Host(3).IPv4.String(), "096b65793d76616c7565")
	netlab.WaitLine(t, netlab.Lines(t, pub), 20*time.Second, func(l string) bool { return l == "registered" })
	defer func() { _ = pub.Process.Signal(syscall.SIGTERM); _ = pub.Wait() }()
	time.Sleep(1500 * time.Millisecond)

	var wg sync.WaitGroup
	for _, c := range []struct {
		name            string
		resolver, asker int
		wantRData       string
	}{{"Avahi Node", 1, 4, "096b65793d76616c756504666c61670862696e3d00017f80"}, {"ZC Node", 5, 6, "096b65793d76616c7565"}} {
		wg.Go(func() {
			for i := 0; i < 20; i++ {
				// Another querier first: the responder multicasts now.
				_, _ = lab.Host(c.asker).Exec(ctx, bin, "query", "-i", "eth0", "--timeout", "200ms", c.name+"._p2p._tcp.local", "ANY")
				out, err := lab.Host(c.resolver).Command(ctx, bin, "resolve", "-4", "-i", "eth0", "--json", c.name, "_p2p._tcp").Output()
				var r resolveJSON
				if jerr := json.Unmarshal(out, &r); err != nil || jerr != nil || !r.Complete || r.TXT.State != "present" || r.TXT.RData != c.wantRData || len(r.Addrs) == 0 || r.Host == "" {
					t.Errorf("%s, run %d: %v: %s", c.name, i+1, err, out)
					return
				}
			}
		})
	}
	wg.Wait()

	empty := lab.Host(3).Command(ctx, py, "testdata/zc_publish.py", "ZC Empty", "_p2p._tcp.local.", "4002", lab.Host(3).IPv4.String(), "props:{}")
	netlab.WaitLine(t, netlab.Lines(t, empty), 20*time.Second, func(l string) bool { return l == "registered" })
	defer func() { _ = empty.Process.Signal(syscall.SIGTERM); _ = empty.Wait() }()
	cmd := lab.Host(1).Command(ctx, bin, "resolve", "-4", "-i", "eth0", "ZC Empty", "_p2p._tcp")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "TXT   0 bytes (zero-length rdata)") ||
		!strings.Contains(stderr.String(), "is zero-length RDATA (0 bytes): illegal (RFC 6763 §6.1)") {
		t.Errorf("zero-length TXT: %v\n%s\n%s", err, out, stderr.String())
	}
}

// TestDoctorHealthyPeers: in a quiet lab, doctor gives no warning and no
// failure for a healthy avahi-daemon service or a python3-zeroconf one.
func TestDoctorHealthyPeers(t *testing.T) {
	lab := netlab.New(t, 4)
	py := requireZeroconf(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	lab.Host(2).StartAvahi(t, ctx, netlab.AvahiConfig{HostName: "doc-avahi", Services: map[string]string{"node": avahiNode}})
	pub := lab.Host(3).Command(ctx, py, "testdata/zc_publish.py", "ZC Node", "_p2p._tcp.local.", "4001", lab.Host(3).IPv4.String(), "096b65793d76616c7565")
	netlab.WaitLine(t, netlab.Lines(t, pub), 20*time.Second, func(l string) bool { return l == "registered" })
	defer func() { _ = pub.Process.Signal(syscall.SIGTERM); _ = pub.Wait() }()
	time.Sleep(1500 * time.Millisecond)
	var wg sync.WaitGroup
	for i, name := range []string{"Avahi Node", "ZC Node"} {
		host := []int{1, 4}[i]
		wg.Go(func() {
			out, err := lab.Host(host).Command(ctx, bin, "doctor", "--json", "-4", "-i", "eth0", "--wait", "2s", name, "_p2p._tcp").Output()
			var rep doctorJSON
			if jerr := json.Unmarshal(out, &rep); err != nil || jerr != nil {
				t.Errorf("doctor %s: %v\n%s", name, err, out)
				return
			}
			if !strings.HasPrefix(rep.Verdict, "TXT record is on the wire") {
				t.Errorf("doctor %s: verdict %q", name, rep.Verdict)
			}
			for _, l := range rep.Lines {
				if l.Level == "warn" || l.Level == "fail" {
					t.Errorf("doctor %s: %s %s: %s", name, l.Level, l.Topic, l.Reason)
				}
			}
		})
	}
	wg.Wait()
}

// TestInterfaceScoping: host 1 is on two links; advertise and capture use
// eth0 only. A query from host 3, on the other link, gets no answer and is
// not captured, even with another socket on host 1 joined to the group on
// that link; host 2, on eth0's link, resolves the service.
func TestInterfaceScoping(t *testing.T) {
	lab := netlab.New(t, 3)
	lab.SecondLink(1, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := lab.Host(3).Exec(ctx, "ip", "link", "set", "eth0", "down"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// Joined on eth1: with IP_MULTICAST_ALL on, every socket on host 1
	// would receive eth1's group packets.
	other := lab.Host(1).Command(ctx, bin, "capture", "-i", "eth1", "--duration", "20s")
	other.Stdout = nil
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Process.Kill(); _ = other.Wait() }()
	capCmd := lab.Host(1).Command(ctx, bin, "capture", "-i", "eth0", "--json", "--duration", "8s")
	capLines := netlab.Lines(t, capCmd)
	adv := lab.Host(1).Command(ctx, bin, "advertise", "-i", "eth0", "Scoped", "_p2p._tcp", "4001", "--txt", "k=v")
	netlab.WaitLine(t, netlab.Lines(t, adv), 10*time.Second, netlab.Containing("announced (2 of 2)"))
	defer func() { _ = syscall.Kill(-adv.Process.Pid, syscall.SIGINT); _ = adv.Wait() }()

	cmd := lab.Host(3).Command(ctx, bin, "query", "-i", "eth1", "--timeout", "2500ms", "Scoped._p2p._tcp.local", "SRV")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("a query on the other link was answered:\n%s", out)
	}
	if out, err := lab.Host(2).Command(ctx, bin, "resolve", "-i", "eth0", "Scoped", "_p2p._tcp").CombinedOutput(); err != nil {
		t.Errorf("resolve on eth0's link: %v\n%s", err, out)
	}
	for l := range capLines {
		if strings.Contains(l, `"src":"10.89.`) || strings.Contains(l, `"src":"[fe80::89:`) || strings.Contains(l, `"src":"[fd89:`) {
			t.Errorf("capture -i eth0 showed a packet from the other link: %s", l)
		}
		if strings.Contains(l, `"interface":"eth1"`) {
			t.Errorf("capture -i eth0 showed a packet on eth1: %s", l)
		}
	}
	_ = capCmd.Wait()
}

// TestAdvertiseBesideAvahiHostName: avahi-daemon's host name is the
// machine's own, as on any Linux box. bonjourctl advertise without --host,
// started before or after it, publishes its service records only, says
// so, and avahi never renames the machine; a browser on another host
// resolves the service through avahi's address records.
func TestAdvertiseBesideAvahiHostName(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	host, _, _ = strings.Cut(host, ".")
	for _, order := range []string{"avahi first", "bonjourctl first"} {
		t.Run(order, func(t *testing.T) {
			lab := netlab.New(t, 2)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var avahi *netlab.Avahi
			startAvahi := func() {
				avahi = lab.Host(2).StartAvahi(t, ctx, netlab.AvahiConfig{HostName: host})
			}
			if order == "avahi first" {
				startAvahi()
				time.Sleep(2 * time.Second)
			}
			adv := lab.Host(2).Command(ctx, bin, "advertise", "-i", "eth0", "Beside Avahi", "_p2p._tcp", "4001", "--txt", "k=v")
			advLines := netlab.Lines(t, adv)
			defer func() { _ = syscall.Kill(-adv.Process.Pid, syscall.SIGINT); _ = adv.Wait() }()
			var seen []string
			if order == "avahi first" {
				netlab.WaitLine(t, advLines, 10*time.Second, func(l string) bool { seen = append(seen, l); return strings.Contains(l, "host-shared") })
			} else {
				netlab.WaitLine(t, advLines, 10*time.Second, func(l string) bool { seen = append(seen, l); return strings.Contains(l, "announced (2 of 2)") })
				startAvahi()
				netlab.WaitLine(t, advLines, 10*time.Second, func(l string) bool { seen = append(seen, l); return strings.Contains(l, "host-shared") })
			}
			time.Sleep(3 * time.Second) // avahi probes and announces its name
			if log := avahi.Log(); strings.Contains(log, "conflict") || !strings.Contains(log, "Server startup complete. Host name is "+host+".local") {
				t.Errorf("avahi-daemon's log:\n%s", log)
			}
			out, err := lab.Host(1).Command(ctx, bin, "resolve", "-4", "-i", "eth0", "--json", "Beside Avahi", "_p2p._tcp").Output()
			var r resolveJSON
			if jerr := json.Unmarshal(out, &r); err != nil || jerr != nil || !r.Complete || r.Host != host+".local." || len(r.Addrs) == 0 {
				t.Errorf("resolve: %v %s\nadvertise said:\n%s", err, out, strings.Join(seen, "\n"))
			}
			if log := avahi.Log(); strings.Contains(strings.ToLower(log), "conflict") {
				t.Errorf("avahi-daemon reported a conflict:\n%s", log)
			}
		})
	}
}

// TestSameHostNameTwoMachines: two machines with the same host name (in
// the lab every host has the kernel's name) both advertise: the second
// renames its host once, names the other machine with its MAC address,
// and publishes; its service keeps its name.
func TestSameHostNameTwoMachines(t *testing.T) {
	lab := netlab.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	first := lab.Host(1).Command(ctx, bin, "advertise", "-4", "-i", "eth0", "Host A", "_p2p._tcp", "4001")
	netlab.WaitLine(t, netlab.Lines(t, first), 10*time.Second, netlab.Containing("announced (2 of 2)"))
	defer func() { _ = syscall.Kill(-first.Process.Pid, syscall.SIGINT); _ = first.Wait() }()
	second := lab.Host(2).Command(ctx, bin, "advertise", "-4", "-i", "eth0", "Host B", "_p2p._tcp", "4001")
	lines := netlab.Lines(t, second)
	defer func() { _ = syscall.Kill(-second.Process.Pid, syscall.SIGINT); _ = second.Wait() }()
	var seen []string
	netlab.WaitLine(t, lines, 10*time.Second, func(l string) bool { seen = append(seen, l); return strings.Contains(l, "announced (2 of 2)") })
	renames, conflicts := 0, 0
	for _, l := range seen {
		if strings.Contains(l, "  renamed  ") {
			renames++
			if !strings.Contains(l, "host name ") || strings.Contains(l, "Host B (2)") {
				t.Errorf("not a host rename: %s", l)
			}
		}
		if strings.Contains(l, "  conflict  ") {
			conflicts++
			if !strings.Contains(l, "from 10.88.0.1:5353 on eth0: another host (MAC 02:88:00:00:00:01)") {
				t.Errorf("conflict without its source: %s", l)
			}
		}
	}
	if renames != 1 || conflicts < 1 {
		t.Errorf("%d renames, %d conflicts, want one host rename:\n%s", renames, conflicts, strings.Join(seen, "\n"))
	}
}

// TestLinkDownUp: after the advertiser's link goes down and comes back,
// advertise says so and probes and announces again (RFC 6762 §8.3); a
// capture on another host sees the new probes.
func TestLinkDownUp(t *testing.T) {
	lab := netlab.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	adv := lab.Host(2).Command(ctx, bin, "advertise", "-4", "-i", "eth0", "Flappy", "_p2p._tcp", "4001")
	lines := netlab.Lines(t, adv)
	defer func() { _ = syscall.Kill(-adv.Process.Pid, syscall.SIGINT); _ = adv.Wait() }()
	netlab.WaitLine(t, lines, 10*time.Second, netlab.Containing("announced (2 of 2)"))
	capCmd := lab.Host(1).Command(ctx, bin, "capture", "-4", "-i", "eth0", "--json", "--duration", "8s", "--name", "Flappy._p2p._tcp")
	capLines := netlab.Lines(t, capCmd)
	time.Sleep(300 * time.Millisecond)
	for _, state := range []string{"down", "up"} {
		if out, err := lab.Host(2).Exec(ctx, "ip", "link", "set", "eth0", state); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	netlab.WaitLine(t, lines, 10*time.Second, netlab.Containing("link  Flappy._p2p._tcp.local.  eth0 down"))
	netlab.WaitLine(t, lines, 10*time.Second, netlab.Containing("eth0 up; probing and announcing again (RFC 6762 §8.3)"))
	netlab.WaitLine(t, lines, 10*time.Second, netlab.Containing("announced (2 of 2)"))
	probes := 0
	for l := range capLines {
		if strings.Contains(l, `"response":false`) && strings.Contains(l, `"authority":[{`) {
			probes++
		}
	}
	if probes < 3 {
		t.Errorf("capture on host 1 saw %d probes after the link came back, want 3", probes)
	}
}

// TestAdvertiseEngineAvahi: --engine avahi registers the service with
// avahi-daemon over D-Bus; avahi probes and announces it, a browser on
// another host resolves it with the exact TXT bytes, a TXT typed on
// standard input is published, and Ctrl-C frees it (avahi's goodbyes).
func TestAdvertiseEngineAvahi(t *testing.T) {
	lab := netlab.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := lab.Host(2).StartAvahi(t, ctx, netlab.AvahiConfig{HostName: "engine-avahi", DBus: true})
	adv := lab.Host(2).Command(ctx, bin, "advertise", "--engine", "avahi", "-i", "eth0", "Via Avahi", "_p2p._tcp", "4001", "--txt", "key=value")
	adv.Env = append(adv.Env, "DBUS_SYSTEM_BUS_ADDRESS="+a.BusAddress)
	var stderr netlab.Buffer
	adv.Stderr = &stderr
	defer func() {
		if t.Failed() {
			t.Logf("advertise's stderr:\n%s", stderr.String())
		}
	}()
	stdin, err := adv.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	lines := netlab.Lines(t, adv)
	defer func() { _ = syscall.Kill(-adv.Process.Pid, syscall.SIGINT); _ = adv.Wait() }()
	netlab.WaitLine(t, lines, 10*time.Second, netlab.Containing("connected  avahi 0.8, host name engine-avahi.local"))
	netlab.WaitLine(t, lines, 10*time.Second, netlab.Containing("established  avahi-daemon probed and announced the service"))
	resolve := func(want string) {
		t.Helper()
		out, err := lab.Host(1).Command(ctx, bin, "resolve", "-4", "-i", "eth0", "--json", "Via Avahi", "_p2p._tcp").Output()
		var r resolveJSON
		if jerr := json.Unmarshal(out, &r); err != nil || jerr != nil || !r.Complete || r.Host != "engine-avahi.local." || r.TXT.RData != want {
			t.Errorf("resolve: %v: %s", err, out)
		}
	}
	resolve("096b65793d76616c7565")
	if _, err := stdin.Write([]byte("txt key=value2\n")); err != nil {
		t.Fatal(err)
	}
	netlab.WaitLine(t, lines, 10*time.Second, netlab.Containing(`txt-updated  new TXT: [10]"key=value2"`))
	time.Sleep(1500 * time.Millisecond)
	resolve("0a6b65793d76616c756532")
	_ = syscall.Kill(-adv.Process.Pid, syscall.SIGINT)
	netlab.WaitLine(t, lines, 10*time.Second, netlab.Containing("freed  entry group freed"))
}
