package txt

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"unicode/utf8"
)

// Severity ranks a Finding.
type Severity int

const (
	Info Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	default:
		return "info"
	}
}

// MarshalText makes severities readable in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Finding is one lint result. Index is the string it concerns, or -1 for the
// record as a whole; Offset is the byte offset of that string's length byte
// in the RDATA (or -1).
type Finding struct {
	Code     string   `json:"code"`
	Severity Severity `json:"severity"`
	Index    int      `json:"index"`
	Offset   int      `json:"offset"`
	Section  string   `json:"section"` // RFC 6763 section, e.g. "6.4"
	Message  string   `json:"message"`
	// Count is how many strings of the record have this finding (one
	// finding stands for them all: a record of 65,000 empty strings is one
	// finding, not 65,000); Index, Offset and Message are the first's.
	Count int `json:"count"`
}

func (f Finding) String() string {
	where := "record"
	if f.Index >= 0 {
		where = fmt.Sprintf("string %d", f.Index)
		if f.Count > 1 {
			where += fmt.Sprintf(" and %d more", f.Count-1)
		}
	}
	return fmt.Sprintf("%s %s (%s, RFC 6763 §%s): %s", f.Severity, f.Code, where, f.Section, f.Message)
}

// Lint codes. They are stable: scripts and CI configurations may match them.
const (
	CodeZeroLength   = "zero-length-rdata"
	CodeOverrun      = "length-overrun"
	CodeEmptyKey     = "empty-key"
	CodeKeyChars     = "key-not-printable-ascii"
	CodeDuplicateKey = "duplicate-key"
	CodeLongKey      = "key-too-long"
	CodeSize200      = "size-over-200"
	CodeSize400      = "size-over-400"
	CodeSize1300     = "size-over-1300"
	CodeSize8900     = "size-over-8900"
	CodeQuoted       = "value-quoted"
	CodeHexText      = "value-hex-text"
	CodeBase64Text   = "value-base64-text"
	CodeTxtversOrder = "txtvers-not-first"
	CodeEmptyString  = "empty-string"
	CodeBoolean      = "boolean-key"
	CodeNotUTF8      = "value-not-utf8"
)

// Size limits from RFC 6763 §6.2 and RFC 6762 §17.
const (
	SizeSmall       = 200  // fits comfortably
	SizeUnicast     = 400  // still fits a 512-byte DNS message with the other records
	SizeRecommended = 1300 // above this, not recommended (fragmentation)
	SizeMulticast   = 8900 // above this, no longer fits a 9000-byte mDNS packet
)

// Lint checks TXT RDATA against RFC 6763 §6 and returns its findings in
// order of the strings they concern (record-wide findings first). Every
// Index and Offset points inside rdata.
func Lint(rdata []byte) []Finding {
	var out []Finding
	seen := map[string]int{} // code -> its finding in out
	add := func(code string, sev Severity, idx, off int, sec, format string, args ...any) {
		if i, ok := seen[code]; ok {
			out[i].Count++ // one finding per kind: no message per string
			return
		}
		seen[code] = len(out)
		out = append(out, Finding{Code: code, Severity: sev, Index: idx, Offset: off, Section: sec, Message: fmt.Sprintf(format, args...), Count: 1})
	}
	if len(rdata) == 0 {
		add(CodeZeroLength, Error, -1, -1, "6.1",
			"the TXT record has zero-length RDATA, which is not allowed; many browsers drop the record or report no TXT at all. Publish the single byte 00 (one empty string) for an empty TXT record")
		return out
	}
	r, err := Parse(rdata)
	if se, ok := err.(*SyntaxError); ok {
		add(CodeOverrun, Error, se.Index, se.Offset, "6.1",
			"%s; a browser stops reading the record here or discards it whole. Each string must be one length byte followed by exactly that many bytes", se.Reason)
	}
	n := len(rdata)
	switch {
	case n > SizeMulticast:
		add(CodeSize8900, Error, -1, -1, "6.2",
			"the record is %d bytes: it no longer fits a multicast DNS packet (9000 bytes with headers) and cannot be sent. Move bulk data out of TXT (fetch it over the service's own protocol)", n)
	case n > SizeRecommended:
		add(CodeSize1300, Warning, -1, -1, "6.2",
			"the record is %d bytes, over the 1300 recommended: a multicast response never sets TC (RFC 6762 §18.5), so a response over the link MTU goes out as IP fragments (RFC 6762 §17), which some devices and Wi-Fi links drop. Keep TXT small and fetch the rest over the service", n)
	case n > SizeUnicast:
		add(CodeSize400, Warning, -1, -1, "6.2",
			"the record is %d bytes, over 400: it no longer fits a 512-byte DNS message beside the SRV and address records. Keep TXT under 200 bytes where you can", n)
	case n > SizeSmall:
		add(CodeSize200, Warning, -1, -1, "6.2",
			"the record is %d bytes, over the 200 RFC 6763 suggests; it still works, but smaller records travel better", n)
	}
	offsets := make([]int, len(r.Strings))
	for i, off := 0, 0; i < len(r.Strings); i++ {
		offsets[i] = off
		off += 1 + len(r.Strings[i])
	}
	attrs := Attributes(r)
	for _, a := range attrs {
		i, off, s := a.Index, offsets[a.Index], r.Strings[a.Index]
		switch {
		case len(s) == 0:
			if len(r.Strings) > 1 {
				add(CodeEmptyString, Warning, i, off, "6.1",
					"an empty string among others carries nothing and clients ignore it; drop it (only a record with no other strings should be one empty string)")
			}
			continue
		case a.Kind == Ignored:
			add(CodeEmptyKey, Error, i, off, "6.4",
				"the string '%s' starts with '=' (empty key); clients silently ignore it. Put a key before the '='", escapeShort(s))
			continue
		}
		if bad := badKeyByte(a.Key); bad >= 0 {
			add(CodeKeyChars, Error, i, off, "6.4",
				"key byte %d is 0x%02x, outside printable US-ASCII (0x20-0x7E); clients may reject or mangle the key. Use plain ASCII keys", bad, a.Key[bad])
		}
		if a.FirstIndex != i {
			add(CodeDuplicateKey, Warning, i, off, "6.4",
				"key '%s' repeats string %d (keys compare case-insensitively); clients use string %d and ignore this one. Remove the duplicate", escapeShort(a.Key), a.FirstIndex, a.FirstIndex)
		}
		if len(a.Key) > 9 {
			add(CodeLongKey, Warning, i, off, "6.4",
				"key '%s' is %d characters; RFC 6763 asks for 9 or fewer to keep packets small. Shorten it", escapeShort(a.Key), len(a.Key))
		}
		if bytes.EqualFold(a.Key, []byte("txtvers")) && i != 0 {
			add(CodeTxtversOrder, Warning, i, off, "6.7",
				"txtvers is string %d, but it should be the first string so clients can check the version before reading the rest. Move it first", i)
		}
		switch a.Kind {
		case Boolean:
			add(CodeBoolean, Info, i, off, "6.4",
				"'%s' has no '=': a boolean attribute, present with no value (not the same as '%s'= with an empty value)", escapeShort(a.Key), escapeShort(a.Key))
		case Value:
			v := a.Value
			if !utf8.Valid(v) {
				add(CodeNotUTF8, Info, i, off, "6.5",
					"the value of '%s' is not valid UTF-8 (binary data, shown as hex: %x); that is allowed, but APIs that return strings (NWTXTRecord subscripts, many JS libraries) will not show it", escapeShort(a.Key), trim(v, 32))
			}
			switch {
			case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"':
				add(CodeQuoted, Warning, i, off, "6.5",
					"the value of '%s' is wrapped in double quotes, which are part of the value on the wire; clients will see the quotes. Remove them unless they are meant", escapeShort(a.Key))
			case looksHex(v):
				add(CodeHexText, Warning, i, off, "6.5",
					"the value of '%s' looks like hex text (%d characters); TXT values are binary-safe, so if bytes were intended, publish the %d bytes themselves", escapeShort(a.Key), len(v), len(v)/2)
			case looksBase64(v):
				add(CodeBase64Text, Warning, i, off, "6.5",
					"the value of '%s' looks like base64 text; TXT values are binary-safe, so if bytes were intended, publish the bytes themselves", escapeShort(a.Key))
			}
		}
	}
	return out
}

// MaxSeverity returns the highest severity among fs, and false when fs is empty.
func MaxSeverity(fs []Finding) (Severity, bool) {
	max, any := Info, false
	for _, f := range fs {
		if !any || f.Severity > max {
			max, any = f.Severity, true
		}
	}
	return max, any
}

func badKeyByte(k []byte) int {
	for i, c := range k {
		if c < 0x20 || c > 0x7e {
			return i
		}
	}
	return -1
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// looksHex: at least 16 hex digits, an even count, and at least one letter and
// one digit (so that plain numbers and words are not flagged).
func looksHex(v []byte) bool {
	if len(v) < 16 || len(v)%2 != 0 {
		return false
	}
	letter, digit := false, false
	for _, c := range v {
		if !isHexDigit(c) {
			return false
		}
		if c <= '9' {
			digit = true
		} else {
			letter = true
		}
	}
	return letter && digit
}

// looksBase64: at least 16 characters, a multiple of 4, decodes as standard
// base64, and mixes upper case, lower case and digits (prose rarely does).
func looksBase64(v []byte) bool {
	if len(v) < 16 || len(v)%4 != 0 {
		return false
	}
	var up, low, dig bool
	for _, c := range v {
		switch {
		case 'A' <= c && c <= 'Z':
			up = true
		case 'a' <= c && c <= 'z':
			low = true
		case '0' <= c && c <= '9':
			dig = true
		}
	}
	if !up || !low || !dig {
		return false
	}
	_, err := base64.StdEncoding.DecodeString(string(v))
	return err == nil
}

func trim(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// escapeShort renders b for a message: printable ASCII as is, others as \xHH,
// cut at 40 bytes.
func escapeShort(b []byte) string {
	s := Escape(trim(b, 40))
	if len(b) > 40 {
		s += "..."
	}
	return s
}
