package cli

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/internal/dump"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/tui"
)

// maxGap bounds the wall-clock wait between two packets in play: a
// capture's quiet minutes pass in this long (the clock on screen still
// jumps by the whole gap).
const maxGap = 2 * time.Second

// capturePlayer replays a capture through a browse engine at the pace
// the TUI sets (tui --read). Each run reads the file from its start with
// a fresh engine; a backward jump starts a new run.
type capturePlayer struct {
	ctx    context.Context
	open   func() (next func() (mdns.Packet, error), closeFn func(), err error)
	types  []string
	source string

	mu     sync.Mutex
	wake   chan struct{} // a control changed (buffered 1)
	pos    tui.Position
	steps  int       // packets to feed while paused
	until  time.Time // feed at once up to here (zero: not seeking)
	last   time.Time // wall time the last packet was fed in play
	cancel context.CancelFunc
	done   chan struct{} // the current run has ended
}

func newCapturePlayer(ctx context.Context, source string, types []string, open func() (func() (mdns.Packet, error), func(), error)) *capturePlayer {
	return &capturePlayer{ctx: ctx, open: open, types: types, source: source, wake: make(chan struct{}, 1), pos: tui.Position{Source: source, Speed: 1}}
}

// start begins a run from the capture's start and returns its channels.
func (p *capturePlayer) start(until time.Time) (*tui.Feed, error) {
	next, closeFn, err := p.open()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(p.ctx)
	events := make(chan browse.Event)
	packets := make(chan tui.Packet, 256)
	done := make(chan struct{})
	p.mu.Lock()
	p.cancel, p.done = cancel, done
	p.pos = tui.Position{Source: p.source, Speed: p.pos.Speed, Seeking: !until.IsZero()}
	p.steps, p.until = 0, until
	p.mu.Unlock()
	b := browse.New(nil, browse.Config{})
	if len(p.types) == 0 {
		b.BrowseAll()
	} else {
		b.Browse(p.types...)
	}
	printer := dump.NewPrinter(time.Local)
	var sb strings.Builder
	gated := func() (mdns.Packet, error) {
		pkt, err := next()
		if err != nil {
			p.mu.Lock()
			p.pos.Done, p.pos.Playing, p.pos.Seeking = true, false, false
			p.mu.Unlock()
			return pkt, err
		}
		if err := p.gate(ctx, pkt.Received); err != nil {
			return pkt, err
		}
		select {
		case packets <- renderPacket(printer, &sb, pkt, 0):
		case <-ctx.Done():
			return pkt, ctx.Err()
		}
		return pkt, nil
	}
	go func() {
		defer close(done)
		defer closeFn()
		defer close(events)
		defer close(packets)
		_ = b.Replay(ctx, gated, func(ev browse.Event) error {
			select {
			case events <- ev:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	return &tui.Feed{Events: events, Packets: packets}, nil
}

// gate waits until the packet at capture time at may be fed: at once
// while seeking short of the target or on a step, after the captured gap
// (scaled by the speed, at most maxGap) in play, else until a control
// changes.
func (p *capturePlayer) gate(ctx context.Context, at time.Time) error {
	for {
		p.mu.Lock()
		var wait time.Duration
		ok := false
		switch {
		case !p.until.IsZero() && at.Before(p.until):
			ok = true
		case !p.until.IsZero():
			p.until, p.pos.Seeking, p.pos.Playing = time.Time{}, false, false // arrived: paused there
			p.mu.Unlock()
			continue
		case p.steps > 0:
			p.steps--
			ok = true
		case p.pos.Playing:
			gap := time.Duration(0)
			if !p.pos.At.IsZero() {
				gap = min(time.Duration(float64(at.Sub(p.pos.At))/p.pos.Speed), maxGap)
			}
			wait = max(time.Until(p.last.Add(gap)), 0)
			ok = wait == 0
		}
		if ok {
			if p.pos.First.IsZero() {
				p.pos.First = at
			}
			p.pos.At = at
			p.pos.Packets++
			p.last = time.Now()
			p.mu.Unlock()
			return nil
		}
		p.mu.Unlock()
		var timer *time.Timer
		var fire <-chan time.Time
		if wait > 0 {
			timer = time.NewTimer(wait)
			fire = timer.C
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

func (p *capturePlayer) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *capturePlayer) Toggle() {
	p.mu.Lock()
	if !p.pos.Done {
		p.pos.Playing = !p.pos.Playing
		p.last = time.Now()
	}
	p.mu.Unlock()
	p.poke()
}

func (p *capturePlayer) Step() {
	p.mu.Lock()
	if !p.pos.Done {
		p.pos.Playing = false
		p.steps++
	}
	p.mu.Unlock()
	p.poke()
}

func (p *capturePlayer) Faster() { p.scale(2) }
func (p *capturePlayer) Slower() { p.scale(0.5) }

func (p *capturePlayer) scale(f float64) {
	p.mu.Lock()
	p.pos.Speed = min(max(p.pos.Speed*f, 1.0/64), 1024)
	p.mu.Unlock()
	p.poke()
}

// Seek goes forward in this run, or starts a new one to go back (or
// after the end).
func (p *capturePlayer) Seek(t time.Time) (*tui.Feed, error) {
	p.mu.Lock()
	forward := !p.pos.Done && !t.Before(p.pos.At)
	if forward {
		p.until, p.pos.Seeking = t, true
	}
	cancel, done := p.cancel, p.done
	p.mu.Unlock()
	if forward {
		p.poke()
		return nil, nil
	}
	cancel()
	<-done
	return p.start(t)
}

func (p *capturePlayer) Position() tui.Position {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pos
}

// stop ends the current run and waits for it.
func (p *capturePlayer) stop() {
	p.mu.Lock()
	cancel, done := p.cancel, p.done
	p.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// renderPacket is a packet as the TUI's wire pane takes it: decoded,
// printed as capture prints it, with what it asks and holds.
func renderPacket(printer *dump.Printer, sb *strings.Builder, p mdns.Packet, skipped int) tui.Packet {
	d := dump.Decode(p, 0)
	sb.Reset()
	_ = printer.Text(sb, d)
	tp := tui.Packet{At: p.Received, Src: p.Src, Own: p.Own, Query: !d.Msg.Response(), Text: sb.String(), Skipped: skipped}
	for _, q := range d.Msg.Questions {
		tp.Asks = append(tp.Asks, tui.Ref{Name: mdns.NameKey(q.Name), Type: q.Type})
	}
	for _, sec := range [][]mdns.Record{d.Msg.Answers, d.Msg.Authority, d.Msg.Additional} {
		for i := range sec {
			tp.Has = append(tp.Has, tui.Ref{Name: mdns.NameKey(sec[i].Name), Type: sec[i].Type})
			if tg, ok := sec[i].Target(); ok {
				tp.Has = append(tp.Has, tui.Ref{Name: mdns.NameKey(tg)})
			}
		}
	}
	return tp
}

// readBackend is the TUI's backend for a capture: nothing is sent.
type readBackend struct{ tuiBackend }

func (readBackend) Requery(string) (string, error) {
	return "", errors.New("nothing is sent while reading a capture")
}

func (readBackend) EventsDropped() uint64 { return 0 }
