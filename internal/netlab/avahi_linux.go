//go:build linux

package netlab

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// AvahiConfig configures an avahi-daemon in a lab host.
type AvahiConfig struct {
	HostName string            // the daemon's host name (default: the namespace name)
	Services map[string]string // static service files: name -> XML
	DBus     bool              // run a private system D-Bus so avahi-browse/-publish work
	// WideAreaServer, when valid, enables avahi's wide-area (unicast DNS)
	// browsing with this server as the only resolver (a private
	// /etc/resolv.conf, which avahi-daemon reads).
	WideAreaServer netip.Addr
	// BrowseDomains are extra domains avahi browses (browse-domains=).
	BrowseDomains []string
}

// Avahi is a running avahi-daemon in a host.
type Avahi struct {
	// BusAddress is the private D-Bus address for avahi-browse and friends
	// (DBUS_SYSTEM_BUS_ADDRESS); empty without DBus.
	BusAddress string
	daemon     *exec.Cmd
	bus        *exec.Cmd
	log        *Buffer
	stopped    bool
}

// StartAvahi runs avahi-daemon in h, in a private mount namespace so that
// its /etc/avahi and /run/avahi-daemon are the test's own, and waits until
// it is up. It is stopped when the test ends (or by Stop).
func (h *Host) StartAvahi(t testing.TB, ctx context.Context, cfg AvahiConfig) *Avahi {
	t.Helper()
	avahi := LookPath(t, "avahi-daemon")
	if cfg.HostName == "" {
		cfg.HostName = h.NS
	}
	dir := t.TempDir()
	etc, runDir, busDir := filepath.Join(dir, "etc"), filepath.Join(dir, "run"), filepath.Join(dir, "dbus")
	for _, d := range []string{filepath.Join(etc, "services"), runDir, busDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	a := &Avahi{log: &Buffer{}}
	var env []string
	if cfg.DBus {
		LookPath(t, "dbus-daemon")
		sock := filepath.Join(busDir, "system_bus_socket")
		conf := fmt.Sprintf(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=%s</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/></policy></busconfig>`, sock)
		cf := filepath.Join(dir, "dbus.conf")
		if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		a.bus = h.Command(ctx, "dbus-daemon", "--config-file="+cf, "--nofork", "--nopidfile")
		a.bus.Stdout, a.bus.Stderr = a.log, a.log
		if err := a.bus.Start(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 100; i++ {
			if _, err := os.Stat(sock); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		a.BusAddress = "unix:path=" + sock
		env = append(env, "DBUS_SYSTEM_BUS_ADDRESS="+a.BusAddress)
	}
	conf := "[server]\nhost-name=" + cfg.HostName + "\nuse-ipv4=yes\nuse-ipv6=yes\nallow-interfaces=eth0\nenable-dbus=" + map[bool]string{true: "yes", false: "no"}[cfg.DBus] + "\n" +
		"ratelimit-interval-usec=1000000\nratelimit-burst=1000\n"
	if len(cfg.BrowseDomains) > 0 {
		conf += "browse-domains=" + strings.Join(cfg.BrowseDomains, ",") + "\n"
	}
	conf += "[wide-area]\nenable-wide-area=" + map[bool]string{true: "yes", false: "no"}[cfg.WideAreaServer.IsValid()] + "\n[publish]\npublish-hinfo=no\npublish-workstation=no\n"
	if err := os.WriteFile(filepath.Join(etc, "avahi-daemon.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, body := range cfg.Services {
		if err := os.WriteFile(filepath.Join(etc, "services", name+".service"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	resolv := ""
	if cfg.WideAreaServer.IsValid() {
		rc := filepath.Join(dir, "resolv.conf")
		if err := os.WriteFile(rc, []byte("nameserver "+cfg.WideAreaServer.String()+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		resolv = fmt.Sprintf("mount --bind %s /etc/resolv.conf && ", rc)
	}
	script := fmt.Sprintf(`mkdir -p /etc/avahi /run/avahi-daemon && mount --bind %s /etc/avahi && mount --bind %s /run/avahi-daemon && %sexec %s --no-chroot --no-drop-root --no-rlimits --no-proc-title`, etc, runDir, resolv, avahi)
	a.daemon = h.Command(ctx, "sh", "-c", script)
	a.daemon.Env = append(a.daemon.Env, env...)
	a.daemon.Stdout, a.daemon.Stderr = a.log, a.log
	if err := a.daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.Stop()
		if t.Failed() {
			t.Logf("avahi-daemon log:\n%s", a.log.String())
		}
	})
	if !a.log.waitFor("Server startup complete", 3*time.Second) {
		t.Fatalf("avahi-daemon in %s did not start:\n%s", h.NS, a.log.String())
	}
	return a
}

// Log returns what the daemon has printed so far.
func (a *Avahi) Log() string { return a.log.String() }

// Stop ends the daemon (and its D-Bus).
func (a *Avahi) Stop() {
	if a.stopped {
		return
	}
	a.stopped = true
	stopGroups(a.daemon, a.bus)
}
