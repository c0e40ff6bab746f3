package tui

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/txt"
)

var update = flag.Bool("update", false, "update golden files")

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func svc(inst string, txtRaw []byte, seen bool) browse.Service {
	s := browse.Service{
		Name: strings.ReplaceAll(inst, " ", `\ `) + "._p2p._tcp.local.", Instance: inst, Type: "_p2p._tcp", Domain: "local.",
		Host: "host1.local.", Port: 4001, Addrs: []netip.Addr{netip.MustParseAddr("10.88.0.2")},
		TXTState: browse.TXTMissing,
	}
	if seen {
		s.TXTRaw = txtRaw
		switch {
		case len(txtRaw) == 0:
			s.TXTState = browse.TXTZeroLength
		case len(txtRaw) == 1 && txtRaw[0] == 0:
			s.TXTState = browse.TXTEmpty
		default:
			s.TXTState = browse.TXTPresent
		}
		s.TXT, _ = txt.Parse(txtRaw)
	}
	s.Records = []browse.Record{
		{Record: mdns.Record{Name: s.Name, Type: 33, TTL: 120, CacheFlush: true}, Src: netip.MustParseAddrPort("10.88.0.2:5353"), IfName: "eth0", Family: 4, LastSeen: t0, Packets: 1},
	}
	return s
}

// feed applies messages through Update, as the program would.
func feed(m Model, msgs ...tea.Msg) Model {
	for _, msg := range msgs {
		nm, _ := m.Update(msg)
		m = nm.(Model)
	}
	return m
}

func press(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	}
	return tea.KeyPressMsg{Code: rune(s[0]), Text: s}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", t.Name(), name+".golden")
	if *update {
		_ = os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./tui -update creates it)", err)
	}
	if got != string(want) {
		t.Errorf("view differs from %s (go test ./tui -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func scripted() Model {
	m := New(nil, nil, nil)
	return feed(m,
		tea.WindowSizeMsg{Width: 100, Height: 30},
		eventMsg(browse.Event{Kind: browse.Added, At: t0, Service: svc("Node 1", []byte("\x09key=value\x04flag"), true)}),
		eventMsg(browse.Event{Kind: browse.Added, At: t0.Add(time.Second), Service: svc("No TXT", nil, false)}),
		eventMsg(browse.Event{Kind: browse.Added, At: t0.Add(2 * time.Second), Service: svc("Zero", nil, true)}),
		eventMsg(browse.Event{Kind: browse.Added, At: t0.Add(3 * time.Second), Service: svc("Dup", []byte("\x03a=1\x03A=2"), true)}),
		eventMsg(browse.Event{Kind: browse.Updated, At: t0.Add(4 * time.Second), Service: svc("Node 1", []byte("\x0akey=value2"), true),
			Changes: []browse.Change{{Field: "txt", Old: "key=value flag (2 strings, 15 bytes)", New: "key=value2 (1 string, 11 bytes)"}}}),
		eventMsg(browse.Event{Kind: browse.Removed, At: t0.Add(5 * time.Second), Service: svc("No TXT", nil, false), Cause: browse.CauseGoodbye}),
		tickMsg(t0.Add(10*time.Second)),
	)
}

func TestScriptedView(t *testing.T) {
	m := scripted()
	if n := m.types["_p2p._tcp"]; n != 3 {
		t.Errorf("type count %d, want 3 (one removed)", n)
	}
	if r := m.rows[strings.ToLower(`No\ TXT._p2p._tcp.local.`)]; r == nil || !r.removed || r.cause != browse.CauseGoodbye {
		t.Fatalf("removed row = %+v", r)
	}
	golden(t, "list", ansi.Strip(m.View().Content))
	// The selection follows "Node 1", the first instance seen, as rows
	// are inserted around it (sorted by name: Dup, No TXT, Node 1, Zero).
	if k := m.selectedKey(); k != `node\ 1._p2p._tcp.local.` {
		t.Fatalf("selected %q", k)
	}
	v := ansi.Strip(m.View().Content)
	golden(t, "detail", v)
	for _, want := range []string{"key=value2", "updated  txt: key=value flag (2 strings, 15 bytes) -> key=value2 (1 string, 11 bytes)", "bonjourWithTXTRecord", "NSBonjourServices"} {
		if !strings.Contains(v, want) {
			t.Errorf("detail pane lacks %q", want)
		}
	}
	if lines := strings.Split(v, "\n"); len(lines) != 30 {
		t.Errorf("%d lines at height 30", len(lines))
	}
	m = feed(m, press("down"), tea.WindowSizeMsg{Width: 80, Height: 24})
	for i, l := range strings.Split(ansi.Strip(m.View().Content), "\n") {
		if w := ansi.StringWidth(l); w > 80 {
			t.Errorf("line %d is %d columns wide at 80x24", i, w)
		}
	}
	golden(t, "80x24", ansi.Strip(m.View().Content))
}

func TestBadges(t *testing.T) {
	m := feed(scripted(), eventMsg(browse.Event{Kind: browse.Added, At: t0.Add(6 * time.Second), Service: svc("Quiet", nil, false)}))
	v := ansi.Strip(m.View().Content)
	for _, want := range []string{"Dup", "lint warn", "missing", "goodbye", "zero-len", "Node 1", "ok"} {
		if !strings.Contains(v, want) {
			t.Errorf("list lacks %q", want)
		}
	}
}

// TestHostileName: an instance named with escape sequences and a TXT value
// with control bytes render as visible escapes; nothing reaches the
// terminal that could move the cursor, clear it or set its title.
func TestHostileName(t *testing.T) {
	evil := "evil\x1b[2J\x1b]0;pwned\x07"
	s := svc(evil, []byte("\x0bk=\x1b[31mred\x08"), true)
	m := feed(New(nil, nil, nil), tea.WindowSizeMsg{Width: 120, Height: 30},
		eventMsg(browse.Event{Kind: browse.Added, At: t0, Service: s}))
	raw := m.View().Content
	for _, bad := range []string{"\x1b[2J", "\x1b]0;", "\x07", "\x08", "\x1b[31mred"} {
		if strings.Contains(raw, bad) {
			t.Errorf("view contains raw %q", bad)
		}
	}
	plain := ansi.Strip(raw)
	for _, want := range []string{`evil\x1b[2J\x1b]0;pwned\x07`, `k=\x1b[31mred\x08`} {
		if !strings.Contains(plain, want) {
			t.Errorf("view lacks the visible escape %q", want)
		}
	}
}

type fakeBackend struct {
	requeried []string
	exported  [][]browse.Service
}

func (f *fakeBackend) Requery(name string) (string, error) {
	f.requeried = append(f.requeried, name)
	return "TXT answered in 3ms by 10.88.0.2; SRV answered in 3ms by 10.88.0.2", nil
}

func (f *fakeBackend) EventsDropped() uint64 { return 0 }

func (f *fakeBackend) Export(svcs []browse.Service, at time.Time) (string, error) {
	f.exported = append(f.exported, svcs)
	return "/tmp/export.jsonl", nil
}

func TestKeys(t *testing.T) {
	be := &fakeBackend{}
	m := scripted()
	m.backend = be
	// Filter.
	m = feed(m, press("/"), press("z"), press("e"), press("enter"))
	if v := m.visible(); len(v) != 1 || !strings.HasPrefix(v[0], "zero") {
		t.Errorf("filter 'ze' shows %v", v)
	}
	m = feed(m, press("/"), tea.KeyPressMsg{Code: tea.KeyEscape})
	if len(m.visible()) != 4 {
		t.Errorf("esc did not clear the filter")
	}
	// Pause holds events, resume applies them.
	m = feed(m, press("p"), eventMsg(browse.Event{Kind: browse.Added, At: t0.Add(20 * time.Second), Service: svc("Late", []byte{0}, true)}))
	if len(m.rows) != 4 || len(m.queued) != 1 {
		t.Fatalf("paused: %d rows, %d queued", len(m.rows), len(m.queued))
	}
	m = feed(m, press("p"))
	if len(m.rows) != 5 || len(m.queued) != 0 {
		t.Fatalf("resumed: %d rows, %d queued", len(m.rows), len(m.queued))
	}
	// Clear removed.
	m = feed(m, press("c"))
	if len(m.rows) != 4 {
		t.Errorf("clear removed left %d rows", len(m.rows))
	}
	// Sort by state, type, then age.
	m = feed(m, press("s"), press("s"), press("s"))
	if m.sort != sortAge || !slices.IsSortedFunc(m.order, m.less) {
		t.Errorf("sort %v, order %v", m.sort, m.order)
	}
	// Re-query and export run in Cmds, through the backend.
	m.selected = 0
	nm, cmd := m.Update(press("r"))
	m = nm.(Model)
	if cmd == nil {
		t.Fatal("r returned no command")
	}
	m = feed(m, cmd())
	sel := m.rows[m.selectedKey()]
	if len(be.requeried) != 1 || !strings.Contains(m.status, "TXT answered in 3ms by 10.88.0.2") || !strings.Contains(sel.requery, "TXT answered") {
		t.Errorf("requery: %v, status %q", be.requeried, m.status)
	}
	if strings.Contains(m.status, `\ `) || strings.Contains(m.status, `\\`) {
		t.Errorf("status escapes the name: %q", m.status)
	}
	_, cmd = m.Update(press("e"))
	m = feed(m, cmd())
	if len(be.exported) != 1 || len(be.exported[0]) != 4 || m.status != "exported 4 instances to /tmp/export.jsonl" {
		t.Errorf("export: %d, status %q", len(be.exported), m.status)
	}
	// Help overlay, then quit.
	m = feed(m, press("?"))
	if !strings.Contains(ansi.Strip(m.View().Content), "export JSON") {
		t.Error("help overlay does not list the keys")
	}
	m = feed(m, press("x"))
	if m.showHelp {
		t.Error("help overlay stays open")
	}
	if _, cmd := m.Update(press("q")); cmd == nil || fmt.Sprintf("%T", cmd()) != "tea.QuitMsg" {
		t.Error("q does not quit")
	}
}

func TestEventChannel(t *testing.T) {
	ch := make(chan browse.Event, 3)
	m := New(ch, nil, nil)
	for _, n := range []string{"A", "B", "C"} {
		ch <- browse.Event{Kind: browse.Added, At: t0, Service: svc(n, []byte{0}, true)}
	}
	msg := waitForEvent(ch)()
	if b, ok := msg.(eventsMsg); !ok || len(b.evs) != 3 {
		t.Fatalf("three waiting events came as %T of %d, want one batch of 3", msg, len(msg.(eventsMsg).evs))
	}
	nm, next := m.Update(msg)
	if next == nil || len(nm.(Model).rows) != 3 {
		t.Fatal("events not applied, or wait not re-armed")
	}
	close(ch)
	if _, ok := next().(streamDoneMsg); !ok {
		t.Error("closed channel does not end the stream")
	}
}

// BenchmarkUpdateView: 10,000 instances on screen, then events at random
// rows; each op is one Update plus one View, as the program does per event.
// Reports the 99th percentile per op.
func BenchmarkUpdateView(b *testing.B) {
	m := feed(New(nil, nil, nil), tea.WindowSizeMsg{Width: 120, Height: 40})
	const n = 10000
	for i := 0; i < n; i++ {
		s := svc(fmt.Sprintf("node-%05d", i), []byte("\x09key=value"), true)
		m.apply(browse.Event{Kind: browse.Added, At: t0, Service: s})
	}
	evs := make([]tea.Msg, 1000)
	for i := range evs {
		s := svc(fmt.Sprintf("node-%05d", (i*7919)%n), []byte(fmt.Sprintf("\x0akey=v%05d", i)), true)
		evs[i] = eventMsg(browse.Event{Kind: browse.Updated, At: t0.Add(time.Duration(i) * time.Millisecond), Service: s,
			Changes: []browse.Change{{Field: "txt", Old: "a", New: "b"}}})
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heapMB := float64(ms.HeapInuse) / (1 << 20)
	durs := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		nm, _ := m.Update(evs[i%len(evs)])
		m = nm.(Model)
		_ = m.View()
		durs = append(durs, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(heapMB, "heap-MB")
}

// TestPauseBounded: while paused, refreshes of one instance collapse to
// the last; other events past the cap are dropped oldest first, counted
// and shown, and resume says how many.
func TestPauseBounded(t *testing.T) {
	m := feed(New(nil, nil, nil), tea.WindowSizeMsg{Width: 120, Height: 40}, press("p"))
	a := svc("A", []byte{0}, true)
	for i := range 3 * maxHeld {
		m = feed(m, eventMsg(browse.Event{Kind: browse.Refreshed, At: t0.Add(time.Duration(i) * time.Millisecond), Service: a}))
	}
	if len(m.queued) > maxHeld || m.heldDropped != 0 {
		t.Fatalf("refreshes of one instance: %d held, %d dropped; want them collapsed, none dropped", len(m.queued), m.heldDropped)
	}
	for i := range maxHeld + 1 {
		m = feed(m, eventMsg(browse.Event{Kind: browse.Added, At: t0, Service: svc(fmt.Sprintf("n%05d", i), []byte{0}, true)}))
	}
	if len(m.queued) > maxHeld || m.heldDropped == 0 {
		t.Fatalf("%d distinct additions: %d held, %d dropped", maxHeld+1, len(m.queued), m.heldDropped)
	}
	dropped := m.heldDropped
	if v := ansi.Strip(m.View().Content); !strings.Contains(v, fmt.Sprintf("%d dropped over the %d cap", dropped, maxHeld)) {
		t.Errorf("status does not show the drops:\n%s", v)
	}
	m = feed(m, press("p"))
	if !strings.Contains(m.status, fmt.Sprintf("%d events were dropped while paused", dropped)) {
		t.Errorf("resume status %q", m.status)
	}
	if len(m.rows) != 1+maxHeld+1-dropped { // A and the additions, less those dropped
		t.Errorf("%d rows after resume, want %d (every held event applied)", len(m.rows), maxHeld+1-dropped+1)
	}
}
