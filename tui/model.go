// Package tui shows live DNS-SD instances, their decoded TXT records and
// the packets behind them in a Bubble Tea (v2) terminal UI. It does no
// network I/O and reads no clock in Update or View: events and packets
// arrive on channels through re-armed Cmds, time through tick messages, and
// user actions that need I/O go through a Backend inside Cmds. Everything
// that came off the network is escaped before it is drawn.
package tui

import (
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/mdns"
)

// Limits that keep memory bounded however busy the link is.
const (
	maxTimeline = 50    // events kept per instance
	maxPackets  = 20    // packets kept per instance for the wire pane
	maxRows     = 50000 // instances kept
)

type sortMode int

const (
	sortName sortMode = iota
	sortType
	sortAge
)

func (s sortMode) String() string { return [...]string{"name", "type", "age"}[s] }

type row struct {
	key      string
	svc      browse.Service
	first    time.Time
	updated  time.Time
	removed  bool
	cause    browse.Cause
	timeline []browse.Event
	packets  []Packet
}

// Model is the UI state.
type Model struct {
	events  <-chan browse.Event
	packets <-chan Packet
	backend Backend
	keys    KeyMap
	styles  Styles
	help    help.Model

	rows     map[string]*row
	order    []string // keys in display order
	types    map[string]int
	selected int
	now      time.Time

	filtering   bool
	filter      string
	sort        sortMode
	showWire    bool
	paused      bool
	showHelp    bool
	done        bool
	status      string
	queued      []browse.Event // held while paused
	heldDropped int            // held events dropped over maxHeld since the pause
	dropped     int            // rows refused over maxRows
	skipped     int            // packets the caller skipped (from Packet.Skipped)

	width, height int
}

var _ tea.Model = Model{}

// New returns a Model fed by events and packets (packets may be nil).
func New(events <-chan browse.Event, packets <-chan Packet, backend Backend) Model {
	return Model{
		events: events, packets: packets, backend: backend,
		keys: DefaultKeyMap(), styles: DefaultStyles(), help: help.New(),
		rows: map[string]*row{}, types: map[string]int{},
		width: 80, height: 24,
	}
}

// Init starts the event and packet waits and the clock.
func (m Model) Init() tea.Cmd {
	return tea.Batch(waitForEvent(m.events), waitForPacket(m.packets), tick())
}

// apply folds one event into the rows.
func (m *Model) apply(ev browse.Event) {
	if ev.At.After(m.now) {
		m.now = ev.At
	}
	k := mdns.NameKey(ev.Service.Name)
	r := m.rows[k]
	if r == nil {
		if ev.Kind == browse.Removed {
			return
		}
		if len(m.rows) >= maxRows {
			m.dropped++
			return
		}
		r = &row{key: k, first: ev.At}
		m.rows[k] = r
		m.insert(k)
	}
	if r.removed && ev.Kind != browse.Removed {
		r.removed, r.cause = false, ""
		m.types[ev.Service.Type]++
	} else if !r.removed && ev.Kind == browse.Added && r.svc.Name == "" {
		m.types[ev.Service.Type]++
	}
	if ev.Kind == browse.Removed {
		if !r.removed {
			m.types[r.svc.Type]--
		}
		r.removed, r.cause = true, ev.Cause
		if len(ev.Service.Records) == 0 {
			ev.Service.Records = r.svc.Records
		}
	}
	r.svc = ev.Service
	if ev.Kind == browse.Refreshed {
		return // new TTLs and packet counts: nothing for the timeline
	}
	r.updated = ev.At
	ev.Service.Records = nil // the timeline keeps the changes, not the provenance
	r.timeline = append(r.timeline, ev)
	if len(r.timeline) > maxTimeline {
		r.timeline = slices.Delete(r.timeline, 0, len(r.timeline)-maxTimeline)
	}
}

func (m *Model) less(a, b string) int {
	ra, rb := m.rows[a], m.rows[b]
	switch m.sort {
	case sortType:
		if c := strings.Compare(ra.svc.Type, rb.svc.Type); c != 0 {
			return c
		}
	case sortAge:
		if c := ra.first.Compare(rb.first); c != 0 {
			return c
		}
	}
	return strings.Compare(a, b)
}

func (m *Model) insert(k string) {
	i, _ := slices.BinarySearchFunc(m.order, k, m.less)
	m.order = slices.Insert(m.order, i, k)
}

func (m *Model) resort() {
	sel := m.selectedKey()
	slices.SortFunc(m.order, m.less)
	m.selectKey(sel)
}

// visible returns the keys that pass the filter, in order.
func (m *Model) visible() []string {
	if m.filter == "" {
		return m.order
	}
	f := strings.ToLower(m.filter)
	out := make([]string, 0, len(m.order))
	for _, k := range m.order {
		r := m.rows[k]
		if strings.Contains(k, f) || strings.Contains(strings.ToLower(r.svc.Type), f) || strings.Contains(strings.ToLower(r.svc.Host), f) {
			out = append(out, k)
		}
	}
	return out
}

func (m *Model) selectedKey() string {
	v := m.visible()
	if m.selected >= 0 && m.selected < len(v) {
		return v[m.selected]
	}
	return ""
}

func (m *Model) selectKey(k string) {
	if i := slices.Index(m.visible(), k); i >= 0 {
		m.selected = i
	}
}

func (m *Model) clearRemoved() {
	sel := m.selectedKey()
	m.order = slices.DeleteFunc(m.order, func(k string) bool {
		if m.rows[k].removed {
			delete(m.rows, k)
			return true
		}
		return false
	})
	m.selected = 0
	m.selectKey(sel)
}

// snapshotJSON is what `e` exports: the rows as shown.
type snapshotJSON struct {
	Time      string            `json:"time"`
	Filter    string            `json:"filter,omitempty"`
	Instances []instanceSummary `json:"instances"`
}

type instanceSummary struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Host    string   `json:"host"`
	Port    uint16   `json:"port"`
	Addrs   []string `json:"addrs"`
	TXT     string   `json:"txtState"`
	TXTHex  string   `json:"txtRdata"`
	Removed string   `json:"removed,omitempty"`
}

// Snapshot returns the JSON export of what is shown.
func (m Model) Snapshot() []byte {
	s := snapshotJSON{Time: m.now.UTC().Format(time.RFC3339), Filter: m.filter, Instances: []instanceSummary{}}
	for _, k := range m.visible() {
		r := m.rows[k]
		is := instanceSummary{Name: escape(r.svc.Name), Type: r.svc.Type, Host: escape(r.svc.Host), Port: r.svc.Port,
			Addrs: []string{}, TXT: string(r.svc.TXTState), TXTHex: hex.EncodeToString(r.svc.TXTRaw), Removed: string(r.cause)}
		for _, a := range r.svc.Addrs {
			is.Addrs = append(is.Addrs, a.String())
		}
		s.Instances = append(s.Instances, is)
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	return b
}
