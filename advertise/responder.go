// Package advertise publishes a DNS-SD service (RFC 6763) as a multicast DNS
// responder (RFC 6762): it probes for its names, resolves conflicts by
// renaming, announces, answers queries (shared records after a random
// delay, unique ones at once, QU and legacy unicast by unicast, known
// answers suppressed, additional records with PTR answers, NSEC for types
// it lacks), re-announces TXT changes and says goodbye when stopped.
//
// Faults switches the safeguards off one by one, so the same responder can
// be wrong on purpose to test clients and checkers.
package advertise

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/mdns"
)

// Transport is what the responder needs of the packet layer; *mdns.Conn
// has it.
type Transport interface {
	Recv(ctx context.Context) (mdns.Packet, error)
	SendTo(msg []byte, ifIndex int, dst netip.AddrPort) error
	Interfaces() []net.Interface
	IPv4() bool
	IPv6() bool
}

// Config tunes a Responder. The zero value works.
type Config struct {
	Faults Faults
	// Rand returns a duration in [0, n) (default math/rand).
	Rand func(n time.Duration) time.Duration
	// InterfaceAddrs lists the addresses to publish on an interface when
	// the service has none of its own (default: the interface's own).
	InterfaceAddrs func(ifi net.Interface) []netip.Addr
}

// Kind names what a responder did.
type Kind string

const (
	Probing    Kind = "probing"
	Conflict   Kind = "conflict"
	Renamed    Kind = "renamed"
	Announced  Kind = "announced"
	Answered   Kind = "answered"
	TXTUpdated Kind = "txt-updated"
	Defended   Kind = "defended"
	RateLimit  Kind = "rate-limited"
	Goodbye    Kind = "goodbye"
)

// Event is one thing the responder did, for people and logs.
type Event struct {
	Kind      Kind
	At        time.Time
	Name      string // the instance name at that moment (presentation form)
	Detail    string
	From      netip.AddrPort // answered, conflict: who asked or who conflicted
	Interface string
	Questions []string // answered: "NAME TYPE"
	Records   []string // answered: "TYPE NAME" of each answer and additional
	Unicast   bool     // answered by unicast (QU or legacy)
	Legacy    bool     // a legacy unicast query (source port not 5353)
}

// Responder publishes one service.
type Responder struct {
	tr  Transport
	cfg Config

	mu      sync.Mutex
	svc     Service
	txtNew  chan struct{}
	pending []byte

	conflicts []time.Time
	lastMC    map[mcKey]time.Time
	delayed   map[int]*pendingResponse
}

type mcKey struct {
	ifIndex int
	v6      bool
	name    string
	rrtype  uint16
}

type pendingResponse struct {
	at     time.Time
	answer []dns.RR
	extra  []dns.RR
	ev     Event
}

// New returns a Responder for svc on tr.
func New(tr Transport, svc Service, cfg Config) *Responder {
	if cfg.Rand == nil {
		cfg.Rand = func(n time.Duration) time.Duration {
			if n <= 0 {
				return 0
			}
			return rand.N(n)
		}
	}
	if cfg.InterfaceAddrs == nil {
		cfg.InterfaceAddrs = InterfaceAddrs
	}
	return &Responder{tr: tr, cfg: cfg, svc: svc, txtNew: make(chan struct{}, 1), lastMC: map[mcKey]time.Time{}, delayed: map[int]*pendingResponse{}}
}

// InterfaceAddrs returns the unicast addresses of an interface, IPv6
// link-local ones with the interface as zone.
func InterfaceAddrs(ifi net.Interface) []netip.Addr {
	as, err := ifi.Addrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range as {
		pn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(pn.IP)
		if !ok || ip.IsLoopback() || ip.IsMulticast() {
			continue
		}
		ip = ip.Unmap()
		if ip.Is6() && ip.IsLinkLocalUnicast() {
			ip = ip.WithZone(ifi.Name)
		}
		out = append(out, ip)
	}
	return out
}

// SetTXT replaces the TXT RDATA; a running responder announces it twice
// with the cache-flush bit. Safe from any goroutine.
func (r *Responder) SetTXT(rdata []byte) {
	r.mu.Lock()
	r.pending = append([]byte{}, rdata...)
	r.mu.Unlock()
	select {
	case r.txtNew <- struct{}{}:
	default:
	}
}

// Service returns the service as currently published (its instance name
// may have changed after conflicts).
func (r *Responder) Service() Service {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.svc
}

func (r *Responder) addrsFor(ifi net.Interface) []netip.Addr {
	if len(r.svc.Addrs) > 0 {
		return r.svc.Addrs
	}
	var out []netip.Addr
	for _, a := range r.cfg.InterfaceAddrs(ifi) {
		if (a.Is4() && r.tr.IPv4()) || (a.Is6() && r.tr.IPv6()) {
			out = append(out, a)
		}
	}
	return out
}

func (r *Responder) recordsFor(ifIndex int) *records {
	for _, ifi := range r.tr.Interfaces() {
		if ifi.Index == ifIndex {
			return build(&r.svc, r.addrsFor(ifi), r.cfg.Faults)
		}
	}
	return build(&r.svc, r.svc.Addrs, r.cfg.Faults)
}

// Run publishes the service until ctx ends, then says goodbye (unless
// Faults.NoGoodbye). fn gets every event on Run's goroutine.
func (r *Responder) Run(ctx context.Context, fn func(Event) error) error {
	pkts := make(chan mdns.Packet, 64)
	rctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			p, err := r.tr.Recv(rctx)
			if err != nil {
				close(pkts)
				return
			}
			select {
			case pkts <- p:
			case <-rctx.Done():
				close(pkts)
				return
			}
		}
	}()
	defer func() { stop(); wg.Wait() }()

	err := r.run(ctx, pkts, fn)
	if ctx.Err() != nil && !r.cfg.Faults.NoGoodbye {
		r.goodbye()
		if ferr := fn(Event{Kind: Goodbye, At: time.Now(), Name: r.svc.instanceName(), Detail: "records sent with TTL 0"}); ferr != nil && err == nil {
			err = ferr
		}
	}
	return err
}

func (r *Responder) emit(fn func(Event) error, ev Event) error {
	ev.At = time.Now()
	if ev.Name == "" {
		ev.Name = r.svc.instanceName()
	}
	return fn(ev)
}

// run is the state machine: probe, announce, then answer.
func (r *Responder) run(ctx context.Context, pkts <-chan mdns.Packet, fn func(Event) error) error {
	for {
		if !r.cfg.Faults.NoProbe {
			won, err := r.probe(ctx, pkts, fn)
			if err != nil || !won {
				return err
			}
		}
		if err := r.announce(ctx, pkts, fn, "announced"); err != nil {
			return err
		}
		reprobe, err := r.serve(ctx, pkts, fn)
		if err != nil || !reprobe {
			return err
		}
	}
}

// sleepServing waits d while answering (after probing) or watching for
// conflicts (while probing). It returns conflict=true when a packet
// conflicts with our names.
func (r *Responder) wait(ctx context.Context, pkts <-chan mdns.Packet, d time.Duration, probing bool, fn func(Event) error) (conflict, lost bool, err error) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, false, ctx.Err()
		case <-t.C:
			return false, false, nil
		case p, ok := <-pkts:
			if !ok {
				return false, false, fmt.Errorf("receive: connection closed")
			}
			m, perr := mdns.Parse(p.Raw)
			if perr != nil {
				continue
			}
			if probing {
				if c := r.conflictIn(m); c != "" {
					return true, false, r.emit(fn, Event{Kind: Conflict, From: p.Src, Interface: p.IfName, Detail: c})
				}
				if r.lostTieBreak(m) {
					return false, true, r.emit(fn, Event{Kind: Conflict, From: p.Src, Interface: p.IfName, Detail: "simultaneous probe with lexicographically later records (RFC 6762 §8.2); probing again in 1 s"})
				}
				continue
			}
			if err := r.handle(&p, m, fn); err != nil {
				return false, false, err
			}
		}
	}
}

// probe runs RFC 6762 §8.1 probing, renaming on conflicts. won is false
// only when ctx ended.
func (r *Responder) probe(ctx context.Context, pkts <-chan mdns.Packet, fn func(Event) error) (bool, error) {
	delay := r.cfg.Rand(250 * time.Millisecond)
	for {
		// Rate limit (§8.1): after 15 conflicts in 10 s, wait 5 s.
		now := time.Now()
		recent := r.conflicts[:0]
		for _, c := range r.conflicts {
			if now.Sub(c) < 10*time.Second {
				recent = append(recent, c)
			}
		}
		r.conflicts = recent
		if len(recent) >= 15 {
			if err := r.emit(fn, Event{Kind: RateLimit, Detail: "15 conflicts in 10 s: waiting 5 s before probing again (RFC 6762 §8.1)"}); err != nil {
				return false, err
			}
			delay = 5 * time.Second
		}
		if err := r.emit(fn, Event{Kind: Probing, Detail: "3 probes 250 ms apart (QU, type ANY, proposed records in the authority section)"}); err != nil {
			return false, err
		}
		conflict, lost, err := r.wait(ctx, pkts, delay, true, fn)
		for i := 0; i < 3 && err == nil && !conflict && !lost; i++ {
			r.sendProbe()
			conflict, lost, err = r.wait(ctx, pkts, 250*time.Millisecond, true, fn)
		}
		if err != nil {
			return false, err
		}
		switch {
		case lost:
			delay = time.Second
		case conflict:
			r.conflicts = append(r.conflicts, time.Now())
			old := r.svc.instanceName()
			r.rename()
			if err := r.emit(fn, Event{Kind: Renamed, Detail: fmt.Sprintf("%s is taken; now %s", mdns.EscapeText(old), mdns.EscapeText(r.svc.instanceName()))}); err != nil {
				return false, err
			}
			delay = 0
		default:
			return true, nil
		}
	}
}

// rename turns "Name" into "Name (2)", "Name (2)" into "Name (3)" (RFC 6763 §13.3 style).
func (r *Responder) rename() {
	r.mu.Lock()
	defer r.mu.Unlock()
	base, n := r.svc.Instance, 1
	if i := strings.LastIndex(base, " ("); i >= 0 && strings.HasSuffix(base, ")") {
		if _, err := fmt.Sscanf(base[i+2:len(base)-1], "%d", &n); err == nil {
			base = base[:i]
		} else {
			n = 1
		}
	}
	r.svc.Instance = fmt.Sprintf("%s (%d)", base, n+1)
}

func (r *Responder) sendProbe() {
	for _, ifi := range r.tr.Interfaces() {
		recs := r.recordsFor(ifi.Index)
		m := new(dns.Msg)
		m.Authoritative = r.cfg.Faults.AAInQueries
		inst := r.svc.instanceName()
		m.Question = []dns.Question{{Name: inst, Qtype: dns.TypeANY, Qclass: dns.ClassINET | 1<<15}}
		ns := []dns.RR{clearFlush(recs.srv), clearFlush(recs.txt)}
		if len(recs.addrs) > 0 {
			m.Question = append(m.Question, dns.Question{Name: dns.Fqdn(r.svc.Host), Qtype: dns.TypeANY, Qclass: dns.ClassINET | 1<<15})
			for _, a := range recs.addrs {
				ns = append(ns, clearFlush(a))
			}
		}
		m.Ns = ns
		r.multicast(ifi.Index, m)
	}
}

func clearFlush(rr dns.RR) dns.RR {
	c := dns.Copy(rr)
	c.Header().Class &^= 1 << 15
	return c
}

// conflictIn reports a response carrying a record for one of our unique
// names with data other than ours (RFC 6762 §8.1, §9).
func (r *Responder) conflictIn(m *mdns.Message) string {
	if !m.Response() {
		return ""
	}
	inst, host := strings.ToLower(r.svc.instanceName()), strings.ToLower(dns.Fqdn(r.svc.Host))
	for _, ifi := range r.tr.Interfaces() {
		ours := r.recordsFor(ifi.Index).unique()
		for _, sec := range [][]mdns.Record{m.Answers, m.Additional} {
			for i := range sec {
				rec := &sec[i]
				n := strings.ToLower(rec.Name)
				if n != inst && n != host {
					continue
				}
				if rec.TTL == 0 || rec.Type == dns.TypeNSEC {
					continue
				}
				same := false
				for _, o := range ours {
					if o.Header().Rrtype == rec.Type && strings.EqualFold(o.Header().Name, rec.Name) && sameRData(o, rec) {
						same = true
					}
				}
				if n == host && (rec.Type == dns.TypeA || rec.Type == dns.TypeAAAA) && len(r.svc.Addrs) == 0 {
					// Address records for our host from another of our
					// interfaces or families are ours too.
					same = same || r.isOwnAddr(rec)
				}
				if !same {
					return fmt.Sprintf("%s %s is in use with other data", mdns.EscapeText(rec.Name), mdns.TypeString(rec.Type))
				}
			}
		}
	}
	return ""
}

func (r *Responder) isOwnAddr(rec *mdns.Record) bool {
	a, ok := rec.Addr()
	if !ok {
		return false
	}
	for _, ifi := range r.tr.Interfaces() {
		for _, o := range r.cfg.InterfaceAddrs(ifi) {
			if o.WithZone("") == a {
				return true
			}
		}
	}
	return false
}

func sameRData(ours dns.RR, theirs *mdns.Record) bool {
	switch o := ours.(type) {
	case *dns.PTR:
		// Names in their data may be compressed: compare decoded.
		t, ok := theirs.Target()
		return ok && strings.EqualFold(t, o.Ptr)
	case *dns.SRV:
		_, _, port, target, ok := theirs.SRV()
		return ok && port == o.Port && strings.EqualFold(target, o.Target)
	case *dns.A, *dns.AAAA:
		a, ok := theirs.Addr()
		var oa netip.Addr
		if x, is := o.(*dns.A); is {
			oa, _ = netip.AddrFromSlice(x.A)
		} else {
			oa, _ = netip.AddrFromSlice(o.(*dns.AAAA).AAAA)
		}
		return ok && a == oa.Unmap()
	default:
		return string(rdataBytes(ours)) == string(theirs.Data)
	}
}

// lostTieBreak: a probe from another host for our instance name whose
// authority records are lexicographically later than ours (§8.2).
func (r *Responder) lostTieBreak(m *mdns.Message) bool {
	if m.Response() || len(m.Authority) == 0 {
		return false
	}
	inst := strings.ToLower(r.svc.instanceName())
	asked := false
	for _, q := range m.Questions {
		if strings.ToLower(q.Name) == inst {
			asked = true
		}
	}
	if !asked {
		return false
	}
	var theirs []dns.RR
	for i := range m.Authority {
		a := &m.Authority[i]
		if strings.ToLower(a.Name) != inst {
			continue
		}
		rr := &dns.RFC3597{Hdr: dns.RR_Header{Name: a.Name, Rrtype: a.Type, Class: a.Class, Ttl: a.TTL}}
		rr.Rdata = fmt.Sprintf("%x", canonicalRData(a))
		theirs = append(theirs, rr)
	}
	if len(theirs) == 0 {
		return false
	}
	recs := r.recordsFor(0)
	ours := []dns.RR{clearFlush(recs.srv), clearFlush(recs.txt)}
	return compareProbes(ours, theirs) < 0
}

// canonicalRData returns a record's data with names uncompressed, for the
// tie-break comparison.
func canonicalRData(a *mdns.Record) []byte {
	if rr := a.RR(); rr != nil {
		return rdataBytes(rr)
	}
	return a.Data
}

// announce sends all records twice, one second apart (RFC 6762 §8.3).
func (r *Responder) announce(ctx context.Context, pkts <-chan mdns.Packet, fn func(Event) error, what string) error {
	gap := time.Second
	if r.cfg.Faults.FastAnnounce {
		gap = 200 * time.Millisecond
	}
	for i := 1; i <= 2; i++ {
		for _, ifi := range r.tr.Interfaces() {
			m := r.response()
			m.Answer = r.recordsFor(ifi.Index).all()
			r.multicast(ifi.Index, m)
		}
		if err := r.emit(fn, Event{Kind: Announced, Detail: fmt.Sprintf("%s (%d of 2)", what, i)}); err != nil {
			return err
		}
		if i == 1 {
			if _, _, err := r.wait(ctx, pkts, gap, false, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *Responder) response() *dns.Msg {
	m := new(dns.Msg)
	m.Response, m.Authoritative = true, true
	return m
}

// multicast sends m to the group on an interface, on each open family.
func (r *Responder) multicast(ifIndex int, m *dns.Msg) {
	m.Compress = true
	b, err := m.Pack()
	if err != nil {
		return
	}
	now := time.Now()
	for _, v6 := range []bool{false, true} {
		if (v6 && !r.tr.IPv6()) || (!v6 && !r.tr.IPv4()) {
			continue
		}
		dst := netip.AddrPortFrom(mdns.GroupV4, mdns.Port)
		if v6 {
			dst = netip.AddrPortFrom(mdns.GroupV6, mdns.Port)
		}
		_ = r.tr.SendTo(b, ifIndex, dst)
		if m.Response {
			for _, rr := range m.Answer {
				r.lastMC[mcKey{ifIndex, v6, strings.ToLower(rr.Header().Name), rr.Header().Rrtype}] = now
			}
		}
	}
}

// serve answers queries until ctx ends. reprobe is true when a conflicting
// response means our records must be probed again (§9).
func (r *Responder) serve(ctx context.Context, pkts <-chan mdns.Packet, fn func(Event) error) (reprobe bool, err error) {
	for {
		next := time.Hour
		for _, d := range r.delayed {
			next = min(next, time.Until(d.at))
		}
		select {
		case <-r.txtNew:
			r.mu.Lock()
			r.svc.TXT = r.pending
			r.mu.Unlock()
			if err := r.emit(fn, Event{Kind: TXTUpdated, Detail: "new TXT: " + mdns.TXTText(r.svc.TXT)}); err != nil {
				return false, err
			}
			if err := r.announce(ctx, pkts, fn, "TXT update announced"); err != nil {
				return false, err
			}
			continue
		default:
		}
		t := time.NewTimer(max(next, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return false, ctx.Err()
		case <-r.txtNew:
			t.Stop()
			r.txtNew <- struct{}{}
		case <-t.C:
			if err := r.flushDelayed(fn); err != nil {
				return false, err
			}
		case p, ok := <-pkts:
			t.Stop()
			if !ok {
				return false, fmt.Errorf("receive: connection closed")
			}
			m, perr := mdns.Parse(p.Raw)
			if perr != nil {
				continue
			}
			if c := r.conflictIn(m); c != "" {
				if err := r.emit(fn, Event{Kind: Conflict, From: p.Src, Interface: p.IfName, Detail: c + "; probing again (RFC 6762 §9)"}); err != nil {
					return false, err
				}
				return true, nil
			}
			if err := r.handle(&p, m, fn); err != nil {
				return false, err
			}
		}
	}
}

func (r *Responder) flushDelayed(fn func(Event) error) error {
	now := time.Now()
	for idx, d := range r.delayed {
		if d.at.After(now) {
			continue
		}
		delete(r.delayed, idx)
		m := r.response()
		m.Answer, m.Extra = d.answer, d.extra
		r.multicast(idx, m)
		if err := r.emit(fn, d.ev); err != nil {
			return err
		}
	}
	return nil
}

// handle answers one query (RFC 6762 §6).
func (r *Responder) handle(p *mdns.Packet, m *mdns.Message, fn func(Event) error) error {
	if m.Response() || m.Opcode() != 0 || len(m.Questions) == 0 {
		return nil
	}
	legacy := p.Src.Port() != mdns.Port
	recs := r.recordsFor(p.IfIndex)
	inst := strings.ToLower(r.svc.instanceName())
	host := strings.ToLower(dns.Fqdn(r.svc.Host))
	var answer, extra []dns.RR
	shared, unicast := false, legacy
	var qs []string
	isProbe := len(m.Authority) > 0
	for _, q := range m.Questions {
		n := strings.ToLower(q.Name)
		any := q.Type == dns.TypeANY
		matched := false
		for _, ptr := range recs.ptr {
			if strings.ToLower(ptr.Header().Name) == n && (any || q.Type == dns.TypePTR) {
				answer = append(answer, ptr)
				shared, matched = true, true
				if ptr.Header().Name != servicesName && !r.cfg.Faults.NoAdditionals {
					extra = append(extra, recs.srv, recs.txt)
					extra = append(extra, recs.addrs...)
				}
			}
		}
		switch n {
		case inst:
			matched = true
			if any || q.Type == dns.TypeSRV {
				answer = append(answer, recs.srv)
				extra = append(extra, recs.addrs...)
			}
			if any || q.Type == dns.TypeTXT {
				answer = append(answer, recs.txt)
			}
			if !any && q.Type != dns.TypeSRV && q.Type != dns.TypeTXT {
				answer = append(answer, nsec(r.svc.instanceName(), recs.txt.Header().Ttl, []uint16{dns.TypeTXT, dns.TypeSRV}, !r.cfg.Faults.NoCacheFlush))
			}
		case host:
			matched = true
			has4, has6 := false, false
			for _, a := range recs.addrs {
				if a.Header().Rrtype == dns.TypeA {
					has4 = true
				} else {
					has6 = true
				}
				if any || q.Type == a.Header().Rrtype {
					answer = append(answer, a)
				}
			}
			if !any && ((q.Type == dns.TypeA && !has4) || (q.Type == dns.TypeAAAA && !has6) || (q.Type != dns.TypeA && q.Type != dns.TypeAAAA)) {
				var types []uint16
				if has4 {
					types = append(types, dns.TypeA)
				}
				if has6 {
					types = append(types, dns.TypeAAAA)
				}
				answer = append(answer, nsec(dns.Fqdn(r.svc.Host), recs.srv.Header().Ttl, types, !r.cfg.Faults.NoCacheFlush))
			}
		}
		if matched {
			qs = append(qs, mdns.EscapeText(q.Name)+" "+mdns.TypeString(q.Type))
			if q.QU {
				unicast = true
			}
		}
	}
	if len(answer) == 0 {
		return nil
	}
	// Known-answer suppression (§7.1): drop what the querier already holds
	// with at least half our TTL.
	answer = suppress(answer, m.Answers)
	extra = dedupe(suppress(extra, m.Answers), answer)
	if len(answer) == 0 {
		return nil
	}
	if isProbe && !legacy {
		// Someone probes for our name: defend it at once (§8.1).
		shared = false
	}
	ev := Event{Kind: Answered, From: p.Src, Interface: p.IfName, Questions: qs, Unicast: unicast, Legacy: legacy}
	for _, rr := range answer {
		ev.Records = append(ev.Records, mdns.TypeString(rr.Header().Rrtype)+" "+mdns.EscapeText(rr.Header().Name))
	}
	for _, rr := range extra {
		ev.Records = append(ev.Records, "+"+mdns.TypeString(rr.Header().Rrtype)+" "+mdns.EscapeText(rr.Header().Name))
	}
	if isProbe {
		ev.Kind = Defended
		ev.Detail = "answered a probe for our name"
	}
	resp := r.response()
	if legacy {
		// §6.7: unicast to the querier's port, its ID and question echoed,
		// no cache-flush bit, TTL at most 10 s.
		resp.Id = m.ID
		for _, q := range m.Questions {
			resp.Question = append(resp.Question, dns.Question{Name: q.Name, Qtype: q.Type, Qclass: q.Class})
		}
		resp.Answer = legacyRRs(answer, r.cfg.Faults.LegacyFlush)
		resp.Extra = legacyRRs(extra, r.cfg.Faults.LegacyFlush)
		return r.unicast(p, resp, ev, fn)
	}
	if unicast {
		resp.Answer, resp.Extra = answer, extra
		return r.unicast(p, resp, ev, fn)
	}
	// §6: do not multicast a record that went out on this link less than a
	// second ago (probe defenses excepted).
	if !isProbe {
		answer = r.notRecent(p, answer)
		if len(answer) == 0 {
			return nil
		}
	}
	if shared {
		// Shared answers wait 20-120 ms, aggregated per interface.
		d := r.delayed[p.IfIndex]
		if d == nil {
			d = &pendingResponse{at: time.Now().Add(20*time.Millisecond + r.cfg.Rand(100*time.Millisecond)), ev: ev}
			r.delayed[p.IfIndex] = d
		} else {
			d.ev.Questions = append(d.ev.Questions, ev.Questions...)
			d.ev.Records = append(d.ev.Records, ev.Records...)
		}
		d.answer = dedupe(append(d.answer, answer...), nil)
		d.extra = dedupe(append(d.extra, extra...), d.answer)
		return nil
	}
	resp.Answer, resp.Extra = answer, extra
	r.multicast(p.IfIndex, resp)
	return r.emit(fn, ev)
}

func (r *Responder) unicast(p *mdns.Packet, m *dns.Msg, ev Event, fn func(Event) error) error {
	m.Compress = true
	b, err := m.Pack()
	if err != nil {
		return nil
	}
	_ = r.tr.SendTo(b, p.IfIndex, p.Src)
	return r.emit(fn, ev)
}

func (r *Responder) notRecent(p *mdns.Packet, rs []dns.RR) []dns.RR {
	now := time.Now()
	v6 := p.Family() == 6
	var out []dns.RR
	for _, rr := range rs {
		if t, ok := r.lastMC[mcKey{p.IfIndex, v6, strings.ToLower(rr.Header().Name), rr.Header().Rrtype}]; ok && now.Sub(t) < time.Second {
			continue
		}
		out = append(out, rr)
	}
	return out
}

func legacyRRs(rs []dns.RR, keepFlush bool) []dns.RR {
	out := make([]dns.RR, 0, len(rs))
	for _, rr := range rs {
		c := dns.Copy(rr)
		if !keepFlush {
			c.Header().Class &^= 1 << 15
		}
		c.Header().Ttl = min(c.Header().Ttl, 10)
		out = append(out, c)
	}
	return out
}

// suppress drops records the query lists as known answers with at least
// half our TTL remaining.
func suppress(rs []dns.RR, known []mdns.Record) []dns.RR {
	var out []dns.RR
	for _, rr := range rs {
		drop := false
		for i := range known {
			k := &known[i]
			if k.Type == rr.Header().Rrtype && strings.EqualFold(k.Name, rr.Header().Name) && sameRData(rr, k) && k.TTL*2 >= rr.Header().Ttl {
				drop = true
			}
		}
		if !drop {
			out = append(out, rr)
		}
	}
	return out
}

// dedupe removes duplicates from rs and anything already in skip.
func dedupe(rs, skip []dns.RR) []dns.RR {
	var out []dns.RR
	seen := map[string]bool{}
	for _, rr := range skip {
		seen[rr.String()] = true
	}
	for _, rr := range rs {
		if k := rr.String(); !seen[k] {
			seen[k] = true
			out = append(out, rr)
		}
	}
	return out
}

// goodbye sends every record but the _services PTR with TTL 0 (§10.1).
func (r *Responder) goodbye() {
	for _, ifi := range r.tr.Interfaces() {
		m := r.response()
		for _, rr := range r.recordsFor(ifi.Index).all() {
			if rr.Header().Name == servicesName {
				continue // other services of this type may remain
			}
			m.Answer = append(m.Answer, withTTL(rr, 0))
		}
		r.multicast(ifi.Index, m)
	}
}
