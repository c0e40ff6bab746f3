//go:build linux

// Package lab holds the benchmarks that need a network lab and real peers.
// They are not run in CI: BONJOURCTL_BENCH=1 go test -v -run . ./bench/lab
package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
)

var bin string

func TestMain(m *testing.M) {
	if netlab.InHost() {
		os.Exit(netlab.Main(m, map[string]func([]string) int{"flood": flood}))
	}
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

// tryTimeToLine starts cmd and returns the time from start until a stdout
// line satisfies match; the process is killed afterwards. No such line
// within limit is a miss (false), logged with the output seen.
func tryTimeToLine(t *testing.T, cmd *exec.Cmd, limit time.Duration, match func(string) bool) (time.Duration, bool) {
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
	var mu sync.Mutex
	var seen []string // the lines before a match, for the log of a miss
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if match(sc.Text()) {
				found <- time.Since(start)
				return
			}
			mu.Lock()
			seen = append(seen, sc.Text())
			mu.Unlock()
		}
	}()
	select {
	case d := <-found:
		return d, true
	case <-time.After(limit):
		mu.Lock()
		defer mu.Unlock()
		t.Logf("%v: no match within %v; its output:\n%s", cmd.Args, limit, strings.Join(seen, "\n"))
		return 0, false
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

// roundAll rounds durations to the millisecond, for the record.
func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// runs is how many times each browser is timed against each responder
// (BONJOURCTL_BENCH_RUNS overrides it).
func runs() int {
	if n, err := strconv.Atoi(os.Getenv("BONJOURCTL_BENCH_RUNS")); err == nil && n > 0 {
		return n
	}
	return 20
}

// TestColdBrowse: from browser start to the first fully resolved instance
// (SRV, TXT, address), against three responders in turn on host 2
// (avahi-daemon, python3-zeroconf, bonjourctl advertise): bonjourctl
// browse (its default: QU first where it can watch the unicast replies,
// as RFC 6762 §5.4 recommends), bonjourctl browse --qm, avahi-browse -r -t
// (its daemon on host 1 restarted each run, for an empty cache) and a
// python3-zeroconf browser, one after another, 1.5 s apart (a responder
// multicasts a record at most once a second), runs() times each.
func TestColdBrowse(t *testing.T) {
	lab := netlab.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	n := runs()
	added := func(l string) bool {
		return strings.Contains(l, `"event":"added"`) && strings.Contains(l, `"state":"present"`)
	}
	type result struct {
		responder string
		med       map[string]time.Duration
		all       map[string][]time.Duration
		missed    map[string]int
	}
	var results []result
	browsers := []string{"bonjourctl browse", "bonjourctl browse --qm", "avahi-browse -r -t", "python3-zeroconf"}
	responders := []string{"avahi-daemon", "python3-zeroconf", "bonjourctl advertise"}
	if only := os.Getenv("BONJOURCTL_BENCH_RESPONDERS"); only != "" { // e.g. "avahi-daemon"
		responders = strings.Split(only, ",")
	}
	for _, responder := range responders {
		var stop func()
		switch responder {
		case "avahi-daemon":
			a := lab.Host(2).StartAvahi(t, ctx, netlab.AvahiConfig{HostName: "responder", Services: map[string]string{"node": avahiNode}})
			stop = a.Stop
		case "python3-zeroconf":
			pub := lab.Host(2).Command(ctx, "/usr/bin/python3", "../../cmd/bonjourctl/testdata/zc_publish.py", "Bench Node", "_p2p._tcp.local.", "4001", "10.88.0.2", "096b65793d76616c7565", "--lifetime", "3600")
			netlab.WaitLine(t, netlab.Lines(t, pub), 20*time.Second, func(l string) bool { return l == "registered" })
			stop = func() { _ = pub.Process.Signal(syscall.SIGTERM); _ = pub.Wait() }
		default:
			adv := lab.Host(2).Command(ctx, bin, "advertise", "-i", "eth0", "-4", "Bench Node", "_p2p._tcp", "4001", "--txt", "key=value")
			netlab.WaitLine(t, netlab.Lines(t, adv), 10*time.Second, netlab.Containing("announced (2 of 2)"))
			stop = func() { _ = syscall.Kill(-adv.Process.Pid, syscall.SIGINT); _ = adv.Wait() }
		}
		// Let the responder finish announcing: it answers no query for a
		// record it multicast less than a second ago (RFC 6762 §6).
		time.Sleep(3 * time.Second)
		r := result{responder: responder, med: map[string]time.Duration{}, all: map[string][]time.Duration{}, missed: map[string]int{}}
		for i := 0; i < n; i++ {
			for _, b := range browsers {
				var d time.Duration
				ok := true
				switch b {
				case "bonjourctl browse", "bonjourctl browse --qm":
					args := []string{"browse", "--json", "-i", "eth0", "-4", "_p2p._tcp"}
					if b == "bonjourctl browse --qm" {
						args = append(args, "--qm")
					}
					cmd := lab.Host(1).Command(ctx, bin, args...)
					var stderr strings.Builder
					cmd.Stderr = &stderr
					if d, ok = tryTimeToLine(t, cmd, 10*time.Second, added); !ok {
						t.Logf("%s against %s, run %d: nothing resolved in 10 s; stderr:\n%s", b, responder, i+1, stderr.String())
					}
				case "avahi-browse -r -t":
					a := lab.Host(1).StartAvahi(t, ctx, netlab.AvahiConfig{HostName: fmt.Sprintf("browser%d", i), DBus: true})
					cmd := lab.Host(1).Command(ctx, "avahi-browse", "-r", "-p", "-t", "_p2p._tcp")
					cmd.Env = append(cmd.Env, "DBUS_SYSTEM_BUS_ADDRESS="+a.BusAddress)
					d, ok = tryTimeToLine(t, cmd, 10*time.Second, func(l string) bool { return strings.HasPrefix(l, "=;") })
					a.Stop()
				case "python3-zeroconf":
					d, ok = tryTimeToLine(t, lab.Host(1).Command(ctx, "/usr/bin/python3", "../../cmd/bonjourctl/testdata/zc_browse.py", "_p2p._tcp.local.", "10.88.0.1"), 10*time.Second,
						func(l string) bool { return strings.HasPrefix(l, "resolved ") })
				}
				if !ok {
					r.missed[b]++ // a peer that did not resolve in 10 s: counted, not timed
				} else {
					r.all[b] = append(r.all[b], d)
				}
				time.Sleep(1500 * time.Millisecond)
			}
		}
		for _, b := range browsers {
			r.med[b] = median(r.all[b])
		}
		results = append(results, r)
		stop()
		time.Sleep(2 * time.Second)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\ncold browse, browser start -> first resolved instance (SRV, TXT, address), median of %d runs each:\n", n)
	fmt.Fprintf(&sb, "| responder | %s | bonjourctl / fastest peer |\n|---|---|---|---|---|---|\n", strings.Join(browsers, " | "))
	for _, r := range results {
		fmt.Fprintf(&sb, "| %s |", r.responder)
		for _, b := range browsers {
			fmt.Fprintf(&sb, " %s |", ms(r.med[b]))
		}
		best := min(r.med["avahi-browse -r -t"], r.med["python3-zeroconf"])
		fmt.Fprintf(&sb, " %.2f |\n", float64(r.med["bonjourctl browse"])/float64(best))
	}
	for _, r := range results {
		for _, b := range browsers {
			fmt.Fprintf(&sb, "%s / %s: %v", r.responder, b, roundAll(r.all[b]))
			if r.missed[b] > 0 {
				fmt.Fprintf(&sb, " (%d runs did not resolve within 10 s)", r.missed[b])
			}
			sb.WriteString("\n")
		}
	}
	t.Log(sb.String())
}

// TestGoodbyeToRemoved: a python3-zeroconf publisher unregisters (goodbye);
// time from SIGTERM until bonjourctl browse reports the removal.
func TestGoodbyeToRemoved(t *testing.T) {
	lab := netlab.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var ds, evs, engine []time.Duration
	for i := 0; i < 5; i++ {
		pub := lab.Host(2).Command(ctx, "/usr/bin/python3", "../../cmd/bonjourctl/testdata/zc_publish.py", fmt.Sprintf("Bye %d", i), "_p2p._tcp.local.", "4001", "10.88.0.2", "03613d31")
		netlab.WaitLine(t, netlab.Lines(t, pub), 20*time.Second, netlab.Containing("registered"))
		br := lab.Host(1).Command(ctx, bin, "browse", "--json", "-i", "eth0", "_p2p._tcp")
		bl := netlab.Lines(t, br)
		netlab.WaitLine(t, bl, 10*time.Second, netlab.Containing(`"event":"added"`))
		start := time.Now()
		_ = pub.Process.Signal(syscall.SIGTERM)
		line := netlab.WaitLine(t, bl, 10*time.Second, netlab.Containing(`"new":"goodbye"`))
		evs = append(evs, time.Since(start))
		// The event's time against the arrival of the goodbye PTR it
		// reports: the engine's own delay.
		var ev struct {
			Time    time.Time `json:"time"`
			Records []struct {
				Type     string    `json:"type"`
				TTL      uint32    `json:"ttl"`
				LastSeen time.Time `json:"lastSeen"`
			} `json:"records"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err == nil {
			for _, r := range ev.Records {
				if r.Type == "PTR" && r.TTL == 0 {
					engine = append(engine, ev.Time.Sub(r.LastSeen))
				}
			}
		}
		netlab.WaitLine(t, bl, 10*time.Second, netlab.Containing(`"event":"removed"`))
		ds = append(ds, time.Since(start))
		_ = pub.Wait()
		_ = syscall.Kill(-br.Process.Pid, syscall.SIGKILL)
		_ = br.Wait()
	}
	t.Logf("\ngoodbye (publisher SIGTERM) -> goodbye event: median %s, runs %v; the event's time after the goodbye packet's arrival (in the engine): %v\n"+
		"goodbye -> removed (RFC 6762 §10.1 holds a goodbye 1 s): median %s, runs %v", ms(median(evs)), roundAll(evs), engine, ms(median(ds)), roundAll(ds))
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
