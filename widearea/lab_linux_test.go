//go:build linux

package widearea

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/internal/netlab"
)

func TestMain(m *testing.M) {
	os.Exit(netlab.Main(m, map[string]func([]string) int{"register": registerSkewed, "flakydns": flakyDNS, "browse": browseFor}))
}

// registerSkewed runs in a lab host: register with a key whose clock is
// off by args[3], print the error, exit 1 on one.
func registerSkewed(args []string) int {
	skew, _ := time.ParseDuration(args[3])
	server, _ := ParseServer(args[0])
	key, err := NewTSIG(args[1], "hmac-sha256", args[2])
	if err != nil {
		fmt.Println(err)
		return 2
	}
	key.Now = func() time.Time { return time.Now().Add(skew) }
	c := &Client{Servers: []netip.AddrPort{server}}
	g := NewRegistrar(c, key, Registration{Instance: "Skewed", Type: "_p2p._tcp", Domain: "example.test", Host: "ns1.example.test", Port: 1, TXT: []byte{0}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := g.Register(ctx, nil); err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("registered")
	return 0
}

// TestBadTime: a signature an hour off the server's clock is the server's
// BADTIME, said with both times; the same key on time registers.
func TestBadTime(t *testing.T) {
	lab := netlab.New(t, 2)
	secret := "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="
	lab.Host(2).StartNamed(t, context.Background(), netlab.NamedConfig{
		Zones:     map[string]string{"example.test": "$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 10.88.0.2\n"},
		Keys:      map[string]string{"bctl-key": "hmac-sha256 " + secret},
		UpdateKey: "bctl-key",
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := lab.Host(1).Func(ctx, "register", "10.88.0.2", "bctl-key", secret, "1h").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "(BADTIME, RFC 8945 §5.2.3)") || !strings.Contains(string(out), "(1h0m0s apart, more than the fudge of 300 s)") {
		t.Errorf("an hour ahead: %v\n%s", err, out)
	}
	out, err = lab.Host(1).Func(ctx, "register", "10.88.0.2", "bctl-key", secret, "0s").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "registered") {
		t.Errorf("on time: %v\n%s", err, out)
	}
}

// flakyDNS runs in a lab host: an authoritative server on eth0:53 for one
// instance, web._http._tcp.example.test, that answers SERVFAIL to the
// question named by args[0] ("txt-2": the second TXT question; "srv": every
// SRV question) and answers the rest. It prints "ready" and serves until
// SIGTERM.
func flakyDNS(args []string) int {
	var txtQueries atomic.Int32
	rrs := map[uint16]string{
		dns.TypePTR: "_http._tcp.example.test. 1 IN PTR web._http._tcp.example.test.",
		dns.TypeSRV: "web._http._tcp.example.test. 1 IN SRV 0 0 8080 web.example.test.",
		dns.TypeTXT: `web._http._tcp.example.test. 1 IN TXT "path=/"`,
		dns.TypeA:   "web.example.test. 1 IN A 10.88.0.2",
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Authoritative = true
		t := q.Question[0].Qtype
		fail := args[0] == "srv" && t == dns.TypeSRV
		if t == dns.TypeTXT && txtQueries.Add(1) == 2 && args[0] == "txt-2" {
			fail = true
		}
		switch {
		case fail:
			m.Rcode = dns.RcodeServerFailure
		case rrs[t] != "":
			rr, _ := dns.NewRR(rrs[t])
			if strings.EqualFold(rr.Header().Name, q.Question[0].Name) {
				m.Answer = append(m.Answer, rr)
			}
		}
		_ = w.WriteMsg(m)
	})
	srv := &dns.Server{Addr: "10.88.0.2:53", Net: "udp", Handler: h, NotifyStartedFunc: func() { fmt.Println("ready") }}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		_ = srv.Shutdown()
	}()
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// browseFor runs in a lab host: browse _http._tcp.example.test at
// args[0] for args[1] with a 1 s floor (or one round, when args[1] is
// "once"), printing each event and each problem as a line.
func browseFor(args []string) int {
	server, _ := ParseServer(args[0])
	c := &Client{Servers: []netip.AddrPort{server}, Timeout: time.Second}
	b := NewBrowser(c, "example.test", []string{"_http._tcp"}, BrowseConfig{Floor: time.Second,
		OnProblem: func(err error) { fmt.Println("problem", err) }})
	if args[1] == "once" {
		found, err := b.Once(context.Background())
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		for _, f := range found {
			fmt.Printf("found %s host %q txt %s err %v\n", f.Instance, f.Host, f.TXTState, f.Err)
		}
		a, err := c.AuditZone(context.Background(), "example.test", []string{"_http._tcp"})
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		for _, f := range a.Findings {
			fmt.Println("finding", f.Level, f.Rule)
		}
		return 0
	}
	d, _ := time.ParseDuration(args[1])
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_ = b.Run(ctx, func(ev browse.Event) error {
		if ev.Kind != browse.Refreshed {
			fmt.Println("event", ev.Kind, ev.Service.Instance, ev.Service.TXTSummary())
		}
		return nil
	})
	return 0
}

// TestUnansweredIsNotAbsent: a SERVFAIL to one re-resolution question is
// reported as a problem, never as a change (the instance's TXT did not
// go); a server that never answers SRV gives an instance resolved in part
// with the error, which check --domain does not judge as a missing SRV.
func TestUnansweredIsNotAbsent(t *testing.T) {
	lab := netlab.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	run := func(mode string, browseArgs ...string) string {
		t.Helper()
		srv := lab.Host(2).Func(ctx, "flakydns", mode)
		lines := netlab.Lines(t, srv)
		netlab.WaitLine(t, lines, 10*time.Second, netlab.Containing("ready"))
		defer func() { _ = syscall.Kill(-srv.Process.Pid, syscall.SIGTERM); _ = srv.Wait() }()
		out, _ := lab.Host(1).Func(ctx, "browse", append([]string{"10.88.0.2"}, browseArgs...)...).CombinedOutput()
		return string(out)
	}
	out := run("txt-2", "4s")
	if !strings.Contains(out, "event added web path=/") || !strings.Contains(out, "problem resolving web._http._tcp.example.test.: 10.88.0.2 answered SERVFAIL for web._http._tcp.example.test. TXT") {
		t.Errorf("no add, or no problem said:\n%s", out)
	}
	if strings.Contains(out, "event updated") || strings.Contains(out, "event removed") {
		t.Errorf("an unanswered question was reported as a change:\n%s", out)
	}
	out = run("srv", "once")
	if !strings.Contains(out, `found web host "" txt present err resolving web._http._tcp.example.test.: 10.88.0.2 answered SERVFAIL for web._http._tcp.example.test. SRV`) {
		t.Errorf("Once did not carry the SRV question's failure:\n%s", out)
	}
	if !strings.Contains(out, "finding warn question-unanswered") || strings.Contains(out, "ptr-without-srv") {
		t.Errorf("the audit judged an unanswered SRV as missing:\n%s", out)
	}
}
