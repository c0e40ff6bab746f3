// Package browse discovers DNS-SD services (RFC 6763) over multicast DNS
// (RFC 6762) and reports every change: instances added, updated (with a
// field-level diff) and removed (with the cause), each record with its
// provenance. It is built on the mdns packet layer: a continuous querier
// (§5.2), a bounded record cache (§10) and resolution of PTR to SRV, TXT
// and addresses.
//
// Events are delivered through a synchronous callback: if it blocks, the
// engine waits, so no event is ever dropped between the engine and its
// consumer.
package browse

import (
	"container/heap"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/txt"
)

// Transport is what the browser needs of the packet layer; *mdns.Conn has it.
type Transport interface {
	Recv(ctx context.Context) (mdns.Packet, error)
	Send(msg []byte, ifIndex int, ipv6 bool) error
	Interfaces() []net.Interface
	IPv4() bool
	IPv6() bool
}

// ServicesName is the DNS-SD service type enumeration name (RFC 6763 §9).
const ServicesName = "_services._dns-sd._udp.local."

// Config tunes a Browser. The zero value works.
type Config struct {
	// QU asks for unicast responses in the first query (RFC 6762 §5.4).
	QU bool
	// MaxRecords bounds the cache (default 200,000); MaxInstances bounds the
	// instances tracked (default 50,000). Beyond them the oldest go, counted
	// in Stats.
	MaxRecords, MaxInstances int
	// ResolveWait is how long an instance may stay incomplete (no SRV, TXT
	// or address yet) before it is reported as it is (default 1 s).
	ResolveWait time.Duration
	// Rand returns a duration in [0, n) for query jitter (default math/rand).
	Rand func(n time.Duration) time.Duration
}

// Stats counts what the browser did.
type Stats struct {
	Packets       int
	Malformed     int
	Queries       int
	Records       int
	Instances     int
	Evicted       uint64 // records evicted from a full cache
	InstancesShed uint64 // instances not tracked because the cap was reached
	SendErrors    int
	LastSendError error
}

// Browser runs DNS-SD browsing over a Transport.
type Browser struct {
	tr  Transport
	cfg Config

	cache     *cache
	types     map[string]*browsedType // lower-cased browse name (e.g. _p2p._tcp.local.)
	instances map[string]*instance    // lower-cased instance name
	byHost    map[string]map[string]bool
	tasks     taskHeap
	stats     Stats
	enumerate bool // follow _services._dns-sd._udp to browse every type
	onType    func(string) error
	resolve   []string // instance names to query SRV/TXT for
	lookupA   []string // host names to query A/AAAA for
}

type browsedType struct {
	name      string // as given, fqdn
	next      time.Duration
	enumerate bool
}

type instance struct {
	name      string // presentation form
	key       string
	firstSeen time.Time
	announced bool
	last      Service // without Records, to keep the cache small
	lastTTL   map[uint16]uint32
	retries   int
	cause     Cause // why its last PTR went
}

// New returns a Browser on tr.
func New(tr Transport, cfg Config) *Browser {
	if cfg.MaxRecords <= 0 {
		cfg.MaxRecords = 200000
	}
	if cfg.MaxInstances <= 0 {
		cfg.MaxInstances = 50000
	}
	if cfg.ResolveWait <= 0 {
		cfg.ResolveWait = time.Second
	}
	if cfg.Rand == nil {
		cfg.Rand = func(n time.Duration) time.Duration { return rand.N(n) }
	}
	return &Browser{
		tr: tr, cfg: cfg, cache: newCache(cfg.MaxRecords),
		types: map[string]*browsedType{}, instances: map[string]*instance{}, byHost: map[string]map[string]bool{},
	}
}

// Stats returns the counters so far. Call it after Run returns, or from the
// event callback (which runs on Run's goroutine).
func (b *Browser) Stats() Stats {
	s := b.stats
	s.Records, s.Instances, s.Evicted = len(b.cache.recs), len(b.instances), b.cache.evicted
	return s
}

// OnType sets a callback for every service type found by enumeration (with
// an empty service list given to Run). It runs on Run's goroutine.
func (b *Browser) OnType(fn func(serviceType string) error) { b.onType = fn }

// Run browses for each service (e.g. "_p2p._tcp", "_printer._sub._http._tcp"
// or a full name) until ctx ends, calling fn for every change. With no
// services it enumerates the types on the link and browses them all. fn runs
// on Run's goroutine; if it blocks, Run blocks. Run returns ctx.Err() or
// fn's first error.
func (b *Browser) Run(ctx context.Context, services []string, fn func(Event) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	now := time.Now()
	if len(services) == 0 {
		b.enumerate = true
		b.addType(now, ServicesName, true)
	}
	for _, s := range services {
		b.addType(now, fqdnService(s), false)
	}

	pkts := make(chan mdns.Packet)
	recvErr := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			p, err := b.tr.Recv(ctx)
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case pkts <- p:
			case <-ctx.Done():
				recvErr <- ctx.Err()
				return
			}
		}
	}()
	defer func() { cancel(); <-done }()

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now = time.Now()
		if err := b.runDue(now, fn); err != nil {
			return err
		}
		if d, ok := b.tasks.next(); ok {
			timer.Reset(max(time.Until(d), 0))
		} else {
			timer.Reset(time.Hour)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-recvErr:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		case p := <-pkts:
			if err := b.handle(time.Now(), &p, fn); err != nil {
				return err
			}
		case <-timer.C:
		}
	}
}

// fqdnService turns "_p2p._tcp" into "_p2p._tcp.local.".
func fqdnService(s string) string {
	s = strings.TrimSuffix(s, ".")
	if !strings.HasSuffix(strings.ToLower(s), ".local") {
		s += ".local"
	}
	return s + "."
}

func (b *Browser) addType(now time.Time, name string, enumerate bool) {
	k := lower(name)
	if _, ok := b.types[k]; ok {
		return
	}
	b.types[k] = &browsedType{name: name, next: time.Second, enumerate: enumerate}
	// RFC 6762 §5.2: the first query after a random delay in 20-120 ms,
	// so that hosts started together do not query together. We draw from
	// the lower part of that window (20-60 ms): still random, and a
	// person waiting at a terminal gets the answer sooner.
	b.tasks.push(task{at: now.Add(20*time.Millisecond + b.cfg.Rand(40*time.Millisecond)), kind: taskQuery, name: k})
}

// handle feeds one packet into the cache and reports what changed.
func (b *Browser) handle(now time.Time, p *mdns.Packet, fn func(Event) error) error {
	b.stats.Packets++
	m, err := mdns.Parse(p.Raw)
	if err != nil {
		b.stats.Malformed++
	}
	// RFC 6762 §18: ignore queries, and messages with a nonzero opcode or
	// rcode. A malformed message still contributes what parsed.
	if !m.Response() || m.Opcode() != 0 || m.Rcode() != 0 {
		return nil
	}
	dirty := map[string]bool{}
	for _, sec := range [][]mdns.Record{m.Answers, m.Additional, m.Authority} {
		for i := range sec {
			r := &sec[i]
			if r.Class != mdns.ClassIN {
				continue
			}
			switch r.Type {
			case mdns.TypePTR, mdns.TypeSRV, mdns.TypeTXT, mdns.TypeA, mdns.TypeAAAA:
			default:
				continue
			}
			if r.Type == mdns.TypePTR && b.types[lower(r.Name)] == nil {
				continue // a PTR for a type we do not browse
			}
			rec, flushed, evicted := b.cache.upsert(now, p, r)
			if rec == nil {
				continue
			}
			b.schedule(rec)
			for _, f := range flushed {
				b.schedule(f)
				b.touch(f, dirty, now)
			}
			if evicted != nil {
				b.touch(evicted, dirty, now)
			}
			b.touch(rec, dirty, now)
		}
	}
	return b.settle(now, dirty, fn)
}

// touch marks the instances a record belongs to.
func (b *Browser) touch(r *Record, dirty map[string]bool, now time.Time) {
	switch r.Type {
	case mdns.TypePTR:
		bt := b.types[r.key.name]
		if bt == nil {
			return
		}
		if bt.enumerate {
			if r.cause == "" {
				t := strings.TrimSuffix(r.Target, ".")
				if _, ok := b.types[lower(r.Target)]; !ok {
					b.addType(now, r.Target, false)
					if b.onType != nil {
						_ = b.onType(strings.TrimSuffix(t, ".local"))
					}
				}
			}
			return
		}
		k := lower(r.Target)
		in, ok := b.instances[k]
		if !ok && r.cause == "" {
			if len(b.instances) >= b.cfg.MaxInstances {
				b.stats.InstancesShed++
				return
			}
			in = &instance{name: r.Target, key: k, firstSeen: now}
			b.instances[k] = in
			b.tasks.push(task{at: now.Add(b.cfg.ResolveWait / 2), kind: taskResolveRetry, name: k})
			b.tasks.push(task{at: now.Add(b.cfg.ResolveWait), kind: taskResolveDeadline, name: k})
		}
		if in != nil && r.cause != "" {
			in.cause = r.cause
		}
		dirty[k] = true
	case mdns.TypeSRV, mdns.TypeTXT:
		if _, ok := b.instances[r.key.name]; ok {
			dirty[r.key.name] = true
		}
	case mdns.TypeA, mdns.TypeAAAA:
		for k := range b.byHost[r.key.name] {
			dirty[k] = true
		}
	}
}

// settle recomputes the dirty instances and emits events; it also queues
// resolution queries for what is missing.
func (b *Browser) settle(now time.Time, dirty map[string]bool, fn func(Event) error) error {
	keys := make([]string, 0, len(dirty))
	for k := range dirty {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		in := b.instances[k]
		if in == nil {
			continue
		}
		s, alive, cause := b.snapshot(now, in)
		if h := lower(s.Host); h != "" {
			if b.byHost[h] == nil {
				b.byHost[h] = map[string]bool{}
			}
			b.byHost[h][k] = true
		}
		if !alive {
			delete(b.instances, k)
			if h := lower(in.last.Host); h != "" {
				delete(b.byHost[h], k)
			}
			if in.announced {
				if err := fn(Event{Kind: Removed, At: now, Service: in.last, Cause: cause}); err != nil {
					return err
				}
			}
			continue
		}
		complete := s.Host != "" && s.TXTState != TXTMissing && len(s.Addrs) > 0
		if !in.announced {
			if !complete && now.Sub(in.firstSeen) < b.cfg.ResolveWait {
				b.wantResolve(in, &s)
				in.keep(s)
				continue
			}
			in.announced = true
			in.keep(s)
			if err := fn(Event{Kind: Added, At: now, Service: s}); err != nil {
				return err
			}
			continue
		}
		ch := diff(&in.last, &s, in.lastTTL)
		in.keep(s)
		if len(ch) > 0 {
			if err := fn(Event{Kind: Updated, At: now, Service: s, Changes: ch}); err != nil {
				return err
			}
		}
	}
	b.flushQueries(now)
	return nil
}

// keep remembers s as the instance's last snapshot, without its records.
func (in *instance) keep(s Service) {
	in.lastTTL = ttls(&s)
	s.Records = nil
	in.last = s
}

func (b *Browser) wantResolve(in *instance, s *Service) {
	if in.retries > 0 {
		return // already asked; a retry task is scheduled
	}
	in.retries++
	// Answers usually arrive as additional records with the PTR; ask
	// directly only for what is still missing.
	if s.Host == "" || s.TXTState == TXTMissing {
		b.resolve = append(b.resolve, in.name)
	}
	if s.Host != "" && len(s.Addrs) == 0 {
		b.lookupA = append(b.lookupA, s.Host)
	}
}

// snapshot builds the Service for an instance from the cache. alive is
// false once no PTR points to it; cause says why.
func (b *Browser) snapshot(now time.Time, in *instance) (s Service, alive bool, cause Cause) {
	s.Name = in.name
	s.Instance, s.Type, s.Domain, _ = splitInstance(in.name)
	for _, r := range b.cache.pointingTo(in.name) {
		if bt := b.types[r.key.name]; bt != nil && !bt.enumerate {
			// A record with a goodbye pending still counts until it is
			// removed one second later (RFC 6762 §10.1).
			alive = true
			s.Records = append(s.Records, *r)
		}
	}
	cause = in.cause
	if cause == "" {
		cause = CauseExpired
	}
	srv := latest(b.cache.lookup(in.name, mdns.TypeSRV))
	txtRec := latest(b.cache.lookup(in.name, mdns.TypeTXT))
	if srv != nil {
		s.Host, s.Port, s.Priority, s.Weight = srv.Target, srv.Port, srv.Priority, srv.Weight
		s.Records = append(s.Records, *srv)
		for _, typ := range []uint16{mdns.TypeA, mdns.TypeAAAA} {
			rs := b.cache.lookup(srv.Target, typ)
			for _, r := range rs {
				if !slices.Contains(s.Addrs, r.Addr) {
					s.Addrs = append(s.Addrs, r.Addr)
					s.Records = append(s.Records, *r)
				}
			}
		}
		slices.SortFunc(s.Addrs, func(a, b netip.Addr) int { return a.Compare(b) })
	}
	s.TXTState = txtState(nil, false)
	if txtRec != nil {
		s.TXTRaw = txtRec.Data
		s.TXTState = txtState(txtRec.Data, true)
		s.TXT, _ = txt.Parse(txtRec.Data)
		s.Records = append(s.Records, *txtRec)
	}
	return s, alive, cause
}

// latest picks the most recently received record, preferring those with
// no removal pending.
func latest(rs []*Record) *Record {
	var best *Record
	for _, r := range rs {
		switch {
		case best == nil:
			best = r
		case (best.cause != "") != (r.cause != ""):
			if r.cause == "" {
				best = r
			}
		case r.LastSeen.After(best.LastSeen):
			best = r
		}
	}
	return best
}

// flushQueries sends the resolution queries collected while settling.
func (b *Browser) flushQueries(now time.Time) {
	if len(b.resolve) == 0 && len(b.lookupA) == 0 {
		return
	}
	var qs []mdns.Question
	for _, n := range b.resolve {
		qs = append(qs, mdns.Question{Name: n, Type: mdns.TypeSRV}, mdns.Question{Name: n, Type: mdns.TypeTXT})
	}
	for _, h := range b.lookupA {
		qs = append(qs, mdns.Question{Name: h, Type: mdns.TypeA}, mdns.Question{Name: h, Type: mdns.TypeAAAA})
	}
	b.resolve, b.lookupA = b.resolve[:0], b.lookupA[:0]
	for len(qs) > 0 {
		n := min(len(qs), 40) // stay well inside one packet
		b.send(qs[:n], nil)
		qs = qs[n:]
	}
}

// send multicasts a query on every interface and family.
func (b *Browser) send(qs []mdns.Question, known []mdns.KnownAnswer) {
	msg, err := mdns.BuildQuery(qs, known)
	if err != nil {
		b.stats.SendErrors++
		b.stats.LastSendError = err
		return
	}
	b.stats.Queries++
	for _, ifi := range b.tr.Interfaces() {
		for _, v6 := range []bool{false, true} {
			if (v6 && !b.tr.IPv6()) || (!v6 && !b.tr.IPv4()) {
				continue
			}
			if err := b.tr.Send(msg, ifi.Index, v6); err != nil && !errors.Is(err, net.ErrClosed) {
				b.stats.SendErrors++
				b.stats.LastSendError = err
			}
		}
	}
}

// schedule queues expiry and the refresh queries of RFC 6762 §5.2 (at 80,
// 85, 90 and 95% of the TTL, plus up to 2% jitter) for a record.
func (b *Browser) schedule(r *Record) {
	b.tasks.push(task{at: r.expires, kind: taskExpire, rec: r, gen: r.gen})
	if r.cause != "" {
		return
	}
	b.scheduleRefresh(r, 0)
}

// refreshPoints are the fractions of a TTL at which a record in use is
// queried again (RFC 6762 §5.2). Only the next one is queued at a time.
var refreshPoints = [...]time.Duration{80, 85, 90, 95}

func (b *Browser) scheduleRefresh(r *Record, step int) {
	if step >= len(refreshPoints) {
		return
	}
	ttl := time.Duration(r.TTL) * time.Second
	at := r.LastSeen.Add(ttl*refreshPoints[step]/100 + b.cfg.Rand(ttl/50+1))
	b.tasks.push(task{at: at, kind: taskRefresh, rec: r, gen: r.gen, step: step})
}

// runDue runs every task whose time has come.
func (b *Browser) runDue(now time.Time, fn func(Event) error) error {
	dirty := map[string]bool{}
	var refresh []mdns.Question
	for {
		t, ok := b.tasks.popDue(now)
		if !ok {
			break
		}
		switch t.kind {
		case taskQuery:
			bt := b.types[t.name]
			if bt == nil {
				continue
			}
			b.send([]mdns.Question{{Name: bt.name, Type: mdns.TypePTR, QU: b.cfg.QU && bt.next == time.Second}}, b.knownAnswers(now, bt))
			b.tasks.push(task{at: now.Add(bt.next), kind: taskQuery, name: t.name})
			bt.next = min(bt.next*2, time.Hour)
		case taskExpire:
			if b.cache.recs[t.rec.key] != t.rec || t.rec.gen != t.gen {
				continue // refreshed since, or already gone
			}
			if t.rec.cause == "" {
				t.rec.cause = CauseExpired
			}
			b.cache.remove(t.rec)
			b.touch(t.rec, dirty, now)
		case taskRefresh:
			if b.cache.recs[t.rec.key] != t.rec || t.rec.gen != t.gen || !b.inUse(t.rec) {
				continue
			}
			refresh = append(refresh, mdns.Question{Name: t.rec.Name, Type: t.rec.Type})
			b.scheduleRefresh(t.rec, t.step+1)
		case taskResolveRetry:
			if in := b.instances[t.name]; in != nil && !in.announced {
				in.retries = 0 // ask once more for what is missing
				dirty[t.name] = true
			}
		case taskResolveDeadline:
			dirty[t.name] = true
		}
	}
	if len(refresh) > 0 {
		slices.SortFunc(refresh, func(a, c mdns.Question) int {
			return strings.Compare(a.Name+string(rune(a.Type)), c.Name+string(rune(c.Type)))
		})
		refresh = slices.CompactFunc(refresh, func(a, c mdns.Question) bool { return a.Name == c.Name && a.Type == c.Type })
		for len(refresh) > 0 {
			n := min(len(refresh), 40)
			b.send(refresh[:n], nil)
			refresh = refresh[n:]
		}
	}
	if len(dirty) == 0 {
		return nil
	}
	return b.settle(now, dirty, fn)
}

// inUse: the record belongs to a browsed type or a tracked instance.
func (b *Browser) inUse(r *Record) bool {
	switch r.Type {
	case mdns.TypePTR:
		return b.types[r.key.name] != nil
	case mdns.TypeSRV, mdns.TypeTXT:
		return b.instances[r.key.name] != nil
	default:
		return len(b.byHost[r.key.name]) > 0
	}
}

// knownAnswers lists the PTRs held for a type with more than half their TTL
// left (RFC 6762 §7.1), one per target.
func (b *Browser) knownAnswers(now time.Time, bt *browsedType) []mdns.KnownAnswer {
	var out []mdns.KnownAnswer
	seen := map[string]bool{}
	for _, r := range b.cache.lookup(bt.name, mdns.TypePTR) {
		rem := r.Remaining(now)
		if r.cause != "" || rem*2 <= r.TTL || seen[lower(r.Target)] {
			continue
		}
		seen[lower(r.Target)] = true
		out = append(out, mdns.KnownAnswer{Name: bt.name, Target: r.Target, TTL: rem})
		if len(out) >= 200 {
			break // the rest go unlisted rather than overflow the packet
		}
	}
	return out
}

type taskKind int

const (
	taskQuery taskKind = iota
	taskExpire
	taskRefresh
	taskResolveRetry
	taskResolveDeadline
)

type task struct {
	at   time.Time
	kind taskKind
	name string
	rec  *Record
	gen  int
	step int // refresh: index into refreshPoints
}

type taskHeap []task

func (h taskHeap) Len() int           { return len(h) }
func (h taskHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h taskHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *taskHeap) Push(x any)        { *h = append(*h, x.(task)) }
func (h *taskHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

func (h *taskHeap) push(t task) { heap.Push(h, t) }

func (h *taskHeap) next() (time.Time, bool) {
	if len(*h) == 0 {
		return time.Time{}, false
	}
	return (*h)[0].at, true
}

func (h *taskHeap) popDue(now time.Time) (task, bool) {
	if len(*h) == 0 || (*h)[0].at.After(now) {
		return task{}, false
	}
	return heap.Pop(h).(task), true
}
