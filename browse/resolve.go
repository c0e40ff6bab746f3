package browse

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/bonjourctl/bonjourctl/mdns"
)

// Resolution is what Resolve learnt about one instance.
type Resolution struct {
	// Service is the instance as known when Resolve returned, with the
	// provenance of each record. Its TXTState keeps missing, zero-length,
	// empty and present apart.
	Service Service
	// Complete reports that the SRV record, the TXT record (in whatever
	// state) and at least one address of the SRV's host all arrived.
	Complete bool
	// Queries is how many queries Resolve sent; Asked when the first went.
	Queries int
	Asked   time.Time
	// SendErrors counts queries that did not go out on every interface
	// and family; LastSendError is the latest such error.
	SendErrors    int
	LastSendError error
	// Packets are the packets that carried the instance's SRV, TXT and
	// address records while Resolve ran, oldest first (at most 32).
	Packets []mdns.Packet
}

// Missing names what did not arrive: "SRV", "TXT", "address".
func (r *Resolution) Missing() []string {
	var out []string
	if r.Service.Host == "" {
		out = append(out, "SRV")
	}
	if r.Service.TXTState == TXTMissing {
		out = append(out, "TXT")
	}
	if len(r.Service.Addrs) == 0 {
		out = append(out, "address")
	}
	return out
}

type resolveReq struct {
	name     string
	key      string
	started  time.Time
	interval time.Duration
	due      *task
	reply    chan Resolution
	res      Resolution
	packets  []mdns.Packet
	done     bool
}

// ErrNotRunning is Resolve's error when Run is not running.
var ErrNotRunning = errors.New("browse: the engine is not running")

// Resolve asks for one instance's SRV and TXT records and its host's
// addresses until all have arrived or ctx ends, and returns what is known.
// Records the engine already holds (learnt while browsing) count at once.
// What is missing is asked for again at 1 s, 2 s, 4 s... (RFC 6762 §5.2):
// a responder stays silent for a record it multicast less than a second
// before (§6), so one unanswered question proves nothing. The addresses
// are taken from whatever packet carries them, the additional section of
// an SRV answer included. It needs Run running on another goroutine; the
// error is ctx's when it ended first, ErrNotRunning when Run stopped.
func (b *Browser) Resolve(ctx context.Context, name string) (Resolution, error) {
	req := &resolveReq{name: name, key: mdns.NameKey(name), reply: make(chan Resolution, 1), due: newTask(taskResolveRequest)}
	req.due.req = req
	b.request(request{resolve: req})
	select {
	case r := <-req.reply:
		return r, nil
	case <-b.stopped:
		return Resolution{}, ErrNotRunning
	case <-ctx.Done():
	}
	b.request(request{finish: req})
	select {
	case r := <-req.reply:
		return r, ctx.Err()
	case <-b.stopped:
		return Resolution{}, ErrNotRunning
	}
}

func (b *Browser) startResolve(now time.Time, req *resolveReq, dirty map[string]bool) {
	in := b.instances[req.key]
	if in == nil {
		if in = b.newInstance(now, req.name); in == nil {
			req.res.Service.Name = req.name
			b.reply(req)
			return
		}
		b.sched.cancel(in.due) // the resolve retransmits for it
	}
	in.watchers = append(in.watchers, req)
	b.watching++
	req.started, req.interval = now, time.Second
	req.res.Asked = now
	s, _, _ := b.snapshot(in)
	if s.Host != "" && s.TXTState != TXTMissing && len(s.Addrs) > 0 {
		dirty[req.key] = dirty[req.key] || false // complete from the cache: answered in settle
		return
	}
	b.ask(req, &s)
	b.sched.set(req.due, now.Add(req.interval))
	dirty[req.key] = dirty[req.key] || false
}

// ask sends the questions for what the instance still lacks.
func (b *Browser) ask(req *resolveReq, s *Service) {
	var qs []mdns.Question
	if s.Host == "" {
		qs = append(qs, mdns.Question{Name: req.name, Type: mdns.TypeSRV})
	}
	if s.TXTState == TXTMissing {
		qs = append(qs, mdns.Question{Name: req.name, Type: mdns.TypeTXT})
	}
	if s.Host != "" && len(s.Addrs) == 0 {
		qs = append(qs, mdns.Question{Name: s.Host, Type: mdns.TypeA}, mdns.Question{Name: s.Host, Type: mdns.TypeAAAA})
	}
	if len(qs) == 0 {
		return
	}
	if req.res.Queries == 0 && b.cfg.QU {
		for i := range qs {
			qs[i].QU = true // RFC 6762 §5.4: the first question asks QU
		}
	}
	req.res.Queries++
	if err := b.send(qs, nil); err != nil {
		req.res.SendErrors++
		req.res.LastSendError = err
	}
}

func (b *Browser) retransmit(now time.Time, req *resolveReq, dirty map[string]bool) {
	if req.done {
		return
	}
	in := b.instances[req.key]
	if in == nil {
		return
	}
	s, _, _ := b.snapshot(in)
	b.ask(req, &s)
	req.interval = min(req.interval*2, time.Minute)
	b.sched.set(req.due, now.Add(req.interval))
	dirty[req.key] = dirty[req.key] || false
}

// answerWatchers replies to the Resolve calls on an instance once it is
// complete.
func (b *Browser) answerWatchers(in *instance, s *Service, complete bool) {
	if !complete || len(in.watchers) == 0 {
		return
	}
	for _, w := range in.watchers {
		w.res.Service, w.res.Complete = *s, true
		b.reply(w)
	}
	in.watchers = nil
	if !in.browsed {
		b.dropInstance(in)
	}
}

// finishResolve ends a Resolve call whose context ended, with what is known.
func (b *Browser) finishResolve(req *resolveReq) {
	if req.done {
		return
	}
	in := b.instances[req.key]
	if in != nil {
		s, _, _ := b.snapshot(in)
		req.res.Service = s
		req.res.Complete = s.Host != "" && s.TXTState != TXTMissing && len(s.Addrs) > 0
		in.watchers = without2(in.watchers, req)
		if len(in.watchers) == 0 && !in.browsed {
			b.dropInstance(in)
		}
	}
	b.reply(req)
}

// finishAll answers every Resolve still waiting when Run stops.
func (b *Browser) finishAll() {
	for _, in := range b.instances {
		for _, w := range slices.Clone(in.watchers) {
			b.finishResolve(w)
		}
	}
}

func (b *Browser) reply(req *resolveReq) {
	if req.done {
		return
	}
	req.done = true
	if !req.started.IsZero() {
		b.watching--
	}
	b.sched.cancel(req.due)
	req.res.Packets = req.packets
	if req.res.Service.Name == "" {
		req.res.Service.Name = req.name
	}
	req.reply <- req.res
}

func without2(ws []*resolveReq, w *resolveReq) []*resolveReq {
	out := ws[:0]
	for _, x := range ws {
		if x != w {
			out = append(out, x)
		}
	}
	return out
}
