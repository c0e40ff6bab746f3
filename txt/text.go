package txt

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Escape renders b for a terminal: printable ASCII stays, a backslash
// becomes \\ and every other byte \xHH. Nothing in the result can move a
// cursor or change a colour, whatever b holds.
func Escape(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		switch {
		case c == '\\':
			sb.WriteString(`\\`)
		case c >= 0x20 && c <= 0x7e:
			sb.WriteByte(c)
		default:
			fmt.Fprintf(&sb, `\x%02x`, c)
		}
	}
	return sb.String()
}

// EscapeUTF8 renders bytes as text for a terminal: printable ASCII and
// printable UTF-8 (other scripts, emoji with their zero-width joiners)
// stay as they are; a backslash is doubled; C0 controls, DEL and bytes that
// are not valid UTF-8 become \xHH; characters that are valid but not
// printable (C1 controls, bidirectional overrides, other invisible format
// characters) become \u{HHHH}.
func EscapeUTF8(b []byte) string { return string(AppendEscaped(nil, b, false)) }

// AppendEscaped appends b to dst as EscapeUTF8 renders it; with quote set,
// a double quote is escaped too (\").
func AppendEscaped(dst, b []byte, quote bool) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\\' || (quote && c == '"'):
				dst = append(dst, '\\', c)
			case c >= 0x20 && c <= 0x7e:
				dst = append(dst, c)
			default:
				dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			i++
			continue
		case Printable(r):
			dst = append(dst, b[i:i+n]...)
		default:
			dst = append(dst, `\u{`...)
			dst = strconv.AppendUint(dst, uint64(r), 16)
			dst = append(dst, '}')
		}
		i += n
	}
	return dst
}

// Printable reports whether a character beyond ASCII may reach a terminal
// as it is: printable by Unicode's definition, or one of the zero-width
// joiners (U+200C, U+200D) that emoji sequences and some scripts need.
func Printable(r rune) bool {
	return strconv.IsPrint(r) || r == 0x200c || r == 0x200d
}

const hexDigits = "0123456789abcdef"

// InputError is bad user input: which argument and at which byte position.
type InputError struct {
	Arg    int // index of the argument (0-based), or -1 for standard input
	Pos    int // byte position within it
	Reason string
}

func (e *InputError) Error() string {
	if e.Arg < 0 {
		return fmt.Sprintf("input position %d: %s", e.Pos, e.Reason)
	}
	return fmt.Sprintf("argument %d, position %d: %s", e.Arg+1, e.Pos, e.Reason)
}

// FromPairs builds a Record from the key/value strings an app would pass to
// its API, in order: "key=value", "flag" (boolean), "empty=" (empty value),
// and "key:hex=0a0b" for a binary value. A key may not contain '='.
// Each pair must fit one 255-byte string.
func FromPairs(pairs []string) (Record, error) {
	var r Record
	for i, p := range pairs {
		s, err := pairBytes(p)
		if err != nil {
			err.Arg = i
			return Record{}, err
		}
		if len(s) > MaxString {
			return Record{}, &InputError{Arg: i, Pos: MaxString, Reason: fmt.Sprintf("%q is %d bytes as a TXT string; the limit is 255", short(p), len(s))}
		}
		r.Strings = append(r.Strings, s)
	}
	return r, nil
}

func pairBytes(p string) ([]byte, *InputError) {
	eq := strings.IndexByte(p, '=')
	if eq < 0 {
		return []byte(p), nil
	}
	key, val := p[:eq], p[eq+1:]
	if k, ok := strings.CutSuffix(key, ":hex"); ok {
		h := strings.NewReplacer(" ", "", ":", "").Replace(val)
		b, err := hex.DecodeString(h)
		if err != nil {
			return nil, &InputError{Pos: eq + 1, Reason: fmt.Sprintf("value of %q is not hex: %v", k, err)}
		}
		return append([]byte(k+"="), b...), nil
	}
	return []byte(p), nil
}

func short(s string) string {
	if len(s) > 24 {
		return s[:24] + "..."
	}
	return s
}

// Format names an input form that ParseText understands.
type Format string

const (
	FormatAuto   Format = "auto"
	FormatHex    Format = "hex"    // RDATA as hex digits; spaces, colons and newlines allowed
	FormatBase64 Format = "base64" // RDATA as standard base64
	FormatQuoted Format = "quoted" // "key=value" "flag": miekg/dns and dig presentation, \DDD and \" escapes
	FormatAvahi  Format = "avahi"  // avahi-browse -p: quoted like above but in reverse wire order
	FormatDNSSD  Format = "dns-sd" // dns-sd -L: unquoted, space-separated, backslash escapes, \xHH
)

// ParseText reads a TXT record written as text in format f. With FormatAuto
// it picks hex when the input is only hex digits and separators, quoted when
// it starts with '"', and dns-sd otherwise; the format used is returned.
func ParseText(s string, f Format) (Record, Format, error) {
	s = strings.TrimSpace(s)
	if f == FormatAuto {
		switch {
		case s == "":
			return Record{}, f, &InputError{Arg: -1, Reason: "no input"}
		case isHexText(s) || mostlyHex(s):
			f = FormatHex
		case strings.HasPrefix(s, `"`):
			f = FormatQuoted
		default:
			f = FormatDNSSD
		}
	}
	var (
		r   Record
		err error
	)
	switch f {
	case FormatHex:
		var b []byte
		if b, err = DecodeHex(s); err == nil {
			r, err = Parse(b)
		}
	case FormatBase64:
		var b []byte
		b, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			if ce, ok := err.(base64.CorruptInputError); ok {
				err = &InputError{Arg: -1, Pos: int(ce), Reason: "invalid base64 at this position"}
			}
		} else {
			r, err = Parse(b)
		}
	case FormatQuoted, FormatAvahi:
		r, err = parseQuoted(s)
		if f == FormatAvahi {
			for i, j := 0, len(r.Strings)-1; i < j; i, j = i+1, j-1 {
				r.Strings[i], r.Strings[j] = r.Strings[j], r.Strings[i]
			}
		}
	case FormatDNSSD:
		r, err = parseDNSSD(s)
	default:
		err = fmt.Errorf("unknown input format %q (want auto, hex, base64, quoted, avahi or dns-sd)", f)
	}
	return r, f, err
}

func isHexText(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isHexDigit(c):
			n++
		case c == ' ' || c == ':' || c == '\n' || c == '\r' || c == '\t':
		default:
			return false
		}
	}
	return n >= 2
}

// mostlyHex catches hex with a typo or an odd digit count, so that it is
// reported as bad hex instead of being read as a dns-sd boolean: no '=' or
// quote, at least 6 characters, and three quarters of them hex digits.
func mostlyHex(s string) bool {
	if strings.ContainsAny(s, "=\"\\") {
		return false
	}
	n, h := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || c == ':' || c == '\n' || c == '\r' || c == '\t':
		case isHexDigit(c):
			n++
			h++
		default:
			n++
		}
	}
	return n >= 6 && h*4 >= n*3
}

// DecodeHex decodes hex digits, ignoring spaces, tabs, colons and newlines.
// Errors name the position in s of the offending character.
func DecodeHex(s string) ([]byte, error) {
	out := make([]byte, 0, len(s)/2)
	hi, have, start := byte(0), false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\n', '\r', ':':
			if have {
				return nil, &InputError{Arg: -1, Pos: start, Reason: "odd number of hex digits in this group"}
			}
			continue
		}
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			return nil, &InputError{Arg: -1, Pos: i, Reason: fmt.Sprintf("%q is not a hex digit", rune(c))}
		}
		if have {
			out = append(out, hi<<4|v)
			have = false
		} else {
			hi, have, start = v, true, i
		}
	}
	if have {
		return nil, &InputError{Arg: -1, Pos: start, Reason: "odd number of hex digits: the last digit has no pair"}
	}
	return out, nil
}

// parseQuoted reads "a" "b\"c" "\000x": the presentation format of
// miekg/dns, dig and avahi-browse -p.
func parseQuoted(s string) (Record, error) {
	var r Record
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
			i++
		}
		if i == len(s) {
			return r, nil
		}
		if s[i] != '"' {
			return r, &InputError{Arg: -1, Pos: i, Reason: "expected '\"' to start a string"}
		}
		start := i
		i++
		var b []byte
		for {
			if i >= len(s) {
				return r, &InputError{Arg: -1, Pos: start, Reason: "string is not closed with '\"'"}
			}
			c := s[i]
			if c == '"' {
				i++
				break
			}
			if c != '\\' {
				b = append(b, c)
				i++
				continue
			}
			if i+1 >= len(s) {
				return r, &InputError{Arg: -1, Pos: i, Reason: "backslash at end of input"}
			}
			if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
				v, _ := strconv.Atoi(s[i+1 : i+4])
				if v > 255 {
					return r, &InputError{Arg: -1, Pos: i, Reason: fmt.Sprintf("escape \\%s is over 255", s[i+1:i+4])}
				}
				b = append(b, byte(v))
				i += 4
				continue
			}
			b = append(b, s[i+1])
			i += 2
		}
		if len(b) > MaxString {
			return r, &InputError{Arg: -1, Pos: start, Reason: fmt.Sprintf("string is %d bytes; the limit is 255", len(b))}
		}
		r.Strings = append(r.Strings, b)
	}
}

// parseDNSSD reads the TXT line dns-sd -L prints: strings separated by
// spaces, with '\' escaping the next character and \xHH (or \\xHH) a byte.
func parseDNSSD(s string) (Record, error) {
	var r Record
	var b []byte
	in := false
	flush := func() {
		if in {
			r.Strings = append(r.Strings, b)
		}
		b, in = nil, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			flush()
		case c == '\\':
			in = true
			j := i + 1
			if j < len(s) && s[j] == '\\' && j+1 < len(s) && s[j+1] == 'x' {
				j++ // dns-sd prints \\xHH for control bytes
			}
			if j+2 < len(s) && s[j] == 'x' && isHexDigit(s[j+1]) && isHexDigit(s[j+2]) {
				v, _ := strconv.ParseUint(s[j+1:j+3], 16, 8)
				b = append(b, byte(v))
				i = j + 2
				continue
			}
			if i+1 >= len(s) {
				return r, &InputError{Arg: -1, Pos: i, Reason: "backslash at end of input"}
			}
			b = append(b, s[i+1])
			i++
		default:
			in = true
			b = append(b, c)
		}
		if len(b) > MaxString {
			return r, &InputError{Arg: -1, Pos: i, Reason: "string is over 255 bytes"}
		}
	}
	flush()
	return r, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
