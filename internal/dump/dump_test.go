package dump

import (
	"testing"
	"time"
)

func TestAppendClock(t *testing.T) {
	loc := time.FixedZone("x", 5*3600+30*60)
	for _, tm := range []time.Time{
		time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 2, 23, 59, 59, 999999999, time.UTC),
		time.Date(2026, 1, 2, 9, 5, 7, 1000, time.UTC),
		time.Date(2026, 1, 2, 12, 34, 56, 123456789, loc),
	} {
		if got, want := string(appendClock(nil, tm)), tm.Format("15:04:05.000000 "); got != want {
			t.Errorf("appendClock(%v) = %q, want %q", tm, got, want)
		}
	}
}
