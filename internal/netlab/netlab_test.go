//go:build linux

package netlab_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
	"github.com/bonjourctl/bonjourctl/mdns"
)

func TestMain(m *testing.M) {
	os.Exit(netlab.Main(m, map[string]func([]string) int{
		"listen": listen,
		"send":   send,
	}))
}

type heard struct {
	Family int    `json:"family"`
	Src    string `json:"src"`
	Iface  string `json:"iface"`
	Hop    int    `json:"hop"`
	QName  string `json:"qname"`
}

// listen joins the groups on eth0, prints "ready", then one JSON line per
// packet for args[0] seconds.
func listen(args []string) int {
	d, _ := time.ParseDuration(args[0])
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	c, err := mdns.Listen(ctx, mdns.Config{Interfaces: []string{"eth0"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	sub := c.Subscribe("listen", 0)
	fmt.Println("ready")
	enc := json.NewEncoder(os.Stdout)
	for {
		p, err := sub.Recv(ctx)
		if err != nil {
			return 0
		}
		m, _ := mdns.Parse(p.Raw)
		h := heard{Family: p.Family(), Src: p.Src.Addr().String(), Iface: p.IfName, Hop: p.HopLimit}
		if len(m.Questions) > 0 {
			h.QName = m.Questions[0].Name
		}
		_ = enc.Encode(h)
	}
}

// send multicasts one PTR query for args[0] on eth0 over IPv4 and IPv6.
func send(args []string) int {
	ctx := context.Background()
	c, err := mdns.Listen(ctx, mdns.Config{Interfaces: []string{"eth0"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	q := new(dns.Msg)
	q.SetQuestion(args[0], dns.TypePTR)
	q.Id = 0
	q.RecursionDesired = false
	b, _ := q.Pack()
	if err := c.Send(b, mdns.Dest{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestLabMulticast proves the lab: a query sent in host 1 reaches hosts 2 and
// 3 over IPv4 and IPv6 (with IP TTL 255, on eth0), and no frame carrying it
// appears on any interface of the root namespace.
func TestLabMulticast(t *testing.T) {
	lab := netlab.New(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	name := fmt.Sprintf("selftest-%d-%d._bctl._udp.local.", os.Getpid(), time.Now().UnixNano()%1e6)

	sniff, err := newRootSniffer()
	if err != nil {
		t.Fatalf("root-namespace sniffer: %v", err)
	}
	defer sniff.Close()

	var outs []*bytes.Buffer
	var waits []func() error
	for _, h := range lab.Hosts[1:] {
		cmd := h.Func(ctx, "listen", "3s")
		out := &bytes.Buffer{}
		pr, pw, _ := os.Pipe()
		cmd.Stdout, cmd.Stderr = pw, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		sc := bufio.NewScanner(pr)
		if !sc.Scan() || sc.Text() != "ready" {
			t.Fatalf("%s: listener did not start", h.NS)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for sc.Scan() {
				out.WriteString(sc.Text() + "\n")
			}
		}()
		outs = append(outs, out)
		waits = append(waits, func() error { err := cmd.Wait(); <-done; return err })
	}
	if out, err := lab.Host(1).Func(ctx, "send", name).CombinedOutput(); err != nil {
		t.Fatalf("send: %v\n%s", err, out)
	}
	for i, w := range waits {
		if err := w(); err != nil {
			t.Fatalf("listener %d: %v", i+2, err)
		}
	}
	for i, out := range outs {
		h := lab.Hosts[i+1]
		got := map[int]heard{}
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var hd heard
			if json.Unmarshal([]byte(line), &hd) == nil && hd.QName == name {
				got[hd.Family] = hd
			}
		}
		for _, fam := range []int{4, 6} {
			hd, ok := got[fam]
			if !ok {
				t.Errorf("%s: IPv%d query from host 1 not received; heard:\n%s", h.NS, fam, out)
				continue
			}
			if hd.Iface != "eth0" || hd.Hop != 255 {
				t.Errorf("%s: IPv%d query on %q with hop limit %d, want eth0 and 255", h.NS, fam, hd.Iface, hd.Hop)
			}
		}
		if got[4].Src != "10.88.0.1" {
			t.Errorf("%s: IPv4 source %q, want 10.88.0.1", h.NS, got[4].Src)
		}
	}
	if n := sniff.Count([]byte(strings.Split(name, ".")[0])); n != 0 {
		t.Errorf("root namespace saw %d frames carrying the lab query: the lab leaks", n)
	}
}
