package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/schema"
)

// Link is what Run needs of the mdns core; *mdns.Core has it.
type Link interface {
	Subscribe(name string, size int) *mdns.Sub
	Send(msg []byte, to mdns.Dest) error
	Interfaces() []net.Interface
	PayloadLimit() int
	LegacyPort() int
}

// Options configure Run.
type Options struct {
	// Target is a service type ("_p2p._tcp"), an instance
	// ("Node 1._p2p._tcp") or empty for everything heard.
	Target string
	// Duration is how long to listen.
	Duration time.Duration
	// Active sends questions too (it needs a target): a PTR question at
	// once, again at 1.5 s with QU SRV/TXT and legacy unicast TXT
	// questions for each instance heard (the link needs a legacy port),
	// at 3 s with every instance as a known answer, and in the last
	// 1.2 s an SRV question for each instance, to catch responders that
	// left without goodbyes.
	Active bool
	// Started says the responders start after the check: their probing is
	// judged too.
	Started bool
	// Schemas, when set, judges TXT records of well-known types by their
	// schemas too.
	Schemas *schema.Set
}

// Report is what Run found.
type Report struct {
	Packets  int
	Findings []Finding
	// Sent lists the questions the active stages sent and, for each, what
	// went wrong sending it; a question that went out nowhere is not used
	// as evidence (no "no answer" verdict rests on it).
	Sent []Sent
	// PacketsLost counts packets the checker was too slow to take.
	PacketsLost uint64
}

// Sent is one question of an active stage.
type Sent struct {
	At       time.Time `json:"time"`
	Stage    string    `json:"stage"`
	Question string    `json:"question"`
	Error    string    `json:"error,omitempty"`
}

// Target returns the filter for a type ("_p2p._tcp") or an instance
// ("Node 1._p2p._tcp"), the type's full name, and the instance's full name
// when the target is one.
func Target(t string) (filter func(string) bool, typeName, instance string) {
	if t == "" {
		return nil, "", ""
	}
	full := mdns.NameKey(mdns.ParseName(t))
	labels := mdns.SplitName(full)
	if len(labels) >= 3 && strings.HasPrefix(labels[0], "_") {
		return func(n string) bool { return n == full || strings.HasSuffix(n, "."+full) }, full, ""
	}
	typeName = strings.Join(labels[1:], ".") + "."
	return func(n string) bool { return n == full || n == typeName }, typeName, mdns.ParseName(t)
}

// Run listens on link for opts.Duration (sending the active stages'
// questions with opts.Active), judges every packet and returns the report.
// It returns early with ctx's error when ctx ends first.
func Run(ctx context.Context, link Link, opts Options) (Report, error) {
	filter, typeName, instance := Target(opts.Target)
	c := New(filter)
	c.UseSchemas(opts.Schemas)
	sub := link.Subscribe("check", 0)
	defer sub.Close()
	var rep Report
	runCtx, cancel := context.WithTimeout(ctx, opts.Duration)
	defer cancel()

	a := &active{link: link, typeName: typeName, instances: map[string]bool{}}
	if instance != "" {
		a.instances[instance] = true
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	var finalAt time.Time
	var finalSent []string
	if opts.Active {
		wg.Add(1)
		go func() {
			defer wg.Done()
			finalAt, finalSent = a.stages(runCtx, opts.Duration)
		}()
	}
	feed := func(p mdns.Packet) {
		rep.Packets++
		c.Packet(&p)
		if opts.Active {
			a.learn(&p)
		}
	}
loop:
	for {
		select {
		case <-runCtx.Done():
			break loop
		case p, ok := <-sub.C():
			if !ok {
				break loop
			}
			feed(p)
		}
	}
	cancel()
	wg.Wait()
	// What was already queued when the time ran out is judged too.
	for drained := false; !drained; {
		select {
		case p, ok := <-sub.C():
			if !ok {
				drained = true
				break
			}
			feed(p)
		default:
			drained = true
		}
	}
	for _, inst := range finalSent {
		c.Vanished(inst, finalAt, time.Now())
	}
	rep.Findings = c.Findings(opts.Started)
	rep.Sent = a.log()
	rep.PacketsLost = sub.Dropped()
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	return rep, nil
}

// active runs the stages of check --active.
type active struct {
	link      Link
	typeName  string
	mu        sync.Mutex
	instances map[string]bool // full names heard for the type (and the target)
	sent      []Sent
}

// learn notes the instances the type's PTR answers name.
func (a *active) learn(p *mdns.Packet) {
	m, err := mdns.Parse(p.Raw)
	if err != nil || !m.Response() {
		return
	}
	for _, r := range m.Answers {
		if t, ok := r.Target(); ok && r.Type == mdns.TypePTR && mdns.EqualNames(r.Name, a.typeName) && r.TTL > 0 {
			a.mu.Lock()
			a.instances[t] = true
			a.mu.Unlock()
		}
	}
}

func (a *active) names() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, len(a.instances))
	for n := range a.instances {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ask sends one question set once and logs it; it reports whether it went
// out on at least one interface and family.
func (a *active) ask(stage string, q browse.Question) bool {
	at := time.Now()
	err := browse.SendQuery(a.link, q)
	var parts []string
	for _, x := range q.Questions {
		qu := ""
		if x.QU {
			qu = " QU"
		}
		parts = append(parts, mdns.EscapeText(x.Name)+" "+mdns.TypeString(x.Type)+qu)
	}
	desc := strings.Join(parts, ", ")
	if q.Legacy {
		desc += fmt.Sprintf(" (legacy unicast, id %d)", q.ID)
	}
	if len(q.Known) > 0 {
		desc += fmt.Sprintf(" with %d known answers", len(q.Known))
	}
	s := Sent{At: at, Stage: stage, Question: desc}
	ok := err == nil
	if err != nil {
		s.Error = err.Error()
		var se *mdns.SendErrors
		ok = errors.As(err, &se) && se.Sent > 0
	}
	a.mu.Lock()
	a.sent = append(a.sent, s)
	a.mu.Unlock()
	return ok
}

func (a *active) log() []Sent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Sent(nil), a.sent...)
}

// stages sends the questions of each stage on time, until ctx ends. It
// returns when the final stage went and the instances its SRV questions
// reached (only those can be judged for a missing goodbye).
func (a *active) stages(ctx context.Context, d time.Duration) (finalAt time.Time, final []string) {
	legacy := a.link.LegacyPort() != 0
	ptr := browse.Question{Questions: []mdns.Question{{Name: a.typeName, Type: mdns.TypePTR}}}
	a.ask("1 browse", ptr)
	start := time.Now()
	wait := func(at time.Duration) bool {
		t := time.NewTimer(time.Until(start.Add(at)))
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	if !wait(1500 * time.Millisecond) {
		return
	}
	a.ask("2 browse", ptr)
	if legacy {
		a.ask("2 legacy", browse.Question{Questions: ptr.Questions, ID: 0x4241, Legacy: true})
	}
	for _, inst := range a.names() {
		a.ask("2 resolve QU", browse.Question{Questions: []mdns.Question{{Name: inst, Type: mdns.TypeSRV, QU: true}, {Name: inst, Type: mdns.TypeTXT, QU: true}}})
		if legacy {
			a.ask("2 legacy", browse.Question{Questions: []mdns.Question{{Name: inst, Type: mdns.TypeTXT}}, ID: 0x4242, Legacy: true})
		}
	}
	if !wait(3 * time.Second) {
		return
	}
	// With every instance heard as a known answer: responders must not
	// repeat those (RFC 6762 §7.1).
	var known []mdns.KnownAnswer
	for _, inst := range a.names() {
		known = append(known, mdns.KnownAnswer{Name: a.typeName, Target: inst, TTL: 4500})
	}
	a.ask("3 known answers", browse.Question{Questions: ptr.Questions, Known: known})
	if legacy {
		a.ask("3 legacy", browse.Question{Questions: ptr.Questions, ID: 0x4243, Legacy: true})
	}
	if d <= 4*time.Second || !wait(d-1200*time.Millisecond) {
		return
	}
	finalAt = time.Now()
	for _, inst := range a.names() {
		if a.ask("4 still there?", browse.Question{Questions: []mdns.Question{{Name: inst, Type: mdns.TypeSRV}}}) {
			final = append(final, inst)
		}
	}
	return finalAt, final
}

// Replay judges the packets of a capture (next returns them in order,
// then io.EOF) as Run judges live traffic, on the capture's own clock:
// every timing rule is judged as it happened. Only Target and Started of
// opts apply; nothing is sent, so the rules that need check's own
// questions (legacy replies, known answers, no-goodbye) judge only what
// the capture holds.
func Replay(ctx context.Context, next func() (mdns.Packet, error), opts Options) (Report, error) {
	filter, _, _ := Target(opts.Target)
	c := New(filter)
	c.UseSchemas(opts.Schemas)
	var rep Report
	for {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		p, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			rep.Findings = c.Findings(opts.Started)
			return rep, err
		}
		rep.Packets++
		c.Packet(&p)
	}
	rep.Findings = c.Findings(opts.Started)
	return rep, nil
}
