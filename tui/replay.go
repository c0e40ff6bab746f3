package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/bonjourctl/bonjourctl/browse"
)

// Player feeds a capture's packets to the engine at the pace the user
// sets (tui --read): paused, one packet at a time, or played at a speed,
// on the capture's own clock. Its methods are called inside Cmds.
type Player interface {
	// Toggle plays or pauses.
	Toggle()
	// Step feeds one packet while paused.
	Step()
	// Faster and Slower double and halve the speed of play.
	Faster()
	Slower()
	// Seek feeds every packet before t at once and pauses there.
	// Forward, nil is returned; backward (or after the end), the capture
	// is read again from its start and the new channels are returned:
	// the UI starts over from them.
	Seek(t time.Time) (*Feed, error)
	// Position says where the replay is.
	Position() Position
}

// Feed is a replay's events and packets.
type Feed struct {
	Events  <-chan browse.Event
	Packets <-chan Packet
}

// Position is where a replay is.
type Position struct {
	Source  string    // the file, as given
	Packets int       // packets fed so far
	First   time.Time // the capture's first packet
	At      time.Time // the last packet fed
	Playing bool
	Speed   float64 // of play: 1 is as captured
	Seeking bool    // feeding at once up to a time
	Done    bool    // the capture ended
}

// positionMsg is the replay's position after a key; polledMsg is the
// same from the five-a-second poll, which alone re-arms itself (so that
// keys do not start more polls).
type positionMsg Position
type polledMsg Position

// rewoundMsg: the replay started over from the capture's start.
type rewoundMsg struct {
	feed *Feed
	to   time.Time
}

// pollPosition reads the replay's position five times a second.
func pollPosition(p Player) tea.Cmd {
	if p == nil {
		return nil
	}
	return tea.Tick(200*time.Millisecond, func(time.Time) tea.Msg { return polledMsg(p.Position()) })
}

// NewReplay returns a Model that shows a capture replayed by player:
// the replay keys (play, step, speed, jump) are on and the clock is the
// capture's.
func NewReplay(feed Feed, backend Backend, player Player) Model {
	m := New(feed.Events, feed.Packets, backend)
	m.player = player
	m.pos = player.Position()
	for _, b := range []*key.Binding{&m.keys.Play, &m.keys.Step, &m.keys.Faster, &m.keys.Slower, &m.keys.Jump} {
		b.SetEnabled(true)
	}
	m.keys.Pause.SetEnabled(false) // p plays and pauses the replay
	m.keys.Requery.SetEnabled(false)
	m.status = "paused at the capture's start: space plays, n steps one packet, t jumps to a time, +/- speed"
	return m
}

// playerKey handles the replay keys; ok is false for other keys.
func (m *Model) playerKey(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	p := m.player
	var act func()
	switch {
	case key.Matches(msg, m.keys.Play), msg.String() == "p":
		act = p.Toggle
	case key.Matches(msg, m.keys.Step):
		act = p.Step
	case key.Matches(msg, m.keys.Faster):
		act = p.Faster
	case key.Matches(msg, m.keys.Slower):
		act = p.Slower
	case key.Matches(msg, m.keys.Jump):
		m.jumping, m.jumpText = true, ""
		return nil, true
	case key.Matches(msg, m.keys.Requery):
		m.status = "nothing is sent while reading a capture: r re-queries only live"
		return nil, true
	default:
		return nil, false
	}
	m.status = ""
	return func() tea.Msg {
		act()
		return positionMsg(p.Position())
	}, true
}

// jumpKey edits the jump prompt: a time of day (15:04:05.000), an offset
// from the capture's start (+2.5s), or "end".
func (m *Model) jumpKey(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "esc":
		m.jumping = false
	case "backspace":
		if len(m.jumpText) > 0 {
			m.jumpText = m.jumpText[:len(m.jumpText)-1]
		}
	case "enter":
		m.jumping = false
		to, err := parseJump(m.jumpText, m.pos.First)
		if err != nil {
			m.status = err.Error()
			return nil
		}
		p := m.player
		m.status = "jumping to " + to.Format("15:04:05.000") + "…"
		return func() tea.Msg {
			feed, err := p.Seek(to)
			if err != nil {
				return statusMsg("jump failed: " + err.Error())
			}
			if feed != nil {
				return rewoundMsg{feed, to}
			}
			return positionMsg(p.Position())
		}
	default:
		if t := msg.Text; t != "" && len(m.jumpText) < 32 {
			m.jumpText += t
		}
	}
	return nil
}

// parseJump reads a jump target: "end", "+DURATION" from the capture's
// first packet, or a time of day ("15:04:05", "15:04:05.250") on the first
// packet's day, in the zone the UI shows times in.
func parseJump(s string, first time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "end":
		return time.Unix(1<<40, 0), nil
	case first.IsZero():
		return time.Time{}, fmt.Errorf("the capture has no packet yet to count from")
	case strings.HasPrefix(s, "+"):
		d, err := time.ParseDuration(s[1:])
		if err != nil || d < 0 {
			return time.Time{}, fmt.Errorf("jump %q: after + give a duration such as 2.5s or 1m", s)
		}
		return first.Add(d), nil
	}
	var clock time.Time
	var err error
	for _, layout := range []string{"15:04:05.999999999", "15:04:05", "15:04"} {
		if clock, err = time.Parse(layout, s); err == nil {
			break
		}
	}
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return time.Time{}, fmt.Errorf("jump %q: give a time of day (15:04:05.250), +2.5s from the start, or end", s)
		}
		return time.Time{}, fmt.Errorf("jump %q: not a time of day (15:04:05.250), +2.5s from the start, or end", s)
	}
	f := first.Local()
	return time.Date(f.Year(), f.Month(), f.Day(), clock.Hour(), clock.Minute(), clock.Second(), clock.Nanosecond(), time.Local), nil
}

// setPosition takes the replay's position: the clock is the capture's.
func (m *Model) setPosition(p Position) {
	if m.pos.Seeking && !p.Seeking && !p.Done {
		m.status = "arrived: paused before the first packet at the time asked for"
	}
	m.pos = p
	if !p.At.IsZero() {
		m.now = p.At
	}
}

// rewound starts the model over from a replay's new channels, keeping
// the user's view settings (filter, sort, panes).
func (m *Model) rewound(msg rewoundMsg) tea.Cmd {
	m.events, m.packets = msg.feed.Events, msg.feed.Packets
	m.rows, m.order, m.types, m.hosts = map[string]*row{}, nil, map[string]int{}, map[string]*hostInfo{}
	m.problems = [5]int{}
	m.store, m.stored = nil, 0
	m.selected, m.paneKey = 0, ""
	m.queued, m.heldDropped, m.dropped, m.skipped = nil, 0, 0, 0
	m.done = false
	m.now = time.Time{}
	m.status = "started over from the capture's start, to " + msg.to.Format("15:04:05.000")
	p := m.player
	return tea.Batch(waitForEvent(m.events), waitForPacket(m.packets), func() tea.Msg { return positionMsg(p.Position()) })
}

// replayStatus is the status line's account of the replay.
func (m Model) replayStatus() string {
	p := m.pos
	state := "⏸ paused"
	switch {
	case p.Done:
		state = "■ end"
	case p.Seeking:
		state = "» jumping"
	case p.Playing:
		state = "▶ " + strconv.FormatFloat(p.Speed, 'g', 4, 64) + "x"
	}
	at := "start"
	if !p.At.IsZero() {
		at = fmt.Sprintf("%s (+%s)", p.At.Local().Format("15:04:05.000"), p.At.Sub(p.First).Round(time.Millisecond))
	}
	return fmt.Sprintf("%s  packet %d  %s  %s", state, p.Packets, at, p.Source)
}
