package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bonjourctl/bonjourctl/advertise"
	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/internal/iostreams"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/mdns/mdnstest"
)

// onLAN runs bonjourctl with args as a new host of lan (each Listen is a
// new host, as each run is a new process) and returns the exit code,
// standard output and standard error.
func onLAN(lan *mdnstest.LAN, stdin string, args ...string) (int, string, string) {
	ios, in, out, errOut := iostreams.Test()
	in.WriteString(stdin)
	code := Run(context.Background(), lanFactory(lan, ios), args)
	return code, out.String(), errOut.String()
}

// lanFactory makes each Listen a new IPv4 host of lan with eth0 its only
// interface.
func lanFactory(lan *mdnstest.LAN, ios *iostreams.IOStreams) *Factory {
	var host *mdnstest.Net
	return &Factory{IOStreams: ios, Now: time.Now, Getenv: func(string) string { return "" },
		Listen: func(context.Context, mdns.Config) (Link, error) {
			host = lan.HostFamilies(true, false)
			return host, nil
		},
		Interfaces: func() ([]net.Interface, error) { return []net.Interface{mdnstest.Eth0}, nil },
		LocalStack: func() string { return "" },
		InterfaceAddrs: func(net.Interface) []netip.Addr {
			if host == nil {
				return nil
			}
			return []netip.Addr{host.Addr4}
		},
	}
}

// peer publishes "Node 1" on a host of lan until the test's bubble ends
// it (cancel), with the given TXT and faults.
func peer(t *testing.T, lan *mdnstest.LAN, txt []byte, faults advertise.Faults) (cancel func()) {
	h := lan.HostFamilies(true, false)
	r := advertise.New(h, advertise.Service{Instance: "Node 1", Type: "_p2p._tcp", Port: 4001, Host: "peer.local.", TXT: txt},
		advertise.Config{Faults: faults, Rand: func(n time.Duration) time.Duration { return n / 2 },
			InterfaceAddrs: func(net.Interface) []netip.Addr { return []netip.Addr{h.Addr4} }})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx, func(advertise.Event) error { return nil }) }()
	time.Sleep(3 * time.Second) // probed, announced, and a second since
	return func() { stop(); <-done }
}

func lanTest(t *testing.T, body func(t *testing.T, lan *mdnstest.LAN)) {
	synctest.Test(t, func(t *testing.T) {
		time.Local = time.UTC
		body(t, mdnstest.NewLAN())
	})
}

func TestBrowseOnLAN(t *testing.T) {
	lanTest(t, func(t *testing.T, lan *mdnstest.LAN) {
		defer peer(t, lan, []byte("\x09key=value"), advertise.Faults{})()
		code, out, errOut := onLAN(lan, "", "browse", "--once", "_p2p._tcp")
		want := regexp.MustCompile(`^00:00:03\.\d{3}  add  Node 1  _p2p._tcp  peer.local.:4001  10.88.0.1  txt key=value \(1 string, 10 bytes\)\n$`)
		if code != 0 || !want.MatchString(out) {
			t.Errorf("exit %d\n%s\nwant\n%s\n%s", code, out, want, errOut)
		}
		if !strings.Contains(errOut, "1 instances") {
			t.Errorf("stderr: %s", errOut)
		}
	})
}

func TestResolveOnLAN(t *testing.T) {
	lanTest(t, func(t *testing.T, lan *mdnstest.LAN) {
		stop := peer(t, lan, []byte("\x09key=value"), advertise.Faults{})
		code, out, errOut := onLAN(lan, "", "resolve", "Node 1", "_p2p._tcp")
		for _, want := range []string{
			"SRV   peer.local.:4001  from 10.88.0.1:5353 on eth0 (IP TTL 255), 00:00:03.000, TTL 120, cache-flush true\n",
			`TXT   10 bytes [9]"key=value"  from 10.88.0.1:5353 on eth0 (IP TTL 255)`,
			"A     10.88.0.1  from 10.88.0.1:5353 on eth0",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("no %q in\n%s", want, out)
			}
		}
		if code != 0 {
			t.Errorf("exit %d: %s", code, errOut)
		}
		code, out, _ = onLAN(lan, "", "resolve", "--json", "Node 1", "_p2p._tcp")
		var j resolveJSON
		if err := json.Unmarshal([]byte(out), &j); err != nil || code != 0 || !j.Complete || j.TXT.State != "present" || j.TXT.RData != "096b65793d76616c7565" || len(j.Addrs) != 1 || len(j.Packets) == 0 {
			t.Errorf("--json: exit %d, %v: %s", code, err, out)
		}
		stop()
		code, _, errOut = onLAN(lan, "", "resolve", "--timeout", "2500ms", "Nobody", "_p2p._tcp")
		if code != 1 || errOut != `resolving Nobody._p2p._tcp.local. (SRV, TXT, then addresses; asking again at 1 s, 2 s... for what is missing); waiting 2.5s`+"\n"+
			`bonjourctl: no TXT record for Nobody._p2p._tcp.local. within 2.5s (no answer at all; asked 2 times)`+"\n" {
			t.Errorf("nobody: exit %d, stderr %q", code, errOut)
		}
	})
}

// TestResolveZeroLengthOnLAN: a zero-length TXT is named as such, with its
// bytes (none), and exits 1; the JSON says "zero-length", never null.
func TestResolveZeroLengthOnLAN(t *testing.T) {
	lanTest(t, func(t *testing.T, lan *mdnstest.LAN) {
		defer peer(t, lan, nil, advertise.Faults{ZeroLengthTXT: true})()
		code, out, errOut := onLAN(lan, "", "resolve", "Node 1", "_p2p._tcp")
		if code != 1 || !strings.Contains(out, "TXT   0 bytes (zero-length rdata)") || !strings.Contains(out, "zero-length RDATA: no strings at all") ||
			!strings.Contains(errOut, "is zero-length RDATA (0 bytes): illegal (RFC 6763 §6.1)") {
			t.Errorf("exit %d\n%s\n%s", code, out, errOut)
		}
		_, out, _ = onLAN(lan, "", "resolve", "--json", "Node 1", "_p2p._tcp")
		if !strings.Contains(out, `"txt":{"state":"zero-length","rdata":""`) {
			t.Errorf("--json: %s", out)
		}
	})
}

func TestQueryOnLAN(t *testing.T) {
	lanTest(t, func(t *testing.T, lan *mdnstest.LAN) {
		defer peer(t, lan, []byte("\x09key=value"), advertise.Faults{})()
		code, out, errOut := onLAN(lan, "", "query", "Node 1._p2p._tcp", "TXT")
		if code != 0 || !strings.HasPrefix(out, "answer 1 (multicast reply):\n") || !strings.Contains(out, `an Node\ 1._p2p._tcp.local. TXT IN flush ttl 4500 [9]"key=value"`) {
			t.Errorf("exit %d\n%s\n%s", code, out, errOut)
		}
		code, out, _ = onLAN(lan, "", "query", "--legacy", "peer.local", "A")
		if code != 0 || !strings.Contains(out, "(unicast reply; query ID") || !strings.Contains(out, "echoed") || !strings.Contains(out, "an peer.local. A IN ttl 10 10.88.0.1") {
			t.Errorf("--legacy: exit %d\n%s", code, out)
		}
		code, _, errOut = onLAN(lan, "", "query", "--timeout", "2500ms", "nobody.local", "A")
		if code != 1 || !strings.Contains(errOut, "no answer for nobody.local. A within 2.5s (asked 2 times)") {
			t.Errorf("nobody: exit %d: %s", code, errOut)
		}
	})
}

// TestAdvertiseOnLAN: advertise prints its records, probes, announces and
// says goodbye; a browser on another host sees it come and go.
func TestAdvertiseOnLAN(t *testing.T) {
	lanTest(t, func(t *testing.T, lan *mdnstest.LAN) {
		h := lan.HostFamilies(true, false)
		b := browse.New(h, browse.Config{})
		b.Browse("_p2p._tcp")
		ctx, cancel := context.WithCancel(context.Background())
		var evs []browse.Event
		done := make(chan error)
		go func() { done <- b.Run(ctx, func(e browse.Event) error { evs = append(evs, e); return nil }) }()
		code, out, errOut := onLAN(lan, "", "advertise", "Adv", "_p2p._tcp", "4001", "--host", "adv", "--ip", "10.88.0.9", "--txt", "k=v", "--duration", "3s")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var steps []string
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) > 1 && strings.Contains(f[0], ":") {
				steps = append(steps, f[1])
			}
		}
		if got := strings.Join(steps, " "); got != "probing announced announced goodbye" {
			t.Errorf("steps %q\n%s", got, out)
		}
		time.Sleep(2 * time.Second)
		cancel()
		<-done
		var kinds []string
		for _, e := range evs {
			k := string(e.Kind)
			if len(e.Changes) > 0 {
				k += " " + e.Changes[0].Field + "=" + e.Changes[0].New
			}
			kinds = append(kinds, k)
		}
		// added, refreshed by the second announcement, the goodbye as it
		// arrives, removed a second later.
		if strings.Join(kinds, ", ") != "added, refreshed, updated state=goodbye, removed" || evs[0].Service.Instance != "Adv" ||
			string(evs[0].Service.TXTRaw) != "\x03k=v" || evs[3].Cause != browse.CauseGoodbye {
			t.Errorf("the browser saw %s", kinds)
		}
	})
}

func TestCheckOnLAN(t *testing.T) {
	lanTest(t, func(t *testing.T, lan *mdnstest.LAN) {
		defer peer(t, lan, nil, advertise.Faults{ZeroLengthTXT: true})()
		code, out, errOut := onLAN(lan, "", "check", "--active", "-d", "5s", "_p2p._tcp")
		if code != 1 || !strings.Contains(out, "fail 10.88.0.1 (peer.local)  txt-zero-length-rdata:") {
			t.Errorf("exit %d\n%s\n%s", code, out, errOut)
		}
	})
}

func TestDoctorOnLAN(t *testing.T) {
	lanTest(t, func(t *testing.T, lan *mdnstest.LAN) {
		defer peer(t, lan, []byte("\x09key=value"), advertise.Faults{})()
		code, out, errOut := onLAN(lan, "", "doctor", "-i", "eth0", "--wait", "2s", "Node 1", "_p2p._tcp")
		if !strings.HasPrefix(out, "verdict: TXT record is on the wire (1 string, 10 bytes, from 10.88.0.1 on eth0)\n") {
			t.Errorf("exit %d\n%s\n%s", code, out, errOut)
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "fail answers") || strings.HasPrefix(l, "warn answers") || strings.HasPrefix(l, "fail txt") {
				t.Errorf("%s", l)
			}
		}
	})
}

// TestTUIOnLAN: the TUI, given keystrokes on standard input, shows the
// peer's instance with its TXT and quits on q.
func TestTUIOnLAN(t *testing.T) {
	lanTest(t, func(t *testing.T, lan *mdnstest.LAN) {
		defer peer(t, lan, []byte("\x09key=value"), advertise.Faults{})()
		ios, in, out, errOut := iostreams.Test()
		ios.SetStdinTTY(true)
		ios.SetStdoutTTY(true)
		r, w := io.Pipe()
		ios.In = r
		f := lanFactory(lan, ios)
		done := make(chan int)
		go func() { done <- Run(context.Background(), f, []string{"tui", "--no-color", "_p2p._tcp"}) }()
		time.Sleep(3 * time.Second)
		w.Write([]byte("q"))
		code := <-done
		w.Close()
		time.Sleep(2 * time.Second) // the UI's last tick ends
		_ = in
		if code != 0 || !strings.Contains(out.String(), "Node 1") || !strings.Contains(out.String(), "key=value") {
			t.Errorf("exit %d, stderr %q, screen:\n%s", code, errOut.String(), lastScreen(out.Bytes()))
		}
	})
}

func lastScreen(b []byte) string {
	if i := bytes.LastIndex(b, []byte("\x1b[H")); i >= 0 {
		return string(b[i:])
	}
	return string(b)
}

// TestCapturePcapFull: a pcapng file that cannot be written (a full disk)
// stops the capture with the error, exit 1, and the summary does not claim
// packets written.
func TestCapturePcapFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here")
	}
	lanTest(t, func(t *testing.T, lan *mdnstest.LAN) {
		defer peer(t, lan, []byte("\x09key=value"), advertise.Faults{})()
		done := make(chan struct{})
		var code int
		var errOut string
		go func() {
			defer close(done)
			code, _, errOut = onLAN(lan, "", "capture", "--pcap", "/dev/full", "-d", "3s")
		}()
		time.Sleep(100 * time.Millisecond)
		_, _, _ = onLAN(lan, "", "query", "--timeout", "1s", "Node 1._p2p._tcp", "TXT") // traffic
		<-done
		if code != 1 || !strings.Contains(errOut, "0 written to /dev/full") || !strings.Contains(errOut, "no space left on device") {
			t.Errorf("exit %d, stderr:\n%s", code, errOut)
		}
	})
}
