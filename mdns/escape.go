package mdns

import (
	"strconv"
	"unicode/utf8"

	"github.com/bonjourctl/bonjourctl/txt"
)

// EscapeText makes text safe for a terminal: printable characters stay
// (printable UTF-8 included); C0 controls, DEL and bytes that are not
// valid UTF-8 become \xHH; other characters that are not printable (the C1
// controls U+0080-U+009F, bidirectional overrides such as U+202E, and
// other invisible format characters but the zero-width joiners emoji and
// scripts need) become \u{HHHH}. Nothing in the result can move a cursor,
// change a colour or reorder what a terminal shows.
func EscapeText(s string) string {
	if clean(s) {
		return s
	}
	return string(AppendEscaped(nil, s))
}

// AppendEscaped appends s to b as EscapeText renders it.
func AppendEscaped(b []byte, s string) []byte {
	if clean(s) {
		return append(b, s...)
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			} else {
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			i++
			continue
		case Printable(r):
			b = append(b, s[i:i+n]...)
		default:
			b = append(b, `\u{`...)
			b = strconv.AppendUint(b, uint64(r), 16)
			b = append(b, '}')
		}
		i += n
	}
	return b
}

// Printable reports whether a character (not ASCII) may reach a terminal
// as it is: printable by Unicode's definition, or one of the zero-width
// joiners (U+200C, U+200D) that emoji sequences and some scripts use.
func Printable(r rune) bool { return txt.Printable(r) }

func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
