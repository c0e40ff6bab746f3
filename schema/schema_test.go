package schema

import (
	"strings"
	"testing"

	"github.com/bonjourctl/bonjourctl/txt"
)

func record(strs ...string) txt.Record {
	var r txt.Record
	for _, s := range strs {
		r.Strings = append(r.Strings, []byte(s))
	}
	return r
}

// codes lists the findings at warning level and above as "code key".
func codes(rep Report) []string {
	var out []string
	for _, f := range rep.Findings {
		if f.Severity >= txt.Warning {
			out = append(out, f.Code+" "+f.Key)
		}
	}
	return out
}

func TestBuiltin(t *testing.T) {
	s := Builtin()
	for _, typ := range []string{"_matterc._udp", "_matter._tcp", "_hap._tcp", "_hap._udp", "_p2p._udp", "_ipp._tcp", "_ipps._tcp",
		"_googlecast._tcp", "_airplay._tcp", "_raop._tcp", "_device-info._tcp", "_meshcop._udp", "_esphomelib._tcp"} {
		sc := s.For(typ)
		if sc == nil {
			t.Errorf("no schema for %s", typ)
			continue
		}
		if sc.Source == "" || len(sc.Keys) == 0 {
			t.Errorf("%s: no source or no keys", typ)
		}
	}
	if s.For("_printer._sub._ipp._tcp.local.") != s.For("_ipp._tcp") || s.For("_ipp._tcp") == nil {
		t.Error("a subtype and a domain do not find the type's schema")
	}
	if s.For("_unknown._tcp") != nil {
		t.Error("a schema for an unknown type")
	}
	sc, n := s.Mistaken("_p2p._tcp")
	if sc == nil || sc.Types[0] != "_p2p._udp" || !strings.Contains(n.Meaning, "_p2p._udp, not _p2p._tcp") {
		t.Errorf("Mistaken(_p2p._tcp) = %v, %v", sc, n)
	}
}

// TestGolden: for each schema a valid record (from its specification's
// examples or a real device's announcement) has no finding, and each kind
// of violation is found, named by code and key.
func TestGolden(t *testing.T) {
	s := Builtin()
	peer := "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
	for _, c := range []struct {
		typ, instance string
		rec           []string
		want          []string // codes at warning and above, in order
	}{
		// Matter commissionable: as connectedhomeip's all-clusters app announces itself.
		{"_matterc._udp", "E2E4F7E1A1B2C3D4", []string{"D=3840", "VP=65521+32769", "CM=1", "DT=257", "DN=Kitchen Light", "SII=5000", "SAI=300", "T=0", "ICD=0"}, nil},
		{"_matterc._udp", "E2E4F7E1A1B2C3D4", []string{"D=4096", "VP=65521+32769"}, []string{"schema-bad-value D"}},
		{"_matterc._udp", "E2E4F7E1A1B2C3D4", []string{"D=0840"}, []string{"schema-bad-value D"}},
		{"_matterc._udp", "e2e4", []string{"VP=65521+", "CM=4", "DN=" + strings.Repeat("x", 33), "SII=3600001", "T=8"},
			[]string{"schema-instance-name ", "schema-bad-value VP", "schema-bad-value CM", "schema-bad-value DN", "schema-bad-value SII", "schema-bad-value T", "schema-missing-key D"}},
		{"_matterc._udp", "E2E4F7E1A1B2C3D4", []string{"D=840", "D=841"}, []string{"schema-repeated-key D"}},
		// Matter operational.
		{"_matter._tcp", "2906C908D115D362-8FC7772401CD0696", []string{"SII=5000", "SAI=300", "T=0"}, nil},
		{"_matter._tcp", "2906c908d115d362-1", []string{"SAT=70000"}, []string{"schema-instance-name ", "schema-bad-value SAT"}},
		// HomeKit: a bridge as the specification's example.
		{"_hap._tcp", "", []string{"c#=1", "ff=0", "id=3C:33:1B:21:B3:00", "md=Bridge", "pv=1.1", "s#=1", "sf=1", "ci=2"}, nil},
		{"_hap._tcp", "", []string{"c#=0", "id=3C331B21B300", "md=Bridge", "s#=2", "ci=2"},
			[]string{"schema-bad-value c#", "schema-bad-value id", "schema-bad-value s#", "schema-missing-key sf"}},
		// libp2p.
		{"_p2p._udp", "k0x5hzrqmjvdgtmsbqpw9iqxsulomcc3", []string{"dnsaddr=/ip4/10.0.0.1/tcp/4001/p2p/" + peer, "dnsaddr=/ip6/fd00::1/udp/4001/quic-v1/p2p/" + peer}, nil},
		{"_p2p._udp", "Node 1", []string{"dnsaddr=/ip4/10.0.0.1/tcp/4001", "dnsaddr=/ip4/10.0.0.1/tcp/nope/p2p/" + peer},
			[]string{"schema-instance-name ", "schema-bad-value dnsaddr", "schema-bad-value dnsaddr"}},
		{"_p2p._udp", "k0x5hzrqmjvdgtmsbqpw9iqxsulomcc3", []string{"key=value"}, []string{"schema-missing-key dnsaddr"}},
		// IPP Everywhere: as a printer announces itself.
		{"_ipp._tcp", "", []string{"txtvers=1", "qtotal=1", "rp=ipp/print", "ty=Example Printer", "pdl=application/pdf,image/urf,image/pwg-raster",
			"UUID=3fd2a6b2-4d71-4c9e-9b9a-1a2b3c4d5e6f", "URF=W8,SRGB24,RS300", "TLS=1.2", "Color=T", "Duplex=F"}, nil},
		{"_ipp._tcp", "", []string{"txtvers=2", "rp=/ipp/print", "pdl=pdf", "Color=yes"},
			[]string{"schema-bad-value txtvers", "schema-bad-value rp", "schema-bad-value pdl", "schema-bad-value Color", "schema-missing-key qtotal", "schema-missing-key ty", "schema-missing-key UUID", "schema-missing-key URF"}},
		// Thread Border Agent: binary values.
		{"_meshcop._udp", "", []string{"rv=1", "tv=1.3.0", "sb=\x00\x00\x01\xb1", "nn=OpenThread", "xp=\xde\xad\x00\xbe\xef\x00\xca\xfe"}, nil},
		{"_meshcop._udp", "", []string{"rv=1", "tv=1.3.0", "sb=0000", "xp=dead00beef00cafe"}, []string{"schema-bad-value xp"}},
		// Google Cast, ESPHome, device-info, AirPlay.
		{"_googlecast._tcp", "", []string{"id=0123456789abcdef0123456789abcdef", "md=Chromecast", "fn=Living Room", "ve=05", "st=0"}, nil},
		{"_googlecast._tcp", "", []string{"id=0123-4567", "fn=Living Room"}, []string{"schema-bad-value id", "schema-missing-key md"}},
		{"_esphomelib._tcp", "", []string{"friendly_name=Plug", "version=2024.6.0", "mac=a1b2c3d4e5f6", "platform=ESP32", "board=esp32dev", "network=wifi"}, nil},
		{"_esphomelib._tcp", "", []string{"version=latest", "mac=A1:B2:C3:D4:E5:F6", "platform=ESP32"}, []string{"schema-bad-value version", "schema-bad-value mac"}},
		{"_device-info._tcp", "", []string{"model=MacBookPro18,3", "osxvers=14"}, nil},
		{"_airplay._tcp", "", []string{"deviceid=58:55:CA:1A:E2:88", "features=0x5A7FFFF7,0x1E", "model=AppleTV3,2", "srcvers=220.68"}, nil},
		{"_airplay._tcp", "", []string{"features=5A7FFFF7"}, []string{"schema-bad-value features", "schema-missing-key deviceid", "schema-missing-key model"}},
	} {
		sc := s.For(c.typ)
		rec := record(c.rec...)
		got := codes(sc.Check(rec, rec.Len(), c.instance))
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s %q: findings\n  %v\nwant\n  %v\n%+v", c.typ, c.rec, got, c.want, sc.Check(rec, rec.Len(), c.instance).Findings)
		}
	}
}

func TestExplained(t *testing.T) {
	sc := Builtin().For("_hap._tcp")
	rep := sc.Check(record("sf=3", "ci=2", "zz=1"), 0, "")
	var sf, zz Explained
	for _, e := range rep.Explained {
		switch e.Key {
		case "sf":
			sf = e
		case "zz":
			zz = e
		}
	}
	if sf.Value != "not paired, not configured for Wi-Fi" || !strings.Contains(sf.Meaning, "status flags") || sf.Section != "§6.4" {
		t.Errorf("sf explained as %+v", sf)
	}
	if zz.Meaning != "" {
		t.Errorf("an unknown key explained: %+v", zz)
	}
	var unknown bool
	for _, f := range rep.Findings {
		unknown = unknown || (f.Code == CodeUnknown && f.Severity == txt.Info && f.Key == "zz")
	}
	if !unknown {
		t.Errorf("unknown key not reported as info: %+v", rep.Findings)
	}
	cm := Builtin().For("_matterc._udp").Check(record("D=840", "CM=2"), 0, "")
	for _, e := range cm.Explained {
		if e.Key == "CM" && !strings.Contains(e.Value, "enhanced") {
			t.Errorf("CM=2 explained as %q", e.Value)
		}
	}
}

func TestCheckType(t *testing.T) {
	for typ, want := range map[string]string{
		"_p2p._tcp":                 "",
		"_printer._sub._ipp._tcp":   "",
		"_device-info._tcp.local.":  "",
		"_p2p":                      "no _tcp or _udp label",
		"p2p._tcp":                  "must begin with an underscore",
		"_a-very-long-service._tcp": "is 19 characters; at most 15",
		"_my_svc._tcp":              `has "_": only letters, digits and hyphens`,
		"_-svc._udp":                "begins or ends with a hyphen",
		"_s--vc._udp":               "two hyphens in a row",
		"_1234._tcp":                "has no letter",
		"_x._y._tcp":                "only a subtype",
	} {
		fs := CheckType(typ)
		switch {
		case want == "" && len(fs) > 0:
			t.Errorf("%s: %v", typ, fs)
		case want != "" && (len(fs) == 0 || !strings.Contains(fs[0].Message, want)):
			t.Errorf("%s: %v, want %q", typ, fs, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{`, "mine.json: unexpected EOF"},
		{`{"types":["_x._tcp"],"name":"X","source":"s","keys":[{"key":"a","format":"number"}]}`, `mine.json: key 1 ("a"): unknown format "number"`},
		{`{"types":["_x._tcp"],"name":"X","source":"s","keys":[{"key":"a","format":"regexp","regexp":"("}]}`, `mine.json: key 1 ("a"): regexp:`},
		{`{"types":["x"],"name":"X","source":"s","keys":[]}`, `mine.json: type "x": "x" has no _tcp or _udp label`},
		{`{"types":["_x._tcp"],"name":"X","keys":[]}`, "needs a name and a source"},
		{`{"types":["_x._tcp"],"name":"X","source":"s","keys":[],"extra":1}`, `unknown field "extra"`},
		{`{"types":["_x._tcp"],"name":"X","source":"s","keys":[{"key":"a","format":"any"},{"key":"A","format":"any"}]}`, `key 2 ("A"): listed twice`},
	} {
		_, err := Parse(strings.NewReader(c.in), "mine.json")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%s) = %v, want %q", c.in, err, c.want)
		}
	}
	s := Builtin()
	if err := s.Add(strings.NewReader(`{"types":["_acme._tcp"],"name":"Acme sensor","source":"Acme firmware spec 2.1","keys":[{"key":"fw","format":"uint","required":"error","meaning":"firmware build"}]}`), "acme.json"); err != nil {
		t.Fatal(err)
	}
	if got := codes(s.For("_acme._tcp").Check(record("fw=x"), 0, "")); strings.Join(got, "|") != "schema-bad-value fw" {
		t.Errorf("user schema: %v", got)
	}
}

func TestRegistry(t *testing.T) {
	for typ, want := range map[string]bool{"_ipp._tcp": true, "_http._tcp": true, "_printer._sub._ipp._tcp.local.": true, "_hap._tcp": true,
		"_p2p._tcp": false, "_esphomelib._tcp": false, "_no-such-thing._udp": false} {
		if got := Registered(typ); got != want {
			t.Errorf("Registered(%s) = %v", typ, got)
		}
	}
	fs := CheckTypeRegistered("_p2p._udp")
	if len(fs) != 1 || fs[0].Code != CodeUnregistered || fs[0].Severity != txt.Info || !strings.Contains(fs[0].Message, "_p2p._udp is not in the IANA service-name registry as of 2024-06-11") {
		t.Errorf("CheckTypeRegistered(_p2p._udp) = %+v", fs)
	}
	if fs := CheckTypeRegistered("_my_svc._tcp"); len(fs) != 1 || fs[0].Code != CodeTypeName {
		t.Errorf("a malformed name is judged as malformed, not as unregistered: %+v", fs)
	}
}

func TestMixup(t *testing.T) {
	m := Builtin().NewMixup([]string{"_p2p._tcp"})
	if got := m.Extra(); len(got) != 1 || got[0] != "_p2p._udp" {
		t.Fatalf("Extra = %v", got)
	}
	if asked, note := m.Take("_p2p._udp", true, "peer", "h.local."); asked || !strings.Contains(note, "no _p2p._tcp instance seen so far, but _p2p._udp has one (peer at h.local.): libp2p's mDNS discovery advertises under _p2p._udp") {
		t.Errorf("first _p2p._udp instance: %v %q", asked, note)
	}
	if _, note := m.Take("_p2p._udp", true, "peer2", "h.local."); note != "" {
		t.Errorf("said twice: %q", note)
	}
	if asked, _ := m.Take("_P2P._tcp", true, "n", "h."); !asked {
		t.Error("an instance of the type asked for was not taken")
	}
	both := Builtin().NewMixup([]string{"_p2p._tcp", "_p2p._udp"})
	if len(both.Extra()) != 0 {
		t.Errorf("both asked for: Extra = %v", both.Extra())
	}
	after := Builtin().NewMixup([]string{"_p2p._udp"})
	after.Take("_p2p._udp", true, "n", "h.")
	if _, note := after.Take("_p2p._tcp", true, "x", "h."); note != "" {
		t.Errorf("noted though the type asked for had an instance: %q", note)
	}
	var none *Set
	if len(none.NewMixup([]string{"_p2p._tcp"}).Extra()) != 0 {
		t.Error("a nil Set watches something")
	}
}
