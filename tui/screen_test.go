package tui

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/mdns"
)

func screen(m Model) string { return ansi.Strip(m.View().Content) }

// TestWidths: the scripted screen at 40, 80, 140 and 220 columns. No line
// overflows; the TXT badge and state stay whole words at 40; the footer
// keeps help and quit at 80; at 220 the badge sits by its name.
func TestWidths(t *testing.T) {
	for _, w := range []int{40, 80, 140, 220} {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			m := feed(scripted(), tea.WindowSizeMsg{Width: w, Height: 30})
			v := screen(m)
			golden(t, "screen", v)
			lines := strings.Split(v, "\n")
			if len(lines) != 30 {
				t.Errorf("%d lines at height 30", len(lines))
			}
			for i, l := range lines {
				if ansi.StringWidth(l) > w {
					t.Errorf("line %d is %d columns wide", i, ansi.StringWidth(l))
				}
			}
			for _, word := range []string{"missing", "zero-len", "lint warn"} {
				if !strings.Contains(v, word) {
					t.Errorf("the badge %q is not whole", word)
				}
			}
			if w >= 80 && (!strings.Contains(lines[len(lines)-1], "? help") || !strings.Contains(lines[len(lines)-1], "q quit")) {
				t.Errorf("footer lacks help or quit: %q", lines[len(lines)-1])
			}
			for _, l := range lines {
				if i, j := strings.Index(l, "Zero"), strings.Index(l, "zero-len"); i >= 0 && j > i && j-i > 45 {
					t.Errorf("badge %d columns from its name: %q", j-i, l)
				}
			}
		})
	}
}

// TestLiveness: refreshed records keep TTLs counting from their last
// packet; a stale and an unresolvable instance stand out with a word,
// since when, and why; the title counts them.
func TestLiveness(t *testing.T) {
	m := feed(New(nil, nil, nil), tea.WindowSizeMsg{Width: 120, Height: 40})
	live := svc("Live", []byte("\x03a=1"), true)
	m = feed(m, eventMsg(browse.Event{Kind: browse.Added, At: t0, Service: live}))
	// 130 s later the responder still answers: a refresh moves LastSeen.
	live.Records[0].LastSeen, live.Records[0].Packets = t0.Add(125*time.Second), 6
	m = feed(m, eventMsg(browse.Event{Kind: browse.Refreshed, At: t0.Add(125 * time.Second), Service: live}), tickMsg(t0.Add(130*time.Second)))
	if v := screen(m); !strings.Contains(v, "1m ") || strings.Contains(v, " 0s ") {
		t.Errorf("refreshed instance should show age 2m and TTL 115s left:\n%s", v)
	}
	if v := screen(m); !strings.Contains(v, "6 packets") || strings.Contains(v, "(left 0s)") {
		t.Errorf("provenance does not follow the refresh:\n%s", v)
	}
	stale := svc("Gone", []byte("\x03a=1"), true)
	stale.State, stale.StateSince, stale.Unanswered = browse.StateStale, t0.Add(100*time.Second), 2
	unres := svc("Half", []byte("\x03a=1"), true)
	unres.State, unres.StateSince, unres.Host, unres.Addrs = browse.StateUnresolvable, t0.Add(110*time.Second), "", nil
	m = feed(m, eventMsg(browse.Event{Kind: browse.Added, At: t0, Service: stale}), eventMsg(browse.Event{Kind: browse.Added, At: t0, Service: unres}))
	v := screen(m)
	if !strings.Contains(strings.Split(v, "\n")[0], "3 instances of _p2p._tcp: 1 unresolvable, 1 stale") {
		t.Errorf("title: %q", strings.Split(v, "\n")[0])
	}
	for _, want := range []string{"stale", "unresolvable"} {
		if !strings.Contains(v, want) {
			t.Errorf("list lacks the state %q", want)
		}
	}
	m = feed(m, press("s")) // state: problems first
	if k := m.visible()[0]; k != `half._p2p._tcp.local.` {
		t.Errorf("sorted by state, first is %q", k)
	}
	if h := strings.Split(screen(m), "\n")[1]; !strings.Contains(h, "STATE▲") {
		t.Errorf("header does not mark the sort: %q", h)
	}
	m.selected = 1
	m = feed(m, tickMsg(t0.Add(130*time.Second)))
	if v := screen(m); !strings.Contains(v, "STALE since") || !strings.Contains(v, "2 refresh queries unanswered") {
		t.Errorf("detail of the stale instance:\n%s", v)
	}
}

// pkt builds a wire-pane packet.
func pkt(at time.Duration, src string, own, query bool, asks, has []Ref, text string) packetMsg {
	return packetMsg(Packet{At: t0.Add(at), Src: netip.MustParseAddrPort(src), Own: own, Query: query, Asks: asks, Has: has, Text: text})
}

const quietKey = `quiet._p2p._tcp.local.`

// TestWhyNoTXT: the detail pane answers "why no TXT?" from the wire: how
// often TXT was asked since when, and who answered what instead.
func TestWhyNoTXT(t *testing.T) {
	m := feed(New(nil, nil, nil), tea.WindowSizeMsg{Width: 160, Height: 50},
		// The responder's announcement, before the instance is known.
		pkt(0, "10.88.0.5:5353", false, false, nil, []Ref{{"_p2p._tcp.local.", mdns.TypePTR}, {quietKey, 0}, {quietKey, mdns.TypeSRV}, {"host1.local.", 0}, {"host1.local.", mdns.TypeA}},
			"12:00:00 response\n  an _p2p._tcp.local. PTR Quiet._p2p._tcp.local.\n  an Quiet._p2p._tcp.local. SRV 0 0 4001 host1.local.\n  ar host1.local. A 10.88.0.5\n"),
	)
	s := svc("Quiet", nil, false)
	m = feed(m, eventMsg(browse.Event{Kind: browse.Added, At: t0.Add(time.Second), Service: s}))
	for i := range 4 {
		m = feed(m, pkt(time.Duration(2+i)*time.Second, "10.88.0.1:5353", true, true, []Ref{{quietKey, mdns.TypeTXT}}, nil, "query\n  qd Quiet._p2p._tcp.local. TXT QM\n"))
	}
	v := screen(m)
	want := "no TXT record: asked TXT 4× since " + t0.Add(2*time.Second).In(time.Local).Format("15:04:05") + "; 10.88.0.5 answered A and SRV, never TXT"
	if !strings.Contains(v, want) {
		t.Errorf("verdict missing %q:\n%s", want, v)
	}
	// The wire pane: the announcement kept from before the row existed,
	// shown once, with the TXT's absence said; own queries hidden.
	m = feed(m, press("w"))
	v = screen(m)
	if n := strings.Count(v, "PTR Quiet"); n != 1 {
		t.Errorf("the announcement shows %d times, want once:\n%s", n, v)
	}
	if !strings.Contains(v, "(no TXT for this instance in this packet)") || !strings.Contains(v, "4 of bonjourctl's own queries hidden") {
		t.Errorf("wire pane:\n%s", v)
	}
	m = feed(m, press("o"))
	if v := screen(m); strings.Count(v, "(bonjourctl's own query)") != 4 {
		t.Errorf("o does not show the own queries:\n%s", v)
	}
	// A response that carries the TXT: its line is marked.
	m = feed(m, pkt(7*time.Second, "10.88.0.5:5353", false, false, nil, []Ref{{quietKey, mdns.TypeTXT}}, "response\n  an Quiet._p2p._tcp.local. TXT IN flush ttl 4500 [3]\"a=1\"\n"))
	if v := screen(m); !strings.Contains(v, "▶ an Quiet._p2p._tcp.local. TXT") {
		t.Errorf("the TXT line is not marked:\n%s", v)
	}
}

// TestFilterMatchesWhatIsShown: the filter matches names as shown (spaces,
// other scripts), TXT keys and values, and states.
func TestFilterMatchesWhatIsShown(t *testing.T) {
	m := feed(New(nil, nil, nil), tea.WindowSizeMsg{Width: 120, Height: 40})
	for _, s := range []browse.Service{svc("Node A", []byte("\x08model=xy"), true), svc("Küche", []byte("\x03a=1"), true), svc("打印机", nil, true), svc("Quiet", nil, false)} {
		m = feed(m, eventMsg(browse.Event{Kind: browse.Added, At: t0, Service: s}))
	}
	for filter, want := range map[string]string{"node a": "node\\ a", "küche": "küche", "打印": "打印机", "model=": "node\\ a", "missing": "quiet", "zero-len": "打印机"} {
		m2 := feed(m, press("/"))
		m2 = feed(m2, tea.KeyPressMsg{Text: filter}, press("enter"))
		v := m2.visible()
		if len(v) != 1 || !strings.HasPrefix(v[0], want) {
			t.Errorf("filter %q shows %v, want the one starting %q", filter, v, want)
		}
		if s := screen(m2); !strings.Contains(s, fmt.Sprintf("filter %q", filter)) {
			t.Errorf("filter %q is not shown:\n%s", filter, s)
		}
	}
}

// TestPaneScrolls: 25 TXT pairs at 100x30: Tab gives the pane the keys,
// page down reaches the timeline at its end, and the header says where.
func TestPaneScrolls(t *testing.T) {
	var raw []byte
	for i := range 25 {
		kv := fmt.Sprintf("key%02d=value%02d", i, i)
		raw = append(append(raw, byte(len(kv))), kv...)
	}
	m := feed(New(nil, nil, nil), tea.WindowSizeMsg{Width: 100, Height: 30},
		eventMsg(browse.Event{Kind: browse.Added, At: t0, Service: svc("Many", raw, true)}))
	v := screen(m)
	if strings.Contains(v, "timeline") || !strings.Contains(v, "lines 1-") {
		t.Fatalf("the pane should not fit and say so:\n%s", v)
	}
	m = feed(m, tea.KeyPressMsg{Code: tea.KeyTab})
	for range 5 {
		m = feed(m, tea.KeyPressMsg{Code: tea.KeyPgDown})
	}
	if v := screen(m); !strings.Contains(v, "timeline") || !strings.Contains(v, "added") {
		t.Errorf("page down does not reach the timeline:\n%s", v)
	}
	if m.selected != 0 {
		t.Errorf("the list moved while the pane had the keys")
	}
	m = feed(m, tea.KeyPressMsg{Code: tea.KeyHome})
	if v := screen(m); !strings.Contains(v, "lines 1-") {
		t.Errorf("home does not go back to the top:\n%s", v)
	}
}

// TestInterruptFromFilter: Ctrl-C interrupts (exit 130) even while the
// filter prompt is open.
func TestInterruptFromFilter(t *testing.T) {
	m := feed(scripted(), press("/"), press("x"))
	_, cmd := m.Update(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	if cmd == nil {
		t.Fatal("ctrl+c in the filter prompt does nothing")
	}
	if _, ok := cmd().(tea.InterruptMsg); !ok {
		t.Errorf("ctrl+c gives %T, want tea.InterruptMsg", cmd())
	}
}

// TestWireStoreBounded: packets are held once, at most maxStore of them;
// a pane whose packets have gone says so.
func TestWireStoreBounded(t *testing.T) {
	m := feed(New(nil, nil, nil), tea.WindowSizeMsg{Width: 120, Height: 40},
		pkt(0, "10.88.0.5:5353", false, false, nil, []Ref{{quietKey, mdns.TypeSRV}}, "first\n"),
		eventMsg(browse.Event{Kind: browse.Added, At: t0, Service: svc("Quiet", nil, false)}))
	for i := range maxStore + 5000 {
		m.addPacket(&Packet{At: t0.Add(time.Duration(i) * time.Millisecond), Src: netip.MustParseAddrPort("10.88.0.9:5353"), Has: []Ref{{fmt.Sprintf("other-%d.local.", i), mdns.TypeA}}, Text: "other\n"})
	}
	if len(m.store) > maxStore {
		t.Fatalf("%d packets held, over %d", len(m.store), maxStore)
	}
	m = feed(m, press("w"))
	if v := screen(m); !strings.Contains(v, "1 older no longer held") {
		t.Errorf("the pane does not say its packet has gone:\n%s", v)
	}
}
