package tui

import (
	"fmt"
	"slices"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/mdns"
)

// Update handles one message. It does no I/O and reads no clock.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case eventMsg:
		ev := browse.Event(msg)
		if m.paused {
			m.queued = append(m.queued, ev)
			if len(m.queued) > maxHeld {
				m.compactHeld()
			}
		} else {
			sel := m.selectedKey()
			m.apply(ev)
			m.selectKey(sel)
		}
		return m, waitForEvent(m.events)
	case packetMsg:
		m.addPacket(Packet(msg))
		return m, waitForPacket(m.packets)
	case streamDoneMsg:
		m.done = true
		m.status = "discovery stopped"
		return m, nil
	case tickMsg:
		m.now = time.Time(msg)
		return m, tick()
	case statusMsg:
		m.status = string(msg)
		return m, nil
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.SetWidth(msg.Width)
		return m, nil
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return m, nil
}

func (m *Model) addPacket(p Packet) {
	m.skipped = max(m.skipped, p.Skipped)
	for _, n := range p.Names {
		if r := m.rows[n]; r != nil {
			r.packets = append(r.packets, p)
			if len(r.packets) > maxPackets {
				r.packets = r.packets[len(r.packets)-maxPackets:]
			}
			continue
		}
		// Address and host records belong to the instances on that host.
		for _, r := range m.rows {
			if mdns.EqualNames(r.svc.Host, n) && (len(r.packets) == 0 || r.packets[len(r.packets)-1].Text != p.Text) {
				r.packets = append(r.packets, p)
				if len(r.packets) > maxPackets {
					r.packets = r.packets[len(r.packets)-maxPackets:]
				}
			}
		}
	}
}

func (m Model) key(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
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
		return m, nil
	}
	if m.showHelp && !key.Matches(msg, m.keys.Quit) {
		m.showHelp = false
		return m, nil
	}
	n := len(m.visible())
	switch {
	case key.Matches(msg, m.keys.Quit):
		return m, tea.Quit
	case key.Matches(msg, m.keys.Help):
		m.showHelp = true
	case key.Matches(msg, m.keys.Up):
		if m.selected > 0 {
			m.selected--
		}
	case key.Matches(msg, m.keys.Down):
		if m.selected < n-1 {
			m.selected++
		}
	case key.Matches(msg, m.keys.Top):
		m.selected = 0
	case key.Matches(msg, m.keys.Bottom):
		m.selected = max(n-1, 0)
	case key.Matches(msg, m.keys.Filter):
		m.filtering = true
	case key.Matches(msg, m.keys.Sort):
		m.sort = (m.sort + 1) % 3
		m.resort()
		m.status = "sorted by " + m.sort.String()
	case key.Matches(msg, m.keys.Clear):
		m.clearRemoved()
	case key.Matches(msg, m.keys.Wire):
		m.showWire = !m.showWire
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
			return m, nil
		}
		name, b := m.rows[k].svc.Name, m.backend
		m.status = "re-querying " + escape(name)
		return m, func() tea.Msg {
			if err := b.Requery(name); err != nil {
				return statusMsg("re-query failed: " + err.Error())
			}
			return statusMsg("re-query sent for " + escape(name))
		}
	case key.Matches(msg, m.keys.Export):
		if m.backend == nil {
			return m, nil
		}
		snap, b := m.Snapshot(), m.backend
		return m, func() tea.Msg {
			path, err := b.Export(snap)
			if err != nil {
				return statusMsg("export failed: " + err.Error())
			}
			return statusMsg(fmt.Sprintf("exported %d bytes to %s", len(snap), path))
		}
	}
	return m, nil
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
