package cli

import (
	"strings"
	"testing"

	"github.com/bonjourctl/bonjourctl/advertise"
	"github.com/bonjourctl/bonjourctl/mdns/mdnstest"
)

// TestBrowseRead: browse --read replays the lab capture (avahi-daemon and
// python3-zeroconf) on its own clock: the two instances, the TXT change,
// the goodbye, as a browser on that link would have printed them.
func TestBrowseRead(t *testing.T) {
	code, out, errOut := run(t, "", "browse", "--read", "testdata/peers.pcapng", "_p2p._tcp")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"  add  Node 1  _p2p._tcp  ", "  add  ZC Node  _p2p._tcp  ", "  upd  ZC Node  _p2p._tcp  txt: ", "-> key=value2 (1 string, 11 bytes)"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "replayed testdata/peers.pcapng: 23 frames, 23 mDNS packets; nothing was sent") {
		t.Errorf("stderr: %s", errOut)
	}
	// Event times are the capture's, not the replay's.
	if !strings.HasPrefix(out, "1") && !strings.HasPrefix(out, "0") && !strings.HasPrefix(out, "2") {
		t.Errorf("lines should start with the capture's time: %q", out)
	}
}

// TestBrowseReadExpect: --instance with --expect against a capture: met,
// unmet with what was on the wire and which packet, and absent.
func TestBrowseReadExpect(t *testing.T) {
	code, _, errOut := run(t, "", "browse", "--read", "testdata/peers.pcapng", "_p2p._tcp", "--instance", "ZC Node", "--expect", "key=value2")
	if code != 0 || !strings.Contains(errOut, `ok ZC\ Node._p2p._tcp.local.: 1 expectation met`) {
		t.Errorf("met: exit %d, %s", code, errOut)
	}
	code, _, errOut = run(t, "", "browse", "--read", "testdata/peers.pcapng", "_p2p._tcp", "--instance", "ZC Node", "--expect", "key=value", "--expect", "flag", "--expect-state", "present")
	if code != 1 || !strings.Contains(errOut, `FAIL ZC\ Node._p2p._tcp.local. --expect key=value: key is "value2" [key=value2], from 10.88.0.3:5353 at`) ||
		!strings.Contains(errOut, `FAIL ZC\ Node._p2p._tcp.local. --expect flag: no key flag in the TXT`) || strings.Contains(errOut, "--expect-state") {
		t.Errorf("unmet: exit %d, %s", code, errOut)
	}
	code, _, errOut = run(t, "", "browse", "--read", "testdata/peers.pcapng", "_p2p._tcp", "--instance", "Nobody", "--expect", "a=1")
	if code != 1 || !strings.Contains(errOut, `FAIL Nobody._p2p._tcp.local. was not seen in the capture`) {
		t.Errorf("absent: exit %d, %s", code, errOut)
	}
	for _, c := range []struct{ args, err string }{
		{"--expect a=1", "--expect, --expect-txt-hex and --expect-state need --instance NAME"},
		{"--instance X --expect-state nope", `--expect-state must be present, empty, missing or zero-length, not "nope"`},
		{"--instance X --expect =1", `--expect "=1": the key is empty`},
		{"--instance X --expect-txt-hex zz", "--expect-txt-hex: "},
	} {
		code, _, errOut := run(t, "", append([]string{"browse", "_p2p._tcp"}, strings.Fields(c.args)...)...)
		if code != 2 || !strings.Contains(errOut, c.err) {
			t.Errorf("%s: exit %d, %s", c.args, code, errOut)
		}
	}
}

// TestCheckRead: check --read judges the capture: python3-zeroconf sets
// AA in its probes; --json counts findings by rule; --fail-on warn turns
// warnings into exit 1.
func TestCheckRead(t *testing.T) {
	code, out, errOut := run(t, "", "check", "--read", "testdata/peers.pcapng", "_p2p._tcp")
	if code != 1 || !strings.Contains(out, "aa-in-query") || !strings.Contains(errOut, "judging testdata/peers.pcapng on its own clock") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = run(t, "", "check", "--read", "testdata/peers.pcapng", "--json")
	if code != 1 || !strings.Contains(out, `"rules":{`) || !strings.Contains(out, `"aa-in-query":1`) {
		t.Errorf("--json: exit %d\n%s", code, out)
	}
	if code, _, errOut := run(t, "", "check", "--read", "testdata/peers.pcapng", "--active", "_p2p._tcp"); code != 2 || !strings.Contains(errOut, "--active sends queries") {
		t.Errorf("--active --read: exit %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "", "check", "--fail-on", "maybe"); code != 2 || !strings.Contains(errOut, `--fail-on must be fail or warn, not "maybe"`) {
		t.Errorf("--fail-on maybe: exit %d %s", code, errOut)
	}
}

// TestExpectOnLAN: the CI use: browse --instance --expect passes against
// a correct service at once, and fails with the reason against a wrong
// TXT, a zero-length TXT and a service that is not there.
func TestExpectOnLAN(t *testing.T) {
	lanTest(t, func(t *testing.T, lan *mdnstest.LAN) {
		stop := peer(t, lan, []byte("\x09key=value"), advertise.Faults{})
		code, _, errOut := onLAN(lan, "", "browse", "_p2p._tcp", "--instance", "Node 1", "--expect", "key=value", "--expect-state", "present")
		if code != 0 || !strings.Contains(errOut, `ok Node\ 1._p2p._tcp.local.: 2 expectations met`) {
			t.Errorf("correct service: exit %d, %s", code, errOut)
		}
		code, _, errOut = onLAN(lan, "", "browse", "_p2p._tcp", "--instance", "Node 1", "--expect", "key=other", "--timeout", "2s")
		if code != 1 || !strings.Contains(errOut, `--expect key=other: key is "value" [key=value], from 10.88.0.1:5353 at`) {
			t.Errorf("wrong TXT: exit %d, %s", code, errOut)
		}
		// resolve takes the same flags; the expectations decide its exit.
		code, _, errOut = onLAN(lan, "", "resolve", "Node 1", "_p2p._tcp", "--expect", "key=value")
		if code != 0 || !strings.Contains(errOut, `ok Node\ 1._p2p._tcp.local.: 1 expectation met`) {
			t.Errorf("resolve, correct: exit %d, %s", code, errOut)
		}
		code, _, errOut = onLAN(lan, "", "resolve", "Node 1", "_p2p._tcp", "--expect-state", "missing")
		if code != 1 || !strings.Contains(errOut, `FAIL Node\ 1._p2p._tcp.local. --expect-state missing: the TXT is present`) {
			t.Errorf("resolve, wrong state: exit %d, %s", code, errOut)
		}
		stop()
		stop = peer(t, lan, nil, advertise.Faults{ZeroLengthTXT: true})
		code, _, errOut = onLAN(lan, "", "resolve", "Node 1", "_p2p._tcp", "--expect-state", "zero-length")
		if code != 0 || !strings.Contains(errOut, "1 expectation met") {
			t.Errorf("resolve, zero-length expected: exit %d, %s", code, errOut)
		}
		code, _, errOut = onLAN(lan, "", "browse", "_p2p._tcp", "--instance", "Node 1", "--expect-state", "present", "--timeout", "2s")
		if code != 1 || !strings.Contains(errOut, "--expect-state present: the TXT is zero-length") {
			t.Errorf("zero-length TXT: exit %d, %s", code, errOut)
		}
		stop()
		code, _, errOut = onLAN(lan, "", "browse", "_p2p._tcp", "--instance", "Absent", "--expect", "a=1", "--timeout", "2s")
		if code != 1 || !strings.Contains(errOut, "FAIL Absent._p2p._tcp.local. was not seen within 2s") {
			t.Errorf("absent: exit %d, %s", code, errOut)
		}
	})
}

// TestDoctorRead: doctor --read answers from the capture alone: the TXT on
// the wire (python3-zeroconf's) or zero-length (grandcat's), who asked for
// it, whether it was answered, and which steps it could not take.
func TestDoctorRead(t *testing.T) {
	code, out, errOut := run(t, "", "doctor", "--read", "testdata/peers.pcapng", "ZC Node", "_p2p._tcp")
	for _, want := range []string{"verdict: TXT record is on the wire (1 string, 11 bytes, from 10.88.0.3", "info offline    judged from testdata/peers.pcapng: 23 mDNS packets", "skipped, as they need this machine and the network", "warn announced  \"ZC Node\" was on the wire (host bj-h3-zc.local., port 4242), then said goodbye at 15:51:41.016", "info update     TXT of \"ZC Node\" changed 1 times (from 10.88.0.3), announced with the cache-flush bit", "NSBonjourServices"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s%s", want, out, errOut)
		}
	}
	if code != 0 { // warnings only: the TXT was there, nobody asked for it
		t.Errorf("ZC Node: exit %d", code)
	}
	if strings.Contains(out, "conflict") {
		t.Errorf("one responder's update is not a conflict:\n%s", out)
	}
	code, out, _ = run(t, "", "doctor", "--read", "testdata/peers.pcapng", "Node 1", "_p2p._tcp")
	if code != 0 || !strings.Contains(out, "pass announced  \"Node 1\" was on the wire (host bj-h2.local., port 4001) until the capture ended") {
		t.Errorf("Node 1: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, "", "doctor", "--read", "testdata/grandcat.pcapng", "_p2p._tcp")
	if code != 1 || !strings.Contains(out, "TXT record is zero-length (illegal)") {
		t.Errorf("grandcat: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, "", "doctor", "--read", "testdata/peers.pcapng", "Nobody", "_p2p._tcp")
	if code != 1 || !strings.Contains(out, `no instance "Nobody" of _p2p._tcp was in the capture (seen: Node 1, ZC Node)`) {
		t.Errorf("absent: exit %d\n%s", code, out)
	}
	if code, _, errOut := run(t, "", "doctor", "--read", "testdata/peers.pcapng"); code != 2 || !strings.Contains(errOut, "--read needs a service type") {
		t.Errorf("no type: exit %d %s", code, errOut)
	}
}

// TestExitCodesAndFlags: the small fixes a new user hits.
func TestExitCodesAndFlags(t *testing.T) {
	if code, _, errOut := run(t, "", "completion", "bogus"); code != 2 || !strings.Contains(errOut, `unknown command "bogus"`) {
		t.Errorf("completion bogus: exit %d %q", code, errOut)
	}
	if code, _, errOut := run(t, "", "txt", "encode", "--json", "a=1"); code != 2 || !strings.Contains(errOut, "--json does not apply to bonjourctl txt encode") {
		t.Errorf("txt encode --json: exit %d %q", code, errOut)
	}
	if code, out, _ := run(t, "", "version", "--json"); code != 0 || !strings.HasPrefix(out, `{"version":`) {
		t.Errorf("version --json: exit %d %q", code, out)
	}
	if code, out, _ := run(t, "", "txt", "decode", "--from", "dig", `"key=value" "flag"`); code != 0 || !strings.Contains(out, "input: quoted") {
		t.Errorf("--from dig: exit %d %q", code, out)
	}
}

// TestWideAreaFlags: the DNS plane's flags refuse what cannot work, before
// anything is sent; --print-zone needs no server.
func TestWideAreaFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"browse", "--server", "10.0.0.53", "_p2p._tcp"}, "--server needs --domain DOMAIN"},
		{[]string{"browse", "--zone", "_p2p._tcp"}, "--zone needs --domain DOMAIN"},
		{[]string{"browse", "--domain", "example.test", "--read", "x.pcap", "_p2p._tcp"}, "--read and --domain cannot be used together"},
		{[]string{"browse", "--domain", "example.test", "--poll-floor", "10ms", "_p2p._tcp"}, "--poll-floor must be at least 1s"},
		{[]string{"resolve", "--domain", "example.test", "--qu", "n", "_p2p._tcp"}, "--qu and --qm are mDNS flags"},
		{[]string{"advertise", "n", "_p2p._tcp", "1", "--domain", "example.test"}, "--domain example.test needs --server ADDR"},
		{[]string{"advertise", "n", "_p2p._tcp", "1", "--tsig", "k:hmac-sha256:c2Vj"}, "need --domain DOMAIN"},
		{[]string{"advertise", "n", "_p2p._tcp", "1", "--domain", "example.test", "--server", "10.0.0.53", "--raw", "no-probe"}, "--raw no-probe is an mDNS fault"},
		{[]string{"advertise", "n", "_p2p._tcp", "1", "--domain", "example.test", "--server", "10.0.0.53", "--lease", "5s"}, "--lease must be at least 30s"},
		{[]string{"advertise", "n", "_p2p._tcp", "1", "--domain", "example.test", "--server", "dns.example"}, `server "dns.example" is not an IP address`},
		{[]string{"advertise", "n", "_p2p._tcp", "1", "--domain", "example.test", "--server", "10.0.0.53", "--tsig", "k:hmac:c2Vj"}, `TSIG algorithm "hmac" is not one of`},
		{[]string{"advertise", "n", "_p2p._tcp", "1", "--domain", "example.test", "--server", "10.0.0.53", "--tsig-file", "testdata/absent.key"}, "--tsig-file:"},
		{[]string{"check", "--domain", "example.test", "--active", "_p2p._tcp"}, "judge mDNS responders"},
		{[]string{"check", "--compare-mdns", "_p2p._tcp"}, "--compare-mdns needs --domain"},
		{[]string{"query", "--server", "10.0.0.53", "--qu", "x.example", "A"}, "--qu and --legacy are mDNS flags"},
	} {
		code, _, errOut := run(t, "", c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
	code, out, errOut := run(t, "", "advertise", "Node 1", "_p2p._tcp", "4001", "--txt", "key=value", "--domain", "example.test", "--host", "node1", "--ip", "10.0.0.7", "--print-zone")
	want := "; txt  TXT RDATA 10 bytes: 096b65793d76616c7565  [9]\"key=value\"\n" +
		"_p2p._tcp.example.test.\t120\tIN\tPTR\tNode\\ 1._p2p._tcp.example.test.\n" +
		"Node\\ 1._p2p._tcp.example.test.\t120\tIN\tSRV\t0 0 4001 node1.example.test.\n" +
		"Node\\ 1._p2p._tcp.example.test.\t120\tIN\tTXT\t\"key=value\"\n" +
		"node1.example.test.\t120\tIN\tA\t10.0.0.7\n" +
		"_services._dns-sd._udp.example.test.\t120\tIN\tPTR\t_p2p._tcp.example.test.\n"
	if code != 0 || out != want {
		t.Errorf("--print-zone: exit %d\n%s\nwant:\n%s\nstderr: %s", code, out, want, errOut)
	}
}
