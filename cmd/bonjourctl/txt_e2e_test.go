//go:build linux

package main

import (
	"context"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
	"github.com/bonjourctl/bonjourctl/txt"
)

// TestTXTPeersAgree: avahi-daemon and python3-zeroconf publish the same
// key/value pairs; the TXT bytes each puts on the wire decode to the same
// attributes as txt.FromPairs of those pairs.
func TestTXTPeersAgree(t *testing.T) {
	lab := netlab.New(t, 3)
	py := requireZeroconf(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pairs := []string{"txtvers=1", "key=value", "flag", "empty=", "bin:hex=00017f80ff", "path=/a=b"}
	want, err := txt.FromPairs(pairs)
	if err != nil {
		t.Fatal(err)
	}
	lab.Host(2).StartAvahi(t, ctx, netlab.AvahiConfig{HostName: "avahi-h2", Services: map[string]string{"pairs": `<?xml version="1.0" standalone='no'?><!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group><name>Avahi Pairs</name><service><type>_p2p._tcp</type><port>4001</port>
<txt-record>txtvers=1</txt-record><txt-record>key=value</txt-record><txt-record>flag</txt-record><txt-record>empty=</txt-record>
<txt-record value-format="binary-hex">bin=00017f80ff</txt-record><txt-record>path=/a=b</txt-record></service></service-group>`}})
	pub := lab.Host(3).Command(ctx, py, "testdata/zc_publish.py", "Zeroconf Pairs", "_p2p._tcp.local.", "4002", "10.88.0.3",
		`props:{"txtvers": "1", "key": "value", "flag": null, "empty": "", "bin": "hex:00017f80ff", "path": "/a=b"}`)
	out := netlab.Lines(t, pub)
	netlab.WaitLine(t, out, 20*time.Second, func(l string) bool { return l == "registered" })
	time.Sleep(time.Second) // avahi's probing
	res, err := lab.Host(1).Command(ctx, bin, "browse", "--json", "--once", "-i", "eth0", "_p2p._tcp").Output()
	if err != nil {
		t.Fatalf("browse: %v", err)
	}
	seen := map[string]bool{}
	for _, e := range parseEvents(t, string(res)) {
		raw, _ := hex.DecodeString(e.TXT.RData)
		rec, err := txt.Parse(raw)
		if err != nil {
			t.Errorf("%s: %v", e.Instance, err)
			continue
		}
		seen[e.Instance] = true
		if got, w := attrs(rec), attrs(want); !slices.Equal(got, w) {
			t.Errorf("%s put %x on the wire:\n got attributes %q\nwant %q", e.Instance, raw, got, w)
		}
	}
	if !seen["Avahi Pairs"] || !seen["Zeroconf Pairs"] {
		t.Errorf("saw %v, want both publishers", seen)
	}
}

// attrs renders a record's attributes, sorted by key (peers may reorder).
func attrs(r txt.Record) []string {
	var out []string
	for _, a := range txt.Attributes(r) {
		out = append(out, strings.ToLower(string(a.Key))+" "+a.Kind.String()+" "+hex.EncodeToString(a.Value))
	}
	slices.Sort(out)
	return out
}
