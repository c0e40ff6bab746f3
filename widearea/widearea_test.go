package widearea

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/check"
	"github.com/bonjourctl/bonjourctl/txt"
)

func TestParseTSIG(t *testing.T) {
	k, err := ParseTSIG("bctl-key:HMAC-SHA256:c2VjcmV0")
	if err != nil {
		t.Fatal(err)
	}
	if k.Name != "bctl-key." || k.Algorithm != dns.HmacSHA256 || k.Secret != "c2VjcmV0" {
		t.Errorf("got %+v", k)
	}
	for _, c := range []struct{ in, want string }{
		{"bctl-key:hmac-sha256", "want NAME:ALGORITHM:SECRET"},
		{"bctl-key:hmac-sha3:c2VjcmV0", `TSIG algorithm "hmac-sha3" is not one of hmac-sha256`},
		{"bctl-key:hmac-sha256:not base64!", "TSIG secret of key bctl-key is not base64"},
		{":hmac-sha256:c2VjcmV0", "TSIG key name is empty"},
		{"bctl-key:hmac-sha256:", "TSIG secret of key bctl-key is empty"},
	} {
		_, err := ParseTSIG(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseTSIG(%q) = %v, want an error with %q", c.in, err, c.want)
		}
	}
}

// keygenOutput is what tsig-keygen -a hmac-sha256 bctl-key prints.
const keygenOutput = `key "bctl-key" {
	algorithm hmac-sha256;
	secret "pR5Gh0s2nVn6P3bq1f0Hc0gC1UeA3fYj6p1w0E1jz8Q=";
};
`

func TestParseKeyFile(t *testing.T) {
	k, err := ParseKeyFile(strings.NewReader(keygenOutput), "bctl.key")
	if err != nil {
		t.Fatal(err)
	}
	if k.Name != "bctl-key." || k.Algorithm != dns.HmacSHA256 || k.Secret != "pR5Gh0s2nVn6P3bq1f0Hc0gC1UeA3fYj6p1w0E1jz8Q=" {
		t.Errorf("got %+v", k)
	}
	commented := "# made by hand\n/* a block\n comment */ key bctl-key { // the key\n secret \"c2VjcmV0\"; algorithm hmac-sha512; };\n"
	if k, err := ParseKeyFile(strings.NewReader(commented), "c.key"); err != nil || k.Algorithm != dns.HmacSHA512 || k.Secret != "c2VjcmV0" {
		t.Errorf("commented: %+v, %v", k, err)
	}
	for _, c := range []struct{ in, want string }{
		{"", "k.key: ends early: want \"key\""},
		{"zone \"x\" {};", `k.key:1: want "key", got "zone"`},
		{"key \"x\" {\n algorithm hmac-sha256;\n owner \"y\";\n};", `k.key:3: unknown statement "owner" in key "x"`},
		{"key \"x\" {\n algorithm hmac-sha256;\n secret \"c2Vj;\n};", "k.key:3: unterminated string"},
		{"key \"x\" { algorithm hmac-sha256; };", `k.key: key "x" needs both algorithm and secret`},
		{"key \"x\" { algorithm hmac-sha256 secret \"c2Vj\"; };", `k.key:1: want ";", got "secret"`},
	} {
		_, err := ParseKeyFile(strings.NewReader(c.in), "k.key")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseKeyFile(%q) = %v, want an error with %q", c.in, err, c.want)
		}
	}
}

func TestReverseParent(t *testing.T) {
	for _, c := range []struct{ prefix, want string }{
		{"10.88.0.7/24", "0.0.88.10.in-addr.arpa."},
		{"192.168.1.77/16", "0.0.168.192.in-addr.arpa."},
		{"fd88::7/64", "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.8.d.f.ip6.arpa."},
	} {
		if got := ReverseParent(netip.MustParsePrefix(c.prefix)); got != c.want {
			t.Errorf("ReverseParent(%s) = %s, want %s", c.prefix, got, c.want)
		}
	}
	got := HostParents([]netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/8"), netip.MustParsePrefix("fe80::1/64"),
		netip.MustParsePrefix("10.88.0.7/24"), netip.MustParsePrefix("10.88.0.8/24"),
	})
	if len(got) != 1 || got[0] != "0.0.88.10.in-addr.arpa." {
		t.Errorf("HostParents = %v (loopback and link-local skipped, repeats once)", got)
	}
	if EnumName(DefaultRegisterDomain, "example.test") != "dr._dns-sd._udp.example.test." {
		t.Error(EnumName(DefaultRegisterDomain, "example.test"))
	}
}

func TestRegistrationZoneText(t *testing.T) {
	reg := Registration{
		Instance: "Node 1", Type: "_p2p._tcp", Subtypes: []string{"_relay"}, Domain: "example.test",
		Host: "node1.example.test", Port: 4001, TXT: []byte("\x09key=value\x04a\"\\b"), TTL: 120, TTLOther: 4500,
		Addrs: []netip.Addr{netip.MustParseAddr("10.88.0.1"), netip.MustParseAddr("fd88::1")},
	}
	want := strings.Join([]string{
		"_p2p._tcp.example.test.\t4500\tIN\tPTR\tNode\\ 1._p2p._tcp.example.test.",
		"_relay._sub._p2p._tcp.example.test.\t4500\tIN\tPTR\tNode\\ 1._p2p._tcp.example.test.",
		"Node\\ 1._p2p._tcp.example.test.\t120\tIN\tSRV\t0 0 4001 node1.example.test.",
		"Node\\ 1._p2p._tcp.example.test.\t4500\tIN\tTXT\t\"key=value\" \"a\\\"\\\\b\"",
		"node1.example.test.\t120\tIN\tA\t10.88.0.1",
		"node1.example.test.\t120\tIN\tAAAA\tfd88::1",
		"_services._dns-sd._udp.example.test.\t4500\tIN\tPTR\t_p2p._tcp.example.test.",
	}, "\n") + "\n"
	if got := ZoneText(append(reg.Records(), reg.ServicesRecord())); got != want {
		t.Errorf("zone text:\n%s\nwant:\n%s", got, want)
	}
	// Every line parses back to the same RDATA (the TXT byte for byte).
	for _, rr := range reg.Records() {
		back, err := dns.NewRR(Presentation(rr))
		if err != nil {
			t.Fatalf("%s: %v", Presentation(rr), err)
		}
		a, b := make([]byte, 512), make([]byte, 512)
		na, _ := dns.PackRR(rr, a, 0, nil, false)
		nb, _ := dns.PackRR(back, b, 0, nil, false)
		if string(a[:na]) != string(b[:nb]) {
			t.Errorf("%s does not parse back to the same bytes", Presentation(rr))
		}
	}
	// Zero-length TXT RDATA has no string form: RFC 3597 generic syntax.
	if got := Presentation(TXTRecord("x.example.", 60, nil)); got != "x.example.\t60\tIN\tTXT\t\\# 0" {
		t.Errorf("zero-length TXT: %q", got)
	}
}

func TestUpdateCarriesLease(t *testing.T) {
	g := NewRegistrar(&Client{}, nil, Registration{Instance: "n", Type: "_p2p._tcp", Domain: "example.test", Lease: 90 * time.Second})
	m := g.update("example.test.")
	opt := m.IsEdns0()
	if opt == nil || len(opt.Option) != 1 {
		t.Fatalf("no EDNS0 Update Lease option: %v", m)
	}
	if ul, ok := opt.Option[0].(*dns.EDNS0_UL); !ok || ul.Lease != 90 {
		t.Errorf("option %v", opt.Option[0])
	}
	if m := NewRegistrar(&Client{}, nil, Registration{}).update("x."); m.IsEdns0() != nil {
		t.Error("an update without a lease carries an OPT record")
	}
}

func TestCompare(t *testing.T) {
	wide := browse.Service{Instance: "Node", Type: "_p2p._tcp", Host: "node.example.test.", Port: 4001, TXTState: browse.TXTPresent, TXTRaw: []byte("\x03a=1"), Plane: "dns 10.0.0.53"}
	wide.TXT, _ = txt.Parse(wide.TXTRaw)
	same := wide
	same.Host, same.Plane = "node.local.", "mdns eth0"
	if f := Compare([]browse.Service{wide}, []browse.Service{same}); len(f) != 1 || f[0].Level != check.Pass {
		t.Errorf("same service: %+v", f)
	}
	other := same
	other.Port, other.TXTRaw = 4002, []byte("\x03a=2")
	other.TXT, _ = txt.Parse(other.TXTRaw)
	f := Compare([]browse.Service{wide}, []browse.Service{other})
	if len(f) != 1 || f[0].Level != check.Warn || f[0].Rule != "mdns-dns-differ" ||
		!strings.Contains(f[0].Message, "port 4001 in DNS, 4002 on mDNS") || !strings.Contains(f[0].Message, "TXT a=1") {
		t.Errorf("different service: %+v", f)
	}
	if f := Compare([]browse.Service{wide}, nil); len(f) != 0 {
		t.Errorf("nothing on mDNS: %+v", f)
	}
}

func TestParseServer(t *testing.T) {
	for in, want := range map[string]string{"10.0.0.1": "10.0.0.1:53", "10.0.0.1:5300": "10.0.0.1:5300", "fd00::1": "[fd00::1]:53", "[fd00::1]:53": "[fd00::1]:53"} {
		got, err := ParseServer(in)
		if err != nil || got.String() != want {
			t.Errorf("ParseServer(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseServer("dns.example"); err == nil || !strings.Contains(err.Error(), "not an IP address") {
		t.Errorf("a name: %v", err)
	}
	if ServerString(netip.MustParseAddrPort("10.0.0.1:53")) != "10.0.0.1" || ServerString(netip.MustParseAddrPort("10.0.0.1:5300")) != "10.0.0.1:5300" {
		t.Error("ServerString")
	}
}
