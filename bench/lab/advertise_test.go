//go:build linux

package lab

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
)

// TestAdvertiseToVisible: publisher start until a browser already running
// on another host has the instance resolved (python3-zeroconf browser on
// host 1). Publishers on host 2: bonjourctl advertise, avahi-publish -s
// (its daemon already running) and python3-zeroconf. Then goodbye to
// removal as seen by avahi-browse and python3-zeroconf.
func TestAdvertiseToVisible(t *testing.T) {
	lab := netlab.New(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	// A python3-zeroconf browser, started afresh for each run (one kept
	// for a whole run of the benchmark stopped resolving after a few dozen
	// instances), already running when the publisher starts.
	startBrowser := func() (<-chan string, func()) {
		zb := lab.Host(1).Command(ctx, "/usr/bin/python3", "../../cmd/bonjourctl/testdata/zc_browse.py", "_p2p._tcp.local.", "10.88.0.1")
		zl := netlab.Lines(t, zb)
		netlab.WaitLine(t, zl, 20*time.Second, netlab.Containing("ready"))
		return zl, func() { _ = syscall.Kill(-zb.Process.Pid, syscall.SIGKILL); _ = zb.Wait() }
	}
	av3 := lab.Host(3).StartAvahi(t, ctx, netlab.AvahiConfig{HostName: "watcher", DBus: true})
	ab := lab.Host(3).Command(ctx, "avahi-browse", "-p", "_p2p._tcp")
	ab.Env = append(ab.Env, "DBUS_SYSTEM_BUS_ADDRESS="+av3.BusAddress)
	al := netlab.Lines(t, ab)
	av2 := lab.Host(2).StartAvahi(t, ctx, netlab.AvahiConfig{HostName: "publisher", DBus: true})
	time.Sleep(2 * time.Second)

	type publisher struct {
		name string
		cmd  func(inst string) []string
		env  []string
	}
	pubs := []publisher{
		{"bonjourctl advertise", func(inst string) []string {
			return []string{bin, "advertise", inst, "_p2p._tcp", "4001", "-i", "eth0", "-4", "--host", "bjpub", "--txt", "key=value"}
		}, nil},
		{"avahi-publish -s", func(inst string) []string {
			return []string{"avahi-publish", "-s", inst, "_p2p._tcp", "4001", "key=value"}
		}, []string{"DBUS_SYSTEM_BUS_ADDRESS=" + av2.BusAddress}},
		{"python3-zeroconf", func(inst string) []string {
			return []string{"/usr/bin/python3", "../../cmd/bonjourctl/testdata/zc_publish.py", inst, "_p2p._tcp.local.", "4001", "10.88.0.2", "096b65793d76616c7565"}
		}, nil},
	}
	runs := runs()
	var table strings.Builder
	table.WriteString("| publisher | advertise-to-visible (median) | runs | goodbye -> avahi-browse removal | goodbye -> python3-zeroconf removal |\n|---|---|---|---|---|\n")
	for _, p := range pubs {
		var vis, byeAv, byeZc []time.Duration
		for i := 0; i < runs; i++ {
			inst := fmt.Sprintf("%s %d", strings.Fields(p.name)[0], i)
			zl, stopBrowser := startBrowser()
			time.Sleep(1100 * time.Millisecond) // past its first queries
			args := p.cmd(inst)
			cmd := lab.Host(2).Command(ctx, args[0], args[1:]...)
			cmd.Env = append(cmd.Env, p.env...)
			cmd.Stdout, cmd.Stderr = nil, nil
			start := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if _, ok := netlab.NextLine(zl, 10*time.Second, netlab.Containing("resolved "+inst+"._p2p._tcp.local.")); !ok {
				t.Errorf("%s, run %d: the python3-zeroconf browser did not resolve %q within 10 s", p.name, i+1, inst)
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
				_ = cmd.Wait()
				stopBrowser()
				time.Sleep(1500 * time.Millisecond)
				continue
			}
			vis = append(vis, time.Since(start))
			netlab.WaitLine(t, al, 5*time.Second, netlab.Containing("+;eth0;IPv4;"+strings.ReplaceAll(inst, " ", `\032`)))
			time.Sleep(1500 * time.Millisecond)
			bye := time.Now()
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			gotAv := make(chan time.Duration, 1)
			go func() {
				if _, ok := netlab.NextLine(al, 5*time.Second, netlab.Containing("-;eth0;IPv4;"+strings.ReplaceAll(inst, " ", `\032`))); ok {
					gotAv <- time.Since(bye)
				} else {
					gotAv <- -1
				}
			}()
			netlab.WaitLine(t, zl, 5*time.Second, netlab.Containing("removed "+inst+"._p2p._tcp.local."))
			byeZc = append(byeZc, time.Since(bye))
			byeAv = append(byeAv, <-gotAv)
			_ = cmd.Wait()
			stopBrowser()
			time.Sleep(500 * time.Millisecond)
		}
		fmt.Fprintf(&table, "| %s | %s | %v | %s | %s |\n", p.name, ms(median(vis)), roundAll(vis), ms(median(byeAv)), ms(median(byeZc)))
	}
	t.Logf("\nadvertise-to-visible (python3-zeroconf browser already running on another host), %d runs:\n%s", runs, table.String())
}
