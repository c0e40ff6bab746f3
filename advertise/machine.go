package advertise

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/mdns"
)

// The responder is a state machine on one goroutine: probe the names,
// announce them, then answer, and go back to probing when a conflicting
// response arrives (RFC 6762 §9) or a link changes (§8.3). Every wait
// watches the network, TXT updates and link changes.

// errStopped means the event consumer failed: stop.
var errStopped = errors.New("advertise: event consumer failed")

// errReprobe means the names must be probed again (already reported).
var errReprobe = errors.New("advertise: probe again")

// run is the state machine: probe, announce, then answer.
func (r *Responder) run(ctx context.Context) error {
	if r.cfg.YieldHost {
		if err := r.checkHost(ctx); err != nil {
			return r.stopErr(err)
		}
	}
	for {
		if !r.cfg.Faults.NoProbe {
			if err := r.probe(ctx); err != nil {
				return r.stopErr(err)
			}
		}
		err := r.announce(ctx, "announced")
		if err == nil {
			err = r.serve(ctx)
		}
		if errors.Is(err, errReprobe) {
			continue
		}
		return r.stopErr(err)
	}
}

func (r *Responder) stopErr(err error) error {
	if errors.Is(err, errStopped) {
		return nil // Run's deferred Close returns the consumer's error
	}
	return err
}

// hostName returns the SRV target, fully qualified.
func (r *Responder) hostName() string { return dns.Fqdn(r.svc.Host) }

// checkHost asks for the host name before anything is published when
// another mDNS stack runs on this host: if that stack answers for it, the
// name is its own and only the service records are published.
func (r *Responder) checkHost(ctx context.Context) error {
	if r.cfg.LocalStack == nil || r.cfg.LocalStack() == "" {
		return nil // nobody else here: probing finds out the rest
	}
	msgs, err := mdns.Query{Questions: []mdns.Question{{Name: r.hostName(), Type: dns.TypeA}, {Name: r.hostName(), Type: dns.TypeAAAA}}}.Pack(r.link.PayloadLimit())
	if err != nil {
		return nil
	}
	for _, b := range msgs {
		if err := r.link.Send(b, mdns.Dest{}); err != nil {
			r.sendFailed("question for the host name "+mdns.EscapeText(r.hostName()), err)
		}
	}
	t := time.NewTimer(300 * time.Millisecond)
	defer t.Stop()
	for {
		p, m, got, err := r.next(ctx, t)
		if err != nil || !got {
			return err
		}
		if m.Response() && p.Local && !p.Own && r.mentionsHost(m) {
			r.yieldHost(&p)
			return nil
		}
	}
}

// next returns the next packet (parsed), the end of ctx, or a timeout.
func (r *Responder) next(ctx context.Context, t *time.Timer) (p mdns.Packet, m *mdns.Message, got bool, err error) {
	for {
		select {
		case <-ctx.Done():
			return p, nil, false, ctx.Err()
		case <-r.box.Failed():
			return p, nil, false, errStopped
		case <-t.C:
			return p, nil, false, nil
		case p, ok := <-r.sub.C():
			if !ok {
				_, err := r.sub.Recv(ctx)
				return p, nil, false, fmt.Errorf("receive: %w", err)
			}
			m, perr := mdns.Parse(p.Raw)
			if perr != nil || p.Own {
				continue // malformed, or our own packet come back
			}
			return p, m, true, nil
		}
	}
}

// outcome is why a wait ended early.
type outcome int

const (
	waited     outcome = iota // the time passed
	conflicted                // a response conflicts with our names (renamed already)
	lostTie                   // a simultaneous probe won the tie-break (§8.2)
	reprobe                   // a link changed, or the host name was yielded: probe again
	newTXT                    // SetTXT: announce the new TXT
)

// mode says what a wait is for.
type mode int

const (
	probing   mode = iota // watching for conflicts and simultaneous probes
	answering             // answering queries, watching for conflicts
	paused                // not yet probing (rate limit): only a link change or ctx ends it
)

// wait waits d in the given mode and says why it ended.
func (r *Responder) wait(ctx context.Context, d time.Duration, md mode) (outcome, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	dt := time.NewTimer(time.Hour) // delayed shared answers
	defer dt.Stop()
	for {
		var delayed <-chan time.Time
		if md == answering && len(r.delayed) > 0 {
			next := time.Hour
			for _, pr := range r.delayed {
				next = min(next, time.Until(pr.at))
			}
			dt.Reset(max(next, 0))
			delayed = dt.C
		}
		select {
		case <-ctx.Done():
			return waited, ctx.Err()
		case <-r.box.Failed():
			return waited, errStopped
		case <-t.C:
			return waited, nil
		case <-delayed:
			r.flushDelayed()
			continue
		case <-r.txtNew:
			if md == answering {
				return newTXT, nil
			}
			// While probing the new TXT is taken when announcing.
			select {
			case r.txtNew <- struct{}{}:
			default:
			}
			continue
		case l := <-r.sub.Links():
			if r.linkChanged(l) && md != paused {
				return reprobe, nil
			}
			continue
		case p, ok := <-r.sub.C():
			if !ok {
				_, err := r.sub.Recv(ctx)
				return waited, fmt.Errorf("receive: %w", err)
			}
			m, perr := mdns.Parse(p.Raw)
			if perr != nil || p.Own || md == paused {
				continue
			}
			if r.cfg.YieldHost && !r.hostShared && p.Local && r.mentionsHost(m) {
				// Another stack on this host publishes or probes for the
				// host name: it is that stack's. Yield, never defend.
				r.yieldHost(&p)
				return reprobe, nil
			}
			if c := r.conflictIn(&p, m); c.any() {
				r.conflict(&p, c, md == answering)
				return conflicted, nil
			}
			if md == probing {
				if r.lostTieBreak(m) {
					r.emit(Event{Kind: Conflict, From: p.Src, Interface: p.IfName, Source: r.source(&p),
						Detail: "simultaneous probe with lexicographically later records (RFC 6762 §8.2); probing again in 1 s"})
					return lostTie, nil
				}
				continue
			}
			r.handle(&p, m)
		}
	}
}

// linkChanged reports a link change; it returns true when the names must
// be probed again (a link came up, or an address came or went).
func (r *Responder) linkChanged(l mdns.LinkChange) bool {
	detail := fmt.Sprintf("%s %s", mdns.EscapeText(l.Name), l.Kind)
	if l.Addr.IsValid() {
		detail += " " + l.Addr.String()
	}
	again := l.Kind != mdns.LinkDown
	if again {
		detail += "; probing and announcing again (RFC 6762 §8.3)"
	}
	r.emit(Event{Kind: LinkChanged, Interface: l.Name, Detail: detail})
	return again
}

// probe runs RFC 6762 §8.1 probing, renaming on conflicts, until the names
// are ours.
func (r *Responder) probe(ctx context.Context) error {
	delay := r.cfg.Rand(250 * time.Millisecond)
	if !r.probed && !r.cfg.Started.IsZero() {
		delay = max(0, delay-time.Since(r.cfg.Started))
	}
	r.probed = true
	for {
		// Rate limit (§8.1): after 15 conflicts in 10 s, wait 5 s before
		// probing again, whatever arrives meanwhile.
		now := time.Now()
		recent := r.conflicts[:0]
		for _, c := range r.conflicts {
			if now.Sub(c) < 10*time.Second {
				recent = append(recent, c)
			}
		}
		r.conflicts = recent
		if len(recent) >= 15 {
			r.emit(Event{Kind: RateLimit, Detail: fmt.Sprintf("%d conflicts in 10 s: waiting 5 s before probing again (RFC 6762 §8.1)", len(recent))})
			if _, err := r.wait(ctx, 5*time.Second, paused); err != nil {
				return err
			}
			delay = 0
		}
		r.emit(Event{Kind: Probing, Detail: "3 probes 250 ms apart (QU, type ANY, proposed records in the authority section)"})
		out, err := r.wait(ctx, delay, probing)
		// Probes go out on a fixed grid from the first, so the time spent
		// sending and handling packets does not add up (§8.1: 250 ms
		// apart, then 250 ms after the third).
		first := time.Now()
		for i := 0; i < 3 && err == nil && out == waited; i++ {
			r.sendProbe(i + 1)
			out, err = r.wait(ctx, time.Until(first.Add(time.Duration(i+1)*250*time.Millisecond)), probing)
		}
		if err != nil {
			return err
		}
		switch out {
		case lostTie:
			delay = time.Second
		case conflicted, reprobe:
			delay = r.cfg.Rand(250 * time.Millisecond)
		default:
			return nil
		}
	}
}

// conflictKind says which of our names a response conflicts with.
type conflictKind struct {
	host, service bool
	what          []string
}

func (c conflictKind) any() bool { return c.host || c.service }

// conflictIn reports which of our unique names a response carries with
// data other than ours (RFC 6762 §8.1, §9): the instance name (SRV, TXT)
// or the host name (A, AAAA).
func (r *Responder) conflictIn(p *mdns.Packet, m *mdns.Message) conflictKind {
	var c conflictKind
	if !m.Response() {
		return c
	}
	inst, host := r.svc.instanceName(), r.hostName()
	for _, ifi := range r.link.Interfaces() {
		ours := r.recordsFor(ifi.Index).unique()
		for _, sec := range [][]mdns.Record{m.Answers, m.Additional} {
			for i := range sec {
				rec := &sec[i]
				isInst, isHost := mdns.EqualNames(rec.Name, inst), mdns.EqualNames(rec.Name, host)
				if !isInst && !isHost || rec.TTL == 0 || rec.Type == dns.TypeNSEC {
					continue
				}
				if isHost && (r.hostShared || (rec.Type != dns.TypeA && rec.Type != dns.TypeAAAA)) {
					continue // the host's records are another stack's, or not ours to judge
				}
				same := false
				for _, o := range ours {
					if o.Header().Rrtype == rec.Type && mdns.EqualNames(o.Header().Name, rec.Name) && sameRData(o, rec) {
						same = true
					}
				}
				if isHost && len(r.svc.Addrs) == 0 {
					// Address records for our host from another of our
					// interfaces or families are ours too.
					same = same || r.isOwnAddr(rec)
				}
				if same {
					continue
				}
				w := fmt.Sprintf("%s %s", mdns.EscapeText(rec.Name), mdns.TypeString(rec.Type))
				if isHost {
					c.host = true
				} else {
					c.service = true
				}
				if !containsString(c.what, w) {
					c.what = append(c.what, w)
				}
			}
		}
	}
	return c
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// conflict reports a conflict, who caused it, and renames what it is
// about, once per conflicting packet: the host name for a conflict on the
// host's address records (RFC 6762 §9), the instance for one on its SRV or
// TXT.
func (r *Responder) conflict(p *mdns.Packet, c conflictKind, established bool) {
	r.conflicts = append(r.conflicts, time.Now())
	detail := strings.Join(c.what, ", ") + " in use with other data"
	if established {
		detail += "; probing again (RFC 6762 §9)"
	}
	r.emit(Event{Kind: Conflict, From: p.Src, Interface: p.IfName, Source: r.source(p), Detail: detail})
	r.mu.Lock()
	var renamed []string
	if c.service {
		old := r.svc.instanceName()
		r.svc.Instance = nextInstance(r.svc.Instance)
		renamed = append(renamed, fmt.Sprintf("%s is taken; now %s", mdns.EscapeText(old), mdns.EscapeText(r.svc.instanceName())))
	}
	if c.host {
		old := r.hostName()
		r.svc.Host = nextHost(old)
		renamed = append(renamed, fmt.Sprintf("host name %s is taken; now %s", mdns.EscapeText(old), mdns.EscapeText(r.hostName())))
	}
	r.mu.Unlock()
	r.emit(Event{Kind: Renamed, Detail: strings.Join(renamed, "; ")})
}

// source says what sent p: another host (with its link-layer address where
// the system knows it) or another mDNS stack on this host.
func (r *Responder) source(p *mdns.Packet) string {
	if p.Local {
		s := "another mDNS stack on this host"
		if r.cfg.LocalStack != nil {
			if who := r.cfg.LocalStack(); who != "" {
				s += " (" + who + ")"
			}
		}
		return s
	}
	if mac, ok := r.cfg.Neighbor(p.IfIndex, p.Src.Addr()); ok {
		return "another host (MAC " + mac.String() + ")"
	}
	return "another host"
}

// yieldHost stops publishing the host's address records: another stack on
// this host owns the name.
func (r *Responder) yieldHost(p *mdns.Packet) {
	r.mu.Lock()
	r.hostShared = true
	r.mu.Unlock()
	r.emit(Event{Kind: HostShared, From: p.Src, Interface: p.IfName, Source: r.source(p),
		Detail: fmt.Sprintf("%s is published by %s: publishing the service records only, with the SRV pointing at it, and leaving the address records to it",
			mdns.EscapeText(r.hostName()), r.source(p))})
}

// mentionsHost reports whether a message asks about or carries address
// records for our host name.
func (r *Responder) mentionsHost(m *mdns.Message) bool {
	host := r.hostName()
	for _, q := range m.Questions {
		if mdns.EqualNames(q.Name, host) && len(m.Authority) > 0 {
			return true // a probe for it
		}
	}
	for _, sec := range [][]mdns.Record{m.Answers, m.Authority, m.Additional} {
		for i := range sec {
			if mdns.EqualNames(sec[i].Name, host) && (sec[i].Type == dns.TypeA || sec[i].Type == dns.TypeAAAA) && (m.Response() || len(m.Questions) > 0) {
				return true
			}
		}
	}
	return false
}

// nextInstance turns "Name" into "Name (2)" and "Name (2)" into "Name (3)"
// (RFC 6763 §13.3 style), shortening the name so the label stays within 63
// bytes (at a UTF-8 boundary).
func nextInstance(name string) string {
	base, n := name, 1
	if i := strings.LastIndex(base, " ("); i >= 0 && strings.HasSuffix(base, ")") {
		if _, err := fmt.Sscanf(base[i+2:len(base)-1], "%d", &n); err == nil {
			base = base[:i]
		} else {
			n = 1
		}
	}
	suffix := fmt.Sprintf(" (%d)", n+1)
	return shorten(base, 63-len(suffix)) + suffix
}

// nextHost turns "host.local." into "host-2.local." and "host-2" into
// "host-3" (as avahi-daemon does), within 63 bytes.
func nextHost(host string) string {
	labels := mdns.SplitName(host)
	if len(labels) == 0 {
		return host
	}
	first := mdns.UnescapeLabel(labels[0])
	base, n := first, 1
	if i := strings.LastIndex(first, "-"); i >= 0 {
		if _, err := fmt.Sscanf(first[i+1:], "%d", &n); err == nil && fmt.Sprint(n) == first[i+1:] {
			base = first[:i]
		} else {
			n = 1
		}
	}
	suffix := fmt.Sprintf("-%d", n+1)
	labels[0] = mdns.EscapeLabel(shorten(base, 63-len(suffix)) + suffix)
	return strings.Join(labels, ".") + "."
}

// shorten cuts s to at most n bytes, at a UTF-8 boundary.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// announce sends all records twice, one second apart (RFC 6762 §8.3). An
// announcement that went out nowhere is reported as a send failure, not as
// announced. A TXT update meanwhile cancels the rest of this series: the
// new record is announced twice instead, so an old TXT never follows a
// newer one on the wire.
func (r *Responder) announce(ctx context.Context, what string) error {
	gap := time.Second
	if r.cfg.Faults.FastAnnounce {
		gap = 200 * time.Millisecond
	}
	for i := 1; i <= 2; i++ {
		var failed []string
		sent := false
		for _, ifi := range r.link.Interfaces() {
			m := r.response()
			m.Answer = r.recordsFor(ifi.Index).all()
			err := r.multicast(ifi.Index, m)
			if err != nil {
				failed = append(failed, err.Error())
				r.count(err)
			}
			var se *mdns.SendErrors
			if err == nil || (errors.As(err, &se) && se.Sent > 0) {
				sent = true
			}
		}
		detail := fmt.Sprintf("%s (%d of 2)", what, i)
		switch {
		case !sent:
			r.emit(Event{Kind: SendFailed, Detail: detail + " not sent: " + strings.Join(failed, "; ")})
		case len(failed) > 0:
			r.emit(Event{Kind: Announced, Detail: detail + "; not sent everywhere: " + strings.Join(failed, "; ")})
		default:
			r.emit(Event{Kind: Announced, Detail: detail})
		}
		if i == 2 {
			break
		}
		out, err := r.wait(ctx, gap, answering)
		switch {
		case err != nil:
			return err
		case out == newTXT:
			if r.applyTXT() {
				what, i = "TXT update announced", 0 // the series starts again
			}
		case out != waited:
			return errReprobe
		}
	}
	return nil
}

// serve answers queries until ctx ends, a conflict or link change calls
// for probing again, or a TXT update is announced.
func (r *Responder) serve(ctx context.Context) error {
	for {
		out, err := r.wait(ctx, time.Hour, answering)
		switch {
		case err != nil:
			return err
		case out == newTXT:
			if r.applyTXT() {
				if err := r.announce(ctx, "TXT update announced"); err != nil {
					return err
				}
			}
		case out != waited:
			return errReprobe
		}
	}
}

// applyTXT takes the latest SetTXT; it reports whether there was one.
func (r *Responder) applyTXT() bool {
	r.mu.Lock()
	n := r.updates
	if n == 0 {
		r.mu.Unlock()
		return false // a signal for updates already applied
	}
	r.svc.TXT = r.pending
	r.updates = 0
	r.mu.Unlock()
	detail := "new TXT: " + txtText(r.svc.TXT)
	if n > 1 {
		detail += fmt.Sprintf(" (the latest of %d updates that arrived together)", n)
	}
	r.emit(Event{Kind: TXTUpdated, Detail: detail})
	return true
}

// sendProbe sends probe n of 3: ANY questions for the instance name (and
// the host name while its address records are ours) with the proposed
// records in the authority section.
func (r *Responder) sendProbe(n int) {
	for _, ifi := range r.link.Interfaces() {
		recs := r.recordsFor(ifi.Index)
		m := new(dns.Msg)
		m.Authoritative = r.cfg.Faults.AAInQueries
		inst := r.svc.instanceName()
		m.Question = []dns.Question{{Name: inst, Qtype: dns.TypeANY, Qclass: dns.ClassINET | 1<<15}}
		ns := []dns.RR{clearFlush(recs.srv), clearFlush(recs.txt)}
		if len(recs.addrs) > 0 {
			m.Question = append(m.Question, dns.Question{Name: r.hostName(), Qtype: dns.TypeANY, Qclass: dns.ClassINET | 1<<15})
			for _, a := range recs.addrs {
				ns = append(ns, clearFlush(a))
			}
		}
		m.Ns = ns
		if err := r.multicast(ifi.Index, m); err != nil {
			r.sendFailed(fmt.Sprintf("probe %d of 3", n), err)
		}
	}
}
