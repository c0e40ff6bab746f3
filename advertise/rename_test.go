package advertise

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestRenamesStayWithin63Bytes: a rename that would push a label past 63
// bytes shortens the name instead, at a UTF-8 boundary.
func TestRenamesStayWithin63Bytes(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Node", "Node (2)"},
		{"Node (2)", "Node (3)"},
		{"Node (x)", "Node (x) (2)"},
		{strings.Repeat("a", 63), strings.Repeat("a", 59) + " (2)"},
		{strings.Repeat("é", 31) + "x", strings.Repeat("é", 29) + " (2)"},
	} {
		got := nextInstance(tt.in)
		if got != tt.want || len(got) > 63 || !utf8.ValidString(got) {
			t.Errorf("nextInstance(%q) = %q (%d bytes), want %q", tt.in, got, len(got), tt.want)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{"pi.local.", "pi-2.local."},
		{"pi-2.local.", "pi-3.local."},
		{"my-pi.local.", "my-pi-2.local."},
		{strings.Repeat("h", 63) + ".local.", strings.Repeat("h", 61) + "-2.local."},
	} {
		if got := nextHost(tt.in); got != tt.want {
			t.Errorf("nextHost(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
