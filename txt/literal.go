package txt

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// CLiteral returns a C array initializer that holds exactly rdata.
func CLiteral(rdata []byte) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "static const unsigned char txt[%d] = {", len(rdata))
	byteRows(&sb, rdata, "    ")
	sb.WriteString("\n};\n")
	return sb.String()
}

// GoLiteral returns a Go []byte expression that holds exactly rdata, one
// string per line with its length byte.
func GoLiteral(rdata []byte) string {
	r, err := Parse(rdata)
	var sb strings.Builder
	if err != nil || len(r.Strings) == 0 {
		sb.WriteString("txt := []byte{")
		byteRows(&sb, rdata, "\t")
		sb.WriteString("\n}\n")
		return sb.String()
	}
	sb.WriteString("txt := append([]byte(nil),\n")
	for _, s := range r.Strings {
		fmt.Fprintf(&sb, "\t0x%02x, // %d bytes\n", len(s), len(s))
		if len(s) > 0 {
			sb.WriteString("\t")
			for j, c := range s {
				if j > 0 {
					sb.WriteByte(' ')
				}
				fmt.Fprintf(&sb, "0x%02x,", c)
			}
			fmt.Fprintf(&sb, " // %s\n", Escape(s))
		}
	}
	sb.WriteString(")\n")
	return sb.String()
}

// SwiftLiteral returns Swift code producing exactly rdata: an NWTXTRecord
// built entry by entry when every string is a distinct printable-ASCII key
// with a UTF-8 value (what NWTXTRecord can represent in order), else Data.
func SwiftLiteral(rdata []byte) string {
	r, err := Parse(rdata)
	if err == nil && nwRepresentable(r) {
		var sb strings.Builder
		sb.WriteString("import Network\n\nvar txt = NWTXTRecord()\n")
		for _, a := range Attributes(r) {
			k := swiftString(a.Key)
			switch a.Kind {
			case Boolean:
				fmt.Fprintf(&sb, "txt.setEntry(.none, for: %s)\n", k)
			case EmptyValue:
				fmt.Fprintf(&sb, "txt.setEntry(.empty, for: %s)\n", k)
			default:
				fmt.Fprintf(&sb, "txt.setEntry(.string(%s), for: %s)\n", swiftString(a.Value), k)
			}
		}
		return sb.String()
	}
	var sb strings.Builder
	sb.WriteString("import Foundation\n\n// Not representable as NWTXTRecord entries (empty, duplicate, binary or malformed strings).\nlet txt = Data([")
	byteRows(&sb, rdata, "    ")
	sb.WriteString("\n])\n")
	return sb.String()
}

func nwRepresentable(r Record) bool {
	if len(r.Strings) == 0 || r.IsEmpty() {
		return false
	}
	for _, a := range Attributes(r) {
		if a.Kind == Ignored || a.FirstIndex != a.Index || badKeyByte(a.Key) >= 0 || !utf8.Valid(a.Value) {
			return false
		}
		if bytes.ContainsAny(a.Value, "\x00") {
			return false
		}
	}
	return true
}

func swiftString(b []byte) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, r := range string(b) {
		switch {
		case r == '"' || r == '\\':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r > 0x7f && !strconv.IsPrint(r)):
			// Controls, C1, bidirectional overrides, invisible format
			// characters: as escapes, so neither a terminal showing the
			// literal nor Xcode showing the source is fooled.
			fmt.Fprintf(&sb, `\u{%x}`, r)
		default:
			sb.WriteRune(r)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// byteRows writes b as 0xHH, literals, twelve to a row, each row on a new
// line after indent: the body of an array literal in C, Go or Swift.
func byteRows(sb *strings.Builder, b []byte, indent string) {
	for i, c := range b {
		if i%12 == 0 {
			sb.WriteString("\n" + indent)
		} else {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(sb, "0x%02x,", c)
	}
}
