//go:build linux

package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
)

// noTXTPublish announces args[0] (_p2p._tcp) on host args[1] with address
// args[2] every second, PTR, SRV and A but never a TXT record, as a broken
// firmware does; it prints "announcing" and runs for 60 s or until SIGTERM.
func noTXTPublish(args []string) int {
	inst := dns.Fqdn(strings.ReplaceAll(args[0], " ", `\ `) + "._p2p._tcp.local")
	host := dns.Fqdn(args[1] + ".local")
	m := new(dns.Msg)
	m.Response, m.Authoritative = true, true
	m.Answer = []dns.RR{
		&dns.PTR{Hdr: dns.RR_Header{Name: "_p2p._tcp.local.", Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 4500}, Ptr: inst},
		&dns.SRV{Hdr: dns.RR_Header{Name: inst, Rrtype: dns.TypeSRV, Class: dns.ClassINET | 1<<15, Ttl: 120}, Port: 4400, Target: host},
		&dns.A{Hdr: dns.RR_Header{Name: host, Rrtype: dns.TypeA, Class: dns.ClassINET | 1<<15, Ttl: 120}, A: net.ParseIP(args[2])},
	}
	b, err := m.Pack()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Port 5353 beside the other responders on this host (grandcat's).
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
			if serr == nil {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, 0xf /* SO_REUSEPORT */, 1)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	c, err := lc.ListenPacket(context.Background(), "udp4", ":5353")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("announcing")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	for i := 0; i < 60 && ctx.Err() == nil; i++ {
		if _, err := c.WriteTo(b, &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return 0
}

// TestTUIScenario plays the developer's day in tmux at 140x40: five
// publishers (bonjourctl, avahi-daemon, python3-zeroconf, grandcat/zeroconf
// with its zero-length TXT, and one that never sends TXT); the title
// counts the problems, the filter finds the instance without TXT, its pane
// says who answered what and how often TXT was asked, r reports the
// re-query, the screen fits 40 columns after a resize, and Ctrl-C exits
// 130.
func TestTUIScenario(t *testing.T) {
	lab := netlab.New(t, 3)
	py := requireZeroconf(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	exitFile := filepath.Join(t.TempDir(), "exit")
	tm := netlab.NewTmux(t, ctx, fmt.Sprintf("ip netns exec %s %s tui -i eth0 -4 _p2p._tcp; echo $? > %s; sleep 30", lab.Host(1).NS, bin, exitFile))
	tm.Wait("waiting for instances", 10*time.Second)

	lab.Host(2).StartAvahi(t, ctx, netlab.AvahiConfig{HostName: "avahi-host", Services: map[string]string{"node": avahiNode}})
	adv := lab.Host(2).Command(ctx, bin, "advertise", "BJ Node", "_p2p._tcp", "4001", "-i", "eth0", "-4", "--host", "bjnode", "--txt", "key=value")
	netlab.Lines(t, adv)
	zc := lab.Host(3).Command(ctx, py, "testdata/zc_publish.py", "ZC Node", "_p2p._tcp.local.", "4002", lab.Host(3).IPv4.String(), "096b65793d76616c7565", "--lifetime", "90")
	netlab.WaitLine(t, netlab.Lines(t, zc), 20*time.Second, func(l string) bool { return l == "registered" })
	gc := lab.Host(3).Func(ctx, "grandcat", "GC Empty")
	netlab.WaitLine(t, netlab.Lines(t, gc), 20*time.Second, func(l string) bool { return l == "registered" })
	quiet := lab.Host(3).Func(ctx, "notxt", "Quiet Node", "quiethost", lab.Host(3).IPv4.String())
	netlab.WaitLine(t, netlab.Lines(t, quiet), 20*time.Second, func(l string) bool { return l == "announcing" })
	defer func() {
		for _, c := range []*exec.Cmd{adv, zc, gc, quiet} {
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
			_ = c.Wait()
		}
	}()

	s := tm.Wait("5 instances of _p2p._tcp", 20*time.Second)
	for _, want := range []string{"1 missing TXT", "1 zero-length TXT", "Avahi Node", "BJ Node", "ZC Node", "GC Empty", "Quiet Node"} {
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q:\n%s", want, s)
		}
	}
	// The filter finds the instance without TXT by its state.
	tm.Keys("/", "missing", "Enter")
	tm.Wait(`filter "missing": 1 shown`, 5*time.Second)
	s = tm.Wait("never TXT", 5*time.Second)
	if !strings.Contains(s, lab.Host(3).IPv4.String()+" answered A and SRV, never TXT") && !strings.Contains(s, lab.Host(3).IPv4.String()+" answered A and PTR and SRV, never TXT") {
		t.Errorf("the pane does not say who answered what:\n%s", s)
	}
	if !strings.Contains(s, "asked TXT") {
		t.Errorf("the pane does not count the TXT questions:\n%s", s)
	}
	tm.Keys("r")
	tm.Wait("no TXT answer in 1 s", 5*time.Second)
	// The same screen at 40 columns: every line fits, the badge is whole.
	tm.Resize(40, 30)
	s = tm.Wait("missing", 5*time.Second)
	for i, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if n := len([]rune(l)); n > 40 {
			t.Errorf("line %d is %d columns at 40: %q", i, n, l)
		}
	}
	tm.Keys("C-c")
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(exitFile)
		if err == nil && strings.TrimSpace(string(b)) != "" {
			if code := strings.TrimSpace(string(b)); code != "130" {
				t.Errorf("Ctrl-C: exit %s, want 130", code)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the TUI did not exit on Ctrl-C; screen:\n%s", tm.Screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
