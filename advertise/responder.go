// Package advertise publishes a DNS-SD service (RFC 6763) as a multicast DNS
// responder (RFC 6762): it probes for its names, resolves conflicts by
// renaming, announces, answers queries (shared records after a random
// delay, unique ones at once, QU and legacy unicast by unicast, known
// answers suppressed, additional records with PTR answers, NSEC for types
// it lacks), re-announces TXT changes and says goodbye when stopped.
//
// It sends through the mdns core, which refuses what the size rules forbid
// and reports every failed send; an event says "announced" only for packets
// that went out, and names each interface and family that failed. Events
// reach the caller through a bounded queue: a slow reader of events (a
// full pipe) never stops the responder from answering and defending its
// names; events it was too slow to take are counted.
//
// Faults switches the safeguards off one by one, so the same responder can
// be wrong on purpose to test clients and checkers.
package advertise

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/internal/outbox"
	"github.com/bonjourctl/bonjourctl/mdns"
)

// Link is what the responder needs of the mdns core; *mdns.Core has it.
type Link interface {
	Subscribe(name string, size int) *mdns.Sub
	Send(msg []byte, to mdns.Dest) error
	Interfaces() []net.Interface
	IPv4() bool
	IPv6() bool
	PayloadLimit() int
}

// Config tunes a Responder. The zero value works.
type Config struct {
	Faults Faults
	// Rand returns a duration in [0, n) (default math/rand).
	Rand func(n time.Duration) time.Duration
	// Started is when publishing was decided (the process's start). The
	// random delay before the first probe (0-250 ms, RFC 6762 §8.1)
	// counts from it, so the work of starting up (sockets, interfaces)
	// is spent inside the delay rather than added to it. Zero: the delay
	// counts from Run.
	Started time.Time
	// InterfaceAddrs lists the addresses to publish on an interface when
	// the service has none of its own (default: the interface's own).
	InterfaceAddrs func(ifi net.Interface) []netip.Addr
	// Events is the length of the event queue (default 4096).
	Events int
	// YieldHost says the host name is this machine's own (not given with
	// --host or --ip): when another mDNS stack on this host (avahi-daemon,
	// mDNSResponder) publishes or probes for it, the responder publishes
	// the service records only, with the SRV pointing at that name, and
	// never defends the name against that stack, which would make it
	// rename the machine.
	YieldHost bool
	// LocalStack describes the other mDNS stacks on this host ("avahi-daemon
	// (pid 412)"), for events; it returns "" when it knows of none. Nil:
	// unknown.
	LocalStack func() string
	// Neighbor returns a neighbor's link-layer address, for conflict
	// reports (default mdns.HardwareAddr).
	Neighbor func(ifIndex int, a netip.Addr) (net.HardwareAddr, bool)
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
	// SendFailed: a packet did not go out on some interface or family
	// (or was refused by the size rules); Detail says which and why.
	SendFailed Kind = "send-failed"
	// HostShared: another mDNS stack on this host publishes the host
	// name; from now on only the service records are published.
	HostShared Kind = "host-shared"
	// LinkChanged: an interface went down or came up or changed
	// addresses (Detail); after all but a link going down the names are
	// probed and announced again (RFC 6762 §8.3).
	LinkChanged Kind = "link"
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
	Err       error    // send-failed: the error
	// Source says what sent a conflicting packet: "another host (MAC
	// 02:88:00:00:00:03)", "another mDNS stack on this host (avahi-daemon
	// (pid 412))".
	Source string
}

// Stats counts what the responder could not do.
type Stats struct {
	SendErrors    int
	LastSendError error
	EventsDropped uint64 // events the caller was too slow to take
	PacketsLost   uint64 // packets the responder was too slow to take
}

// Responder publishes one service.
type Responder struct {
	link Link
	cfg  Config

	mu      sync.Mutex
	svc     Service
	txtNew  chan struct{}
	pending []byte
	updates int // SetTXT calls since the last applied update
	stats   Stats

	box        *outbox.Box[Event]
	sub        *mdns.Sub
	conflicts  []time.Time
	lastMC     map[mcKey]time.Time
	delayed    map[int]*pendingResponse
	hostShared bool // another stack on this host owns the host name
	probed     bool // the first probe series has begun (its delay counted from Config.Started)
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

// New returns a Responder for svc on link.
func New(link Link, svc Service, cfg Config) *Responder {
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
	if cfg.Neighbor == nil {
		cfg.Neighbor = mdns.HardwareAddr
	}
	return &Responder{link: link, cfg: cfg, svc: svc, txtNew: make(chan struct{}, 1), lastMC: map[mcKey]time.Time{}, delayed: map[int]*pendingResponse{}}
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
// with the cache-flush bit. Safe from any goroutine and never blocks;
// updates that arrive faster than they can be announced are merged, the
// latest winning.
func (r *Responder) SetTXT(rdata []byte) {
	r.mu.Lock()
	r.pending = append([]byte{}, rdata...)
	r.updates++
	r.mu.Unlock()
	select {
	case r.txtNew <- struct{}{}:
	default: // one is already signalled; it will read the latest
	}
}

// Service returns the service as currently published (its instance name
// may have changed after conflicts).
func (r *Responder) Service() Service {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.svc
}

// Stats returns the counters so far. Safe at any time.
func (r *Responder) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	if r.box != nil {
		s.EventsDropped = r.box.Dropped()
	}
	if r.sub != nil {
		s.PacketsLost = r.sub.Dropped()
	}
	return s
}

func (r *Responder) addrsFor(ifi net.Interface) []netip.Addr {
	if len(r.svc.Addrs) > 0 {
		return r.svc.Addrs
	}
	var out []netip.Addr
	for _, a := range r.cfg.InterfaceAddrs(ifi) {
		if (a.Is4() && r.link.IPv4()) || (a.Is6() && r.link.IPv6()) {
			out = append(out, a)
		}
	}
	return out
}

func (r *Responder) recordsFor(ifIndex int) *records {
	if r.hostShared {
		return build(&r.svc, nil, r.cfg.Faults) // the host's addresses are the other stack's
	}
	for _, ifi := range r.link.Interfaces() {
		if ifi.Index == ifIndex {
			return build(&r.svc, r.addrsFor(ifi), r.cfg.Faults)
		}
	}
	return build(&r.svc, r.svc.Addrs, r.cfg.Faults)
}

// Check reports whether the service's records can go on the wire at all:
// each must fit in one packet of at most 9000 bytes (RFC 6762 §17), and
// the names must be valid. Run calls it first.
func (r *Responder) Check() error {
	for _, ifi := range r.link.Interfaces() {
		recs := r.recordsFor(ifi.Index)
		for _, rr := range recs.all() {
			names := []string{rr.Header().Name}
			switch v := rr.(type) {
			case *dns.SRV:
				names = append(names, v.Target)
			case *dns.PTR:
				names = append(names, v.Ptr)
			}
			for _, n := range names {
				// miekg/dns packs names over 255 bytes without a word.
				if _, ok := dns.IsDomainName(n); !ok {
					return fmt.Errorf("the %s record of %s cannot be sent: %s is not a valid DNS name (labels of at most 63 bytes, at most 255 bytes in all on the wire, RFC 1035 §3.1)", mdns.TypeString(rr.Header().Rrtype), mdns.EscapeText(rr.Header().Name), mdns.EscapeText(n))
				}
			}
			m := r.response()
			m.Answer = []dns.RR{rr}
			b, err := m.Pack()
			if err != nil {
				return fmt.Errorf("the %s record of %s cannot be packed: %v", mdns.TypeString(rr.Header().Rrtype), mdns.EscapeText(rr.Header().Name), err)
			}
			if err := mdns.CheckSize(b, mdns.MaxMessage, 6); err != nil {
				return fmt.Errorf("the %s record of %s cannot be sent: %w", mdns.TypeString(rr.Header().Rrtype), mdns.EscapeText(rr.Header().Name), err)
			}
		}
	}
	return nil
}

// Run publishes the service until ctx ends, then says goodbye (unless
// Faults.NoGoodbye). fn gets every event, in order, on a goroutine of its
// own (see the package comment). Run returns ctx.Err(), fn's first error,
// or why the service cannot be published.
func (r *Responder) Run(ctx context.Context, fn func(Event) error) (err error) {
	if err := r.Check(); err != nil {
		return err
	}
	r.mu.Lock()
	r.sub = r.link.Subscribe("advertise", 0)
	r.box = outbox.Start(r.cfg.Events, fn)
	r.mu.Unlock()
	defer func() {
		r.sub.Close()
		if ferr := r.box.Close(); ferr != nil && (err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			err = ferr
		}
	}()
	err = r.run(ctx)
	if ctx.Err() != nil && !r.cfg.Faults.NoGoodbye {
		if r.goodbye() {
			r.emit(Event{Kind: Goodbye, Detail: "records sent with TTL 0"})
		}
	}
	return err
}

func (r *Responder) emit(ev Event) {
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	if ev.Name == "" {
		ev.Name = r.svc.instanceName()
	}
	r.box.Put(ev)
}

func clearFlush(rr dns.RR) dns.RR {
	c := dns.Copy(rr)
	c.Header().Class &^= 1 << 15
	return c
}

func (r *Responder) isOwnAddr(rec *mdns.Record) bool {
	a, ok := rec.Addr()
	if !ok {
		return false
	}
	for _, ifi := range r.link.Interfaces() {
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
		return ok && mdns.EqualNames(t, o.Ptr)
	case *dns.SRV:
		_, _, port, target, ok := theirs.SRV()
		return ok && port == o.Port && mdns.EqualNames(target, o.Target)
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
	inst := r.svc.instanceName()
	asked := false
	for _, q := range m.Questions {
		if mdns.EqualNames(q.Name, inst) {
			asked = true
		}
	}
	if !asked {
		return false
	}
	var theirs []dns.RR
	for i := range m.Authority {
		a := &m.Authority[i]
		if !mdns.EqualNames(a.Name, inst) {
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

func (r *Responder) response() *dns.Msg {
	m := new(dns.Msg)
	m.Response, m.Authoritative = true, true
	return m
}

func (r *Responder) count(err error) {
	r.mu.Lock()
	r.stats.SendErrors++
	r.stats.LastSendError = err
	r.mu.Unlock()
}

func (r *Responder) sendFailed(what string, err error) {
	r.count(err)
	r.emit(Event{Kind: SendFailed, Detail: what + " not sent: " + err.Error(), Err: err})
}

// multicast sends m to the group on an interface, on each open family,
// split into packets that fit the link (RFC 6762 §17). Records are noted
// as multicast (for the one-second rule, §6) only where they went out.
func (r *Responder) multicast(ifIndex int, m *dns.Msg) error {
	msgs, err := split(m, r.link.PayloadLimit())
	if err != nil {
		return err
	}
	var errs []error
	for _, pk := range msgs {
		err := r.link.Send(pk.b, mdns.Dest{IfIndex: ifIndex})
		if err != nil {
			errs = append(errs, err)
		}
		if !m.Response {
			continue
		}
		failedFam := map[int]bool{}
		var se *mdns.SendErrors
		if errors.As(err, &se) {
			for _, f := range se.Failed {
				failedFam[f.Family] = true
			}
		} else if err != nil {
			continue
		}
		now := time.Now()
		for _, rr := range pk.records {
			for _, fam := range []int{4, 6} {
				if !failedFam[fam] {
					r.lastMC[mcKey{ifIndex, fam == 6, mdns.NameKey(rr.Header().Name), rr.Header().Rrtype}] = now
				}
			}
		}
	}
	return errors.Join(errs...)
}

func (r *Responder) flushDelayed() {
	now := time.Now()
	for idx, d := range r.delayed {
		if d.at.After(now) {
			continue
		}
		delete(r.delayed, idx)
		m := r.response()
		m.Answer, m.Extra = d.answer, d.extra
		if err := r.multicast(idx, m); err != nil {
			r.sendFailed("answer to "+strings.Join(d.ev.Questions, ", "), err)
			var se *mdns.SendErrors
			if !errors.As(err, &se) || se.Sent == 0 {
				continue
			}
		}
		r.emit(d.ev)
	}
}

// handle answers one query (RFC 6762 §6).
func (r *Responder) handle(p *mdns.Packet, m *mdns.Message) {
	if m.Response() || m.Opcode() != 0 || len(m.Questions) == 0 || p.Observed {
		return
	}
	legacy := p.Src.Port() != mdns.Port
	recs := r.recordsFor(p.IfIndex)
	inst := r.svc.instanceName()
	host := dns.Fqdn(r.svc.Host)
	var answer, extra []dns.RR
	shared, unicast := false, legacy
	var qs []string
	isProbe := len(m.Authority) > 0
	for _, q := range m.Questions {
		any := q.Type == dns.TypeANY
		matched := false
		for _, ptr := range recs.ptr {
			if mdns.EqualNames(ptr.Header().Name, q.Name) && (any || q.Type == dns.TypePTR) {
				answer = append(answer, ptr)
				shared, matched = true, true
				if ptr.Header().Name != servicesName && !r.cfg.Faults.NoAdditionals {
					extra = append(extra, recs.srv, recs.txt)
					extra = append(extra, recs.addrs...)
				}
			}
		}
		switch {
		case mdns.EqualNames(q.Name, inst):
			matched = true
			if any || q.Type == dns.TypeSRV {
				answer = append(answer, recs.srv)
				extra = append(extra, recs.addrs...)
			}
			if any || q.Type == dns.TypeTXT {
				answer = append(answer, recs.txt)
			}
			if !any && q.Type != dns.TypeSRV && q.Type != dns.TypeTXT {
				answer = append(answer, nsec(inst, recs.txt.Header().Ttl, []uint16{dns.TypeTXT, dns.TypeSRV}, !r.cfg.Faults.NoCacheFlush))
			}
		case !r.hostShared && mdns.EqualNames(q.Name, host):
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
				answer = append(answer, nsec(host, recs.srv.Header().Ttl, types, !r.cfg.Faults.NoCacheFlush))
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
		return
	}
	// Known-answer suppression (§7.1): drop what the querier already holds
	// with at least half our TTL.
	answer = suppress(answer, m.Answers)
	extra = dedupe(suppress(extra, m.Answers), answer)
	if len(answer) == 0 {
		return
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
		r.unicast(p, resp, ev)
		return
	}
	if unicast {
		resp.Answer, resp.Extra = answer, extra
		r.unicast(p, resp, ev)
		return
	}
	// §6: do not multicast a record that went out on this link less than a
	// second ago (probe defenses excepted).
	if !isProbe {
		answer = r.notRecent(p, answer)
		if len(answer) == 0 {
			return
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
		return
	}
	resp.Answer, resp.Extra = answer, extra
	if err := r.multicast(p.IfIndex, resp); err != nil {
		r.sendFailed("answer to "+strings.Join(qs, ", "), err)
		var se *mdns.SendErrors
		if !errors.As(err, &se) || se.Sent == 0 {
			return
		}
	}
	r.emit(ev)
}

// unicast answers a QU or legacy query to its source, split to fit the
// link like any response (a legacy reply that does not fit is sent as far
// as it goes, RFC 6762 §6.7 leaves truncation to the querier).
func (r *Responder) unicast(p *mdns.Packet, m *dns.Msg, ev Event) {
	msgs, err := split(m, r.link.PayloadLimit())
	if err == nil {
		for _, pk := range msgs {
			if serr := r.link.Send(pk.b, mdns.Dest{IfIndex: p.IfIndex, Addr: p.Src}); serr != nil {
				err = serr
			}
		}
	}
	if err != nil {
		r.sendFailed("unicast answer to "+p.Src.String(), err)
		return
	}
	r.emit(ev)
}

func (r *Responder) notRecent(p *mdns.Packet, rs []dns.RR) []dns.RR {
	now := time.Now()
	v6 := p.Family() == 6
	var out []dns.RR
	for _, rr := range rs {
		if t, ok := r.lastMC[mcKey{p.IfIndex, v6, mdns.NameKey(rr.Header().Name), rr.Header().Rrtype}]; ok && now.Sub(t) < time.Second {
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
			if k.Type == rr.Header().Rrtype && mdns.EqualNames(k.Name, rr.Header().Name) && sameRData(rr, k) && uint64(k.TTL)*2 >= uint64(rr.Header().Ttl) {
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

// goodbye sends every record but the _services PTR with TTL 0 (§10.1). It
// reports whether any packet went out; failures are reported as events.
func (r *Responder) goodbye() bool {
	sent := false
	for _, ifi := range r.link.Interfaces() {
		m := r.response()
		for _, rr := range r.recordsFor(ifi.Index).all() {
			if rr.Header().Name == servicesName {
				continue // other services of this type may remain
			}
			m.Answer = append(m.Answer, withTTL(rr, 0))
		}
		err := r.multicast(ifi.Index, m)
		var se *mdns.SendErrors
		if err == nil || (errors.As(err, &se) && se.Sent > 0) {
			sent = true
		}
		if err != nil {
			r.sendFailed("goodbye on "+ifi.Name, err)
		}
	}
	return sent
}
