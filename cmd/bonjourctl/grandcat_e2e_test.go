//go:build linux

package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/grandcat/zeroconf"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
)

// hostFuncs run inside lab hosts (netlab.Host.Func).
var hostFuncs = map[string]func([]string) int{
	"grandcat":       grandcatPublish,
	"notxt":          noTXTPublish,
	"grandcatbrowse": grandcatBrowse,
}

// grandcatBrowse browses _p2p._tcp on eth0 with github.com/grandcat/zeroconf
// and prints the first entry named args[0] that has text: its Text, as Go
// syntax, the way an app receives it.
func grandcatBrowse(args []string) int {
	eth0, err := net.InterfaceByName("eth0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	r, err := zeroconf.NewResolver(zeroconf.SelectIfaces([]net.Interface{*eth0}), zeroconf.SelectIPTraffic(zeroconf.IPv4))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	entries := make(chan *zeroconf.ServiceEntry)
	if err := r.Browse(ctx, "_p2p._tcp", "local.", entries); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for {
		select {
		case e := <-entries:
			if e != nil && e.Instance == args[0] && len(e.Text) > 0 {
				fmt.Printf("Text = %#v\n", e.Text)
				return 0
			}
		case <-ctx.Done():
			fmt.Fprintln(os.Stderr, "no entry with text within 15 s")
			return 1
		}
	}
}

// grandcatPublish registers args[0] (_p2p._tcp) with github.com/grandcat/zeroconf
// and the TXT strings args[1:] (none: the library's empty text), prints
// "registered" and serves until SIGTERM.
func grandcatPublish(args []string) int {
	eth0, err := net.InterfaceByName("eth0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv, err := zeroconf.Register(args[0], "_p2p._tcp", "local.", 4300, args[1:], []net.Interface{*eth0})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("registered")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	srv.Shutdown()
	return 0
}

// TestBrowseGrandcatZeroLengthTXT: github.com/grandcat/zeroconf with no text
// puts zero-length TXT RDATA on the wire; browse reports exactly that, not
// "no TXT record".
func TestBrowseGrandcatZeroLengthTXT(t *testing.T) {
	lab := netlab.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	pub := lab.Host(2).Func(ctx, "grandcat", "Grandcat Node")
	pub.Stderr = os.Stderr
	out := netlab.Lines(t, pub)
	netlab.WaitLine(t, out, 10*time.Second, func(l string) bool { return l == "registered" })
	defer func() { _ = pub.Process.Signal(syscall.SIGTERM); _ = pub.Wait() }()

	res, err := lab.Host(1).Command(ctx, bin, "browse", "--json", "--once", "-i", "eth0", "_p2p._tcp").Output()
	if err != nil {
		t.Fatalf("browse: %v", err)
	}
	evs := parseEvents(t, string(res))
	if len(evs) != 1 || evs[0].Instance != "Grandcat Node" {
		t.Fatalf("events = %+v", evs)
	}
	if evs[0].TXT.State != "zero-length" || evs[0].TXT.RData != "" {
		t.Errorf("TXT = %+v, want state zero-length", evs[0].TXT)
	}
	text, err := lab.Host(1).Command(ctx, bin, "browse", "--once", "-i", "eth0", "_p2p._tcp").Output()
	if err != nil || !strings.Contains(string(text), "txt zero-length TXT (illegal, RFC 6763 §6.1)") {
		t.Errorf("browse text: %v\n%s", err, text)
	}
}

// TestClientsAgainstThemselves: what txt decode --clients says
// grandcat/zeroconf, python-zeroconf and avahi hand an app is what a
// grandcat/zeroconf browser, a python3-zeroconf browser and
// avahi-browse -r -p print, for a record with quotes, a
// backslash, binary bytes, an empty string and a repeated key published
// by bonjourctl advertise.
func TestClientsAgainstThemselves(t *testing.T) {
	lab := netlab.New(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rd := "06613d2278225c" + "05623dff0009" + "00" + "03613d32" // a="x"\, b=<ff 00 09>, "", a=2
	adv := lab.Host(2).Command(ctx, bin, "advertise", "Edge", "_p2p._tcp", "4001", "-i", "eth0", "--txt-hex", rd)
	netlab.WaitLine(t, netlab.Lines(t, adv), 15*time.Second, netlab.Containing("announced"))
	dec, err := exec.Command(bin, "txt", "decode", "--clients", rd).Output()
	if err != nil {
		t.Fatalf("txt decode --clients: %v\n%s", err, dec)
	}
	said := map[string]string{}
	for _, l := range strings.Split(string(dec), "\n") {
		if c, rest, ok := strings.Cut(l, ": "); ok && !strings.HasPrefix(l, " ") {
			said[c] = rest
		}
	}

	br := lab.Host(1).Func(ctx, "grandcatbrowse", "Edge")
	var brErr netlab.Buffer
	br.Stderr = &brErr
	out, err := br.Output()
	if err != nil {
		t.Fatalf("grandcat browse: %v\n%s%s", err, out, brErr.String())
	}
	if got := strings.TrimSpace(string(out)); got != said["grandcat/zeroconf"] {
		t.Errorf("grandcat/zeroconf gave its app\n  %s\nbonjourctl said\n  %s", got, said["grandcat/zeroconf"])
	}

	zb := lab.Host(1).Command(ctx, requireZeroconf(t), "testdata/zc_browse.py", "_p2p._tcp.local.", "10.88.0.1")
	zl := netlab.Lines(t, zb)
	pl := netlab.WaitLine(t, zl, 15*time.Second, netlab.Containing("properties Edge._p2p._tcp.local. "))
	if got, want := strings.TrimPrefix(pl, "properties Edge._p2p._tcp.local. "), strings.TrimPrefix(said["python-zeroconf"], "properties = "); got != want {
		t.Errorf("python3-zeroconf handed its app\n  %s\nbonjourctl said\n  %s", got, want)
	}

	av := lab.Host(1).StartAvahi(t, ctx, netlab.AvahiConfig{DBus: true})
	// -t ends at "all for now", which a daemon that has just started may
	// reach before it resolved the instance: ask again until it has.
	field := ""
	var aout []byte
	for try := 0; try < 20 && field == ""; try++ {
		ab := lab.Host(1).Command(ctx, "avahi-browse", "-r", "-p", "-t", "_p2p._tcp")
		ab.Env = append(ab.Env, "DBUS_SYSTEM_BUS_ADDRESS="+av.BusAddress)
		if aout, err = ab.Output(); err != nil {
			t.Fatalf("avahi-browse: %v\n%s", err, aout)
		}
		for _, l := range strings.Split(string(aout), "\n") {
			if f := strings.SplitN(l, ";", 10); len(f) == 10 && f[0] == "=" && f[3] == "Edge" {
				field = f[9]
			}
		}
		if field == "" {
			time.Sleep(250 * time.Millisecond)
		}
	}
	if want := strings.TrimPrefix(said["avahi"], "avahi-browse -p TXT field: "); field != want || field == "" {
		t.Errorf("avahi-browse printed the TXT field\n  %s\nbonjourctl said\n  %s\n%s", field, want, aout)
	}
}
