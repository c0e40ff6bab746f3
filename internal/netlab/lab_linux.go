//go:build linux

package netlab

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const prefix = "bctl"

var labSeq atomic.Int32

// Lab is a set of hosts on one bridge.
type Lab struct {
	ID     string
	Switch string // namespace of the bridge
	Hosts  []*Host
	t      testing.TB
}

// Host is one namespace on the lab's bridge.
type Host struct {
	Index     int
	NS        string
	Iface     string // "eth0"
	IPv4      netip.Addr
	IPv6      netip.Addr // ULA
	LinkLocal netip.Addr // with zone "eth0"
	lab       *Lab
}

func unavailable() string {
	if os.Geteuid() != 0 {
		return "not running as root (network namespaces need CAP_SYS_ADMIN)"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "iproute2 (ip) is not installed"
	}
	return ""
}

// New builds a lab of n hosts (1-250) and removes it when the test ends,
// passed or failed. It calls Require first.
func New(t testing.TB, n int) *Lab {
	t.Helper()
	Require(t)
	if n < 1 || n > 250 {
		t.Fatalf("netlab: %d hosts (want 1-250)", n)
	}
	reapStale()
	id := fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), labSeq.Add(1))
	l := &Lab{ID: id, Switch: id + "-sw", t: t}
	t.Cleanup(l.destroy)
	must := func(args ...string) {
		t.Helper()
		if out, err := run(args...); err != nil {
			t.Fatalf("netlab: %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	must("ip", "netns", "add", l.Switch)
	must("ip", "netns", "exec", l.Switch, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
	must("ip", "-n", l.Switch, "link", "set", "lo", "up")
	must("ip", "-n", l.Switch, "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0", "mcast_snooping", "0")
	must("ip", "-n", l.Switch, "link", "set", "br0", "up")
	for i := 1; i <= n; i++ {
		h := &Host{
			Index:     i,
			NS:        hostName(id, i),
			Iface:     "eth0",
			IPv4:      netip.AddrFrom4([4]byte{10, 88, 0, byte(i)}),
			IPv6:      netip.MustParseAddr(fmt.Sprintf("fd88::%x", i)),
			LinkLocal: netip.MustParseAddr(fmt.Sprintf("fe80::88:ff:fe00:%x", i)).WithZone("eth0"),
			lab:       l,
		}
		must("ip", "netns", "add", h.NS)
		must("ip", "netns", "exec", h.NS, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
		port := fmt.Sprintf("p%d", i)
		// Created inside the switch, peer moved straight into the host:
		// no lab interface ever exists in the root namespace.
		must("ip", "-n", l.Switch, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", h.NS)
		must("ip", "-n", l.Switch, "link", "set", port, "master", "br0", "up")
		must("ip", "-n", h.NS, "link", "set", "eth0", "address", fmt.Sprintf("02:88:00:00:00:%02x", i))
		must("ip", "netns", "exec", h.NS, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0", "net.ipv6.conf.eth0.addr_gen_mode=1")
		must("ip", "-n", h.NS, "link", "set", "lo", "multicast", "on", "up")
		must("ip", "-n", h.NS, "link", "set", "eth0", "multicast", "on", "up")
		must("ip", "-n", h.NS, "addr", "add", h.IPv4.String()+"/24", "broadcast", "10.88.0.255", "dev", "eth0")
		must("ip", "-n", h.NS, "addr", "add", h.IPv6.String()+"/64", "dev", "eth0", "nodad")
		must("ip", "-n", h.NS, "addr", "add", h.LinkLocal.WithZone("").String()+"/64", "dev", "eth0", "scope", "link", "nodad")
		must("ip", "-n", h.NS, "route", "add", "224.0.0.0/4", "dev", "eth0")
		l.Hosts = append(l.Hosts, h)
	}
	return l
}

// SecondLink joins the given hosts on a second bridge, br1: each gets
// eth1 with 10.89.0.N/24, fd89::N/64 and fe80::89:ff:fe00:N (N its host
// number), so that tests can see which interface a host uses.
func (l *Lab) SecondLink(hosts ...int) {
	t := l.t
	t.Helper()
	must := func(args ...string) {
		t.Helper()
		if out, err := run(args...); err != nil {
			t.Fatalf("netlab: %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	must("ip", "-n", l.Switch, "link", "add", "br1", "type", "bridge", "stp_state", "0", "forward_delay", "0", "mcast_snooping", "0")
	must("ip", "-n", l.Switch, "link", "set", "br1", "up")
	for _, i := range hosts {
		h := l.Host(i)
		port := fmt.Sprintf("q%d", i)
		must("ip", "-n", l.Switch, "link", "add", port, "type", "veth", "peer", "name", "eth1", "netns", h.NS)
		must("ip", "-n", l.Switch, "link", "set", port, "master", "br1", "up")
		must("ip", "-n", h.NS, "link", "set", "eth1", "address", fmt.Sprintf("02:89:00:00:00:%02x", i))
		must("ip", "netns", "exec", h.NS, "sysctl", "-qw", "net.ipv6.conf.eth1.accept_dad=0", "net.ipv6.conf.eth1.addr_gen_mode=1")
		must("ip", "-n", h.NS, "link", "set", "eth1", "multicast", "on", "up")
		must("ip", "-n", h.NS, "addr", "add", fmt.Sprintf("10.89.0.%d/24", i), "dev", "eth1")
		must("ip", "-n", h.NS, "addr", "add", fmt.Sprintf("fd89::%x/64", i), "dev", "eth1", "nodad")
		must("ip", "-n", h.NS, "addr", "add", fmt.Sprintf("fe80::89:ff:fe00:%x/64", i), "dev", "eth1", "scope", "link", "nodad")
	}
}

// Host returns host i (1-based).
func (l *Lab) Host(i int) *Host { return l.Hosts[i-1] }

// Command returns a command that runs name with args inside the host.
// Its context kills it; the lab's cleanup kills anything left.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(os.Environ(), "BONJOURCTL_NETLAB_HOST="+h.NS)
	return cmd
}

// Func returns a command that runs the Go function registered under name
// (see Main) inside the host, by re-executing the test binary there.
func (h *Host) Func(ctx context.Context, name string, args ...string) *exec.Cmd {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	cmd := h.Command(ctx, self, append([]string{"-test.run=^$"}, args...)...)
	cmd.Env = append(cmd.Env, envFunc+"="+name)
	return cmd
}

// Exec runs a command in the host and returns its combined output.
func (h *Host) Exec(ctx context.Context, name string, args ...string) (string, error) {
	out, err := h.Command(ctx, name, args...).CombinedOutput()
	return string(out), err
}

func (l *Lab) destroy() {
	for _, h := range l.Hosts {
		killNS(h.NS)
	}
	for _, h := range l.Hosts {
		_, _ = run("ip", "netns", "del", h.NS)
	}
	killNS(l.Switch)
	_, _ = run("ip", "netns", "del", l.Switch)
}

// killNS kills every process inside a namespace.
func killNS(ns string) {
	for try := 0; try < 50; try++ {
		out, _ := run("ip", "netns", "pids", ns)
		pids := strings.Fields(string(out))
		if len(pids) == 0 {
			return
		}
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reapStale removes labs left by test processes that died without cleanup.
func reapStale() {
	ents, _ := os.ReadDir("/run/netns")
	for _, e := range ents {
		name := e.Name()
		parts := strings.SplitN(name, "-", 4)
		if len(parts) < 4 || parts[0] != prefix {
			continue
		}
		pid, err := strconv.Atoi(parts[1])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(filepath.Join("/proc", parts[1])); err == nil {
			continue
		}
		killNS(name)
		_, _ = run("ip", "netns", "del", name)
	}
}

func run(args ...string) ([]byte, error) {
	var out bytes.Buffer
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// hostName returns the namespace name for host i of lab id.
func hostName(id string, i int) string { return fmt.Sprintf("%s-h%d", id, i) }

// OnSwitch returns a command that runs in the switch namespace, where br0
// sees every host's packets (for tshark).
func (l *Lab) OnSwitch(ctx context.Context, name string, args ...string) *exec.Cmd {
	h := &Host{NS: l.Switch, lab: l}
	return h.Command(ctx, name, args...)
}
