//go:build linux

package netlab

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// NamedConfig configures a BIND 9 server in a lab host.
type NamedConfig struct {
	// Zones maps a zone name ("example.test") to its zone file's text.
	Zones map[string]string
	// Keys are TSIG keys: name -> "algorithm secret" ("hmac-sha256 c2Vj...").
	Keys map[string]string
	// UpdateKey, when set, lets that key update every zone (allow-update).
	UpdateKey string
	// MaxUDP is the largest UDP reply the server sends (0: BIND's default,
	// 1232 bytes); longer replies are truncated (TC) for TCP.
	MaxUDP int
	// Options are extra lines for the options block, e.g.
	// "max-records-per-type 0;" (BIND 9.18.28 and later refuse an RRset
	// of more than 100 records by default).
	Options []string
}

// Named is a running named in a host.
type Named struct {
	Addr    netip.AddrPort // the host's address, port 53
	Dir     string         // its working directory (zone files, journals)
	cmd     *exec.Cmd
	log     *Buffer
	stopped bool
}

// StartNamed runs named (Debian's bind9) in h on its eth0 address, port
// 53, authoritative only, and waits until it answers. It is stopped when
// the test ends (or by Stop).
func (h *Host) StartNamed(t testing.TB, ctx context.Context, cfg NamedConfig) *Named {
	t.Helper()
	named := LookPath(t, "named")
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	var conf strings.Builder
	fmt.Fprintf(&conf, `options {
	directory %q;
	pid-file none;
	session-keyfile none;
	listen-on port 53 { %s; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	allow-query { any; };
	notify no;
`, dir, h.IPv4)
	if cfg.MaxUDP > 0 {
		fmt.Fprintf(&conf, "\tmax-udp-size %d;\n\tedns-udp-size %d;\n", cfg.MaxUDP, cfg.MaxUDP)
	}
	for _, o := range cfg.Options {
		fmt.Fprintf(&conf, "\t%s\n", o)
	}
	conf.WriteString("};\ncontrols { };\n")
	names := make([]string, 0, len(cfg.Keys))
	for n := range cfg.Keys {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		alg, secret, _ := strings.Cut(cfg.Keys[n], " ")
		fmt.Fprintf(&conf, "key %q { algorithm %s; secret %q; };\n", n, alg, secret)
	}
	zones := make([]string, 0, len(cfg.Zones))
	for z := range cfg.Zones {
		zones = append(zones, z)
	}
	sort.Strings(zones)
	for _, z := range zones {
		file := filepath.Join(dir, strings.TrimSuffix(z, ".")+".zone")
		if err := os.WriteFile(file, []byte(cfg.Zones[z]), 0o666); err != nil {
			t.Fatal(err)
		}
		update := ""
		if cfg.UpdateKey != "" {
			update = fmt.Sprintf(" allow-update { key %q; };", cfg.UpdateKey)
		}
		fmt.Fprintf(&conf, "zone %q { type primary; file %q;%s };\n", strings.TrimSuffix(z, "."), file, update)
	}
	cf := filepath.Join(dir, "named.conf")
	if err := os.WriteFile(cf, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(LookPath(t, "named-checkconf"), cf).CombinedOutput(); err != nil {
		t.Fatalf("named.conf: %v\n%s\n%s", err, out, conf.String())
	}
	n := &Named{Addr: netip.AddrPortFrom(h.IPv4, 53), Dir: dir, log: &Buffer{}}
	// -g: foreground, log to stderr; -n 1: one worker thread.
	n.cmd = h.Command(ctx, named, "-g", "-n", "1", "-c", cf)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.Stop()
		if t.Failed() {
			t.Logf("named log (from loading the configuration):\n%s", fromLine(n.log.String(), "loading configuration"))
		}
	})
	// named says "running" on a line of its own once every zone is loaded
	// (not to be confused with "running on Linux" at start).
	if !n.log.waitFor(" running\n", 5*time.Second) {
		t.Fatalf("named in %s did not start:\n%s", h.NS, n.log.String())
	}
	if strings.Contains(n.log.String(), "not loaded due to errors") {
		t.Fatalf("named in %s did not load a zone:\n%s", h.NS, fromLine(n.log.String(), "loading configuration"))
	}
	return n
}

// Log returns what named has printed so far.
func (n *Named) Log() string { return n.log.String() }

// Stop ends named.
func (n *Named) Stop() {
	if n.stopped {
		return
	}
	n.stopped = true
	stopGroups(n.cmd)
}

// fromLine returns s from the line that contains mark (all of s if none).
func fromLine(s, mark string) string {
	if i := strings.Index(s, mark); i >= 0 {
		if j := strings.LastIndexByte(s[:i], '\n'); j >= 0 {
			return s[j+1:]
		}
	}
	return s
}
