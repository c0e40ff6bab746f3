package mdns

import "testing"

// TestEscapeText: nothing that can drive a terminal survives: C0, DEL,
// C1 (encoded or as a raw byte), bidirectional overrides and invalid
// UTF-8 are escaped; printable text in any script, emoji sequences with
// their joiners included, stays as it is.
func TestEscapeText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain name", "plain name"},
		{"\x1b[2J\nFAKE OK", `\x1b[2J\x0aFAKE OK`},
		{"del\x7f", `del\x7f`},
		{"raw C1 \x9b31m", `raw C1 \x9b31m`},
		{"encoded C1 \u009b31m", `encoded C1 \u{9b}31m`},
		{"evil\u202egnp.exe", `evil\u{202e}gnp.exe`},
		{"isolate \u2066x\u2069", `isolate \u{2066}x\u{2069}`},
		{"Ana’s iPhone", "Ana’s iPhone"},
		{"küche 打印 👩‍👩‍👧", "küche 打印 👩‍👩‍👧"},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
	} {
		if got := EscapeText(tt.in); got != tt.want {
			t.Errorf("EscapeText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
