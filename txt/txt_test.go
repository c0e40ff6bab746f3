package txt_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bonjourctl/bonjourctl/txt"
)

func enc(strs ...string) []byte {
	var b []byte
	for _, s := range strs {
		b = append(b, byte(len(s)))
		b = append(b, s...)
	}
	return b
}

// withSize returns a record of well-formed "kN=xxx" strings totalling n bytes.
func withSize(n int) []byte {
	var strs []string
	for i := 0; n > 0; i++ {
		k := fmt.Sprintf("k%d=", i)
		l := min(n-1, 200)
		if l < len(k) {
			// fold the remainder into the previous string
			last := strs[len(strs)-1]
			strs[len(strs)-1] = last + strings.Repeat("y", n)
			break
		}
		strs = append(strs, k+strings.Repeat("x", l-len(k)))
		n -= 1 + l
	}
	return enc(strs...)
}

func codes(fs []txt.Finding) string {
	var c []string
	for _, f := range fs {
		s := fmt.Sprintf("%s@%d", f.Code, f.Index)
		if f.Count > 1 {
			s += fmt.Sprintf("x%d", f.Count)
		}
		c = append(c, s)
	}
	return strings.Join(c, " ")
}

func TestLint(t *testing.T) {
	long255 := "long=" + strings.Repeat("x", 250)
	tests := []struct {
		name  string
		rdata []byte
		want  string // codes with string index
	}{
		{"clean", enc("key=value"), ""},
		{"legal empty", []byte{0}, ""},
		{"zero-length", []byte{}, "zero-length-rdata@-1"},
		{"overrun", []byte{9, 'k', 'e', 'y'}, "length-overrun@0"},
		{"overrun second", append(enc("a=1"), 5, 'x'), "length-overrun@1"},
		{"empty key", enc("=value"), "empty-key@0"},
		{"key control byte", enc("ke\x01y=v"), "key-not-printable-ascii@0"},
		{"key high byte", enc("k\xe9=v"), "key-not-printable-ascii@0"},
		{"duplicate", enc("key=one", "key=two", "KEY=three"), "duplicate-key@1x2"},
		{"key 9 chars", enc("abcdefghi=1"), ""},
		{"key 10 chars", enc("abcdefghij=1"), "key-too-long@0"},
		{"size 200", withSize(200), ""},
		{"size 201", withSize(201), "size-over-200@-1"},
		{"size 400", withSize(400), "size-over-200@-1"},
		{"size 401", withSize(401), "size-over-400@-1"},
		{"size 1300", withSize(1300), "size-over-400@-1"},
		{"size 1301", withSize(1301), "size-over-1300@-1"},
		{"size 8900", withSize(8900), "size-over-1300@-1"},
		{"size 8901", withSize(8901), "size-over-8900@-1"},
		{"quoted", enc(`name="Kitchen"`), "value-quoted@0"},
		{"hex text", enc("id=0123456789abcdef"), "value-hex-text@0"},
		{"hex too short", enc("id=0123abcd"), ""},
		{"base64 text", enc("pk=SGVsbG8gV29ybGQxMjM0NQ=="), "value-base64-text@0"},
		{"txtvers first", enc("txtvers=1", "a=b"), ""},
		{"txtvers later", enc("a=b", "txtvers=1"), "txtvers-not-first@1"},
		{"boolean", enc("flag"), "boolean-key@0"},
		{"not utf8", enc("bin=\x00\xff"), "value-not-utf8@0"},
		{"empty among others", enc("a=1", ""), "empty-string@1"},
		{"255-byte string", enc(long255), "size-over-200@-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := txt.Lint(tt.rdata)
			if got := codes(fs); got != tt.want {
				t.Errorf("Lint(%x...) = %q, want %q", tt.rdata[:min(len(tt.rdata), 16)], got, tt.want)
			}
			for _, f := range fs {
				if f.Index >= 0 && (f.Offset < 0 || f.Offset >= len(tt.rdata)) {
					t.Errorf("%s: offset %d outside the %d-byte record", f.Code, f.Offset, len(tt.rdata))
				}
				if f.Section == "" || f.Message == "" {
					t.Errorf("%s: missing section or message", f.Code)
				}
			}
		})
	}
}

func TestLintSeverities(t *testing.T) {
	for code, want := range map[string]txt.Severity{
		txt.CodeZeroLength: txt.Error, txt.CodeSize8900: txt.Error, txt.CodeDuplicateKey: txt.Warning, txt.CodeBoolean: txt.Info,
	} {
		var rdata []byte
		switch code {
		case txt.CodeSize8900:
			rdata = withSize(9000)
		case txt.CodeDuplicateKey:
			rdata = enc("a=1", "A=2")
		case txt.CodeBoolean:
			rdata = enc("b")
		}
		found := false
		for _, f := range txt.Lint(rdata) {
			if f.Code == code {
				found = true
				if f.Severity != want {
					t.Errorf("%s severity = %v, want %v", code, f.Severity, want)
				}
			}
		}
		if !found {
			t.Errorf("%s not reported", code)
		}
	}
}

func TestDuplicateMessageNamesFirst(t *testing.T) {
	fs := txt.Lint(enc("key=one", "KEY=two"))
	if len(fs) != 1 || !strings.Contains(fs[0].Message, "clients use string 0") {
		t.Fatalf("findings = %v", fs)
	}
}

func TestThreeEmptinesses(t *testing.T) {
	zero, err := txt.Parse(nil)
	if err != nil || !zero.ZeroLength() || zero.IsEmpty() {
		t.Errorf("zero-length: %+v %v", zero, err)
	}
	one, err := txt.Parse([]byte{0})
	if err != nil || one.ZeroLength() || !one.IsEmpty() {
		t.Errorf("one empty string: %+v %v", one, err)
	}
	b, _ := txt.Encode(txt.Empty())
	if !bytes.Equal(b, []byte{0}) {
		t.Errorf("Encode(Empty()) = %x, want 00", b)
	}
	b, _ = txt.Encode(txt.Record{})
	if len(b) != 0 {
		t.Errorf("Encode(Record{}) = %x, want zero-length", b)
	}
}

func TestAttributes(t *testing.T) {
	r, _ := txt.Parse(enc("key=v=1", "flag", "empty=", "=x", "", "KEY=dup", "bin=\x00\xff"))
	want := []struct {
		kind  txt.Kind
		key   string
		value string
		first int
	}{
		{txt.Value, "key", "v=1", 0},
		{txt.Boolean, "flag", "", 1},
		{txt.EmptyValue, "empty", "", 2},
		{txt.Ignored, "", "x", 3},
		{txt.Ignored, "", "", 4},
		{txt.Value, "KEY", "dup", 0},
		{txt.Value, "bin", "\x00\xff", 6},
	}
	got := txt.Attributes(r)
	if len(got) != len(want) {
		t.Fatalf("%d attributes, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Kind != w.kind || string(g.Key) != w.key || string(g.Value) != w.value || g.FirstIndex != w.first {
			t.Errorf("attr %d = {%v %q %q first %d}, want {%v %q %q first %d}", i, g.Kind, g.Key, g.Value, g.FirstIndex, w.kind, w.key, w.value, w.first)
		}
	}
	a, ok := txt.Lookup(r, "Key")
	if !ok || string(a.Value) != "v=1" {
		t.Errorf("Lookup(Key) = %q %v, want the first occurrence v=1", a.Value, ok)
	}
}

func TestEncodeLimits(t *testing.T) {
	ok := txt.Record{Strings: [][]byte{bytes.Repeat([]byte("a"), 255)}}
	if b, err := txt.Encode(ok); err != nil || len(b) != 256 || b[0] != 255 {
		t.Errorf("255-byte string: %d bytes, %v", len(b), err)
	}
	bad := txt.Record{Strings: [][]byte{{}, bytes.Repeat([]byte("a"), 256)}}
	if _, err := txt.Encode(bad); !errors.Is(err, txt.ErrStringTooLong) || !strings.Contains(err.Error(), "string 1 is 256 bytes") {
		t.Errorf("256-byte string: %v", err)
	}
}

func TestFromPairs(t *testing.T) {
	r, err := txt.FromPairs([]string{"key=value", "flag", "empty=", "bin:hex=00ff", "a=b=c"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := txt.Encode(r)
	want := enc("key=value", "flag", "empty=", "bin=\x00\xff", "a=b=c")
	if !bytes.Equal(b, want) {
		t.Errorf("got %x, want %x", b, want)
	}
	for _, tt := range []struct {
		pairs []string
		want  string
	}{
		{[]string{"ok", "x:hex=0g"}, "argument 2, position 6: value of \"x\" is not hex"},
		{[]string{"k=" + strings.Repeat("v", 254)}, "argument 1, position 255: \"k=vvvvvvvvvvvvvvvvvvvvvv...\" is 256 bytes as a TXT string; the limit is 255"},
	} {
		if _, err := txt.FromPairs(tt.pairs); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("FromPairs(%q) error = %v, want %q", tt.pairs[len(tt.pairs)-1][:min(10, len(tt.pairs[len(tt.pairs)-1]))], err, tt.want)
		}
	}
}

func TestParseText(t *testing.T) {
	tests := []struct {
		in     string
		from   txt.Format
		want   []byte
		format txt.Format
	}{
		{"09 6b:65 79 3d 76 61 6c 75 65", txt.FormatAuto, enc("key=value"), txt.FormatHex},
		{`"key=value" "flag" "bin=\000\255\""`, txt.FormatAuto, enc("key=value", "flag", "bin=\x00\xff\""), txt.FormatQuoted},
		{`"b=2" "a=1"`, txt.FormatAvahi, enc("a=1", "b=2"), txt.FormatAvahi},
		{`key=value path=/a\ b ctl=\\x01`, txt.FormatAuto, enc("key=value", "path=/a b", "ctl=\x01"), txt.FormatDNSSD},
		{"CWtleT12YWx1ZQ==", txt.FormatBase64, enc("key=value"), txt.FormatBase64},
	}
	for _, tt := range tests {
		r, f, err := txt.ParseText(tt.in, tt.from)
		if err != nil {
			t.Errorf("ParseText(%q): %v", tt.in, err)
			continue
		}
		b, _ := txt.Encode(r)
		if !bytes.Equal(b, tt.want) || f != tt.format {
			t.Errorf("ParseText(%q) = %x as %s, want %x as %s", tt.in, b, f, tt.want, tt.format)
		}
	}
}

func TestParseTextErrors(t *testing.T) {
	tests := []struct {
		in   string
		from txt.Format
		want string
	}{
		{"096b6", txt.FormatAuto, "position 4: odd number of hex digits"},
		{"096b65793g", txt.FormatAuto, "position 9: 'g' is not a hex digit"},
		{"@@@", txt.FormatBase64, "position 0: invalid base64"},
		{`"abc`, txt.FormatAuto, "position 0: string is not closed"},
		{`"a\999"`, txt.FormatQuoted, `escape \999 is over 255`},
	}
	for _, tt := range tests {
		_, _, err := txt.ParseText(tt.in, tt.from)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseText(%q) error = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestEscape(t *testing.T) {
	if got := txt.Escape([]byte("a\x1b[2J\\\xff")); got != `a\x1b[2J\\\xff` {
		t.Errorf("Escape = %q", got)
	}
	if got := txt.EscapeUTF8([]byte("café\x07")); got != `café\x07` {
		t.Errorf("EscapeUTF8 = %q", got)
	}
}

func TestLiterals(t *testing.T) {
	rdata := enc("key=value", "flag")
	if c := txt.CLiteral(rdata); !strings.Contains(c, "txt[15]") || !strings.Contains(c, "0x09, 0x6b,") {
		t.Errorf("C literal:\n%s", c)
	}
	if s := txt.SwiftLiteral(rdata); !strings.Contains(s, `txt.setEntry(.string("value"), for: "key")`) || !strings.Contains(s, `txt.setEntry(.none, for: "flag")`) {
		t.Errorf("Swift literal:\n%s", s)
	}
	if s := txt.SwiftLiteral(enc("a=1", "a=2")); !strings.Contains(s, "Data([") {
		t.Errorf("duplicate keys must fall back to Data:\n%s", s)
	}
	g := txt.GoLiteral(rdata)
	if !strings.Contains(g, "0x09, // 9 bytes") {
		t.Errorf("Go literal:\n%s", g)
	}
}

// FuzzTXT: Parse never panics; well-formed RDATA re-encodes to the same
// bytes; every finding points inside the input.
func FuzzTXT(f *testing.F) {
	for _, s := range []string{"", "00", "096b65793d76616c7565", "0a", "033d7878", "026b3d026b3d"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := txt.Parse(b)
		if err == nil {
			out, eerr := txt.Encode(r)
			if eerr != nil || !bytes.Equal(out, b) {
				t.Fatalf("Encode(Parse(%x)) = %x, %v", b, out, eerr)
			}
			r2, _ := txt.Parse(out)
			if !r2.Equal(r) {
				t.Fatalf("Parse(Encode(r)) != r")
			}
		}
		for _, fd := range txt.Lint(b) {
			if fd.Index >= 0 && (fd.Offset < 0 || fd.Offset >= len(b)) {
				t.Fatalf("finding %s offset %d outside %d bytes", fd.Code, fd.Offset, len(b))
			}
		}
	})
}

// FuzzPairsRoundTrip: for every legal record built from pairs,
// Parse(Encode(r)) == r (decode(encode(x)) == x).
func FuzzPairsRoundTrip(f *testing.F) {
	f.Add("key=value\nflag\nempty=\nbin=\x00\xff")
	f.Add("")
	f.Add("a=b=c\n=x\nlong=" + strings.Repeat("y", 250))
	f.Fuzz(func(t *testing.T, s string) {
		r, err := txt.FromPairs(strings.Split(s, "\n"))
		if err != nil {
			return // over-long pairs and bad hex are refused, not encoded
		}
		b, err := txt.Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		back, err := txt.Parse(b)
		if err != nil || !back.Equal(r) {
			t.Fatalf("Parse(Encode(%q)) = %q, %v", r.Strings, back.Strings, err)
		}
	})
}

// TestLintAmplification: a record of 65,000 empty strings (65,000 bytes
// of zeros) gives one finding per kind, with its count, not one per
// string: a hostile record cannot turn into megabytes of text.
func TestLintAmplification(t *testing.T) {
	rdata := make([]byte, 65000)
	fs := txt.Lint(rdata)
	if got := codes(fs); got != "size-over-8900@-1 empty-string@0x65000" {
		t.Errorf("Lint = %q", got)
	}
	total := 0
	for _, f := range fs {
		total += len(f.String())
	}
	if total > 2000 {
		t.Errorf("%d bytes of findings for one record", total)
	}
	if s := fs[1].String(); !strings.Contains(s, "(string 0 and 64999 more, RFC 6763 §6.1)") {
		t.Errorf("finding %q does not say how many strings it stands for", s)
	}
}

// TestEscapeUTF8Terminal: printable text in any script stays text; only
// what is not valid UTF-8 or not printable is escaped.
func TestEscapeUTF8Terminal(t *testing.T) {
	for in, want := range map[string]string{
		"Ana’s iPhone":      "Ana’s iPhone",        // Apple's default device name
		"Küche 打印机":         "Küche 打印机",           // other scripts
		"👩\u200d💻":          "👩\u200d💻",            // a ZWJ sequence
		"evil\u202egnp.exe": `evil\u{202e}gnp.exe`, // a bidi override
		"c1\u009b2J":        `c1\u{9b}2J`,          // a C1 control (CSI)
		"raw\x9b":           `raw\x9b`,             // not UTF-8
		"esc\x1b[2J":        `esc\x1b[2J`,          // C0
		`back\slash`:        `back\\slash`,         // unambiguous
		"del\x7f":           `del\x7f`,
	} {
		if got := txt.EscapeUTF8([]byte(in)); got != want {
			t.Errorf("EscapeUTF8(%q) = %q, want %q", in, got, want)
		}
	}
}
