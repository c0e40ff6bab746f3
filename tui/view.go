package tui

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/txt"
)

// escape makes a network string safe to draw: control characters (and
// invalid UTF-8) become visible \xHH escapes.
func escape(s string) string { return txt.EscapeUTF8([]byte(s)) }

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

	add(m.styles.Title.Render("bonjourctl") + "  " + m.typesLine())
	if m.showHelp {
		add("")
		for _, l := range strings.Split(m.help.FullHelpView(m.keys.FullHelp()), "\n") {
			add(l)
		}
		add("")
		add(m.styles.Dim.Render("any key closes this help"))
		return m.fit(lines, h)
	}
	vis := m.visible()
	body := h - 3 // title, status, help line
	tableH := body
	var detail []string
	if sel := m.selectedKey(); sel != "" {
		if m.showWire {
			detail = m.wireLines(m.rows[sel])
		} else {
			detail = m.detailLines(m.rows[sel])
		}
		tableH = max(min(len(vis)+1, body/2), 3)
	}
	add(m.styles.Header.Render(m.columns("NAME", "TYPE", "HOST:PORT", "ADDRESSES", "TXT", "AGE", "TTL")))
	start := 0
	if rows := tableH - 1; m.selected >= rows {
		start = m.selected - rows + 1
	}
	for i := start; i < len(vis) && i < start+tableH-1; i++ {
		add(m.rowLine(m.rows[vis[i]], i == m.selected))
	}
	if len(vis) == 0 {
		if m.filter != "" {
			add(m.styles.Dim.Render("no instance matches the filter"))
		} else {
			add(m.styles.Dim.Render("waiting for instances…"))
		}
	}
	for len(lines) < tableH+1 {
		add("")
	}
	for _, l := range detail {
		if len(lines) >= h-2 {
			break
		}
		add(l)
	}
	for len(lines) < h-2 {
		add("")
	}
	status := m.status
	switch {
	case m.filtering:
		status = "filter: " + m.filter + "▏ (enter to keep, esc to clear)"
	case m.filter != "" && status == "":
		status = "filter: " + m.filter
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
	add(m.styles.Dim.Render(status))
	add(m.help.ShortHelpView(m.keys.ShortHelp()))
	return m.fit(lines, h)
}

func (m Model) fit(lines []string, h int) string {
	if len(lines) > h {
		lines = lines[:h]
	}
	return strings.Join(lines, "\n")
}

func (m Model) typesLine() string {
	ts := make([]string, 0, len(m.types))
	for t, n := range m.types {
		if n > 0 {
			ts = append(ts, fmt.Sprintf("%s (%d)", t, n))
		}
	}
	slices.Sort(ts)
	if len(ts) == 0 {
		return m.styles.Dim.Render("no service types yet")
	}
	return strings.Join(ts, "  ")
}

// columns lays out one table line in the current width.
func (m Model) columns(name, typ, hostport, addrs, txtBadge, age, ttl string) string {
	w := max(m.width, 40)
	fixed := []int{12, 10, 5, 5} // type, txt, age, ttl
	rest := w - (fixed[0] + fixed[1] + fixed[2] + fixed[3]) - 7
	nameW := max(rest*35/100, 8)
	hostW := max(rest*35/100, 8)
	addrW := max(rest-nameW-hostW, 6)
	cell := func(s string, n int) string {
		s = ansi.Truncate(s, n, "…")
		return s + strings.Repeat(" ", max(n-ansi.StringWidth(s), 0))
	}
	return strings.Join([]string{cell(name, nameW), cell(typ, fixed[0]), cell(hostport, hostW), cell(addrs, addrW), cell(txtBadge, fixed[1]), cell(age, fixed[2]), cell(ttl, fixed[3])}, " ")
}

// badge is the TXT status at a glance.
func badge(s *browse.Service) (string, int) {
	switch s.TXTState {
	case browse.TXTMissing:
		return "missing", 2
	case browse.TXTZeroLength:
		return "zero-len", 2
	case browse.TXTEmpty:
		return "empty", 1
	}
	if sev, ok := txt.MaxSeverity(txt.Lint(s.TXTRaw)); ok && sev >= txt.Warning {
		if sev == txt.Error {
			return "lint err", 2
		}
		return "lint warn", 1
	}
	return "ok", 0
}

func (m Model) rowLine(r *row, selected bool) string {
	s := &r.svc
	hp := "-"
	if s.Host != "" {
		hp = fmt.Sprintf("%s:%d", escape(strings.TrimSuffix(s.Host, ".")), s.Port)
	}
	addrs := make([]string, len(s.Addrs))
	for i, a := range s.Addrs {
		addrs[i] = a.String()
	}
	b, level := badge(s)
	ttl := "-"
	if r.removed {
		b = string(r.cause)
	} else if left, ok := m.ttlLeft(s); ok {
		ttl = dur(left)
	}
	line := m.columns(escape(s.Instance), s.Type, hp, strings.Join(addrs, " "), b, dur(m.now.Sub(r.first)), ttl)
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

func (m Model) detailLines(r *row) []string {
	s := &r.svc
	st := m.styles
	out := []string{st.PaneTitle.Render(displayName(s)) + "  " + st.Dim.Render(fmt.Sprintf("host %s port %d", escape(s.Host), s.Port))}
	if r.removed {
		out = append(out, st.Removed.Render("removed: "+string(r.cause)+" (c clears removed instances)"))
	}
	switch s.TXTState {
	case browse.TXTMissing:
		out = append(out, st.Bad.Render("TXT: no TXT record seen (r re-queries it)"))
	case browse.TXTZeroLength:
		out = append(out, st.Bad.Render("TXT: zero-length RDATA, illegal (RFC 6763 §6.1); many browsers drop it"))
	case browse.TXTEmpty:
		out = append(out, st.Warn.Render("TXT: the legal empty record (one empty string, byte 00)"))
	default:
		plural := "s"
		if len(s.TXT.Strings) == 1 {
			plural = ""
		}
		out = append(out, st.PaneTitle.Render(fmt.Sprintf("TXT: %d string%s, %d bytes", len(s.TXT.Strings), plural, len(s.TXTRaw))))
		for _, a := range txt.Attributes(s.TXT) {
			str := s.TXT.Strings[a.Index]
			used := ""
			if a.FirstIndex != a.Index {
				used = fmt.Sprintf(" (ignored: clients use #%d)", a.FirstIndex)
			}
			out = append(out, fmt.Sprintf("  #%d %-7s %s  %s%s", a.Index, a.Kind, txt.EscapeUTF8(str), st.Dim.Render(hex.EncodeToString(str)), used))
		}
	}
	for _, f := range txt.Lint(s.TXTRaw) {
		if s.TXTState == browse.TXTMissing {
			break
		}
		style := st.Dim
		switch f.Severity {
		case txt.Error:
			style = st.Bad
		case txt.Warning:
			style = st.Warn
		}
		out = append(out, style.Render("  "+f.String()))
	}
	if len(s.TXTRaw) > 0 {
		out = append(out, st.Dim.Render("  raw: "+hexDump(s.TXTRaw, 48)))
	}
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
		out = append(out, fmt.Sprintf("  %-4s ttl %d (left %s)%s from %s on %s IPv%d, %d packets", typeName(rec.Type), rec.TTL, dur(left), flush, rec.Src, escape(rec.IfName), rec.Family, rec.Packets))
	}
	out = append(out, st.PaneTitle.Render("timeline"))
	for i := len(r.timeline) - 1; i >= 0; i-- {
		ev := r.timeline[i]
		line := fmt.Sprintf("  %s %s", ev.At.Format("15:04:05.000"), ev.Kind)
		for _, c := range ev.Changes {
			line += fmt.Sprintf("  %s: %s -> %s", c.Field, c.Old, c.New)
		}
		if ev.Cause != "" {
			line += " (" + string(ev.Cause) + ")"
		}
		out = append(out, line)
	}
	return out
}

func (m Model) wireLines(r *row) []string {
	title := fmt.Sprintf("wire: last %d packets touching %s", len(r.packets), displayName(&r.svc))
	if m.skipped > 0 {
		title += fmt.Sprintf(" (%d packets not shown: the UI was behind)", m.skipped)
	}
	out := []string{m.styles.PaneTitle.Render(title)}
	for i := len(r.packets) - 1; i >= 0; i-- {
		out = append(out, strings.Split(strings.TrimRight(r.packets[i].Text, "\n"), "\n")...)
	}
	if len(r.packets) == 0 {
		out = append(out, m.styles.Dim.Render("  no packets seen yet for this instance"))
	}
	return out
}

// displayName is the instance's full name for people: the label unescaped
// for reading, then escaped for the terminal.
func displayName(s *browse.Service) string {
	return escape(s.Instance) + "." + s.Type + "." + s.Domain
}

func typeName(t uint16) string {
	switch t {
	case 1:
		return "A"
	case 12:
		return "PTR"
	case 16:
		return "TXT"
	case 28:
		return "AAAA"
	case 33:
		return "SRV"
	}
	return fmt.Sprintf("TYPE%d", t)
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
