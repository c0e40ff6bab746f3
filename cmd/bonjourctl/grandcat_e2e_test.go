//go:build linux

package main

import (
	"context"
	"fmt"
	"net"
	"os"
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
	"grandcat": grandcatPublish,
	"notxt":    noTXTPublish,
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
