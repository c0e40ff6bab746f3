package tui

import (
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/bonjourctl/bonjourctl/browse"
)

// Packet is one received packet as the wire pane shows it: already decoded
// and rendered (escaped) by the caller, with the names it mentions so the
// pane can pick those that touch the selected instance.
type Packet struct {
	At    time.Time
	Names []string // lower-case names of its questions and records
	Text  string   // as `bonjourctl capture` prints it
	// Skipped counts the packets the caller could not hand over so far
	// because the UI was behind (shown in the wire pane, never hidden).
	Skipped int
}

// Backend is what the UI asks of the world, each call made inside a
// tea.Cmd (never in Update or View).
type Backend interface {
	// Requery asks the network again for an instance's records.
	Requery(name string) error
	// Export writes a JSON snapshot and returns where it went.
	Export(snapshot []byte) (string, error)
}

type eventMsg browse.Event
type packetMsg Packet
type streamDoneMsg struct{}
type tickMsg time.Time
type statusMsg string

// waitForEvent blocks for the next event. Exactly one is outstanding at a
// time: Update re-arms it after each eventMsg.
func waitForEvent(ch <-chan browse.Event) tea.Cmd {
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return streamDoneMsg{}
		}
		return eventMsg(ev)
	}
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
		return packetMsg(p)
	}
}

// tick reads the clock (in a Cmd) once a second, for ages and TTLs.
func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}
