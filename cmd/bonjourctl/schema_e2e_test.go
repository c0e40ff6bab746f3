//go:build linux

package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
)

// hapBridge is an avahi static service: a HomeKit bridge whose TXT record
// lacks the required sf (status flags) key.
const hapBridge = `<?xml version="1.0" standalone='no'?><!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group><name>Lab Bridge</name><service><type>_hap._tcp</type><port>51826</port>
<txt-record>c#=1</txt-record><txt-record>id=3C:33:1B:21:B3:00</txt-record><txt-record>md=Bridge</txt-record>
<txt-record>s#=1</txt-record><txt-record>ci=2</txt-record></service></service-group>`

// TestSchemasOnTheWire: three publishers nobody here wrote or configured
// alike put well-known types on the link: bonjourctl advertise a valid
// libp2p peer (_p2p._udp), avahi-daemon a HomeKit bridge without sf,
// python3-zeroconf a Matter commissionable node whose discriminator is
// wider than 12 bits. browse --json judges each by its type's schema;
// browse _p2p._tcp finds nothing and says that _p2p._udp has a peer.
func TestSchemasOnTheWire(t *testing.T) {
	lab := netlab.New(t, 3)
	py := requireZeroconf(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	peer := "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
	peerName := "k0x5hzrqmjvdgtmsbqpw9iqxsulomcc3"
	adv := lab.Host(2).Command(ctx, bin, "advertise", peerName, "_p2p._udp", "4001", "-i", "eth0", "--host", "peer", "--ip", "10.88.0.2",
		"--txt", "dnsaddr=/ip4/10.88.0.2/udp/4001/quic-v1/p2p/"+peer)
	netlab.WaitLine(t, netlab.Lines(t, adv), 15*time.Second, netlab.Containing("announced"))
	lab.Host(3).StartAvahi(t, ctx, netlab.AvahiConfig{HostName: "bridge", Services: map[string]string{"bridge": hapBridge}})
	matter := hex.EncodeToString([]byte("\x06D=4096\x0eVP=65521+32769\x04CM=1"))
	zc := lab.Host(2).Command(ctx, py, "testdata/zc_publish.py", "E2E4F7E1A1B2C3D4", "_matterc._udp.local.", "5540", "10.88.0.2", matter)
	netlab.WaitLine(t, netlab.Lines(t, zc), 20*time.Second, func(l string) bool { return l == "registered" })

	out, err := lab.Host(1).Command(ctx, bin, "browse", "-i", "eth0", "--once", "--timeout", "4s", "--json", "_p2p._udp", "_hap._tcp", "_matterc._udp").Output()
	if err != nil {
		t.Fatalf("browse: %v\n%s", err, out)
	}
	type finding struct{ Code, Key, Severity string }
	got := map[string][]finding{}
	schemaOf := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var ev struct {
			Instance string
			TXT      struct {
				Schema *struct {
					Schema   string
					Findings []finding
				}
			}
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		if ev.TXT.Schema == nil {
			t.Errorf("%s: no schema verdict in %s", ev.Instance, l)
			continue
		}
		schemaOf[ev.Instance] = ev.TXT.Schema.Schema
		for _, f := range ev.TXT.Schema.Findings {
			if f.Severity != "info" {
				got[ev.Instance] = append(got[ev.Instance], f)
			}
		}
	}
	if schemaOf[peerName] != "libp2p mDNS discovery" || len(got[peerName]) != 0 {
		t.Errorf("libp2p peer: schema %q, findings %v", schemaOf[peerName], got[peerName])
	}
	if g := got["Lab Bridge"]; schemaOf["Lab Bridge"] != "HomeKit Accessory Protocol accessory" || len(g) != 1 || g[0] != (finding{"schema-missing-key", "sf", "error"}) {
		t.Errorf("HomeKit bridge from avahi: %v", g)
	}
	if g := got["E2E4F7E1A1B2C3D4"]; len(g) != 1 || g[0] != (finding{"schema-bad-value", "D", "error"}) {
		t.Errorf("Matter node from python3-zeroconf: %v", g)
	}

	// check judges the bridge's TXT by the HomeKit schema too.
	cout, _ := lab.Host(1).Command(ctx, bin, "check", "-i", "eth0", "-d", "3s", "--active", "--json", "_hap._tcp").Output()
	var rep struct {
		Rules    map[string]int
		Findings []struct{ Rule, Level, Section, Message string }
	}
	if err := json.Unmarshal(cout, &rep); err != nil {
		t.Fatalf("check: %v\n%s", err, cout)
	}
	found := false
	for _, f := range rep.Findings {
		if f.Rule == "schema-missing-key" {
			found = f.Level == "fail" && strings.HasPrefix(f.Section, "HomeKit Accessory Protocol accessory §6.4") && strings.Contains(f.Message, "no sf key")
		}
	}
	if !found {
		t.Errorf("check did not fail the bridge's missing sf: %s", cout)
	}

	// doctor says it in its TXT verdict.
	dout, _ := lab.Host(1).Command(ctx, bin, "doctor", "-i", "eth0", "--wait", "1s", "Lab Bridge", "_hap._tcp").CombinedOutput()
	if !strings.Contains(string(dout), "schema-missing-key: no sf key") {
		t.Errorf("doctor did not name the missing sf:\n%s", dout)
	}

	// Browsing the type libp2p does not use.
	cmd := lab.Host(1).Command(ctx, bin, "browse", "-i", "eth0", "--once", "--timeout", "4s", "_p2p._tcp")
	var errOut netlab.Buffer
	cmd.Stderr = &errOut
	stdout, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(stdout)) != "" {
		t.Errorf("browse _p2p._tcp: %v, printed %q", err, stdout)
	}
	if !strings.Contains(errOut.String(), "note: no _p2p._tcp instance seen so far, but _p2p._udp has one ("+peerName+" at peer.local.): libp2p's mDNS discovery advertises under _p2p._udp, not _p2p._tcp") {
		t.Errorf("no mix-up note:\n%s", errOut.String())
	}
}
