package expect_test

import (
	"strings"
	"testing"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/expect"
	"github.com/bonjourctl/bonjourctl/txt"
)

func service(t *testing.T, state browse.TXTState, rdata string) *browse.Service {
	t.Helper()
	s := &browse.Service{TXTState: state, TXTRaw: []byte(rdata)}
	if state == browse.TXTPresent || state == browse.TXTEmpty {
		r, err := txt.Parse([]byte(rdata))
		if err != nil {
			t.Fatal(err)
		}
		s.TXT = r
	}
	return s
}

// TestUnmet: a pair's three forms (key=value, key= and key), the first
// occurrence of a key winning (RFC 6763 §6.4), keys compared without
// case, exact RDATA and the TXT's state, each with what was there.
func TestUnmet(t *testing.T) {
	txtRec := "\x09key=value\x04flag\x06empty=\x05KEY=2\x05Dup=1"
	pair := func(s string) expect.Expectation {
		e, err := expect.Pair(s)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	for _, c := range []struct {
		e    expect.Expectation
		svc  *browse.Service
		want string // "" when met
	}{
		{pair("key=value"), service(t, browse.TXTPresent, txtRec), ""},
		{pair("KEY=value"), service(t, browse.TXTPresent, txtRec), ""},
		{pair("key=2"), service(t, browse.TXTPresent, txtRec), `--expect key=2: key is "value" [key=value flag empty= KEY=2 Dup=1]`},
		{pair("flag"), service(t, browse.TXTPresent, txtRec), ""},
		{pair("flag="), service(t, browse.TXTPresent, txtRec), "--expect flag=: flag has no value (a boolean attribute)"},
		{pair("empty="), service(t, browse.TXTPresent, txtRec), ""},
		{pair("empty"), service(t, browse.TXTPresent, txtRec), "--expect empty: empty is not a boolean attribute: it is empty="},
		{pair("dup=1"), service(t, browse.TXTPresent, txtRec), ""},
		{pair("other=1"), service(t, browse.TXTPresent, txtRec), "--expect other=1: no key other in the TXT"},
		{pair("key=value"), service(t, browse.TXTMissing, ""), "--expect key=value: no TXT record was seen"},
		{pair("key=value"), service(t, browse.TXTZeroLength, ""), "--expect key=value: no key key in the TXT"},
	} {
		got := strings.Join(expect.Unmet([]expect.Expectation{c.e}, c.svc), "\n")
		if c.want == "" && got != "" || c.want != "" && !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.e, got, c.want)
		}
	}
	rd, err := expect.RData("0131")
	if err != nil {
		t.Fatal(err)
	}
	if got := expect.Unmet([]expect.Expectation{rd}, service(t, browse.TXTPresent, "\x011")); len(got) != 0 {
		t.Errorf("exact RDATA: %q", got)
	}
	if got := expect.Unmet([]expect.Expectation{rd}, service(t, browse.TXTZeroLength, "")); len(got) != 1 || !strings.Contains(got[0], "the TXT RDATA is empty (zero-length)") {
		t.Errorf("zero-length against RDATA: %q", got)
	}
	st, err := expect.State("zero-length")
	if err != nil {
		t.Fatal(err)
	}
	if got := expect.Unmet([]expect.Expectation{st}, service(t, browse.TXTEmpty, "\x00")); len(got) != 1 || !strings.Contains(got[0], "the TXT is empty") {
		t.Errorf("state: %q", got)
	}
	for _, bad := range []string{"=v", ""} {
		if _, err := expect.Pair(bad); err == nil {
			t.Errorf("Pair(%q) accepted", bad)
		}
	}
	if _, err := expect.RData("zz"); err == nil {
		t.Error("RData(zz) accepted")
	}
}
