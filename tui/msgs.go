package tui

import (
	"net/netip"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/bonjourctl/bonjourctl/browse"
)

// Ref is a name (lower case, presentation form) and a record type.
type Ref struct {
	Name string
	Type uint16
}

// Packet is one received packet as the wire pane shows it: already decoded
// and rendered (escaped) by the caller, with what it asks and holds so the
// pane can pick those that touch an instance and weigh the evidence.
type Packet struct {
	At    time.Time
	Src   netip.AddrPort
	Own   bool // sent by this process (the TUI's own queries)
	Query bool
	// Asks lists its questions; Has its records (answers, authority,
	// additional), with a record's target (PTR, SRV) as a Ref of type 0.
	Asks []Ref
	Has  []Ref
	Text string // as `bonjourctl capture` prints it
	// Skipped counts the packets the caller could not hand over so far
	// because the UI was behind (shown in the wire pane, never hidden).
	Skipped int

	seq uint64 // its place in the model's store
}

// Backend is what the UI asks of the world, each call made inside a
// tea.Cmd (never in Update or View).
type Backend interface {
	// Requery asks the network again for an instance's TXT and SRV
	// records and says what came back, and how fast, within a second.
	Requery(name string) (string, error)
	// Export writes the instances as `browse --json` writes them and
	// returns the file's path.
	Export(services []browse.Service, at time.Time) (string, error)
	// EventsDropped counts the events the engine dropped because the UI
	// was behind (shown, never hidden).
	EventsDropped() uint64
}

type eventMsg browse.Event
type droppedMsg uint64
type packetMsg Packet

// eventsMsg is a batch: what had arrived on one channel by the time the
// UI took it. The channel is named so that, once a replay has rewound to
// new channels, what was in flight from the old ones is dropped.
type eventsMsg struct {
	from <-chan browse.Event
	evs  []browse.Event
}

// streamDoneMsg: the event channel was closed.
type streamDoneMsg struct{ from <-chan browse.Event }

// feedPacketMsg is a packet from one packet channel.
type feedPacketMsg struct {
	from <-chan Packet
	p    Packet
}
type tickMsg time.Time
type statusMsg string

// requeryMsg is what a re-query of one instance found.
type requeryMsg struct {
	key    string
	report string
}

// waitForEvent blocks for the next event and takes, with it, the events
// already waiting (up to 2,000), so that a burst costs one update and one
// render, not one each. Exactly one wait is outstanding at a time: Update
// re-arms it after each batch.
func waitForEvent(ch <-chan browse.Event) tea.Cmd {
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return streamDoneMsg{ch}
		}
		batch := eventsMsg{ch, []browse.Event{ev}}
		for len(batch.evs) < 2000 {
			select {
			case ev, ok := <-ch:
				if !ok {
					return batch // the next wait sees the end
				}
				batch.evs = append(batch.evs, ev)
			default:
				return batch
			}
		}
		return batch
	}
}

// pollDropped reads the engine's dropped-event count once a second (in a
// Cmd).
func pollDropped(b Backend) tea.Cmd {
	if b == nil {
		return nil
	}
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return droppedMsg(b.EventsDropped()) })
}

func waitForPacket(ch <-chan Packet) tea.Cmd {
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		p, ok := <-ch
		if !ok {
			return nil
		}
		return feedPacketMsg{ch, p}
	}
}

// tick reads the clock (in a Cmd) once a second, for ages and TTLs.
func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}
