//go:build linux

package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
	"github.com/bonjourctl/bonjourctl/widearea"
)

// wideZone is the test zone: the browse-domain records of RFC 6763 §11
// and the name server; bonjourctl and nsupdate add the rest.
const wideZone = `$ORIGIN example.test.
$TTL 60
@ SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
ns1 A 10.88.0.2
b._dns-sd._udp PTR @
lb._dns-sd._udp PTR @
r._dns-sd._udp PTR @
`

// reverseZone names example.test as the automatic browse domain of the
// lab's subnet, 10.88.0.0/24 (RFC 6763 §11).
const reverseZone = `$ORIGIN 0.88.10.in-addr.arpa.
$TTL 60
@ SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60
@ NS ns1.example.test.
lb._dns-sd._udp.0 PTR example.test.
`

// wideLab is a lab with BIND 9 on host 2 serving example.test, updatable
// with a TSIG key made by tsig-keygen; host 1 runs bonjourctl.
type wideLab struct {
	lab     *netlab.Lab
	named   *netlab.Named
	keyFile string
	key     *widearea.TSIG
}

func newWideLab(t *testing.T, hosts int) *wideLab {
	t.Helper()
	lab := netlab.New(t, hosts)
	keygen := netlab.LookPath(t, "tsig-keygen")
	netlab.LookPath(t, "dig")
	out, err := exec.Command(keygen, "-a", "hmac-sha256", "bctl-key").Output()
	if err != nil {
		t.Fatalf("tsig-keygen: %v", err)
	}
	keyFile := filepath.Join(t.TempDir(), "bctl.key")
	if err := os.WriteFile(keyFile, out, 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := widearea.ParseKeyFile(strings.NewReader(string(out)), keyFile)
	if err != nil {
		t.Fatalf("bonjourctl cannot read tsig-keygen's key file: %v\n%s", err, out)
	}
	named := lab.Host(2).StartNamed(t, context.Background(), netlab.NamedConfig{
		Zones:     map[string]string{"example.test": wideZone, "0.88.10.in-addr.arpa": reverseZone},
		Keys:      map[string]string{"bctl-key": "hmac-sha256 " + key.Secret},
		UpdateKey: "bctl-key",
	})
	return &wideLab{lab: lab, named: named, keyFile: keyFile, key: key}
}

// dig runs dig in host 1 against the server and returns its +short output.
func (w *wideLab) dig(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := w.lab.Host(1).Exec(ctx, "dig", append([]string{"+short", "+norecurse", "@10.88.0.2"}, args...)...)
	if err != nil {
		t.Fatalf("dig %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(out)
}

// nsupdate sends an nsupdate script (server and zone lines added) signed
// with the lab's key.
func (w *wideLab) nsupdate(t *testing.T, lines ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := w.lab.Host(1).Command(ctx, "nsupdate", "-k", w.keyFile)
	cmd.Stdin = strings.NewReader("server 10.88.0.2\nzone example.test\n" + strings.Join(lines, "\n") + "\nsend\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nsupdate: %v\n%s", err, out)
	}
}

// TestWideAreaRegisterDigReadsBack: advertise --domain registers by DNS
// UPDATE signed with a key from tsig-keygen (read from its key file); dig
// reads back PTR, SRV, TXT, A and the type enumeration PTR; a TXT change
// typed on standard input is an update dig sees; a second advertise of the
// same name is renamed (the prerequisite failed: YXDOMAIN); a clean exit
// deletes exactly what was added, leaving the address the other instance
// still uses.
func TestWideAreaRegisterDigReadsBack(t *testing.T) {
	w := newWideLab(t, 2)
	h1 := w.lab.Host(1)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	adv := h1.Command(ctx, bin, "advertise", "Node 1", "_p2p._tcp", "4001", "--txt", "key=value",
		"--domain", "example.test", "--server", "10.88.0.2", "--tsig-file", w.keyFile, "--host", "node1", "--ip", "10.88.0.1")
	stdin, err := adv.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var advErr netlab.Buffer
	adv.Stderr = &advErr
	lines := netlab.Lines(t, adv)
	reg := netlab.WaitLine(t, lines, 15*time.Second, netlab.Containing("registered"))
	if !strings.Contains(reg, "signed with TSIG key bctl-key") || !strings.Contains(reg, "in zone example.test.") {
		t.Errorf("registered line: %q", reg)
	}
	if got := w.dig(t, "_p2p._tcp.example.test", "PTR"); got != `Node\0321._p2p._tcp.example.test.` {
		t.Errorf("PTR: %q", got)
	}
	if got := w.dig(t, `Node\0321._p2p._tcp.example.test`, "SRV"); got != "0 0 4001 node1.example.test." {
		t.Errorf("SRV: %q", got)
	}
	if got := w.dig(t, `Node\0321._p2p._tcp.example.test`, "TXT"); got != `"key=value"` {
		t.Errorf("TXT: %q", got)
	}
	if got := w.dig(t, "node1.example.test", "A"); got != "10.88.0.1" {
		t.Errorf("A: %q", got)
	}
	if got := w.dig(t, "_services._dns-sd._udp.example.test", "PTR"); got != "_p2p._tcp.example.test." {
		t.Errorf("_services PTR: %q", got)
	}

	// browse --zone prints what a zone holds for the type; query --server
	// prints the reply with the TXT bytes.
	zone, err := h1.Command(ctx, bin, "browse", "--zone", "--domain", "example.test", "--server", "10.88.0.2", "_p2p._tcp").Output()
	if err != nil {
		t.Fatalf("browse --zone: %v", err)
	}
	wantZone := "_p2p._tcp.example.test.\t120\tIN\tPTR\tNode\\ 1._p2p._tcp.example.test.\n" +
		"Node\\ 1._p2p._tcp.example.test.\t120\tIN\tSRV\t0 0 4001 node1.example.test.\n" +
		"Node\\ 1._p2p._tcp.example.test.\t120\tIN\tTXT\t\"key=value\"\n" +
		"node1.example.test.\t120\tIN\tA\t10.88.0.1\n"
	if string(zone) != wantZone {
		t.Errorf("browse --zone:\n%s\nwant:\n%s", zone, wantZone)
	}
	q, err := h1.Command(ctx, bin, "query", "--server", "10.88.0.2", "Node 1._p2p._tcp.example.test", "TXT", "--json").Output()
	if err != nil {
		t.Fatalf("query --server: %v", err)
	}
	var reply struct {
		Transport, Rcode string
		Answers          []struct{ Type, RData string }
	}
	if err := json.Unmarshal(q, &reply); err != nil || reply.Rcode != "NOERROR" || reply.Transport != "udp" || len(reply.Answers) != 1 || reply.Answers[0].RData != "096b65793d76616c7565" {
		t.Errorf("query --server: %v %s", err, q)
	}

	fmt.Fprintln(stdin, "txt key=changed flag")
	upd := netlab.WaitLine(t, lines, 10*time.Second, netlab.Containing("txt-updated"))
	if !strings.Contains(upd, `"key=changed"`) {
		t.Errorf("txt-updated line: %q", upd)
	}
	if got := w.dig(t, `Node\0321._p2p._tcp.example.test`, "TXT"); got != `"key=changed" "flag"` {
		t.Errorf("TXT after the change: %q", got)
	}

	// The same name again, from another registrant: renamed.
	adv2 := h1.Command(ctx, bin, "advertise", "Node 1", "_p2p._tcp", "4002", "--domain", "example.test", "--server", "10.88.0.2",
		"--tsig-file", w.keyFile, "--host", "node1", "--ip", "10.88.0.1", "--duration", "60s")
	lines2 := netlab.Lines(t, adv2)
	conflict := netlab.WaitLine(t, lines2, 15*time.Second, netlab.Containing("conflict"))
	if !strings.Contains(conflict, `"Node 1 (2)"`) || !strings.Contains(conflict, "YXDOMAIN") {
		t.Errorf("conflict line: %q", conflict)
	}
	netlab.WaitLine(t, lines2, 10*time.Second, netlab.Containing("registered"))
	if got := w.dig(t, `Node\0321\032(2)._p2p._tcp.example.test`, "SRV"); got != "0 0 4002 node1.example.test." {
		t.Errorf("renamed SRV: %q", got)
	}

	// A clean exit of the first deletes its records, not the address
	// the second relies on, and not the type's enumeration PTR.
	if err := adv.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	del := netlab.WaitLine(t, lines, 10*time.Second, netlab.Containing("deleted"))
	if !strings.Contains(del, "other instances of it remain") {
		t.Errorf("deleted line: %q", del)
	}
	err = adv.Wait()
	if code := exitCode(err); code != 130 {
		t.Errorf("advertise exit %d after SIGINT, want 130 (%v)\n%s", code, err, advErr.String())
	}
	if got := w.dig(t, `Node\0321._p2p._tcp.example.test`, "ANY"); got != "" {
		t.Errorf("records left after exit: %q", got)
	}
	if got := w.dig(t, "_p2p._tcp.example.test", "PTR"); got != `Node\0321\032\(2\)._p2p._tcp.example.test.` {
		t.Errorf("PTR after the first exit: %q", got)
	}
	if got := w.dig(t, "node1.example.test", "A"); got != "10.88.0.1" {
		t.Errorf("A after the first exit (the second still uses it): %q", got)
	}
	if l, ok := netlab.NextLine(lines, 5*time.Second, netlab.Containing("kept")); !ok || !strings.Contains(l, `node1.example.test. 120 IN A 10.88.0.1: instance "Node 1 (2)" targets the same host`) {
		t.Errorf("kept line: %q", l)
	}
	if err := adv2.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	del2 := netlab.WaitLine(t, lines2, 10*time.Second, netlab.Containing("deleted"))
	if !strings.Contains(del2, "no instance of it is left") {
		t.Errorf("second deleted line: %q", del2)
	}
	// The second found the address in the zone when it registered: not
	// its to delete.
	if l, ok := netlab.NextLine(lines2, 5*time.Second, netlab.Containing("kept")); !ok || !strings.Contains(l, "it was in the zone before") {
		t.Errorf("second kept line: %q", l)
	}
	_ = adv2.Wait()
	for _, q := range [][]string{{"_p2p._tcp.example.test", "PTR"}, {"_services._dns-sd._udp.example.test", "PTR"}, {`Node\0321\032(2)._p2p._tcp.example.test`, "ANY"}} {
		if got := w.dig(t, q...); got != "" {
			t.Errorf("%v left after both exited: %q", q, got)
		}
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// TestWideAreaBrowseSeesNsupdate: what nsupdate (BIND's own client) adds,
// changes and deletes, browse --domain reports as added, updated (TXT
// diff) and removed (absent), each event naming its plane.
func TestWideAreaBrowseSeesNsupdate(t *testing.T) {
	w := newWideLab(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	br := w.lab.Host(1).Command(ctx, bin, "browse", "--json", "--domain", "example.test", "--server", "10.88.0.2", "--poll-floor", "1s", "_http._tcp")
	var brErr netlab.Buffer
	br.Stderr = &brErr
	lines := netlab.Lines(t, br)
	time.Sleep(500 * time.Millisecond)
	w.nsupdate(t,
		"update add _http._tcp.example.test. 1 PTR web._http._tcp.example.test.",
		"update add web._http._tcp.example.test. 1 SRV 0 0 8080 ns1.example.test.",
		`update add web._http._tcp.example.test. 1 TXT "path=/" "v"`)
	type ev struct {
		Event, Instance, Host, Plane, Cause string
		Port                                uint16
		Addrs                               []string
		TXT                                 struct{ State, RData string }
		Changes                             []struct{ Field, Old, New string }
	}
	next := func(kind string) ev {
		t.Helper()
		l := netlab.WaitLine(t, lines, 15*time.Second, netlab.Containing(`"event":"`+kind+`"`))
		var e ev
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		return e
	}
	add := next("added")
	if add.Instance != "web" || add.Host != "ns1.example.test." || add.Port != 8080 || add.Plane != "dns 10.88.0.2" ||
		len(add.Addrs) != 1 || add.Addrs[0] != "10.88.0.2" || add.TXT.RData != "06706174683d2f0176" {
		t.Errorf("added: %+v\nstderr: %s", add, brErr.String())
	}
	w.nsupdate(t, "update delete web._http._tcp.example.test. TXT", `update add web._http._tcp.example.test. 1 TXT "path=/v2"`)
	upd := next("updated")
	if len(upd.Changes) != 1 || upd.Changes[0].Field != "txt" || !strings.Contains(upd.Changes[0].New, "path=/v2") {
		t.Errorf("updated: %+v", upd)
	}
	w.nsupdate(t, "update delete web._http._tcp.example.test.", "update delete _http._tcp.example.test. PTR")
	rmv := next("removed")
	if rmv.Cause != "absent" || rmv.Instance != "web" {
		t.Errorf("removed: %+v", rmv)
	}
}

// TestWideAreaKeyErrors: a wrong secret and an unknown key name are the
// server's BADSIG and BADKEY, said as such, exit 1; a server that does not
// answer is said too.
func TestWideAreaKeyErrors(t *testing.T) {
	w := newWideLab(t, 2)
	wrong := strings.Repeat("A", 43) + "="
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--tsig", "bctl-key:hmac-sha256:" + wrong}, "(BADSIG, RFC 8945 §5.2.2): the secret differs from the server's"},
		{[]string{"--tsig", "other-key:hmac-sha256:" + w.key.Secret}, "does not know TSIG key other-key with that algorithm (BADKEY"},
		{[]string{}, "refused the update of zone example.test. (REFUSED)"},
		{[]string{"--tsig", "bctl-key:hmac-sha257:" + w.key.Secret}, `TSIG algorithm "hmac-sha257" is not one of`},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		args := append([]string{"advertise", "Node", "_p2p._tcp", "4001", "--domain", "example.test", "--server", "10.88.0.2"}, c.args...)
		out, err := w.lab.Host(1).Command(ctx, bin, args...).CombinedOutput()
		cancel()
		if code := exitCode(err); code != 1 && code != 2 {
			t.Errorf("%v: exit %d, want 1 or 2\n%s", c.args, code, out)
		}
		if !strings.Contains(string(out), c.want) {
			t.Errorf("%v: output lacks %q:\n%s", c.args, c.want, out)
		}
	}
	if got := w.dig(t, "_p2p._tcp.example.test", "PTR"); got != "" {
		t.Errorf("a refused update left records: %q", got)
	}
	// No server at 10.88.0.3: said, not hung.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := w.lab.Host(1).Command(ctx, bin, "resolve", "Node", "_p2p._tcp", "--domain", "example.test", "--server", "10.88.0.3:53", "--timeout", "10s").CombinedOutput()
	if exitCode(err) != 1 || !strings.Contains(string(out), "no DNS server answered") {
		t.Errorf("resolve at a silent server: %v\n%s", err, out)
	}
}

// TestWideAreaLongTXTOverTCP: a 2,000-byte TXT record registers (the
// update itself goes over TCP when it must), resolve reads it back byte
// for byte over TCP (BIND truncates UDP replies over 1,232 bytes), dig
// +tcp agrees, and check --domain says what a client without EDNS0 gets.
func TestWideAreaLongTXTOverTCP(t *testing.T) {
	w := newWideLab(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var rdata []byte
	for i := 0; len(rdata) < 2000-20; i++ {
		s := fmt.Sprintf("k%03d=%s", i, strings.Repeat("v", 14))
		rdata = append(append(rdata, byte(len(s))), s...)
	}
	adv := w.lab.Host(1).Command(ctx, bin, "advertise", "Big", "_p2p._tcp", "4001", "--txt-hex", hex.EncodeToString(rdata),
		"--domain", "example.test", "--server", "10.88.0.2", "--tsig-file", w.keyFile, "--host", "big", "--ip", "10.88.0.1", "--duration", "40s")
	lines := netlab.Lines(t, adv)
	netlab.WaitLine(t, lines, 15*time.Second, netlab.Containing("registered"))

	out, err := w.lab.Host(1).Command(ctx, bin, "resolve", "Big", "_p2p._tcp", "--domain", "example.test", "--server", "10.88.0.2", "--json").Output()
	if err != nil {
		t.Fatalf("resolve: %v\n%s", err, out)
	}
	var res struct {
		Complete bool
		TXT      struct{ RData string }
		Records  []struct{ Type, Interface string }
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	if !res.Complete || res.TXT.RData != hex.EncodeToString(rdata) {
		t.Errorf("resolve: complete %v, TXT %d bytes (want %d exactly)", res.Complete, len(res.TXT.RData)/2, len(rdata))
	}
	for _, r := range res.Records {
		if r.Type == "TXT" && r.Interface != "dns/tcp" {
			t.Errorf("the %d-byte TXT came over %s, want dns/tcp", len(rdata), r.Interface)
		}
	}
	dig := w.dig(t, "+tcp", "Big._p2p._tcp.example.test", "TXT")
	strs := 0
	for i := 0; i < len(rdata); i += 1 + int(rdata[i]) {
		strs++
	}
	if n := strings.Count(dig, `"`) / 2; n != strs {
		t.Errorf("dig +tcp read %d strings, want %d", n, strs)
	}
	if !strings.Contains(dig, `"k000=vvvvvvvvvvvvvv"`) {
		t.Errorf("dig +tcp: %.200s", dig)
	}

	out, err = w.lab.Host(1).Command(ctx, bin, "check", "--domain", "example.test", "--server", "10.88.0.2", "--json").Output()
	if err != nil {
		t.Fatalf("check --domain: %v\n%s", err, out)
	}
	var rep struct {
		Failures int
		Rules    map[string]int
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Failures != 0 || rep.Rules["txt-over-512"] != 1 || rep.Rules["instance-complete"] != 1 || rep.Rules["browse-domain"] != 1 {
		t.Errorf("check --domain: %s", out)
	}
}

// TestWideAreaDomains: domains lists the browse and registration domains
// the zone names, and the automatic browse domain of the lab's subnet from
// its reverse-mapping name.
func TestWideAreaDomains(t *testing.T) {
	w := newWideLab(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := w.lab.Host(1).Command(ctx, bin, "domains", "--server", "10.88.0.2", "--json", "example.test").Output()
	if err != nil {
		t.Fatalf("domains: %v\n%s", err, out)
	}
	var res struct {
		Domains []struct{ Kind, Domain, From string }
		Asked   []struct{ Name, Result string }
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, d := range res.Domains {
		got[d.Kind+" "+d.Domain+" "+d.From] = true
	}
	for _, want := range []string{
		"b example.test. b._dns-sd._udp.example.test.",
		"lb example.test. lb._dns-sd._udp.example.test.",
		"r example.test. r._dns-sd._udp.example.test.",
		"lb example.test. lb._dns-sd._udp.0.0.88.10.in-addr.arpa.",
	} {
		if !got[want] {
			t.Errorf("missing %q in %s", want, out)
		}
	}
	asked := map[string]string{}
	for _, a := range res.Asked {
		asked[a.Name] = a.Result
	}
	if asked["db._dns-sd._udp.example.test."] != "NXDOMAIN" {
		t.Errorf("db: %q", asked["db._dns-sd._udp.example.test."])
	}
	// Nothing found: exit 1.
	err = w.lab.Host(1).Command(ctx, bin, "domains", "--server", "10.88.0.2", "--no-subnets", "nowhere.test").Run()
	if exitCode(err) != 1 {
		t.Errorf("domains of a domain with none: %v, want exit 1", err)
	}
}

// TestWideAreaZoneTextLoadsIntoNamed: advertise --print-zone prints zone
// lines that a second named loads as they are, and that named then serves
// a complete instance that bonjourctl resolves; avahi-browse, configured
// for wide-area browsing against the first server, sees what bonjourctl
// registered there.
func TestWideAreaZoneTextLoadsIntoNamed(t *testing.T) {
	w := newWideLab(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := w.lab.Host(1).Command(ctx, bin, "advertise", "Zone Node", "_p2p._tcp", "4001", "--txt", "key=value", "--txt", "x=1",
		"--domain", "other.test", "--host", "zn", "--ip", "10.88.0.3", "--print-zone").Output()
	if err != nil {
		t.Fatalf("--print-zone: %v\n%s", err, out)
	}
	zone := "$TTL 60\nother.test. SOA ns1.other.test. hostmaster.other.test. 1 3600 600 86400 60\nother.test. NS ns1.other.test.\nns1.other.test. A 10.88.0.3\n" + string(out)
	second := w.lab.Host(3).StartNamed(t, ctx, netlab.NamedConfig{Zones: map[string]string{"other.test": zone}})
	if !strings.Contains(second.Log(), "zone other.test/IN: loaded serial 1") {
		t.Fatalf("the second named did not load the printed zone:\n%s\n%s", zone, second.Log())
	}
	res, err := w.lab.Host(1).Command(ctx, bin, "resolve", "Zone Node", "_p2p._tcp", "--domain", "other.test", "--server", "10.88.0.3", "--expect", "key=value", "--expect", "x=1").CombinedOutput()
	if err != nil {
		t.Errorf("resolve from the second named: %v\n%s", err, res)
	}

	// avahi-browse as an independent wide-area client of the first server.
	netlab.LookPath(t, "avahi-browse")
	adv := w.lab.Host(1).Command(ctx, bin, "advertise", "Wide Node", "_p2p._tcp", "4001", "--txt", "key=value",
		"--domain", "example.test", "--server", "10.88.0.2", "--tsig-file", w.keyFile, "--host", "wn", "--ip", "10.88.0.1", "--duration", "40s")
	netlab.WaitLine(t, netlab.Lines(t, adv), 15*time.Second, netlab.Containing("registered"))
	av := w.lab.Host(3).StartAvahi(t, ctx, netlab.AvahiConfig{DBus: true, WideAreaServer: w.named.Addr.Addr()})
	var got string
	for try := 0; try < 10 && !strings.Contains(got, "key=value"); try++ {
		cmd := w.lab.Host(3).Command(ctx, "avahi-browse", "-r", "-p", "-t", "-d", "example.test", "_p2p._tcp")
		cmd.Env = append(cmd.Env, "DBUS_SYSTEM_BUS_ADDRESS="+av.BusAddress)
		b, _ := cmd.CombinedOutput()
		got = string(b)
		time.Sleep(300 * time.Millisecond)
	}
	if !strings.Contains(got, `=;`) || !strings.Contains(got, `Wide\032Node;_p2p._tcp;example.test;wn.example.test;10.88.0.1;4001;"key=value"`) {
		t.Errorf("avahi-browse -d example.test did not resolve the instance bonjourctl registered:\n%s\navahi log:\n%s", got, av.Log())
	}
}

// TestWideAreaTUI: the TUI browses mDNS on the link and example.test on
// BIND side by side: an instance nsupdate put in the zone shows with its
// domain and, selected, its plane; one bonjourctl advertises on mDNS shows
// beside it; r re-asks the DNS server for the wide-area one.
func TestWideAreaTUI(t *testing.T) {
	w := newWideLab(t, 2)
	netlab.LookPath(t, "tmux")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w.nsupdate(t,
		"update add _http._tcp.example.test. 60 PTR web._http._tcp.example.test.",
		"update add web._http._tcp.example.test. 60 SRV 0 0 8080 ns1.example.test.",
		`update add web._http._tcp.example.test. 60 TXT "path=/wide"`)
	adv := w.lab.Host(2).Command(ctx, bin, "advertise", "Local Web", "_http._tcp", "80", "-i", "eth0", "--host", "lw", "--ip", "10.88.0.2", "--txt", "path=/local")
	netlab.WaitLine(t, netlab.Lines(t, adv), 15*time.Second, netlab.Containing("announced"))

	tm := netlab.NewTmux(t, ctx, "ip netns exec "+w.lab.Host(1).NS+" "+bin+" tui -i eth0 --domain example.test --server 10.88.0.2 --poll-floor 1s _http._tcp")
	s := tm.Wait("web @example.test", 15*time.Second)
	if !strings.Contains(s, "Local Web") {
		tm.Wait("Local Web", 10*time.Second)
	}
	tm.Keys("Down") // sorted by name: "Local Web", then "web"
	s = tm.Wait("via dns 10.88.0.2", 10*time.Second)
	if !strings.Contains(s, "path=/wide") || !strings.Contains(s, "dns/udp") {
		t.Errorf("the wide-area instance's detail:\n%s", s)
	}
	tm.Keys("r")
	tm.Wait("example.test.: dns 10.88.0.2 answered in", 10*time.Second)
	tm.Quit()
}

// TestWideAreaCheckComparesMDNS: the same instance name on the link
// (bonjourctl advertise) and in the zone (nsupdate), with another port and
// TXT: check --domain --compare-mdns says how they differ.
func TestWideAreaCheckComparesMDNS(t *testing.T) {
	w := newWideLab(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w.nsupdate(t,
		"update add _http._tcp.example.test. 60 PTR Twin._http._tcp.example.test.",
		"update add Twin._http._tcp.example.test. 60 SRV 0 0 8080 tw.example.test.",
		"update add tw.example.test. 60 A 10.88.0.2",
		`update add Twin._http._tcp.example.test. 60 TXT "path=/wide"`)
	adv := w.lab.Host(2).Command(ctx, bin, "advertise", "Twin", "_http._tcp", "80", "-i", "eth0", "--host", "tw", "--ip", "10.88.0.2", "--txt", "path=/local")
	netlab.WaitLine(t, netlab.Lines(t, adv), 15*time.Second, netlab.Containing("announced"))
	out, err := w.lab.Host(1).Command(ctx, bin, "check", "-i", "eth0", "--domain", "example.test", "--server", "10.88.0.2", "--compare-mdns", "-d", "3s", "--json", "_http._tcp").Output()
	if err != nil {
		t.Fatalf("check: %v\n%s", err, out)
	}
	var rep struct {
		Rules    map[string]int
		Findings []struct{ Rule, Message, Responder string }
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Rules["mdns-dns-differ"] != 1 || rep.Rules["type-not-enumerated"] != 1 {
		t.Errorf("rules: %v", rep.Rules)
	}
	for _, f := range rep.Findings {
		if f.Rule == "mdns-dns-differ" && (!strings.Contains(f.Message, "port 8080 in DNS, 80 on mDNS") || !strings.Contains(f.Message, "path=/wide") ||
			!strings.Contains(f.Message, "path=/local") || f.Responder != "dns 10.88.0.2 / mdns eth0") {
			t.Errorf("finding: %+v", f)
		}
	}
}

// TestWideAreaExitWithoutServer: when the server is gone at exit, advertise
// does not say "deleted": it says no reply came and that whether the
// records went is not known, and exits 1.
func TestWideAreaExitWithoutServer(t *testing.T) {
	w := newWideLab(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adv := w.lab.Host(1).Command(ctx, bin, "advertise", "Gone", "_p2p._tcp", "4001", "--domain", "example.test", "--server", "10.88.0.2",
		"--tsig-file", w.keyFile, "--host", "gone", "--ip", "10.88.0.1")
	var errOut netlab.Buffer
	adv.Stderr = &errOut
	lines := netlab.Lines(t, adv)
	netlab.WaitLine(t, lines, 15*time.Second, netlab.Containing("registered"))
	w.named.Stop()
	if err := adv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if l, ok := netlab.NextLine(lines, 15*time.Second, netlab.Containing("deleted")); ok {
		t.Errorf("advertise said %q with no server to delete from", l)
	}
	err := adv.Wait()
	if code := exitCode(err); code != 1 || !strings.Contains(errOut.String(), "whether they were deleted is not known") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut.String())
	}
}
