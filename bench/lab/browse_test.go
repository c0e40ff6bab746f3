//go:build linux

// Package lab holds the benchmarks that need a network lab and real peers.
// They are not run in CI: BONJOURCTL_BENCH=1 go test -v -run . ./bench/lab
package lab

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
)

var bin string

func TestMain(m *testing.M) {
	if os.Getenv("BONJOURCTL_BENCH") == "" {
		fmt.Println("lab benchmarks skipped; set BONJOURCTL_BENCH=1 (root, Linux)")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "bonjourctl-bench")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "bonjourctl")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/bonjourctl").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const avahiNode = `<?xml version="1.0" standalone='no'?><!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group><name>Bench Node</name><service><type>_p2p._tcp</type><port>4001</port>
<txt-record>key=value</txt-record></service></service-group>`

// timeToLine starts cmd and returns the time from start until a stdout line
// satisfies match; the process is killed afterwards.
func timeToLine(t *testing.T, cmd *exec.Cmd, limit time.Duration, match func(string) bool) time.Duration {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() }()
	found := make(chan time.Duration, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if match(sc.Text()) {
				found <- time.Since(start)
				return
			}
		}
	}()
	select {
	case d := <-found:
		return d
	case <-time.After(limit):
		t.Fatalf("%v: no result within %v", cmd.Args, limit)
		return 0
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

// TestColdBrowse: from browser start to the first fully resolved instance
// (SRV, TXT, address), avahi-daemon responding on host 2. bonjourctl,
// avahi-browse -r -t (its own daemon on host 1, restarted each run for an
// empty cache) and a python3-zeroconf browser, 7 runs each.
func TestColdBrowse(t *testing.T) {
	lab := netlab.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	lab.Host(2).StartAvahi(t, ctx, netlab.AvahiConfig{HostName: "responder", Services: map[string]string{"node": avahiNode}})
	// Let avahi finish probing and announcing: while it announces, it
	// answers no query for a record it multicast less than a second ago
	// (RFC 6762 §6), which made the first run take a second.
	time.Sleep(5 * time.Second)
	const runs = 7
	var bj, bjqu, av, zc []time.Duration
	added := func(l string) bool {
		return strings.Contains(l, `"event":"added"`) && strings.Contains(l, `"state":"present"`)
	}
	for i := 0; i < runs; i++ {
		bj = append(bj, timeToLine(t, lab.Host(1).Command(ctx, bin, "browse", "--json", "-i", "eth0", "_p2p._tcp"), 10*time.Second, added))
		time.Sleep(1500 * time.Millisecond) // avahi multicasts a record at most once a second
		bjqu = append(bjqu, timeToLine(t, lab.Host(1).Command(ctx, bin, "browse", "--json", "--qu", "-i", "eth0", "_p2p._tcp"), 10*time.Second, added))
		time.Sleep(1500 * time.Millisecond)
	}
	for i := 0; i < runs; i++ {
		a := lab.Host(1).StartAvahi(t, ctx, netlab.AvahiConfig{HostName: fmt.Sprintf("browser%d", i), DBus: true})
		cmd := lab.Host(1).Command(ctx, "avahi-browse", "-r", "-p", "-t", "_p2p._tcp")
		cmd.Env = append(cmd.Env, "DBUS_SYSTEM_BUS_ADDRESS="+a.BusAddress)
		av = append(av, timeToLine(t, cmd, 10*time.Second, func(l string) bool { return strings.HasPrefix(l, "=;") }))
		a.Stop()
		time.Sleep(1100 * time.Millisecond)
	}
	for i := 0; i < runs; i++ {
		zc = append(zc, timeToLine(t, lab.Host(1).Command(ctx, "/usr/bin/python3", "zc_browse.py", "_p2p._tcp.local.", "10.88.0.1"), 10*time.Second,
			func(l string) bool { return strings.HasPrefix(l, "resolved ") }))
		time.Sleep(1100 * time.Millisecond)
	}
	best := min(median(av), median(zc))
	t.Logf("\ncold browse, start -> first resolved instance (responder avahi-daemon), median of %d:\n"+
		"| browser | median | runs |\n|---|---|---|\n| bonjourctl browse | %s | %v |\n| bonjourctl browse --qu | %s | %v |\n| avahi-browse -r -t (daemon restarted) | %s | %v |\n| python3-zeroconf | %s | %v |\n"+
		"ratio bonjourctl / fastest peer: %.2f", runs, ms(median(bj)), bj, ms(median(bjqu)), bjqu, ms(median(av)), av, ms(median(zc)), zc, float64(median(bj))/float64(best))
}

// TestGoodbyeToRemoved: a python3-zeroconf publisher unregisters (goodbye);
// time from SIGTERM until bonjourctl browse reports the removal.
func TestGoodbyeToRemoved(t *testing.T) {
	lab := netlab.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var ds []time.Duration
	for i := 0; i < 5; i++ {
		pub := lab.Host(2).Command(ctx, "/usr/bin/python3", "../../cmd/bonjourctl/testdata/zc_publish.py", fmt.Sprintf("Bye %d", i), "_p2p._tcp.local.", "4001", "10.88.0.2", "03613d31")
		netlab.WaitLine(t, netlab.Lines(t, pub), 20*time.Second, netlab.Containing("registered"))
		br := lab.Host(1).Command(ctx, bin, "browse", "--json", "-i", "eth0", "_p2p._tcp")
		bl := netlab.Lines(t, br)
		netlab.WaitLine(t, bl, 10*time.Second, netlab.Containing(`"event":"added"`))
		start := time.Now()
		_ = pub.Process.Signal(syscall.SIGTERM)
		netlab.WaitLine(t, bl, 10*time.Second, netlab.Containing(`"event":"removed"`))
		ds = append(ds, time.Since(start))
		_ = pub.Wait()
		_ = syscall.Kill(-br.Process.Pid, syscall.SIGKILL)
		_ = br.Wait()
	}
	t.Logf("\ngoodbye -> removed (bonjourctl browse; RFC 6762 §10.1 holds a goodbye 1 s): median %s, runs %v", ms(median(ds)), ds)
}

// TestManyInstances: 10,000 instances announced on the link; bonjourctl
// browse must report all of them; its peak resident memory is read from
// /proc.
func TestManyInstances(t *testing.T) {
	lab := netlab.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const n = 10000
	br := lab.Host(1).Command(ctx, bin, "browse", "--json", "-i", "eth0", "-4", "_p2p._tcp")
	bout, _ := br.StdoutPipe()
	if err := br.Start(); err != nil {
		t.Fatal(err)
	}
	var berr strings.Builder
	br.Stderr = &berr
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	counted := make(chan int)
	go func() {
		added := 0
		sc := bufio.NewScanner(bout)
		sc.Buffer(nil, 1<<20)
		for added < n && sc.Scan() {
			if strings.Contains(sc.Text(), `"event":"added"`) {
				added++
			}
		}
		counted <- added
	}()
	pub := lab.Host(2).Command(ctx, "/usr/bin/python3", "many.py", strconv.Itoa(n), "5000", "10.88.0.2")
	if out, err := pub.CombinedOutput(); err != nil {
		t.Fatalf("many.py: %v\n%s", err, out)
	}
	var added int
	select {
	case added = <-counted:
	case <-time.After(30 * time.Second):
	}
	elapsed := time.Since(start)
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", br.Process.Pid))
	var hwm string
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			hwm = strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	_ = syscall.Kill(-br.Process.Pid, syscall.SIGINT)
	_ = br.Wait()
	if added != n {
		t.Errorf("%d of %d instances reported", added, n)
	}
	t.Logf("\n%d instances announced at 5000/s: %d added events in %v; bonjourctl peak RSS (VmHWM) %s; browse said: %s", n, added, elapsed.Round(time.Millisecond), hwm, strings.TrimSpace(berr.String()))
}
