// Package txt models DNS-SD TXT records exactly as RFC 6763 §6 defines them:
// an ordered list of byte strings, each 0-255 bytes long. It parses and
// encodes the wire form, derives key/value attributes, and lints records
// against the RFC. It does no I/O and keeps every byte as a byte.
//
// Three situations look alike in most tools and stay distinct here:
// no TXT record at all (the caller has no Record), zero-length RDATA
// (a Record with no strings, illegal per RFC 6763 §6.1), and the legal
// empty TXT record (one zero-length string, the single byte 00).
package txt

import (
	"bytes"
	"errors"
	"fmt"
)

// MaxString is the longest string a TXT record can hold (one length byte).
const MaxString = 255

// Record is the RDATA of one TXT resource record: its strings in wire order.
// A Record with no strings is zero-length RDATA, which RFC 6763 §6.1 forbids;
// the legal empty record is one empty string.
type Record struct {
	Strings [][]byte
}

// Empty is the legal empty TXT record (RFC 6763 §6.1): one zero-length string.
func Empty() Record { return Record{Strings: [][]byte{{}}} }

// ZeroLength reports whether r encodes to zero-length RDATA.
func (r Record) ZeroLength() bool { return len(r.Strings) == 0 }

// IsEmpty reports whether r is the legal empty TXT record: one empty string.
func (r Record) IsEmpty() bool { return len(r.Strings) == 1 && len(r.Strings[0]) == 0 }

// Len returns the size of r's wire form in bytes.
func (r Record) Len() int {
	n := 0
	for _, s := range r.Strings {
		n += 1 + len(s)
	}
	return n
}

// Equal reports whether r and o hold the same strings in the same order.
func (r Record) Equal(o Record) bool {
	if len(r.Strings) != len(o.Strings) {
		return false
	}
	for i := range r.Strings {
		if !bytes.Equal(r.Strings[i], o.Strings[i]) {
			return false
		}
	}
	return true
}

// ErrStringTooLong is returned by Encode for a string over 255 bytes.
var ErrStringTooLong = errors.New("txt: string longer than 255 bytes")

// Encode returns the wire form of r. A string over 255 bytes cannot be
// represented and is an error naming its index.
func Encode(r Record) ([]byte, error) {
	out := make([]byte, 0, r.Len())
	for i, s := range r.Strings {
		if len(s) > MaxString {
			return nil, fmt.Errorf("string %d is %d bytes: %w", i, len(s), ErrStringTooLong)
		}
		out = append(out, byte(len(s)))
		out = append(out, s...)
	}
	return out, nil
}

// SyntaxError describes RDATA that is not a sequence of length-prefixed
// strings.
type SyntaxError struct {
	Offset int // byte offset of the length byte that overruns
	Index  int // index of the string it starts
	Reason string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("txt: string %d at offset %d: %s", e.Index, e.Offset, e.Reason)
}

// Parse splits TXT RDATA into its strings. Zero-length RDATA parses to a
// Record with no strings and no error (it is well-formed bytes, if illegal:
// Lint reports it). When a length byte overruns the data, Parse returns the
// strings before it and a *SyntaxError. The strings alias rdata.
func Parse(rdata []byte) (Record, error) {
	var r Record
	off := 0
	for off < len(rdata) {
		n := int(rdata[off])
		if off+1+n > len(rdata) {
			return r, &SyntaxError{
				Offset: off,
				Index:  len(r.Strings),
				Reason: fmt.Sprintf("length byte %d overruns the data (%d bytes remain)", n, len(rdata)-off-1),
			}
		}
		r.Strings = append(r.Strings, rdata[off+1:off+1+n])
		off += 1 + n
	}
	return r, nil
}

// Kind says what an attribute string means (RFC 6763 §6.4).
type Kind int

const (
	// Boolean is a key with no '=': the attribute is present, with no value.
	Boolean Kind = iota
	// EmptyValue is "key=": present with an empty value.
	EmptyValue
	// Value is "key=value"; the value is opaque bytes.
	Value
	// Ignored is a string a client ignores: empty, or starting with '='.
	Ignored
)

func (k Kind) String() string {
	switch k {
	case Boolean:
		return "boolean"
	case EmptyValue:
		return "empty"
	case Value:
		return "value"
	default:
		return "ignored"
	}
}

// Attribute is the meaning of one TXT string.
type Attribute struct {
	Index int    // position of the string in the record
	Key   []byte // bytes before the first '=' (or the whole string)
	Value []byte // bytes after the first '='; nil unless Kind is Value
	Kind  Kind
	// FirstIndex is the index of the first string with the same key
	// (case-insensitive). Clients use that one and ignore the rest
	// (RFC 6763 §6.4); for the first occurrence it equals Index.
	FirstIndex int
}

// Attributes derives one Attribute per string of r, in order.
func Attributes(r Record) []Attribute {
	attrs := make([]Attribute, 0, len(r.Strings))
	first := make(map[string]int)
	for i, s := range r.Strings {
		a := Attribute{Index: i, FirstIndex: i}
		eq := bytes.IndexByte(s, '=')
		switch {
		case len(s) == 0 || eq == 0:
			a.Kind = Ignored
			if eq == 0 {
				a.Value = s[1:]
			}
		case eq < 0:
			a.Key, a.Kind = s, Boolean
		case eq == len(s)-1:
			a.Key, a.Kind = s[:eq], EmptyValue
		default:
			a.Key, a.Value, a.Kind = s[:eq], s[eq+1:], Value
		}
		if a.Kind != Ignored {
			k := string(bytes.ToLower(a.Key))
			if j, ok := first[k]; ok {
				a.FirstIndex = j
			} else {
				first[k] = i
			}
		}
		attrs = append(attrs, a)
	}
	return attrs
}

// Lookup returns the attribute a client sees for key (case-insensitive):
// the first string with that key. ok is false when no string has it.
func Lookup(r Record, key string) (a Attribute, ok bool) {
	for _, a := range Attributes(r) {
		if a.Kind != Ignored && a.FirstIndex == a.Index && bytes.EqualFold(a.Key, []byte(key)) {
			return a, true
		}
	}
	return Attribute{}, false
}
