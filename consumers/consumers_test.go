package consumers

import (
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/bonjourctl/bonjourctl/txt"
)

func rdata(t *testing.T, strs ...string) []byte {
	t.Helper()
	var r txt.Record
	for _, s := range strs {
		r.Strings = append(r.Strings, []byte(s))
	}
	b, err := txt.Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edgeRecords are the records whose handling differs between clients.
func edgeRecords(t *testing.T) [][]byte {
	return [][]byte{
		rdata(t, "flag", "flag=on", "a=one", "A=two", "a=three", "", "=bad", "bin=\xff\x00'\"\\\t"),
		{},  // zero-length
		{0}, // the empty record
		rdata(t, "k=it's", "q=\"", "path=/a", "path=/b", "bool"),
	}
}

// TestPythonZeroconfAgainstItself: the properties dict computed here is,
// byte for byte, the repr of what python-zeroconf itself builds from the
// same RDATA (Debian's python3-zeroconf).
func TestPythonZeroconfAgainstItself(t *testing.T) {
	py, err := exec.LookPath("/usr/bin/python3")
	if err == nil {
		err = exec.Command(py, "-c", "import zeroconf").Run()
	}
	if err != nil {
		if os.Getenv("BONJOURCTL_NETLAB") == "require" {
			t.Fatalf("python3-zeroconf is not installed: %v", err)
		}
		t.Skipf("python3-zeroconf is not installed: %v", err)
	}
	script := `
import sys
from zeroconf import ServiceInfo
i = ServiceInfo("_p2p._tcp.local.", "x._p2p._tcp.local.", port=1)
for line in sys.stdin.read().split():
    i._set_text(bytes.fromhex(line[1:]))
    print(repr(i.properties))
`
	recs := edgeRecords(t)
	var in strings.Builder
	for _, r := range recs {
		in.WriteString("x" + hex.EncodeToString(r) + "\n")
	}
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(recs) {
		t.Fatalf("python printed %d lines for %d records:\n%s", len(lines), len(recs), out)
	}
	for i, r := range recs {
		got := strings.TrimPrefix(PythonZeroconf(r).Sees, "properties = ")
		if got != lines[i] {
			t.Errorf("record %x:\n  bonjourctl:      %s\n  python-zeroconf: %s", r, got, lines[i])
		}
	}
}

func TestNotes(t *testing.T) {
	v := PythonZeroconf(rdata(t, "flag", "flag=on", "a=one", "A=two", "path=/a", "path=/b", "bool"))
	for _, want := range []string{
		`key "flag": the first string is a boolean (RFC 6763 §6.4: it counts), python-zeroconf takes the later value of string 1`,
		`keys "a" and "A" are one key to RFC 6763 §6.4 (case-insensitive) but two in python-zeroconf's dict`,
		`duplicate key "path": python-zeroconf keeps the first (string 4), as RFC 6763 §6.4 says; string 5 is lost`,
		`boolean key "bool" is None in the dict`,
	} {
		if !strings.Contains(strings.Join(v.Notes, "\n"), want) {
			t.Errorf("python-zeroconf notes lack %q:\n%s", want, strings.Join(v.Notes, "\n"))
		}
	}
	if strings.Contains(strings.Join(v.Notes, "\n"), `boolean key "flag"`) {
		t.Errorf("flag has a value in the dict, not None:\n%s", strings.Join(v.Notes, "\n"))
	}
	if n := PythonZeroconf(nil).Notes; len(n) != 1 || !strings.Contains(n[0], "cannot tell an illegal record from a legal empty one") {
		t.Errorf("zero-length: %v", n)
	}
	g := Grandcat(rdata(t, "a=\"x\"", "b=\xff", "a=2"))
	if g.Sees != `Text = []string{"a=\\\"x\\\"", "b=\\255", "a=2"}` {
		t.Errorf("grandcat sees %s", g.Sees)
	}
	if len(g.Notes) != 3 || !strings.Contains(g.Notes[2], `key "a" appears again in string 2`) {
		t.Errorf("grandcat notes: %q", g.Notes)
	}
	if z, e := Grandcat(nil), Grandcat([]byte{0}); z.Sees != "Text = []string{}" || e.Sees != `Text = []string{""}` {
		t.Errorf("grandcat zero-length %s, empty %s", z.Sees, e.Sees)
	}
}

func TestAvahi(t *testing.T) {
	a := Avahi(rdata(t, "a=\"x\"\\", "b=\xff\x00\t", "", "a=2"))
	if a.Sees != `avahi-browse -p TXT field: "a=2" "b=\255\000\009" "a=\"x\"\\"` {
		t.Errorf("avahi sees %s", a.Sees)
	}
	if len(a.Notes) != 2 || !strings.Contains(a.Notes[0], "1 empty string(s) dropped") || !strings.Contains(a.Notes[1], "last first") {
		t.Errorf("avahi notes %q", a.Notes)
	}
	z, e := Avahi(nil), Avahi([]byte{0})
	if z.Sees != e.Sees || z.Sees != "avahi-browse -p TXT field: (empty)" || !strings.Contains(z.Notes[0], "look the same") {
		t.Errorf("avahi zero-length %+v, empty %+v", z, e)
	}
}

func TestApple(t *testing.T) {
	a := Apple(rdata(t, "Path=/a", "flag", "path=/b", "e="))
	if a.Sees != `TXTRecordGetValuePtr by key: {Path: "/a", flag: (no value), e: ""}` {
		t.Errorf("Apple sees %s", a.Sees)
	}
	if !strings.Contains(strings.Join(a.Notes, "\n"), `key "path" again in string 2: the first (string 0) is returned`) {
		t.Errorf("Apple notes %q", a.Notes)
	}
	if z := Apple(nil); !strings.Contains(z.Notes[0], "txt_record cannot have length 0") {
		t.Errorf("zero-length: %q", z.Notes)
	}
}

func TestBrutella(t *testing.T) {
	b := Brutella(rdata(t, "path=/a", "flag", "path=/b", "Path=/c", "q=\"x\""))
	if b.Sees != `Text = map[string]string{"Path":"/c", "path":"/b", "q":"\\\"x\\\""}` {
		t.Errorf("brutella sees %s", b.Sees)
	}
	all := strings.Join(b.Notes, "\n")
	for _, want := range []string{`key "path" repeats: the map keeps the last value ("/b")`, `boolean key "flag" (no '=') is dropped`, `keys "path" and "Path" are one key`, `string 4 arrives escaped`} {
		if !strings.Contains(all, want) {
			t.Errorf("brutella notes lack %q:\n%s", want, all)
		}
	}
}

func TestESPIDF(t *testing.T) {
	e := ESPIDF(rdata(t, "a=1", "=x", "flag", "e=", "", "lost=1"))
	if e.Sees != `txt[] = {{"a", "1" (1)}, {"flag", NULL}, {"e", NULL}}` {
		t.Errorf("ESP-IDF sees %s", e.Sees)
	}
	all := strings.Join(e.Notes, "\n")
	for _, want := range []string{`"e"= (empty value) arrives as a NULL value, the same as the boolean "e"`, "string 4 is empty: parsing stops there, and the 1 string(s) after it are lost"} {
		if !strings.Contains(all, want) {
			t.Errorf("ESP-IDF notes lack %q:\n%s", want, all)
		}
	}
	if z := ESPIDF([]byte{0}); z.Sees != "txt[] = {}" || !strings.Contains(z.Notes[0], "no items") {
		t.Errorf("empty record: %+v", z)
	}
}

func TestAndroid(t *testing.T) {
	a := Android(rdata(t, "Path=/a", "flag", "path=/b", "=x", "bin=\xff", ""))
	if a.Sees != "getAttributes() = {=null, bin=\uFFFD, flag=null, Path=/a}" {
		t.Errorf("Android sees %s", a.Sees)
	}
	all := strings.Join(a.Notes, "\n")
	for _, want := range []string{`key "path" again in string 2: the first (string 0) is kept`, `the value of "bin" is not UTF-8`, `an empty string becomes an attribute with the empty key`} {
		if !strings.Contains(all, want) {
			t.Errorf("Android notes lack %q:\n%s", want, all)
		}
	}
}
