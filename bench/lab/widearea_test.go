//go:build linux

package lab

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
	"github.com/bonjourctl/bonjourctl/widearea"
)

// wideBenchInstances is the size of the zone TestWideAreaBrowse browses.
const wideBenchInstances = 1000

// benchZone is example.test with n instances of _bench._tcp, each on its
// own host with an A record: every instance costs a browser an SRV, a TXT
// and an A question.
func benchZone(n int) string {
	var b strings.Builder
	b.WriteString("$ORIGIN example.test.\n$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 10.88.0.2\n")
	b.WriteString("b._dns-sd._udp PTR @\n_services._dns-sd._udp PTR _bench._tcp\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "_bench._tcp PTR node%04d._bench._tcp\n", i)
		fmt.Fprintf(&b, "node%04d._bench._tcp SRV 0 0 %d h%04d\n", i, 4000+i%1000, i)
		fmt.Fprintf(&b, "node%04d._bench._tcp TXT \"id=%d\" \"model=bench\"\n", i, i)
		fmt.Fprintf(&b, "h%04d A 10.90.%d.%d\n", i, i/250, 1+i%250)
	}
	return b.String()
}

// TestWideAreaBrowse: a domain of 1,000 instances on BIND 9. bonjourctl
// browse --once --domain (8 questions in flight at most) until every
// instance is resolved and the process ends, with the queries it sent;
// against avahi-browse -r -t -d (avahi-daemon's wide-area browser) on the
// same zone.
func TestWideAreaBrowse(t *testing.T) {
	lab := netlab.New(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	// BIND 9.18.28 and later refuse an RRset of over 100 records unless
	// told otherwise: a type with 1,000 instances is one PTR RRset.
	lab.Host(2).StartNamed(t, ctx, netlab.NamedConfig{Zones: map[string]string{"example.test": benchZone(wideBenchInstances)}, Options: []string{"max-records-per-type 0;"}})
	n := min(runs(), 5)
	queriesRe := regexp.MustCompile(`(\d+) queries sent`)
	var times []time.Duration
	var queries string
	for r := 0; r < n; r++ {
		cmd := lab.Host(1).Command(ctx, bin, "browse", "--once", "--json", "--domain", "example.test", "--server", "10.88.0.2", "_bench._tcp")
		var errOut netlab.Buffer
		cmd.Stderr = &errOut
		start := time.Now()
		out, err := cmd.Output()
		d := time.Since(start)
		if err != nil {
			t.Fatalf("browse: %v\n%s", err, errOut.String())
		}
		resolved := strings.Count(string(out), `"state":"live"`)
		if resolved != wideBenchInstances {
			t.Fatalf("run %d: %d of %d instances live\n%s", r, resolved, wideBenchInstances, errOut.String())
		}
		if m := queriesRe.FindStringSubmatch(errOut.String()); m != nil {
			queries = m[1]
		}
		times = append(times, d)
	}
	t.Logf("bonjourctl browse --once --domain, %d instances: %s median (runs %v), %s queries a run (1 PTR + SRV, TXT, A each), at most 8 in flight",
		wideBenchInstances, ms(median(times)), roundAll(times), queries)

	// avahi-browse against the same zone, its daemon on host 3 restarted
	// for each run (an empty cache).
	netlab.LookPath(t, "avahi-browse")
	var atimes []time.Duration
	for r := 0; r < 1; r++ {
		av := lab.Host(3).StartAvahi(t, ctx, netlab.AvahiConfig{DBus: true, WideAreaServer: lab.Host(2).IPv4})
		ab := lab.Host(3).Command(ctx, "avahi-browse", "-r", "-p", "-d", "example.test", "_bench._tcp")
		ab.Env = append(ab.Env, "DBUS_SYSTEM_BUS_ADDRESS="+av.BusAddress)
		pipe, err := ab.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := ab.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		var got, found atomic.Int32
		go func() {
			defer close(done)
			sc := bufio.NewScanner(pipe)
			for sc.Scan() {
				switch {
				case strings.HasPrefix(sc.Text(), "+;"):
					found.Add(1)
				case strings.HasPrefix(sc.Text(), "=;"):
					if got.Add(1) == wideBenchInstances {
						return
					}
				}
			}
		}()
		select {
		case <-done:
			if got.Load() == wideBenchInstances {
				atimes = append(atimes, time.Since(start))
			} else {
				t.Logf("avahi-browse run %d: output ended after %d found, %d resolved", r, found.Load(), got.Load())
			}
		case <-time.After(time.Minute):
			t.Logf("avahi-browse run %d: %d of %d found, %d resolved within 1 min", r, found.Load(), wideBenchInstances, got.Load())
		}
		_ = syscall.Kill(-ab.Process.Pid, syscall.SIGKILL)
		_ = ab.Wait()
		av.Stop()
	}
	t.Logf("avahi-browse -r -d, %d instances: %s median (runs %v)", wideBenchInstances, ms(median(atimes)), roundAll(atimes))
}

// TestWideAreaRegisterToVisible: from advertise --domain starting until
// the server has the instance (its update acknowledged, then confirmed by
// a question), and until a bonjourctl browse --domain already running
// (--poll-floor 1s) reports it; against nsupdate -k adding the same
// records.
func TestWideAreaRegisterToVisible(t *testing.T) {
	lab := netlab.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	keyOut, err := exec.Command(netlab.LookPath(t, "tsig-keygen"), "bctl-key").Output()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "k.key")
	if err := os.WriteFile(keyFile, keyOut, 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := widearea.ParseKeyFile(strings.NewReader(string(keyOut)), keyFile)
	if err != nil {
		t.Fatal(err)
	}
	lab.Host(2).StartNamed(t, ctx, netlab.NamedConfig{
		Zones:     map[string]string{"example.test": benchZone(0)},
		Keys:      map[string]string{"bctl-key": "hmac-sha256 " + key.Secret},
		UpdateKey: "bctl-key",
	})
	br := lab.Host(1).Command(ctx, bin, "browse", "--domain", "example.test", "--server", "10.88.0.2", "--poll-floor", "1s", "_vis._tcp")
	var brErr netlab.Buffer
	br.Stderr = &brErr
	lines := netlab.Lines(t, br)
	n := runs()
	var ack, fresh, seen, nsu []time.Duration
	for r := 0; r < n; r++ {
		inst := fmt.Sprintf("vis%d", r)
		start := time.Now()
		// TTL 1: the running browser polls the PTR every second (its
		// floor); with the default 120 s it would see a new instance only
		// when the PTR it holds expires.
		adv := lab.Host(1).Command(ctx, bin, "advertise", inst, "_vis._tcp", "4001", "--txt", "k=v", "--domain", "example.test",
			"--server", "10.88.0.2", "--tsig-file", keyFile, "--host", "ns1", "--ttl-host", "1", "--ttl-other", "1")
		al := netlab.Lines(t, adv)
		netlab.WaitLine(t, al, 10*time.Second, netlab.Containing("registered"))
		ack = append(ack, time.Since(start))
		if out, err := lab.Host(1).Command(ctx, bin, "resolve", inst, "_vis._tcp", "--domain", "example.test", "--server", "10.88.0.2").CombinedOutput(); err != nil {
			t.Errorf("run %d: resolve right after the acknowledgement: %v\n%s", r, err, out)
		} else {
			fresh = append(fresh, time.Since(start))
		}
		if _, ok := netlab.NextLine(lines, 5*time.Second, netlab.Containing("add  "+inst+" ")); ok {
			seen = append(seen, time.Since(start))
		} else {
			t.Errorf("run %d: the running browse did not report %s within 5 s\n%s", r, inst, brErr.String())
		}
		_ = adv.Process.Signal(syscall.SIGTERM)
		_ = adv.Wait()

		script := fmt.Sprintf("server 10.88.0.2\nzone example.test\nupdate add _vis._tcp.example.test. 120 PTR n%d._vis._tcp.example.test.\nupdate add n%d._vis._tcp.example.test. 120 SRV 0 0 4001 ns1.example.test.\nupdate add n%d._vis._tcp.example.test. 120 TXT \"k=v\"\nsend\n", r, r, r)
		nc := lab.Host(1).Command(ctx, "nsupdate", "-k", keyFile)
		nc.Stdin = strings.NewReader(script)
		start = time.Now()
		if out, err := nc.CombinedOutput(); err != nil {
			t.Fatalf("nsupdate: %v\n%s", err, out)
		}
		nsu = append(nsu, time.Since(start))
	}
	t.Logf("advertise --domain start to update acknowledged (TSIG-signed, SOA lookup, address check, prerequisite): %s median (runs %v)", ms(median(ack)), roundAll(ack))
	t.Logf("advertise --domain start to a bonjourctl resolve --domain started after the acknowledgement succeeding: %s median (runs %v)", ms(median(fresh)), roundAll(fresh))
	t.Logf("advertise --domain start to a running browse --domain --poll-floor 1s reporting it: %s median (runs %v)", ms(median(seen)), roundAll(seen))
	t.Logf("nsupdate -k start to exit (the same records, one update): %s median (runs %v)", ms(median(nsu)), roundAll(nsu))
}
