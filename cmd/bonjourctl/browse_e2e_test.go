//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
)

type browseEvent struct {
	Event    string   `json:"event"`
	Instance string   `json:"instance"`
	Type     string   `json:"type"`
	Host     string   `json:"host"`
	Port     int      `json:"port"`
	Addrs    []string `json:"addrs"`
	Cause    string   `json:"cause"`
	TXT      struct {
		State string `json:"state"`
		RData string `json:"rdata"`
	} `json:"txt"`
	Changes []struct {
		Field, Old, New string
	} `json:"changes"`
	Records []struct {
		Type       string `json:"type"`
		Src        string `json:"src"`
		Interface  string `json:"interface"`
		CacheFlush bool   `json:"cacheFlush"`
		TTL        uint32 `json:"ttl"`
	} `json:"records"`
}

func parseEvents(t *testing.T, out string) []browseEvent {
	t.Helper()
	var evs []browseEvent
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var e browseEvent
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("bad JSON line %q: %v", l, err)
		}
		evs = append(evs, e)
	}
	return evs
}

func requireZeroconf(t *testing.T) string {
	t.Helper()
	py := netlab.LookPath(t, "/usr/bin/python3")
	if err := exec.Command(py, "-c", "import zeroconf").Run(); err != nil {
		if os.Getenv(netlab.EnvRequire) == "require" {
			t.Fatal("python3-zeroconf is not installed")
		}
		t.Skip("python3-zeroconf is not installed")
	}
	return py
}

// TestBrowseAvahiOnce: avahi-daemon on host 2 with a static _p2p._tcp
// service carrying several TXT strings; browse --json --once on host 1
// reports it resolved, with the TXT's exact bytes and its provenance.
func TestBrowseAvahiOnce(t *testing.T) {
	lab := netlab.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	lab.Host(2).StartAvahi(t, ctx, netlab.AvahiConfig{HostName: "avahi-h2", Services: map[string]string{"node": avahiNode}})
	time.Sleep(1500 * time.Millisecond) // probing and announcing
	out, err := lab.Host(1).Command(ctx, bin, "browse", "--json", "--once", "-i", "eth0", "_p2p._tcp").Output()
	if err != nil {
		t.Fatalf("browse: %v", err)
	}
	evs := parseEvents(t, string(out))
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1:\n%s", len(evs), out)
	}
	e := evs[0]
	if e.Event != "added" || e.Instance != "Avahi Node" || e.Type != "_p2p._tcp" || e.Host != "avahi-h2.local." || e.Port != 4001 {
		t.Errorf("event = %+v", e)
	}
	if e.TXT.State != "present" || e.TXT.RData != "096b65793d76616c756504666c61670862696e3d00017f80" {
		t.Errorf("txt = %+v, want the exact bytes key=value flag bin=00017f80", e.TXT)
	}
	if !strings.Contains(strings.Join(e.Addrs, " "), "10.88.0.2") {
		t.Errorf("addrs = %v, want 10.88.0.2", e.Addrs)
	}
	for _, r := range e.Records {
		if r.Type == "TXT" && (!r.CacheFlush || r.TTL != 4500 || r.Interface != "eth0" || !strings.Contains(r.Src, "10.88.0.2") && !strings.Contains(r.Src, "fd88::2") && !strings.Contains(r.Src, "fe80::")) {
			t.Errorf("TXT provenance = %+v", r)
		}
	}
}

// TestBrowseZeroconfLifecycle: python3-zeroconf publishes an edge-case TXT
// (boolean key, binary value, empty value, duplicate keys, a 255-byte
// string), changes it, then unregisters; a second instance has the legal
// empty TXT. browse --json on host 1 reports added, updated with the TXT
// diff, and removed (goodbye).
func TestBrowseZeroconfLifecycle(t *testing.T) {
	lab := netlab.New(t, 2)
	py := requireZeroconf(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	br := lab.Host(1).Command(ctx, bin, "browse", "--json", "-i", "eth0", "_p2p._tcp")
	br.Stderr = os.Stderr
	lines := netlab.Lines(t, br)
	time.Sleep(300 * time.Millisecond)

	long := "ff6c6f6e673d" + strings.Repeat("78", 250)
	edge := "096b65793d76616c756504666c616706656d7074793d0e62696e3d00017f80feff223d0a09056475703d31056475703d32" + long
	pub := lab.Host(2).Command(ctx, py, "testdata/zc_publish.py", "Edge", "_p2p._tcp.local.", "4242", "10.88.0.2", edge,
		"--update-after", "2", "--update-hex", "0a6b65793d76616c756532")
	pubOut := netlab.Lines(t, pub)
	empty := lab.Host(2).Command(ctx, py, "testdata/zc_publish.py", "Empty", "_p2p._tcp.local.", "4243", "10.88.0.2", "00")
	emptyOut := netlab.Lines(t, empty)
	netlab.WaitLine(t, pubOut, 20*time.Second, func(l string) bool { return l == "registered" })
	netlab.WaitLine(t, emptyOut, 20*time.Second, func(l string) bool { return l == "registered" })
	netlab.WaitLine(t, pubOut, 20*time.Second, func(l string) bool { return l == "updated" })
	time.Sleep(500 * time.Millisecond)
	_ = pub.Process.Signal(syscall.SIGTERM)
	_ = pub.Wait()
	time.Sleep(2 * time.Second) // goodbye, then removal one second later

	var got []browseEvent
	collect := time.After(time.Second)
loop:
	for {
		select {
		case l := <-lines:
			var e browseEvent
			if json.Unmarshal([]byte(l), &e) == nil {
				got = append(got, e)
			}
		case <-collect:
			break loop
		}
	}
	_ = empty.Process.Signal(syscall.SIGTERM)
	_ = empty.Wait()
	_ = syscall.Kill(-br.Process.Pid, syscall.SIGINT)
	_ = br.Wait()

	var seq []string
	for _, e := range got {
		switch {
		case e.Instance == "Edge" && e.Event == "added":
			seq = append(seq, "added")
			if e.TXT.RData != edge {
				t.Errorf("added TXT = %s, want %s", e.TXT.RData, edge)
			}
		case e.Instance == "Edge" && e.Event == "updated":
			for _, c := range e.Changes {
				if c.Field == "txt" {
					seq = append(seq, "updated")
					if !strings.HasPrefix(c.Old, "key=value flag empty= bin=\\x00\\x01\\x7f\\x80\\xfe\\xff\"=\\x0a\\x09 dup=1 dup=2 long=xxx") || c.New != "key=value2 (1 string, 11 bytes)" {
						t.Errorf("TXT diff = %q -> %q", c.Old, c.New)
					}
				}
			}
		case e.Instance == "Edge" && e.Event == "removed":
			seq = append(seq, "removed:"+e.Cause)
		case e.Instance == "Empty" && e.Event == "added":
			if e.TXT.State != "empty" || e.TXT.RData != "00" {
				t.Errorf("Empty instance TXT = %+v, want the legal empty record", e.TXT)
			}
		}
	}
	if fmt.Sprint(seq) != "[added updated removed:goodbye]" {
		t.Errorf("Edge events = %v, want [added updated removed:goodbye]\nall: %+v", seq, got)
	}
}

// TestBrowseExpired: a publisher with 3 s TTLs killed with SIGKILL sends no
// goodbye; browse reports the instance removed (expired) after the TTL.
func TestBrowseExpired(t *testing.T) {
	lab := netlab.New(t, 2)
	py := requireZeroconf(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pub := lab.Host(2).Command(ctx, py, "testdata/zc_publish.py", "Short", "_p2p._tcp.local.", "4244", "10.88.0.2", "03613d31", "--ttl", "3")
	pubOut := netlab.Lines(t, pub)
	netlab.WaitLine(t, pubOut, 20*time.Second, func(l string) bool { return l == "registered" })
	br := lab.Host(1).Command(ctx, bin, "browse", "--json", "-i", "eth0", "_p2p._tcp")
	lines := netlab.Lines(t, br)
	netlab.WaitLine(t, lines, 10*time.Second, func(l string) bool { return strings.Contains(l, `"event":"added"`) })
	killed := time.Now()
	_ = syscall.Kill(-pub.Process.Pid, syscall.SIGKILL)
	_ = pub.Wait()
	l := netlab.WaitLine(t, lines, 15*time.Second, func(l string) bool { return strings.Contains(l, `"event":"removed"`) })
	if !strings.Contains(l, `"cause":"expired"`) {
		t.Errorf("removal = %s, want cause expired", l)
	}
	if d := time.Since(killed); d > 5*time.Second {
		t.Errorf("removed %v after the kill; TTL was 3 s", d)
	}
	_ = syscall.Kill(-br.Process.Pid, syscall.SIGINT)
	_ = br.Wait()
}
