package tui

import (
	"strings"
	"testing"
	"time"
)

// TestParseJump: a time of day on the capture's first day, an offset from
// its first packet, end; and errors that say what to give.
func TestParseJump(t *testing.T) {
	first := time.Date(2026, 12, 2, 15, 51, 34, 187e6, time.Local)
	for in, want := range map[string]time.Time{
		"15:51:35":     time.Date(2026, 12, 2, 15, 51, 35, 0, time.Local),
		"15:51:35.250": time.Date(2026, 12, 2, 15, 51, 35, 250e6, time.Local),
		"16:00":        time.Date(2026, 12, 2, 16, 0, 0, 0, time.Local),
		"+2.5s":        first.Add(2500 * time.Millisecond),
		" +1m ":        first.Add(time.Minute),
	} {
		got, err := parseJump(in, first)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseJump(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if end, err := parseJump("end", first); err != nil || !end.After(first.Add(100*365*24*time.Hour)) {
		t.Errorf("end: %v %v", end, err)
	}
	for in, want := range map[string]string{
		"+x":    `after + give a duration`,
		"-5s":   `not a time of day`,
		"12":    `give a time of day`,
		"25:00": `not a time of day`,
	} {
		if _, err := parseJump(in, first); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseJump(%q): %v, want %q", in, err, want)
		}
	}
	if _, err := parseJump("+1s", time.Time{}); err == nil {
		t.Error("an offset with no packet yet was accepted")
	}
}
