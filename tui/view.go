package tui

import (
	"encoding/hex"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/txt"
)

// label renders raw bytes from the network (an instance label, a TXT
// value) for the terminal: printable text in any script as it is, the rest
// as visible escapes.
func label(s string) string { return txt.EscapeUTF8([]byte(s)) }

// View renders the model. It reads no clock: ages come from the last tick.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "bonjourctl tui"
	return v
}

func (m Model) render() string {
	w, h := max(m.width, 20), max(m.height, 6)
	var lines []string
	add := func(s string) { lines = append(lines, ansi.Truncate(s, w, "…")) }

	add(m.styles.Title.Render("bonjourctl") + "  " + m.summary())
	if m.showHelp {
		add("")
		for _, l := range strings.Split(m.help.FullHelpView(m.keys.FullHelp()), "\n") {
			add(l)
		}
		add("")
		add(m.styles.Dim.Render("any key closes this help"))
		return fit(lines, h)
	}
	vis := m.visible()
	cols := m.columns()
	add(m.styles.Header.Render(cols.header(m.sort)))
	rows := m.listH - 1
	start := 0
	if m.selected >= rows {
		start = m.selected - rows + 1
	}
	for i := start; i < len(vis) && i < start+rows; i++ {
		add(m.rowLine(m.rows[vis[i]], cols, i == m.selected))
	}
	if len(vis) == 0 {
		switch {
		case m.filter != "":
			add(m.styles.Dim.Render(fmt.Sprintf("no instance matches the filter %q (esc in the filter prompt clears it)", m.filter)))
		case m.done:
			add(m.styles.Dim.Render("discovery stopped"))
		default:
			add(m.styles.Dim.Render("waiting for instances…"))
		}
	}
	for len(lines) < 1+m.listH {
		add("")
	}
	if m.selectedKey() != "" && m.pane.Height() > 0 {
		add(m.paneHeader())
		// The pane's lines are wrapped to the width already (layout); the
		// viewport keeps the scroll position.
		y := min(m.pane.YOffset(), len(m.paneLines))
		lines = append(lines, m.paneLines[y:min(y+m.pane.Height(), len(m.paneLines))]...)
	}
	for len(lines) < h-2 {
		add("")
	}
	lines = lines[:min(len(lines), h-2)]
	add(m.statusLine())
	add(m.help.ShortHelpView(m.keys.ShortHelp()))
	return fit(lines, h)
}

func fit(lines []string, h int) string {
	if len(lines) > h {
		lines = lines[:h]
	}
	return strings.Join(lines, "\n")
}

// summary is the title's account: instances, types, and the problems.
func (m Model) summary() string {
	live, types := 0, 0
	for _, n := range m.types {
		if n > 0 {
			live += n
			types++
		}
	}
	if len(m.rows) == 0 {
		return m.styles.Dim.Render("no instances yet")
	}
	s := fmt.Sprintf("%d instance%s", live, plural(live))
	switch {
	case types > 1:
		s += fmt.Sprintf(" of %d types", types)
	case types == 1:
		for t, n := range m.types {
			if n > 0 {
				s += " of " + t
			}
		}
	}
	var probs []string
	for _, c := range []struct {
		bit  problem
		what string
	}{{probUnresolvable, "unresolvable"}, {probStale, "stale"}, {probMissing, "missing TXT"}, {probZero, "zero-length TXT"}, {probLintErr, "TXT lint errors"}} {
		if n := m.problems[bits.TrailingZeros8(uint8(c.bit))]; n > 0 {
			probs = append(probs, fmt.Sprintf("%d %s", n, c.what))
		}
	}
	if len(probs) > 0 {
		s += ": " + m.styles.Bad.Render(strings.Join(probs, ", "))
	}
	if m.filter != "" {
		s += "  " + m.styles.Hint.Render(fmt.Sprintf("showing %d (filter %q)", len(m.visible()), m.filter))
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (m Model) statusLine() string {
	status := m.status
	switch {
	case m.jumping:
		status = "jump to: " + m.jumpText + "▏ (a time of day such as 15:04:05.250, +2.5s from the start, or end; enter jumps, esc cancels)"
	case m.filtering:
		status = "filter: " + m.filter + "▏ (name, TXT key or value, state such as missing, zero-len, stale; enter keeps, esc clears)"
	case m.filter != "":
		status = fmt.Sprintf("[filter %q: %d shown]  %s", m.filter, len(m.visible()), status)
	}
	if m.paused {
		held := fmt.Sprintf("%d events held", len(m.queued))
		if m.heldDropped > 0 {
			held += fmt.Sprintf(", %d dropped over the %d cap", m.heldDropped, maxHeld)
		}
		status = fmt.Sprintf("PAUSED (%s)  %s", held, status)
	}
	if m.dropped > 0 {
		status += fmt.Sprintf("  %d instances over the %d cap not shown", m.dropped, maxRows)
	}
	if m.player != nil {
		status = m.replayStatus() + "  " + status
	}
	if m.engineDropped > 0 {
		status = m.styles.Bad.Render(fmt.Sprintf("%d events dropped: the UI was behind, the list may miss instances and changes", m.engineDropped)) + "  " + status
	}
	return m.styles.Dim.Render(status)
}

// cols is the table's layout at the current width: which columns, how wide.
type cols struct {
	show  []int // column indexes, in order
	width []int // by column index
}

// The table's columns.
const (
	colName = iota
	colTXT
	colState
	colHost
	colAddrs
	colAge
	colTTL
	colType
	numCols
)

var colTitles = [numCols]string{"NAME", "TXT", "STATE", "HOST:PORT", "ADDRESSES", "AGE", "TTL", "TYPE"}

// colSpec: the least and most a column takes; the columns that go first
// when the terminal is narrow come last in dropOrder.
var colMin = [numCols]int{10, 9, 7, 12, 9, 4, 4, 10}
var colMax = [numCols]int{40, 9, 12, 40, 42, 4, 4, 22}
var dropOrder = []int{colAddrs, colType, colAge, colHost, colTTL, colState}

// columns lays the table out for the width: TYPE only when there is more
// than one type; columns dropped, least needed first, until the
// rest fit; then the flexible columns widened to their most.
func (m Model) columns() cols {
	w := max(m.width, 20)
	var c cols
	c.width = make([]int, numCols)
	manyTypes := 0
	for _, n := range m.types {
		if n > 0 {
			manyTypes++
		}
	}
	shown := map[int]bool{}
	for i := range numCols {
		shown[i] = i != colType || manyTypes > 1
	}
	need := func() int {
		n := 0
		for i := range numCols {
			if shown[i] {
				n += colMin[i] + 1
			}
		}
		return n - 1
	}
	for _, d := range dropOrder {
		if need() <= w {
			break
		}
		shown[d] = false
	}
	for i := range numCols {
		if shown[i] {
			c.show = append(c.show, i)
			c.width[i] = colMin[i]
		}
	}
	left := w - need()
	// First a fair share for each (a name, a host:port, an address),
	// then up to their most.
	for _, step := range [][numCols]int{{colName: 24, colHost: 22, colAddrs: 15, colState: 12, colType: 12}, colMax} {
		for _, i := range []int{colName, colHost, colAddrs, colState, colType} {
			if !shown[i] || left <= 0 {
				continue
			}
			grow := min(left, max(step[i]-c.width[i], 0))
			c.width[i] += grow
			left -= grow
		}
	}
	if left > 0 && !shown[colAddrs] { // narrow: what is left goes to the name
		c.width[colName] += left
	}
	return c
}

func (c cols) line(cells [numCols]string) string {
	parts := make([]string, 0, len(c.show))
	for _, i := range c.show {
		s := ansi.Truncate(cells[i], c.width[i], "…")
		parts = append(parts, s+strings.Repeat(" ", max(c.width[i]-ansi.StringWidth(s), 0)))
	}
	return strings.Join(parts, " ")
}

func (c cols) header(sort sortMode) string {
	var cells [numCols]string
	copy(cells[:], colTitles[:])
	mark := map[sortMode]int{sortName: colName, sortState: colState, sortType: colType, sortAge: colAge}[sort]
	if sort == sortType && !slices.Contains(c.show, colType) {
		mark = colName // one type: sorted by name within it
	}
	cells[mark] += "▲"
	return c.line(cells)
}

// badge is the TXT status at a glance, with its level (0 fine, 1 warn, 2 bad).
func (m Model) badge(r *row) (string, int) {
	switch r.svc.TXTState {
	case browse.TXTMissing:
		return "missing", 2
	case browse.TXTZeroLength:
		return "zero-len", 2
	case browse.TXTEmpty:
		return "empty", 1
	}
	switch r.lintLevel() {
	case 2:
		return "lint err", 2
	case 1:
		return "lint warn", 1
	}
	return "ok", 0
}

// stateWord is the instance's liveness in a word.
func (m Model) stateWord(r *row) string {
	if r.removed {
		return string(r.cause)
	}
	if r.svc.State == "" {
		return "live"
	}
	return string(r.svc.State)
}

func (m Model) rowLine(r *row, c cols, selected bool) string {
	s := &r.svc
	hp := "-"
	if s.Host != "" {
		hp = fmt.Sprintf("%s:%d", mdns.EscapeText(strings.TrimSuffix(s.Host, ".")), s.Port)
	}
	addrs := make([]string, len(s.Addrs))
	for i, a := range s.Addrs {
		addrs[i] = a.String()
	}
	if len(addrs) == 0 {
		addrs = []string{"-"}
	}
	b, level := m.badge(r)
	ttl := "-"
	if left, ok := m.ttlLeft(s); ok && !r.removed {
		ttl = dur(left)
	}
	state := m.stateWord(r)
	switch {
	case r.removed:
	case s.State == browse.StateUnresolvable:
		level = 2
	case s.State == browse.StateStale:
		level = 2
	}
	name := label(s.Instance)
	if wideArea(s) { // an instance from a DNS server: its domain says so
		name += " @" + mdns.EscapeText(strings.TrimSuffix(s.Domain, "."))
	}
	line := c.line([numCols]string{name, b, state, hp, strings.Join(addrs, " "), dur(m.now.Sub(r.first)), ttl, s.Type})
	switch {
	case selected:
		return m.styles.Selected.Render(line)
	case r.removed:
		return m.styles.Removed.Render(line)
	case level == 2:
		return m.styles.Bad.Render(line)
	case level == 1:
		return m.styles.Warn.Render(line)
	}
	return line
}

// ttlLeft is the smallest remaining TTL among the instance's records.
func (m Model) ttlLeft(s *browse.Service) (time.Duration, bool) {
	var best time.Duration
	ok := false
	for _, r := range s.Records {
		left := r.LastSeen.Add(time.Duration(r.TTL) * time.Second).Sub(m.now)
		if !ok || left < best {
			best, ok = left, true
		}
	}
	return max(best, 0), ok
}

func dur(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// paneHeader names what the pane shows, whether it has the keys, and
// where in it the view is.
func (m Model) paneHeader() string {
	r := m.rows[m.selectedKey()]
	what := "detail"
	if m.showWire {
		what = "wire"
	}
	pos := ""
	if total := m.pane.TotalLineCount(); total > m.pane.Height() {
		pos = fmt.Sprintf("  lines %d-%d of %d", m.pane.YOffset()+1, min(m.pane.YOffset()+m.pane.Height(), total), total)
	}
	hint := "tab: scroll this pane"
	if m.focus == focusPane {
		hint = "↑↓ pgup pgdn home end scroll; tab: back to the list"
	}
	s := fmt.Sprintf("── %s: %s%s  (%s)", what, displayName(&r.svc), pos, hint)
	if m.focus == focusPane {
		return m.styles.PaneTitle.Render(s)
	}
	return m.styles.Dim.Render(s)
}

// verdict answers "why no TXT?" (or says what the TXT on the wire means)
// from the evidence, with its level.
func (m Model) verdict(r *row) (string, int) {
	s := &r.svc
	asked := "no TXT question seen yet"
	if r.txtAsked > 0 {
		asked = fmt.Sprintf("asked TXT %d× since %s", r.txtAsked, r.firstAsked.In(time.Local).Format("15:04:05"))
	}
	switch s.TXTState {
	case browse.TXTMissing:
		var answers []answered // by responder: the instance's records and its host's
		for _, a := range append(slices.Clone(r.answers), m.hostAnswers(r)...) {
			if i := slices.IndexFunc(answers, func(b answered) bool { return b.src == a.src }); i >= 0 {
				answers[i].types = append(slices.Clone(answers[i].types), a.types...)
				continue
			}
			answers = append(answers, a)
		}
		var who []string
		for _, a := range answers {
			names := make([]string, 0, len(a.types))
			for _, t := range a.types {
				names = append(names, mdns.TypeString(t))
			}
			slices.Sort(names)
			names = slices.Compact(names)
			who = append(who, fmt.Sprintf("%s answered %s, never TXT", a.src, strings.Join(names, " and ")))
		}
		if len(who) == 0 {
			who = []string{"nobody answered for it"}
		}
		return fmt.Sprintf("no TXT record: %s; %s (r asks again)", asked, strings.Join(who, "; ")), 2
	case browse.TXTZeroLength:
		return "zero-length TXT RDATA, illegal (RFC 6763 §6.1), as python-zeroconf sends for properties={} and grandcat/zeroconf for no text: publish one empty string (the byte 00) or a key; many browsers drop the record", 2
	case browse.TXTEmpty:
		return "the legal empty TXT (one empty string, the byte 00): there are no keys to show", 1
	}
	return fmt.Sprintf("TXT on the wire, %d bytes: if your app shows nil metadata, it is browsing without TXT (NWBrowser with the .bonjour descriptor; use .bonjourWithTXTRecord)", len(s.TXTRaw)), 0
}

func (m Model) hostAnswers(r *row) []answered {
	if h := m.hosts[hostKey(r.svc.Host)]; h != nil {
		return h.answers
	}
	return nil
}

// stateLine says how far the instance can be trusted, since when and why.
func (m Model) stateLine(r *row) (string, int) {
	s := &r.svc
	since := ""
	if !s.StateSince.IsZero() {
		since = " since " + s.StateSince.In(time.Local).Format("15:04:05")
	}
	if r.removed {
		return fmt.Sprintf("removed%s: %s (c clears removed instances)", " at "+r.updated.In(time.Local).Format("15:04:05"), r.cause), 1
	}
	switch s.State {
	case browse.StateStale:
		return fmt.Sprintf("STALE%s: %d refresh quer%s unanswered; the responder may be gone without a goodbye", since, s.Unanswered, map[bool]string{true: "y", false: "ies"}[s.Unanswered == 1]), 2
	case browse.StateUnresolvable:
		return fmt.Sprintf("UNRESOLVABLE%s: its SRV record or every address expired while its PTR remains; browsers list it but cannot connect", since), 2
	case browse.StateResolving:
		return "resolving" + since + ": its SRV, TXT or address not seen yet", 1
	case browse.StateGoodbye:
		return "goodbye" + since + ": removed one second after (RFC 6762 §10.1)", 1
	}
	return "live" + since + ": every record answered when last asked", 0
}

func (m Model) styled(level int, s string) string {
	switch level {
	case 2:
		return m.styles.Bad.Render(s)
	case 1:
		return m.styles.Warn.Render(s)
	}
	return s
}

func (m Model) detailLines(r *row) []string {
	s := &r.svc
	st := m.styles
	where := fmt.Sprintf("host %s port %d", mdns.EscapeText(s.Host), s.Port)
	if wideArea(s) {
		where += "  via " + mdns.EscapeText(s.Plane) + " (unicast DNS, polled)"
	}
	out := []string{st.PaneTitle.Render(displayName(s)) + "  " + st.Dim.Render(where)}
	state, level := m.stateLine(r)
	verdict, vlevel := m.verdict(r)
	out = append(out, m.styled(level, state), m.styled(vlevel, verdict))
	if r.requery != "" {
		out = append(out, st.Hint.Render("re-query: "+r.requery))
	}
	switch s.TXTState {
	case browse.TXTPresent, browse.TXTEmpty:
		out = append(out, st.PaneTitle.Render(fmt.Sprintf("TXT: %d string%s, %d bytes", len(s.TXT.Strings), plural(len(s.TXT.Strings)), len(s.TXTRaw))))
		for _, a := range txt.Attributes(s.TXT) {
			str := s.TXT.Strings[a.Index]
			used := ""
			if a.FirstIndex != a.Index {
				used = fmt.Sprintf(" (ignored: clients use #%d)", a.FirstIndex)
			}
			out = append(out, fmt.Sprintf("  #%d %-7s %s  %s%s", a.Index, a.Kind, txt.EscapeUTF8(str), st.Dim.Render(hex.EncodeToString(str)), used))
		}
	}
	if s.TXTState != browse.TXTMissing {
		for _, f := range txt.Lint(s.TXTRaw) {
			out = append(out, m.bySeverity(f.Severity).Render("  "+f.String()))
		}
	}
	if len(s.TXTRaw) > 0 {
		out = append(out, st.Dim.Render("  raw: "+hexDump(s.TXTRaw, 512)))
	}
	out = append(out, m.schemaLines(s)...)
	if s.TXTState == browse.TXTPresent || s.TXTState == browse.TXTEmpty {
		out = append(out,
			st.Hint.Render(fmt.Sprintf("Apple: NWBrowser delivers TXT only when browsing with .bonjourWithTXTRecord(type: \"%s\")", s.Type)),
			st.Hint.Render(fmt.Sprintf("  (includeTxtRecord: true); Info.plist: NSBonjourServices [\"%s\"], NSLocalNetworkUsageDescription", s.Type)))
	}
	out = append(out, st.PaneTitle.Render("records"))
	for _, rec := range s.Records {
		left := rec.LastSeen.Add(time.Duration(rec.TTL) * time.Second).Sub(m.now)
		flush := ""
		if rec.CacheFlush {
			flush = " flush"
		}
		data := ""
		if a, ok := rec.Addr(); ok {
			data = " " + a.String()
		} else if t, ok := rec.Target(); ok {
			data = " " + mdns.EscapeText(t)
		}
		out = append(out, fmt.Sprintf("  %-4s%s ttl %d (left %s)%s from %s on %s IPv%d, %d packet%s", mdns.TypeString(rec.Type), data, rec.TTL, dur(left), flush, rec.Src, mdns.EscapeText(rec.IfName), rec.Family, rec.Packets, plural(rec.Packets)))
	}
	out = append(out, st.PaneTitle.Render("timeline"))
	for i := len(r.timeline) - 1; i >= 0; i-- {
		ev := r.timeline[i]
		line := fmt.Sprintf("  %s %s", ev.At.In(time.Local).Format("15:04:05.000"), ev.Kind)
		for _, c := range ev.Changes {
			line += fmt.Sprintf("  %s: %s -> %s", c.Field, orNone(c.Old), orNone(c.New))
		}
		if ev.Cause != "" {
			line += " (" + string(ev.Cause) + ")"
		}
		out = append(out, line)
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// wireLines shows the packets that touched an instance (its own name, or
// its host's addresses), newest first, each once; the instance's TXT record
// is marked in each response, or its absence said.
func (m Model) wireLines(r *row) []string {
	seqs := append(slices.Clone(r.packets), m.hostPackets(r)...)
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	gone := 0
	var pkts []*Packet
	for i := len(seqs) - 1; i >= 0; i-- { // newest first
		if p := m.packet(seqs[i]); p != nil {
			pkts = append(pkts, p)
		} else {
			gone++
		}
	}
	own := 0
	var out []string
	txtName := strings.ToLower(mdns.EscapeText(r.svc.Name)) + " txt "
	shown := 0
	for _, p := range pkts {
		if p.Own && !m.showOwn {
			own++
			continue
		}
		shown++
		marked := false
		for _, l := range strings.Split(strings.TrimRight(p.Text, "\n"), "\n") {
			if !p.Query && strings.HasPrefix(l, " ") && strings.Contains(strings.ToLower(l), txtName) {
				l = m.styles.Hint.Render("▶" + l[1:])
				marked = true
			}
			out = append(out, l)
		}
		switch {
		case p.Own:
			out = append(out, m.styles.Dim.Render("  (bonjourctl's own query)"))
		case !p.Query && !marked:
			out = append(out, m.styles.Dim.Render("  (no TXT for this instance in this packet)"))
		}
	}
	title := fmt.Sprintf("%d packet%s touching it, newest first", shown, plural(shown))
	if own > 0 {
		title += fmt.Sprintf("; %d of bonjourctl's own queries hidden (o shows them)", own)
	}
	if gone > 0 {
		title += fmt.Sprintf("; %d older no longer held (the last %d packets are)", gone, maxStore*3/4)
	}
	if m.skipped > 0 {
		title += fmt.Sprintf("; %d packets not shown: the UI was behind", m.skipped)
	}
	out = append([]string{m.styles.PaneTitle.Render(title)}, out...)
	if shown == 0 {
		out = append(out, m.styles.Dim.Render("  no packets seen yet for this instance"))
	}
	return out
}

func (m Model) hostPackets(r *row) []uint64 {
	if h := m.hosts[hostKey(r.svc.Host)]; h != nil {
		return h.packets
	}
	return nil
}

// displayName is the instance's full name for people: the label as text,
// escaped only where it must be for the terminal.
func displayName(s *browse.Service) string {
	return label(s.Instance) + "." + s.Type + "." + s.Domain
}

func hexDump(b []byte, n int) string {
	s := hex.EncodeToString(b[:min(len(b), n)])
	var sb strings.Builder
	for i := 0; i < len(s); i += 2 {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(s[i : i+2])
	}
	if len(b) > n {
		sb.WriteString(fmt.Sprintf(" … (%d bytes)", len(b)))
	}
	return sb.String()
}

// wideArea reports whether an instance came from a DNS server (wide-area
// DNS-SD) rather than from mDNS on the link.
func wideArea(s *browse.Service) bool { return strings.HasPrefix(s.Plane, "dns") }

// schemaLines name the keys of a well-known type's TXT record, explain
// their values and say what its specification forbids.
func (m Model) schemaLines(s *browse.Service) []string {
	if m.schemas == nil || s.TXTState == browse.TXTMissing {
		return nil
	}
	sc := m.schemas.For(s.Type)
	if sc == nil {
		return nil
	}
	st := m.styles
	rec, _ := txt.Parse(s.TXTRaw)
	rep := sc.Check(rec, len(s.TXTRaw), s.Instance)
	out := []string{st.PaneTitle.Render("schema: "+sc.Name) + "  " + st.Dim.Render(sc.Source)}
	for _, e := range rep.Explained {
		if e.Meaning == "" {
			continue
		}
		line := fmt.Sprintf("  %-8s %s", e.Key, e.Meaning)
		if e.Value != "" {
			line += " = " + e.Value
		}
		out = append(out, st.Dim.Render(line))
	}
	for _, f := range rep.Findings {
		out = append(out, m.bySeverity(f.Severity).Render("  "+f.String()))
	}
	return out
}

// bySeverity is the style of a finding of that severity.
func (m Model) bySeverity(sev txt.Severity) lipgloss.Style {
	switch sev {
	case txt.Error:
		return m.styles.Bad
	case txt.Warning:
		return m.styles.Warn
	}
	return m.styles.Dim
}
