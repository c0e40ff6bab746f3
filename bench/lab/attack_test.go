//go:build linux

package lab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
)

// The attacks of hostile traffic, each sent from host 3 for
// attackSeconds() at the rate given, while browse, capture, check and the
// TUI run on host 1 and a legitimate service starts on host 2 halfway.
var attacks = []struct {
	name string
	mode string
	rate int // packets a second
}{
	{"TXT of 65,000 zero bytes (lint amplification)", "lint", 3},
	{"one service announced over and over", "announce", 5000},
	{"30,000 instances on one host", "one-host", 2000},
	{"60,000 instances on distinct hosts", "many-hosts", 2000},
	{"TTL 0xFFFFFFFF on 10,000 names", "ttl", 1000},
	{"50 new service types a packet", "types", 5},
}

func attackSeconds() int {
	if n, err := strconv.Atoi(os.Getenv("BONJOURCTL_ATTACK_SECONDS")); err == nil && n > 0 {
		return n
	}
	return 60
}

// flood sends attack packets: flood MODE SECONDS RATE. It runs in a lab
// host (netlab.Host.Func) and prints "sent N" at the end.
func flood(args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: flood MODE SECONDS RATE")
		return 2
	}
	mode := args[0]
	secs, _ := strconv.Atoi(args[1])
	rate, _ := strconv.Atoi(args[2])
	c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: 5353})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pc := ipv4.NewPacketConn(c)
	_ = pc.SetMulticastTTL(255)
	_ = pc.SetMulticastLoopback(false)
	dst := &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}
	end := time.Now().Add(time.Duration(secs) * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	sent, due := 0, 0.0
	start := time.Now()
	for now := range tick.C {
		if now.After(end) {
			break
		}
		due = now.Sub(start).Seconds() * float64(rate)
		for float64(sent) < due {
			b, err := floodPacket(mode, sent)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			if _, err := c.WriteTo(b, dst); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			sent++
		}
	}
	fmt.Printf("sent %d\n", sent)
	return 0
}

func floodPacket(mode string, i int) ([]byte, error) {
	m := new(dns.Msg)
	m.Response, m.Authoritative = true, true
	hdr := func(name string, t uint16, ttl uint32, flush bool) dns.RR_Header {
		cls := uint16(dns.ClassINET)
		if flush {
			cls |= 1 << 15
		}
		return dns.RR_Header{Name: name, Rrtype: t, Class: cls, Ttl: ttl}
	}
	service := func(inst, host string, ttl uint32, a net.IP) {
		m.Answer = append(m.Answer,
			&dns.PTR{Hdr: hdr("_p2p._tcp.local.", dns.TypePTR, ttl, false), Ptr: inst},
			&dns.SRV{Hdr: hdr(inst, dns.TypeSRV, ttl, true), Port: 4001, Target: host},
			&dns.TXT{Hdr: hdr(inst, dns.TypeTXT, ttl, true), Txt: []string{"key=value"}},
			&dns.A{Hdr: hdr(host, dns.TypeA, ttl, true), A: a})
	}
	switch mode {
	case "lint":
		m.Answer = []dns.RR{&dns.TXT{Hdr: hdr(fmt.Sprintf("lint-%d._p2p._tcp.local.", i%100), dns.TypeTXT, 4500, true), Txt: make([]string, 65000)}}
	case "announce":
		service("Same._p2p._tcp.local.", "same.local.", 4500, net.IPv4(10, 88, 0, 3))
	case "one-host":
		service(fmt.Sprintf("node-%05d._p2p._tcp.local.", i%30000), "flood.local.", 4500, net.IPv4(10, 88, 0, 3))
	case "many-hosts":
		n := i % 60000
		service(fmt.Sprintf("node-%05d._p2p._tcp.local.", n), fmt.Sprintf("host-%05d.local.", n), 4500, net.IPv4(10, 88, byte(n>>8), byte(n)))
	case "ttl":
		n := i % 10000
		service(fmt.Sprintf("ttl-%05d._p2p._tcp.local.", n), fmt.Sprintf("ttl-%05d.local.", n), 0xffffffff, net.IPv4(10, 88, byte(n>>8), byte(n)))
	case "instances": // 10,000 instances, one a packet
		n := i % 10000
		service(fmt.Sprintf("node-%05d._p2p._tcp.local.", n), fmt.Sprintf("host-%05d.local.", n), 4500, net.IPv4(10, 88, byte(n>>8), byte(n)))
	case "updates": // a new TXT for one of the 10,000 instances
		n := (i * 7919) % 10000
		inst := fmt.Sprintf("node-%05d._p2p._tcp.local.", n)
		m.Answer = []dns.RR{&dns.TXT{Hdr: hdr(inst, dns.TypeTXT, 4500, true), Txt: []string{fmt.Sprintf("key=value%d", i)}}}
	case "types":
		for j := range 50 {
			m.Answer = append(m.Answer, &dns.PTR{Hdr: hdr("_services._dns-sd._udp.local.", dns.TypePTR, 4500, false), Ptr: fmt.Sprintf("_t%05d._tcp.local.", (i*50+j)%15000)})
		}
	default:
		return nil, fmt.Errorf("flood: no mode %q", mode)
	}
	return m.Pack()
}

// proc samples a process's peak resident memory and its CPU time.
type proc struct{ pid int }

// rssMB returns the peak resident set (VmHWM) in MB.
func (p proc) rssMB() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	return -1
}

// cpu returns the CPU time used so far (user and system).
func (p proc) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 on
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100
}

// descendant returns the PID of the process named comm under pid (pid
// itself included), or 0.
func descendant(pid int, comm string) int {
	if c, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(c)) == comm {
		return pid
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if ppid, _ := strconv.Atoi(f[1]); ppid == pid {
			child, _ := strconv.Atoi(strings.Split(p, "/")[2])
			if d := descendant(child, comm); d != 0 {
				return d
			}
		}
	}
	return 0
}

// watch reads r to the end and sends the time it first sees needle (the
// stream is scanned in chunks, not lines: a line may be megabytes long);
// end returns the stream's last 4 KiB once it has ended.
func watch(r io.Reader, needle string) (seen <-chan time.Time, end func() string) {
	ch := make(chan time.Time, 1)
	done := make(chan struct{})
	var last []byte
	go func() {
		defer close(done)
		buf := make([]byte, 256<<10)
		found := false
		for {
			n, err := r.Read(buf)
			if n > 0 {
				chunk := append(last, buf[:n]...)
				if !found && bytes.Contains(chunk, []byte(needle)) {
					found = true
					ch <- time.Now()
				}
				last = append([]byte(nil), chunk[max(0, len(chunk)-4096):]...)
			}
			if err != nil {
				return
			}
		}
	}()
	return ch, func() string { <-done; return string(last) }
}

// TestAttacks: for each attack, browse, capture, check and the TUI run on
// host 1 beside each other; their peak RSS, CPU and the delay before
// they show a legitimate service announced during the attack are
// measured, and what each reports as dropped or evicted is recorded.
func TestAttacks(t *testing.T) {
	secs := attackSeconds()
	var table strings.Builder
	fmt.Fprintf(&table, "\nattacks from host 3, %d s each; browse, capture, check and the TUI on host 1 at once (2 cores in all):\n", secs)
	table.WriteString("| attack | rate | victim | peak RSS | CPU (cores) | legitimate service shown after | what it reported |\n|---|---|---|---|---|---|---|\n")
	for _, a := range attacks {
		t.Run(a.mode, func(t *testing.T) {
			lab := netlab.New(t, 3)
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs+60)*time.Second)
			defer cancel()
			type victim struct {
				name   string
				pid    int
				seen   <-chan time.Time
				stdout func() string // its last 4 KiB, after stop
				stderr *bytes.Buffer
				stop   func()
			}
			var victims []*victim
			// What shows the legitimate service: an instance line, or for
			// capture its announcement's SRV (its probes came before).
			needles := map[string]string{"capture": `an Legit\ Node._p2p._tcp.local. SRV`}
			start := func(name string, natural bool, args ...string) {
				cmd := lab.Host(1).Command(ctx, bin, args...)
				out, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				v := &victim{name: name, stderr: &bytes.Buffer{}}
				cmd.Stderr = v.stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				v.pid = cmd.Process.Pid
				needle := needles[name]
				if needle == "" {
					needle = "Legit"
				}
				v.seen, v.stdout = watch(out, needle)
				v.stop = func() {
					if !natural {
						_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
					}
					_ = cmd.Wait()
				}
				victims = append(victims, v)
			}
			start("browse", false, "browse", "--json", "-i", "eth0", "-4")
			start("capture", false, "capture", "-i", "eth0", "-4")
			// check ends by itself a little after the attack, and reports.
			start("check", true, "check", "-i", "eth0", "-4", "--duration", fmt.Sprintf("%ds", secs+10))
			tm := netlab.NewTmux(t, ctx, "ip netns exec "+lab.Host(1).NS+" "+bin+" tui -i eth0 -4")
			tm.Wait("waiting for", 10*time.Second)
			tm.Keys("/", "Legit", "Enter")
			tuiSeen := make(chan time.Time, 1)
			go func() {
				for ctx.Err() == nil {
					if strings.Contains(tm.Screen(), "Legit Node") {
						tuiSeen <- time.Now()
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}()
			victims = append(victims, &victim{name: "tui", pid: descendant(tm.PanePID(), "bonjourctl"), seen: tuiSeen, stderr: &bytes.Buffer{}, stop: func() {}})
			cpu0 := make([]time.Duration, len(victims))
			for i, v := range victims {
				cpu0[i] = proc{v.pid}.cpu()
			}
			t0 := time.Now()
			fl := lab.Host(3).Func(ctx, "flood", a.mode, strconv.Itoa(secs), strconv.Itoa(a.rate))
			flOut := netlab.Lines(t, fl)
			time.Sleep(time.Duration(secs) * time.Second / 2)
			adv := lab.Host(2).Command(ctx, bin, "advertise", "Legit Node", "_p2p._tcp", "4002", "-i", "eth0", "-4", "--host", "legit")
			advOut := netlab.Lines(t, adv)
			netlab.WaitLine(t, advOut, 10*time.Second, netlab.Containing("announced (1 of 2)"))
			announced := time.Now()
			sentLine := netlab.WaitLine(t, flOut, time.Duration(secs)*time.Second, netlab.Containing("sent "))
			wall := time.Since(t0)
			for i, v := range victims {
				rss, cpu := proc{v.pid}.rssMB(), (proc{v.pid}.cpu() - cpu0[i])
				shown := "not shown"
				select {
				case at := <-v.seen:
					shown = ms(max(0, at.Sub(announced)))
				default:
					if v.name == "check" {
						shown = "(judges, does not list)"
					}
				}
				v.stop()
				report := strings.Join(strings.Fields(lastLines(v.stderr.String(), 3)), " ")
				switch v.name {
				case "tui":
					report = statusLine(tm.Screen())
				case "check":
					report = strings.Join(strings.Fields(lastLines(v.stdout(), 4)), " ")
				}
				fmt.Fprintf(&table, "| %s | %d/s (%s) | %s | %.0f MB | %.2f | %s | %s |\n", a.name, a.rate, strings.TrimPrefix(sentLine, "sent "), v.name, rss, cpu.Seconds()/wall.Seconds(), shown, report)
				if rss > 150 {
					t.Errorf("%s under %q: peak RSS %.0f MB, over 150 MB", v.name, a.name, rss)
				}
			}
			_ = syscall.Kill(-adv.Process.Pid, syscall.SIGINT)
			_ = adv.Wait()
		})
	}
	t.Log(table.String())
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], " / ")
}

// statusLine returns the TUI's status line (the screen's last non-empty line).
func statusLine(screen string) string {
	l := strings.Split(strings.TrimRight(screen, "\n "), "\n")
	return strings.TrimSpace(l[len(l)-1])
}

// TestTUIKeyToScreen: the TUI in tmux with 10,000 instances and 1,000
// updates a second arriving; the time from a key press (j) to the screen
// showing the next instance's pane, 30 presses.
func TestTUIKeyToScreen(t *testing.T) {
	lab := netlab.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tm := netlab.NewTmux(t, ctx, "ip netns exec "+lab.Host(1).NS+" "+bin+" tui -i eth0 -4 _p2p._tcp")
	tm.Wait("waiting for", 10*time.Second)
	// 10,000 instances at 2,000 a second, then TXT changes at 1,000 a second.
	fl := lab.Host(2).Func(ctx, "flood", "instances", "5", "2000")
	netlab.WaitLine(t, netlab.Lines(t, fl), time.Minute, netlab.Containing("sent "))
	tm.Wait("10000 instances", 30*time.Second)
	up := lab.Host(2).Func(ctx, "flood", "updates", "60", "1000")
	netlab.Lines(t, up)
	time.Sleep(2 * time.Second)
	header := func(s string) string {
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "── detail: ") {
				return strings.Fields(l)[2]
			}
		}
		return ""
	}
	var lat []time.Duration
	for range 30 {
		before := header(tm.Screen())
		start := time.Now()
		tm.Keys("j")
		for time.Since(start) < 2*time.Second {
			if h := header(tm.Screen()); h != "" && h != before {
				lat = append(lat, time.Since(start))
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
	}
	slices.Sort(lat)
	if len(lat) < 30 {
		t.Errorf("%d of 30 key presses moved the selection within 2 s", len(lat))
	}
	if len(lat) > 0 {
		t.Logf("\nTUI key to screen (tmux, 10,000 instances, 1,000 TXT updates/s): median %s, p90 %s, max %s over %d presses (tmux capture polling adds up to ~5 ms)",
			ms(lat[len(lat)/2]), ms(lat[len(lat)*9/10]), ms(lat[len(lat)-1]), len(lat))
	}
}
