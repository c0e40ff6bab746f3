// Package tui shows live DNS-SD instances, their decoded TXT records and
// the packets behind them in a Bubble Tea (v2) terminal UI. It does no
// network I/O and reads no clock in Update or View: events and packets
// arrive on channels through re-armed Cmds, time through tick messages, and
// user actions that need I/O go through a Backend inside Cmds. Everything
// that came off the network is escaped before it is drawn.
package tui

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/schema"
	"github.com/bonjourctl/bonjourctl/txt"
)

// Limits that keep memory bounded however busy the link is.
const (
	maxTimeline = 50    // events kept per instance
	maxPackets  = 50    // packets an instance's wire pane lists
	maxStore    = 20000 // packets held for the wire panes (about 12 MB): the oldest go first
	maxWire     = 4000  // recent packets searched to fill in instances found later
	maxRows     = 10000 // instances kept (the engine's own bound)
	maxSources  = 8     // responders whose answers are tracked per instance
)

type sortMode int

const (
	sortName sortMode = iota
	sortState
	sortType
	sortAge
	sortModes
)

func (s sortMode) String() string { return [...]string{"name", "state", "type", "age"}[s] }

// focus is where the movement keys go.
type focus int

const (
	focusList focus = iota
	focusPane
)

// answered is what one responder answered for an instance: record types.
type answered struct {
	src   netip.Addr
	types []uint16
}

type row struct {
	key      string
	svc      browse.Service
	first    time.Time
	updated  time.Time
	removed  bool
	counted  bool    // in Model.types
	problems problem // counted in Model.problems
	cause    browse.Cause
	timeline []browse.Event
	packets  []uint64 // the packets that touched it (Model.store sequence numbers), oldest first
	// Evidence from the wire: TXT questions seen for the instance, since
	// when, and which responder answered which of its record types.
	txtAsked   int
	firstAsked time.Time
	answers    []answered
	requery    string // what the last re-query found
	// search is the lower-case text the filter matches ("" until needed);
	// lint caches the TXT lint level for txtRaw.
	search  string
	lintFor []byte
	lint    int
}

// Model is the UI state.
type Model struct {
	events  <-chan browse.Event
	packets <-chan Packet
	backend Backend
	schemas *schema.Set // TXT schemas of well-known types: keys named, values judged
	keys    KeyMap
	styles  Styles
	help    help.Model
	pane    viewport.Model

	rows     map[string]*row
	order    []string // keys in display order
	types    map[string]int
	hosts    map[string]*hostInfo // hosts that rows point at
	problems [5]int               // rows with each problem bit, for the title
	store    []*Packet            // the last maxStore packets, each once
	stored   uint64               // sequence number of store[0]
	selected int
	now      time.Time

	focus       focus
	paneKey     string   // the row (and mode) the pane shows, to keep its scroll
	paneLines   []string // the pane's content, wrapped to the width
	listH       int      // lines of the list, its header included
	filtering   bool
	filter      string
	sort        sortMode
	showWire    bool
	showOwn     bool
	paused      bool
	showHelp    bool
	done        bool
	status      string
	queued      []browse.Event // held while paused
	heldDropped int            // held events dropped over maxHeld since the pause
	dropped     int            // rows refused over maxRows
	// engineDropped counts events the engine dropped: the UI was behind.
	engineDropped uint64
	skipped       int // packets the caller skipped (from Packet.Skipped)

	width, height int

	// A replay (tui --read): its player, where it is, and the jump prompt.
	player   Player
	pos      Position
	jumping  bool
	jumpText string
}

var _ tea.Model = Model{}

// New returns a Model fed by events and packets (packets may be nil).
func New(events <-chan browse.Event, packets <-chan Packet, backend Backend) Model {
	pane := viewport.New() // lines come wrapped (layout)
	m := Model{
		events: events, packets: packets, backend: backend,
		keys: DefaultKeyMap(), styles: DefaultStyles(), help: help.New(), pane: pane,
		rows: map[string]*row{}, types: map[string]int{}, hosts: map[string]*hostInfo{},
		width: 80, height: 24, schemas: schema.Builtin(),
	}
	m.layout()
	return m
}

// WithSchemas replaces the TXT schemas (the built-in ones and a user's).
func (m Model) WithSchemas(s *schema.Set) Model {
	m.schemas = s
	return m
}

// Init starts the event and packet waits and the clock.
func (m Model) Init() tea.Cmd {
	if m.player != nil {
		return tea.Batch(waitForEvent(m.events), waitForPacket(m.packets), pollPosition(m.player))
	}
	return tea.Batch(waitForEvent(m.events), waitForPacket(m.packets), tick(), pollDropped(m.backend))
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
		r = &row{key: k, first: ev.At, svc: ev.Service} // its sort key set before it is placed
		m.rows[k] = r
		m.insert(k)
		m.backfill(r)
		m.setHost("", hostKey(ev.Service.Host))
	}
	if ev.Kind == browse.Removed {
		if r.counted {
			m.types[r.svc.Type]--
			r.counted = false
		}
		r.removed, r.cause = true, ev.Cause
		if len(ev.Service.Records) == 0 {
			ev.Service.Records = r.svc.Records
		}
	} else {
		r.removed, r.cause = false, ""
		if !r.counted {
			m.types[ev.Service.Type]++
			r.counted = true
		}
	}
	defer m.recount(r)
	m.setHost(hostKey(r.svc.Host), hostKey(ev.Service.Host))
	r.svc = ev.Service
	r.search = ""
	if ev.Kind == browse.Refreshed {
		return // new TTLs and packet counts: nothing for the timeline
	}
	r.updated = ev.At
	ev.Service.Records = nil // the timeline keeps the changes, not the provenance
	r.timeline = append(r.timeline, ev)
	if len(r.timeline) > maxTimeline {
		r.timeline = slices.Delete(r.timeline, 0, len(r.timeline)-maxTimeline)
	}
	if m.sort == sortState {
		m.reposition(k)
	}
}

// problem is what the title counts about an instance, as a set.
type problem uint8

const (
	probMissing problem = 1 << iota
	probZero
	probStale
	probUnresolvable
	probLintErr
)

// problemsOf returns what counts against a row now.
func (r *row) problemsOf() problem {
	if r.removed {
		return 0
	}
	var p problem
	switch r.svc.TXTState {
	case browse.TXTMissing:
		p |= probMissing
	case browse.TXTZeroLength:
		p |= probZero
	default:
		if r.lintLevel() == 2 {
			p |= probLintErr
		}
	}
	switch r.svc.State {
	case browse.StateStale:
		p |= probStale
	case browse.StateUnresolvable:
		p |= probUnresolvable
	}
	return p
}

// recount keeps the title's counts current as a row changes.
func (m *Model) recount(r *row) {
	now := r.problemsOf()
	for i := range m.problems {
		bit := problem(1) << i
		if r.problems&bit != 0 {
			m.problems[i]--
		}
		if now&bit != 0 {
			m.problems[i]++
		}
	}
	r.problems = now
}

// hostInfo is what the wire showed of a host that instances point at: its
// address packets and who answered them. It lives while rows refer to it.
type hostInfo struct {
	refs    int
	packets []uint64
	answers []answered
}

// setHost moves a row's reference from its old host to its new one,
// filling a new host in from the recent packets.
func (m *Model) setHost(old, host string) {
	if old == host {
		return
	}
	if h := m.hosts[old]; old != "" && h != nil {
		if h.refs--; h.refs <= 0 {
			delete(m.hosts, old)
		}
	}
	if host == "" {
		return
	}
	h := m.hosts[host]
	if h == nil {
		h = &hostInfo{}
		m.hosts[host] = h
		for _, p := range m.recent() {
			if hasAddr(p, host) {
				h.attach(p, host)
			}
		}
	}
	h.refs++
}

func hasAddr(p *Packet, host string) bool {
	if p.Query {
		return false
	}
	for _, r := range p.Has {
		if r.Name == host && (r.Type == mdns.TypeA || r.Type == mdns.TypeAAAA) {
			return true
		}
	}
	return false
}

func (h *hostInfo) attach(p *Packet, host string) {
	if n := len(h.packets); n > 0 && h.packets[n-1] == p.seq {
		return
	}
	h.packets = append(h.packets, p.seq)
	if len(h.packets) > maxPackets {
		h.packets = slices.Delete(h.packets, 0, len(h.packets)-maxPackets)
	}
	h.answers = addAnswers(h.answers, p, func(r Ref) bool { return r.Name == host && (r.Type == mdns.TypeA || r.Type == mdns.TypeAAAA) })
}

// addAnswers records which of a response's record types, picked by want,
// its sender answered.
func addAnswers(as []answered, p *Packet, want func(Ref) bool) []answered {
	src := p.Src.Addr().WithZone("")
	for _, h := range p.Has {
		if h.Type == 0 || !want(h) {
			continue
		}
		i := slices.IndexFunc(as, func(a answered) bool { return a.src == src })
		if i < 0 {
			if len(as) >= maxSources {
				continue
			}
			as = append(as, answered{src: src})
			i = len(as) - 1
		}
		if !slices.Contains(as[i].types, h.Type) {
			as[i].types = append(as[i].types, h.Type)
		}
	}
	return as
}

// recent returns the last maxWire packets, searched when an instance or a
// host is first seen.
func (m *Model) recent() []*Packet { return m.store[max(0, len(m.store)-maxWire):] }

// packet returns a stored packet, or nil once it has gone.
func (m *Model) packet(seq uint64) *Packet {
	if seq < m.stored || seq-m.stored >= uint64(len(m.store)) {
		return nil
	}
	return m.store[seq-m.stored]
}

// backfill attaches the recent packets that mention a new row's name, from
// the first probe on.
func (m *Model) backfill(r *row) {
	for _, p := range m.recent() {
		if mentions(p, r.key) {
			r.attach(p)
		}
	}
}

func mentions(p *Packet, name string) bool {
	for _, q := range p.Asks {
		if q.Name == name {
			return true
		}
	}
	for _, h := range p.Has {
		if h.Name == name {
			return true
		}
	}
	return false
}

// addPacket keeps a packet for the wire pane and the evidence: once in the
// recent ring, once in each row and host it touches. Address records go to
// their host, not to every instance on it.
func (m *Model) addPacket(p *Packet) {
	m.skipped = max(m.skipped, p.Skipped)
	p.seq = m.stored + uint64(len(m.store))
	m.store = append(m.store, p)
	if len(m.store) > maxStore {
		drop := len(m.store) - maxStore*3/4
		clear(m.store[:drop])
		m.store = slices.Delete(m.store, 0, drop)
		m.stored += uint64(drop)
	}
	for _, refs := range [][]Ref{p.Asks, p.Has} {
		for _, ref := range refs {
			if r := m.rows[ref.Name]; r != nil {
				r.attach(p)
			}
			if h := m.hosts[ref.Name]; h != nil && !p.Query && (ref.Type == mdns.TypeA || ref.Type == mdns.TypeAAAA) {
				h.attach(p, ref.Name)
			}
		}
	}
}

// attach adds a packet to a row (once) and weighs it as evidence.
func (r *row) attach(p *Packet) {
	if n := len(r.packets); n > 0 && r.packets[n-1] == p.seq || slices.Contains(r.packets, p.seq) {
		return
	}
	r.packets = append(r.packets, p.seq)
	if len(r.packets) > maxPackets {
		r.packets = slices.Delete(r.packets, 0, len(r.packets)-maxPackets)
	}
	if p.Query {
		for _, q := range p.Asks {
			if q.Name == r.key && (q.Type == mdns.TypeTXT || q.Type == mdns.TypeANY) {
				if r.txtAsked == 0 {
					r.firstAsked = p.At
				}
				r.txtAsked++
				break
			}
		}
		return
	}
	r.answers = addAnswers(r.answers, p, func(ref Ref) bool { return ref.Name == r.key })
}

// lintLevel is the TXT lint level of a row (0 none or info, 1 warning, 2
// error), cached for its current TXT.
func (r *row) lintLevel() int {
	raw := r.svc.TXTRaw
	if r.lintFor != nil && len(raw) == len(r.lintFor) && (len(raw) == 0 || &raw[0] == &r.lintFor[0]) {
		return r.lint
	}
	r.lint = 0
	if sev, ok := txt.MaxSeverity(txt.Lint(raw)); ok && sev >= txt.Warning {
		r.lint = 1
		if sev == txt.Error {
			r.lint = 2
		}
	}
	r.lintFor = raw
	if r.lintFor == nil {
		r.lintFor = []byte{}
	}
	return r.lint
}

// rank orders rows for the state sort: problems first.
func (r *row) rank() int {
	switch {
	case r.removed:
		return 9
	case r.svc.State == browse.StateUnresolvable:
		return 0
	case r.svc.State == browse.StateStale:
		return 1
	case r.svc.TXTState == browse.TXTMissing || r.svc.TXTState == browse.TXTZeroLength:
		return 2
	case r.lintLevel() == 2:
		return 3
	case r.lintLevel() == 1:
		return 4
	case r.svc.State == browse.StateGoodbye:
		return 5
	case r.svc.State == browse.StateResolving:
		return 6
	}
	return 7
}

// sortName is the name as shown, case-folded: what people sort by.
func (r *row) sortName() string { return strings.ToLower(txt.EscapeUTF8([]byte(r.svc.Instance))) }

func (m *Model) less(a, b string) int {
	ra, rb := m.rows[a], m.rows[b]
	switch m.sort {
	case sortState:
		if c := ra.rank() - rb.rank(); c != 0 {
			return c
		}
	case sortType:
		if c := strings.Compare(ra.svc.Type, rb.svc.Type); c != 0 {
			return c
		}
	case sortAge:
		if c := ra.first.Compare(rb.first); c != 0 {
			return c
		}
	}
	if c := strings.Compare(ra.sortName(), rb.sortName()); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func (m *Model) insert(k string) {
	i, _ := slices.BinarySearchFunc(m.order, k, m.less)
	m.order = slices.Insert(m.order, i, k)
}

// reposition moves a row whose sort key may have changed.
func (m *Model) reposition(k string) {
	sel := m.selectedKey()
	if i := slices.Index(m.order, k); i >= 0 {
		m.order = slices.Delete(m.order, i, i+1)
	}
	m.insert(k)
	m.selectKey(sel)
}

func (m *Model) resort() {
	sel := m.selectedKey()
	slices.SortFunc(m.order, m.less)
	m.selectKey(sel)
}

// searchText is what the filter matches in a row: the name, type and
// host as shown, the TXT strings, and the words of its badge and state.
func (m *Model) searchText(r *row) string {
	if r.search != "" {
		return r.search
	}
	s := &r.svc
	var sb strings.Builder
	sb.WriteString(txt.EscapeUTF8([]byte(s.Instance)))
	sb.WriteString("\x00" + s.Type + "\x00" + mdns.EscapeText(s.Host))
	for _, str := range s.TXT.Strings {
		sb.WriteString("\x00" + txt.EscapeUTF8(str))
	}
	b, _ := m.badge(r)
	sb.WriteString("\x00" + b + "\x00" + m.stateWord(r))
	if s.TXTState == browse.TXTZeroLength {
		sb.WriteString("\x00zero-length")
	}
	r.search = strings.ToLower(sb.String())
	return r.search
}

// visible returns the keys that pass the filter, in order.
func (m *Model) visible() []string {
	if m.filter == "" {
		return m.order
	}
	f := strings.ToLower(m.filter)
	out := make([]string, 0, len(m.order))
	for _, k := range m.order {
		if strings.Contains(m.searchText(m.rows[k]), f) {
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
		if r := m.rows[k]; r.removed {
			m.setHost(hostKey(r.svc.Host), "")
			m.recount(r) // removed rows count nothing; this only keeps the sums exact
			delete(m.rows, k)
			return true
		}
		return false
	})
	m.selected = 0
	m.selectKey(sel)
}

// hostKey is a host name's key ("" for none).
func hostKey(h string) string {
	if h == "" {
		return ""
	}
	return mdns.NameKey(h)
}

// Services returns the instances shown (the filter applied), in order.
func (m Model) Services() []browse.Service {
	var out []browse.Service
	for _, k := range m.visible() {
		out = append(out, m.rows[k].svc)
	}
	return out
}
