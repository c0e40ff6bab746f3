package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/mdns"
)

// Update handles one message. It does no I/O and reads no clock.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	m.layout()
	return m, cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case eventMsg:
		m.take([]browse.Event{browse.Event(msg)})
		return waitForEvent(m.events)
	case eventsMsg:
		if msg.from != m.events {
			return nil // from before a rewind
		}
		m.take(msg.evs)
		return waitForEvent(m.events)
	case droppedMsg:
		m.engineDropped = uint64(msg)
		return pollDropped(m.backend)
	case packetMsg:
		p := Packet(msg)
		m.addPacket(&p)
		return waitForPacket(m.packets)
	case feedPacketMsg:
		if msg.from != m.packets {
			return nil
		}
		m.addPacket(&msg.p)
		return waitForPacket(m.packets)
	case streamDoneMsg:
		if msg.from != m.events {
			return nil
		}
		m.done = true
		m.status = "discovery stopped"
		if m.player != nil {
			m.status = "end of the capture: t jumps to a time (back, too), q quits"
		}
	case positionMsg:
		m.setPosition(Position(msg))
	case polledMsg:
		m.setPosition(Position(msg))
		return pollPosition(m.player)
	case rewoundMsg:
		return m.rewound(msg)
	case tickMsg:
		if m.player != nil {
			return nil // a replay's clock is the capture's (positionMsg)
		}
		m.now = time.Time(msg)
		return tick()
	case statusMsg:
		m.status = string(msg)
	case requeryMsg:
		if r := m.rows[msg.key]; r != nil {
			r.requery = msg.report
		}
		m.status = msg.report
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.SetWidth(msg.Width)
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return nil
}

// take applies a batch of events, or holds them while paused.
func (m *Model) take(evs []browse.Event) {
	if m.paused {
		m.queued = append(m.queued, evs...)
		if len(m.queued) > maxHeld {
			m.compactHeld()
		}
		return
	}
	sel := m.selectedKey()
	for _, ev := range evs {
		m.apply(ev)
	}
	m.selectKey(sel)
}

// layout sizes the list and the pane for the terminal and the content:
// the list takes what its rows need, the pane (detail or wire) the rest;
// when both need more than there is, the list keeps a third (at least 4
// lines) and the pane scrolls.
func (m *Model) layout() {
	h := max(m.height, 6)
	avail := h - 3 // title, status, help
	sel := m.selectedKey()
	listNeed := 1 + max(len(m.visible()), 1)
	if sel == "" || m.showHelp {
		m.listH = avail
		m.pane.SetHeight(0)
		return
	}
	r := m.rows[sel]
	var lines []string
	mode := "detail"
	if m.showWire {
		lines, mode = m.wireLines(r), "wire"
	} else {
		lines = m.detailLines(r)
	}
	w := max(m.width, 20)
	// Long lines wrap at word boundaries (a hex run at its width).
	wrapped := make([]string, 0, len(lines))
	for _, l := range lines {
		if ansi.StringWidth(l) <= w {
			wrapped = append(wrapped, l)
			continue
		}
		wrapped = append(wrapped, strings.Split(ansi.Wrap(l, w, ""), "\n")...)
	}
	paneNeed := 1 + len(wrapped)
	if listNeed+paneNeed <= avail {
		m.listH = listNeed
	} else {
		minList := min(listNeed, max(4, avail/3))
		m.listH = avail - min(paneNeed, avail-minList)
	}
	m.pane.SetWidth(w)
	m.pane.SetHeight(max(avail-m.listH-1, 0))
	m.pane.SetContentLines(wrapped)
	m.paneLines = wrapped
	if k := sel + "\x00" + mode; k != m.paneKey {
		m.paneKey = k
		m.pane.GotoTop()
	}
}

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	if key.Matches(msg, m.keys.Interrupt) {
		return tea.Interrupt // exit 130, from anywhere (the filter prompt too)
	}
	if m.jumping {
		return m.jumpKey(msg)
	}
	if m.player != nil && !m.filtering && !m.showHelp {
		if cmd, ok := m.playerKey(msg); ok {
			return cmd
		}
	}
	if m.filtering {
		switch msg.String() {
		case "enter", "esc":
			m.filtering = false
			if msg.String() == "esc" {
				m.filter = ""
			}
		case "backspace":
			if r := []rune(m.filter); len(r) > 0 {
				m.filter = string(r[:len(r)-1])
			}
		default:
			if t := msg.Text; t != "" && len(m.filter) < 64 {
				m.filter += t
			}
		}
		m.selected = 0
		return nil
	}
	if m.showHelp && !key.Matches(msg, m.keys.Quit) {
		m.showHelp = false
		return nil
	}
	if m.focus == focusPane {
		switch {
		case key.Matches(msg, m.keys.Focus), msg.String() == "esc":
			m.focus = focusList
			return nil
		case key.Matches(msg, m.keys.Top):
			m.pane.GotoTop()
			return nil
		case key.Matches(msg, m.keys.Bottom):
			m.pane.GotoBottom()
			return nil
		case key.Matches(msg, m.keys.Up, m.keys.Down, m.keys.PageUp, m.keys.PageDown):
			m.pane, _ = m.pane.Update(msg)
			return nil
		}
	}
	n := len(m.visible())
	switch {
	case key.Matches(msg, m.keys.Quit):
		return tea.Quit
	case key.Matches(msg, m.keys.Help):
		m.showHelp = true
	case key.Matches(msg, m.keys.Focus):
		if m.selectedKey() != "" {
			m.focus = focusPane
		}
	case key.Matches(msg, m.keys.Up):
		if m.selected > 0 {
			m.selected--
		}
	case key.Matches(msg, m.keys.Down):
		if m.selected < n-1 {
			m.selected++
		}
	case key.Matches(msg, m.keys.PageUp):
		m.selected = max(m.selected-max(m.listH-2, 1), 0)
	case key.Matches(msg, m.keys.PageDown):
		m.selected = max(min(m.selected+max(m.listH-2, 1), n-1), 0)
	case key.Matches(msg, m.keys.Top):
		m.selected = 0
	case key.Matches(msg, m.keys.Bottom):
		m.selected = max(n-1, 0)
	case key.Matches(msg, m.keys.Filter):
		m.filtering = true
	case key.Matches(msg, m.keys.Sort):
		m.sort = (m.sort + 1) % sortModes
		m.resort()
		m.status = "sorted by " + m.sort.String()
		if m.sort == sortState {
			m.status += " (unresolvable, stale, TXT missing or zero-length, lint errors first)"
		}
	case key.Matches(msg, m.keys.Clear):
		m.clearRemoved()
	case key.Matches(msg, m.keys.Wire):
		m.showWire = !m.showWire
	case key.Matches(msg, m.keys.Own):
		m.showOwn = !m.showOwn
		m.status = map[bool]string{true: "the wire pane shows bonjourctl's own queries", false: "the wire pane hides bonjourctl's own queries"}[m.showOwn]
	case key.Matches(msg, m.keys.Pause):
		m.paused = !m.paused
		if !m.paused {
			sel := m.selectedKey()
			for _, ev := range m.queued {
				m.apply(ev)
			}
			m.queued = nil
			m.selectKey(sel)
			m.status = "resumed"
			if m.heldDropped > 0 {
				m.status = fmt.Sprintf("resumed; %d events were dropped while paused (over the %d held, oldest first): the timeline misses them", m.heldDropped, maxHeld)
			}
			m.heldDropped = 0
		} else {
			m.status = fmt.Sprintf("paused: events are held (up to %d) and applied on resume", maxHeld)
		}
	case key.Matches(msg, m.keys.Requery):
		k := m.selectedKey()
		if k == "" || m.backend == nil {
			return nil
		}
		r, b := m.rows[k], m.backend
		name, shown := r.svc.Name, displayName(&r.svc)
		m.status = "re-querying " + shown + " (TXT and SRV, one second)…"
		return func() tea.Msg {
			report, err := b.Requery(name)
			if err != nil {
				report = "re-query failed: " + err.Error()
			}
			return requeryMsg{key: k, report: shown + ": " + report}
		}
	case key.Matches(msg, m.keys.Export):
		if m.backend == nil {
			return nil
		}
		svcs, b, at := m.Services(), m.backend, m.now
		return func() tea.Msg {
			path, err := b.Export(svcs, at)
			if err != nil {
				return statusMsg("export failed: " + err.Error())
			}
			return statusMsg(fmt.Sprintf("exported %d instance%s to %s", len(svcs), plural(len(svcs)), path))
		}
	}
	return nil
}

// maxHeld bounds the events held while paused.
const maxHeld = 10000

// compactHeld makes room in the held events: a refreshed event carries
// an instance's whole state and adds nothing to its timeline, so only an
// instance's last held event matters when it is a refresh. When that is
// not enough, the oldest go, counted.
func (m *Model) compactHeld() {
	last := make(map[string]int, len(m.queued))
	for i, ev := range m.queued {
		last[mdns.NameKey(ev.Service.Name)] = i
	}
	kept := m.queued[:0]
	for i, ev := range m.queued {
		if ev.Kind == browse.Refreshed && last[mdns.NameKey(ev.Service.Name)] != i {
			continue
		}
		kept = append(kept, ev)
	}
	clear(m.queued[len(kept):])
	m.queued = kept
	if len(m.queued) > maxHeld {
		// Down to nine tenths, so that the next events do not each
		// compact and shift the whole queue again.
		over := len(m.queued) - maxHeld*9/10
		m.heldDropped += over
		m.queued = slices.Delete(m.queued, 0, over)
	}
}
