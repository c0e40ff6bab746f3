package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/advertise"
	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/mdns/mdnstest"
)

// TestTUIRequeryOnLAN: r reports who answered TXT and SRV and how fast,
// or that nothing came back within the second.
func TestTUIRequeryOnLAN(t *testing.T) {
	lanTest(t, func(t *testing.T, lan *mdnstest.LAN) {
		defer peer(t, lan, []byte("\x09key=value"), advertise.Faults{})()
		time.Sleep(2 * time.Second) // past the one-second rule for its announcement
		be := tuiBackend{ctx: context.Background(), link: lan.HostFamilies(true, false)}
		report, err := be.Requery(`Node\ 1._p2p._tcp.local.`)
		if err != nil || !strings.Contains(report, "TXT answered in") || !strings.Contains(report, "by 10.88.0.1") || !strings.Contains(report, "SRV answered in") {
			t.Errorf("re-query of a live instance: %q, %v", report, err)
		}
		report, err = be.Requery(`Nobody._p2p._tcp.local.`)
		if err != nil || !strings.HasPrefix(report, "no TXT answer in 1 s; no SRV answer in 1 s") {
			t.Errorf("re-query of nobody: %q, %v", report, err)
		}
	})
}

// TestTUIExport: e writes the instances as browse --json prints them (names
// escaped once), to a new file each time, and says where; a directory it
// cannot write to gives an error naming the file.
func TestTUIExport(t *testing.T) {
	dir := t.TempDir()
	be := tuiBackend{dir: dir}
	at := time.Date(2026, 12, 2, 3, 4, 5, 0, time.UTC)
	svc := browse.Service{Name: `Küche\ 1._p2p._tcp.local.`, Instance: "Küche 1", Type: "_p2p._tcp", Domain: "local.", Host: "h.local.", Port: 4001,
		Addrs: []netip.Addr{netip.MustParseAddr("10.88.0.2")}, TXTState: browse.TXTPresent, TXTRaw: []byte("\x03a=1"), State: browse.StateLive}
	p1, err1 := be.Export([]browse.Service{svc, svc}, at)
	p2, err2 := be.Export([]browse.Service{svc}, at)
	if err1 != nil || err2 != nil || p1 == p2 || !filepath.IsAbs(p1) || filepath.Dir(p1) != dir {
		t.Fatalf("exports: %q %v, %q %v; want two files in %s", p1, err1, p2, err2, dir)
	}
	fh, err := os.Open(p1)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	n := 0
	for sc := bufio.NewScanner(fh); sc.Scan(); n++ {
		var j browseEventJSON
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			t.Fatal(err)
		}
		if j.Name != `Küche\ 1._p2p._tcp.local.` || j.Instance != "Küche 1" || j.TXT.State != "present" || len(j.TXT.Strings) != 1 || j.State != "live" {
			t.Errorf("exported %+v", j)
		}
	}
	if n != 2 {
		t.Errorf("%d lines, want 2", n)
	}
	if os.Geteuid() != 0 { // root writes anywhere
		ro := t.TempDir()
		_ = os.Chmod(ro, 0o500)
		if _, err := (tuiBackend{dir: ro}).Export([]browse.Service{svc}, at); err == nil || !strings.Contains(err.Error(), ro) {
			t.Errorf("read-only directory: %v", err)
		}
	}
	if _, err := (tuiBackend{dir: filepath.Join(dir, "missing")}).Export([]browse.Service{svc}, at); err == nil || !strings.Contains(err.Error(), "cannot create "+filepath.Join(dir, "missing")) {
		t.Errorf("missing directory: %v", err)
	}
}

// TestTUIRefusesNonTypes: tui bogus exits 2 at once, as browse bogus does.
func TestTUIRefusesNonTypes(t *testing.T) {
	code, _, errOut := run(t, "", "tui", "bogus")
	if code != 2 || !strings.Contains(errOut, `argument 1 ("bogus") is not a service type`) {
		t.Errorf("exit %d, %q", code, errOut)
	}
}
