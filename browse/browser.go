// Package browse discovers DNS-SD services (RFC 6763) over multicast DNS
// (RFC 6762) and reports every change: instances added, updated (with a
// field-level diff) and removed (with the cause), each record with its
// provenance. It is the querier of the mdns core: a continuous querier
// (§5.2), a bounded record cache (§10), resolution of PTR to SRV, TXT and
// addresses, one-instance resolution (Resolve) and one-shot questions
// (Ask) on the same schedule rules.
//
// The engine never waits for its consumer: events go through a bounded
// queue to the consumer's function on a goroutine of their own, and an
// event the consumer was too slow to take is counted (Stats.EventsDropped),
// so queries, refreshes and expiry stay on time whatever the output does.
package browse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/outbox"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/txt"
)

// Link is what the browser needs of the mdns core; *mdns.Core has it.
type Link interface {
	Subscribe(name string, size int) *mdns.Sub
	Send(msg []byte, to mdns.Dest) error
	Interfaces() []net.Interface
	PayloadLimit() int
}

// ServicesName is the DNS-SD service type enumeration name (RFC 6763 §9).
const ServicesName = "_services._dns-sd._udp.local."

// servicesKey is ServicesName as a name key (it is lower case already).
const servicesKey = ServicesName

// Config tunes a Browser. The zero value works.
type Config struct {
	// QU asks for unicast responses in the first query (RFC 6762 §5.4).
	// The link must then receive unicast (mdns.Config.Unicast).
	QU bool
	// MaxRecords bounds the cache (default 60,000); MaxInstances bounds the
	// instances tracked (default 10,000: about 70 MB). Beyond them the
	// oldest records go and new instances are not tracked, counted in
	// Stats.
	MaxRecords, MaxInstances int
	// ResolveWait is how long an instance may stay incomplete (no SRV, TXT
	// or address yet) before it is reported as it is (default 1 s).
	ResolveWait time.Duration
	// Events is the length of the event queue (default 4096).
	Events int
	// MaxTypes bounds the service types browsed when enumerating (default
	// 1,000); beyond it, types found are counted, not browsed.
	MaxTypes int
	// QueryRate is the query packets a second the browser may send,
	// sustained (default 40, bursts of twice that): what a host on the
	// network can make it send is bounded.
	QueryRate int
	// Rand returns a duration in [0, n) for query jitter (default math/rand).
	Rand func(n time.Duration) time.Duration
	// Started is when the process started (zero: unknown). The first
	// query's random delay (RFC 6762 §5.2) for the types asked for at
	// start-up counts from it, so that the work of starting (sockets,
	// interfaces) is spent inside the delay rather than added to it.
	Started time.Time
}

// DefaultMaxTypes is Config.MaxTypes when it is zero.
const DefaultMaxTypes = 1000

// Stats counts what the browser did.
type Stats struct {
	Packets       int
	Malformed     int
	IgnoredPort   int // responses from a source port other than 5353 (RFC 6762 §6: ignored)
	Queries       int // query messages sent (one per question set; each goes out on every interface and family)
	Records       int
	Instances     int
	Evicted       uint64 // records evicted from a full cache
	InstancesShed uint64 // instances not tracked because the cap was reached
	SendErrors    int
	LastSendError error
	EventsDropped uint64 // events the consumer was too slow to take
	PacketsLost   uint64 // packets the engine was too slow to take (its queue at the core was full)
	TypesShed     uint64 // service types found but not browsed: over MaxTypes
	TypesDropped  uint64 // types found by enumeration dropped for newer ones: no instance 2 s after they were found
	Scheduled     int    // entries in the schedule: one per record, type, instance and Resolve call
	// QueriesDeferred counts questions that waited for the query budget;
	// QueriesDropped those dropped because even its backlog was full.
	QueriesDeferred, QueriesDropped uint64
	// NotAsked counts the queries Replay did not send: a live browser
	// would have sent them then.
	NotAsked int
}

// Browser runs DNS-SD browsing on a Link.
type Browser struct {
	link Link
	cfg  Config

	mu      sync.Mutex // guards the request queue and stats
	pending []request
	wake    chan struct{}
	stopped chan struct{}
	// replay: driven by Replay, on the capture's clock (clockAt).
	replay  bool
	clockAt time.Time
	stats   Stats

	// Engine state, touched only by Run's goroutine.
	cache     *cache
	types     map[string]*browsedType // NameKey of the browse name
	instances map[string]*instance    // NameKey of the instance name
	byHost    map[string]map[string]bool
	sched     schedule
	enumerate bool
	resolve   []string // instance names to query SRV/TXT for
	lookupA   []string // host names to query A/AAAA for
	box       *outbox.Box[Event]
	sub       *mdns.Sub
	onType    func(string)
	budget    *budget
	watching  int                 // Resolve calls waiting
	evictions map[string][]string // instance key -> records of it evicted since the last settle
}

type request struct {
	at      time.Time // when Browse or BrowseAll was called
	types   []string
	all     bool
	resolve *resolveReq
	finish  *resolveReq
	requery string
}

type browsedType struct {
	name      string // fqdn
	next      time.Duration
	enumerate bool
	due       *task
	asked     bool      // asked for by the caller (Browse): never dropped
	added     time.Time // when it was found
	instances int       // instances found through it
}

type instance struct {
	name      string // presentation form
	key       string
	typeKey   string // the browsed type whose PTR found it ("" when found otherwise)
	firstSeen time.Time
	browsed   bool // a PTR of a browsed type points to it
	announced bool
	last      Service // without Records, to keep the cache small
	lastTTL   map[uint16]uint32
	retries   int
	cause     Cause // why its last PTR went
	due       *task
	watchers  []*resolveReq
	refreshed time.Time // last Refreshed event
}

// New returns a Browser on link. Call Browse (or BrowseAll) and Run.
func New(link Link, cfg Config) *Browser {
	if cfg.MaxRecords <= 0 {
		cfg.MaxRecords = 60000
	}
	if cfg.MaxInstances <= 0 {
		cfg.MaxInstances = 10000
	}
	if cfg.ResolveWait <= 0 {
		cfg.ResolveWait = time.Second
	}
	if cfg.MaxTypes <= 0 {
		cfg.MaxTypes = DefaultMaxTypes
	}
	if cfg.Rand == nil {
		cfg.Rand = func(n time.Duration) time.Duration {
			if n <= 0 {
				return 0
			}
			return rand.N(n)
		}
	}
	return &Browser{
		link: link, cfg: cfg, cache: newCache(cfg.MaxRecords), budget: newBudget(cfg.QueryRate),
		wake: make(chan struct{}, 1), stopped: make(chan struct{}),
		types: map[string]*browsedType{}, instances: map[string]*instance{}, byHost: map[string]map[string]bool{},
	}
}

// Browse starts browsing for service types ("_p2p._tcp",
// "_printer._sub._http._tcp", or a full name). It may be called before or
// while Run runs.
func (b *Browser) Browse(types ...string) { b.request(request{at: time.Now(), types: types}) }

// BrowseAll enumerates the service types on the link (RFC 6763 §9) and
// browses each one found.
func (b *Browser) BrowseAll() { b.request(request{at: time.Now(), all: true}) }

// Requery asks at once for an instance's SRV and TXT records again. It
// fails only when Run is not running.
func (b *Browser) Requery(name string) error {
	select {
	case <-b.stopped:
		return errors.New("browse: not running")
	default:
	}
	b.request(request{requery: name})
	return nil
}

func (b *Browser) request(r request) {
	b.mu.Lock()
	b.pending = append(b.pending, r)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// OnType sets a function called (on the event goroutine, in order with
// the events) for every service type found by BrowseAll. Set it before Run.
func (b *Browser) OnType(fn func(serviceType string)) { b.onType = fn }

// Stats returns the counters so far. It is safe to call at any time.
func (b *Browser) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	if b.box != nil {
		s.EventsDropped = b.box.Dropped()
	}
	if b.sub != nil {
		s.PacketsLost = b.sub.Dropped()
	}
	return s
}

func (b *Browser) count(f func(s *Stats)) {
	b.mu.Lock()
	f(&b.stats)
	b.mu.Unlock()
}

// Run runs the engine until ctx ends, calling fn for every change. fn runs
// on a goroutine of its own, in order; the engine never waits for it (see
// the package comment). Run returns ctx.Err(), fn's first error, or the
// core's when it closed.
func (b *Browser) Run(ctx context.Context, fn func(Event) error) (err error) {
	b.sub = b.link.Subscribe("browse", 0)
	b.open(fn)
	defer b.close(&err)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		b.takeRequests(now)
		b.runDue(now)
		if d, ok := b.sched.next(); ok {
			timer.Reset(max(time.Until(d), 0))
		} else {
			timer.Reset(time.Hour)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-b.box.Failed():
			return nil // the deferred close returns fn's error
		case p, ok := <-b.sub.C():
			if !ok {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				_, err := b.sub.Recv(ctx)
				return err
			}
			b.handle(time.Now(), &p)
		case <-b.wake:
		case <-timer.C:
		}
	}
}

// Replay runs the engine over packets read from a capture instead of the
// network (next returns them in order, then io.EOF): the packets' own
// timestamps are its clock, so records expire, goodbyes take their second
// and incomplete instances are given up on as they did then. Nothing is
// sent; and since a live browser's refresh queries were never asked, no
// instance is judged stale. Events reach fn as they do from Run. Replay
// returns at the end of the packets, with fn's first error, next's, or
// ctx's.
func (b *Browser) Replay(ctx context.Context, next func() (mdns.Packet, error), fn func(Event) error) (err error) {
	b.replay = true
	b.open(fn)
	defer b.close(&err)
	first := true
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		select {
		case <-b.box.Failed():
			return nil
		default:
		}
		p, err := next()
		if errors.Is(err, io.EOF) {
			return nil // what would have happened after the capture ended did not
		}
		if err != nil {
			return err
		}
		t := p.Received
		if first || t.Before(b.clockAt) {
			b.clockAt = t // the capture's clock; it never runs backwards here
		}
		first = false
		b.takeRequests(b.clockAt)
		for {
			d, ok := b.sched.next()
			if !ok || d.After(t) {
				break
			}
			b.clockAt = later(b.clockAt, d)
			b.runDue(b.clockAt)
		}
		b.clockAt = later(b.clockAt, t)
		b.handle(b.clockAt, &p)
	}
}

// now is the engine's clock: the time, or the capture's in Replay.
func (b *Browser) now() time.Time {
	if b.replay {
		return b.clockAt
	}
	return time.Now()
}

// open starts the event queue; close stops it and reports fn's error.
func (b *Browser) open(fn func(Event) error) {
	onType := b.onType
	b.box = outbox.Start(b.cfg.Events, func(ev Event) error {
		if ev.Kind == typeFound {
			if onType != nil {
				onType(ev.Service.Type)
			}
			return nil
		}
		return fn(ev)
	})
}

func (b *Browser) close(err *error) {
	if b.sub != nil {
		b.sub.Close()
	}
	b.finishAll()
	close(b.stopped)
	if ferr := b.box.Close(); ferr != nil && (*err == nil || errors.Is(*err, context.Canceled) || errors.Is(*err, context.DeadlineExceeded)) {
		*err = ferr
	}
}

func (b *Browser) takeRequests(now time.Time) {
	b.mu.Lock()
	reqs := b.pending
	b.pending = nil
	b.mu.Unlock()
	dirty := map[string]bool{}
	for _, r := range reqs {
		switch {
		case r.all:
			b.enumerate = true
			b.addType(now, b.askedAt(r.at), ServicesName, true)
		case r.resolve != nil:
			b.startResolve(now, r.resolve, dirty)
		case r.finish != nil:
			b.finishResolve(r.finish)
		case r.requery != "":
			b.send([]mdns.Question{{Name: r.requery, Type: mdns.TypeSRV}, {Name: r.requery, Type: mdns.TypeTXT}}, nil)
		}
		for _, t := range r.types {
			b.addType(now, b.askedAt(r.at), mdns.ParseName(t), false)
			if bt := b.types[mdns.NameKey(mdns.ParseName(t))]; bt != nil {
				bt.asked = true
			}
		}
	}
	if len(dirty) > 0 {
		b.settle(now, dirty)
	}
}

// askedAt is when a type asked for at at counts as asked: the process's
// start (Config.Started) for what was asked within a second of it, so
// that start-up is spent inside the first query's random delay.
func (b *Browser) askedAt(at time.Time) time.Time {
	if b.replay {
		return b.clockAt
	}
	if s := b.cfg.Started; !s.IsZero() && !at.Before(s) && at.Sub(s) < time.Second {
		return s
	}
	return at
}

// foundType browses a type found by enumeration, once.
func (b *Browser) foundType(now time.Time, target string) {
	if _, ok := b.types[mdns.NameKey(target)]; ok {
		return
	}
	b.addType(now, now, target, false)
	if b.types[mdns.NameKey(target)] != nil {
		b.box.Put(Event{Kind: typeFound, At: now, Service: Service{Type: mdns.ServiceType(target)}})
	}
}

// dropIdleType makes room for a new service type: the oldest type found
// by enumeration that has shown no instance in the 2 s since it was found
// goes (a host announcing thousands of empty types cannot keep a real one
// out). It reports whether one went.
func (b *Browser) dropIdleType(now time.Time) bool {
	var oldest *browsedType
	var key string
	for k, bt := range b.types {
		if bt.enumerate || bt.asked || bt.instances > 0 || now.Sub(bt.added) < 2*time.Second {
			continue
		}
		if oldest == nil || bt.added.Before(oldest.added) {
			oldest, key = bt, k
		}
	}
	if oldest == nil {
		return false
	}
	b.sched.cancel(oldest.due)
	delete(b.types, key)
	b.count(func(s *Stats) { s.TypesDropped++ })
	return true
}

func (b *Browser) addType(now, asked time.Time, name string, enumerate bool) {
	k := mdns.NameKey(name)
	if _, ok := b.types[k]; ok {
		return
	}
	if len(b.types) >= b.cfg.MaxTypes+1 && !b.dropIdleType(now) { // +1: the enumeration itself
		b.count(func(s *Stats) { s.TypesShed++ })
		return
	}
	bt := &browsedType{name: name, next: time.Second, enumerate: enumerate, due: newTask(taskQuery), added: now}
	bt.due.name = k
	b.types[k] = bt
	// RFC 6762 §5.2: the first query of a series after a random delay in
	// 20-120 ms, so that hosts started together do not query together.
	// We draw from the bottom of that window (20-40 ms): still random,
	// and a person waiting at a terminal gets the answer sooner.
	b.sched.set(bt.due, later(now, asked.Add(20*time.Millisecond+b.cfg.Rand(20*time.Millisecond))))
}

// handle feeds one packet into the cache and reports what changed.
func (b *Browser) handle(now time.Time, p *mdns.Packet) {
	m, err := mdns.Parse(p.Raw)
	b.count(func(s *Stats) {
		s.Packets++
		if err != nil {
			s.Malformed++
		}
	})
	// RFC 6762 §18: ignore queries, and messages with a nonzero opcode or
	// rcode. A malformed message still contributes what parsed.
	if !m.Response() || m.Opcode() != 0 || m.Rcode() != 0 {
		return
	}
	// RFC 6762 §6: a response from a source port other than 5353 is not
	// an mDNS response; conformant queriers ignore it.
	if p.Src.Port() != mdns.Port {
		b.count(func(s *Stats) { s.IgnoredPort++ })
		return
	}
	dirty := map[string]bool{}
	seen := map[*resolveReq]bool{}
	// Types enumerated in this packet first (RFC 6763 §9), so that the same
	// packet's PTRs for them (an announcement carries both) are taken now
	// instead of waiting for a query.
	if b.types[servicesKey] != nil {
		for _, sec := range [][]mdns.Record{m.Answers, m.Additional} {
			for i := range sec {
				if r := &sec[i]; r.Type == mdns.TypePTR && r.TTL > 0 && r.Class == mdns.ClassIN && mdns.NameKey(r.Name) == servicesKey {
					if t, ok := r.Target(); ok {
						b.foundType(now, t)
					}
				}
			}
		}
	}
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
			if r.Type == mdns.TypePTR && b.types[mdns.NameKey(r.Name)] == nil {
				continue // a PTR for a type we do not browse
			}
			rec, flushed, evicted := b.cache.upsert(now, p, r)
			if rec == nil {
				continue
			}
			b.schedule(rec)
			for _, f := range flushed {
				b.schedule(f)
				b.touch(f, dirty, now, false)
			}
			if evicted != nil {
				b.sched.cancel(evicted.due)
				b.noteEviction(evicted, dirty, now)
			}
			if (r.Type == mdns.TypeA || r.Type == mdns.TypeAAAA) && rec.Packets > 1 && rec.cause == "" {
				// A refresh of an address already held changes no
				// instance: touching every instance on a host per address
				// record would cost O(instances) a packet.
				if b.watching > 0 {
					b.witness(rec, p, seen)
				}
				continue
			}
			b.touch(rec, dirty, now, rec.cause == "")
			if b.watching > 0 {
				b.witness(rec, p, seen)
			}
		}
	}
	b.settle(now, dirty)
}

// witness keeps the packet for the Resolve calls its record answers, once
// per call.
func (b *Browser) witness(r *Record, p *mdns.Packet, seen map[*resolveReq]bool) {
	keep := func(in *instance) {
		for _, w := range in.watchers {
			if !seen[w] && len(w.packets) < maxWitness {
				seen[w] = true
				w.packets = append(w.packets, *p)
			}
		}
	}
	switch r.Type {
	case mdns.TypeSRV, mdns.TypeTXT:
		if in := b.instances[r.key.name]; in != nil {
			keep(in)
		}
	case mdns.TypeA, mdns.TypeAAAA:
		for k := range b.byHost[r.key.name] {
			if in := b.instances[k]; in != nil {
				keep(in)
			}
		}
	}
}

const maxWitness = 32

// noteEviction marks the instances an evicted record belonged to, so that
// their change says the cache was full rather than showing a record gone.
func (b *Browser) noteEviction(r *Record, dirty map[string]bool, now time.Time) {
	before := make(map[string]bool, len(dirty))
	for k := range dirty {
		before[k] = true
	}
	b.touch(r, dirty, now, false)
	if b.evictions == nil {
		b.evictions = map[string][]string{}
	}
	for k := range dirty {
		if !before[k] && len(b.evictions[k]) < 8 {
			b.evictions[k] = append(b.evictions[k], mdns.TypeString(r.Type)+" "+r.Name)
		}
	}
	if r.Type == mdns.TypePTR {
		if t, ok := r.Target(); ok {
			k := mdns.NameKey(t)
			if len(b.evictions[k]) < 8 && !slices.Contains(b.evictions[k], "PTR "+r.Name) {
				b.evictions[k] = append(b.evictions[k], "PTR "+r.Name)
			}
		}
	}
}

// touch marks the instances a record belongs to; refreshed says a packet
// carried it.
func (b *Browser) touch(r *Record, dirty map[string]bool, now time.Time, refreshed bool) {
	mark := func(k string) { dirty[k] = dirty[k] || refreshed }
	switch r.Type {
	case mdns.TypePTR:
		bt := b.types[r.key.name]
		if bt == nil {
			return
		}
		target, _ := r.Target()
		if bt.enumerate {
			return // the types it names were taken as the packet came in (handle)
		}
		k := mdns.NameKey(target)
		in, ok := b.instances[k]
		if !ok && r.cause == "" {
			if in = b.newInstance(now, target); in == nil {
				return
			}
			in.typeKey = r.key.name
			bt.instances++
		}
		if in != nil {
			if !in.browsed && !in.announced {
				// Found by its PTR (perhaps after a Resolve began
				// tracking it): it has ResolveWait from now to resolve.
				in.browsed, in.firstSeen = true, now
				b.sched.set(in.due, now.Add(b.cfg.ResolveWait/2))
			}
			in.browsed = true
			if r.cause != "" {
				in.cause = r.cause
			}
		}
		mark(k)
	case mdns.TypeSRV, mdns.TypeTXT:
		if _, ok := b.instances[r.key.name]; ok {
			mark(r.key.name)
		}
	case mdns.TypeA, mdns.TypeAAAA:
		for k := range b.byHost[r.key.name] {
			mark(k)
		}
	}
}

func (b *Browser) newInstance(now time.Time, name string) *instance {
	k := mdns.NameKey(name)
	if len(b.instances) >= b.cfg.MaxInstances {
		b.count(func(s *Stats) { s.InstancesShed++ })
		return nil
	}
	in := &instance{name: name, key: k, firstSeen: now, due: newTask(taskResolve)}
	in.due.name = k
	b.instances[k] = in
	return in
}

// settle recomputes the dirty instances and emits events; it also queues
// resolution queries for what is missing. dirty[k] is true when a packet
// refreshed the instance's records (a Refreshed event may follow).
func (b *Browser) settle(now time.Time, dirty map[string]bool) {
	refreshedBy := dirty
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
		s, alive, cause := b.snapshot(in)
		if h := mdns.NameKey(s.Host); h != "" {
			if b.byHost[h] == nil {
				b.byHost[h] = map[string]bool{}
			}
			b.byHost[h][k] = true
		}
		if old := mdns.NameKey(in.last.Host); old != "" && old != mdns.NameKey(s.Host) {
			delete(b.byHost[old], k)
			if len(b.byHost[old]) == 0 {
				delete(b.byHost, old)
			}
		}
		complete := s.Host != "" && s.TXTState != TXTMissing && len(s.Addrs) > 0
		b.answerWatchers(in, &s, complete)
		if !alive && len(in.watchers) == 0 {
			b.dropInstance(in)
			if in.announced {
				b.box.Put(Event{Kind: Removed, At: now, Service: in.last, Cause: cause})
			}
			continue
		}
		if !in.browsed {
			in.keep(s) // only a Resolve tracks it, and asks for it
			continue
		}
		if !in.announced {
			if !complete && now.Sub(in.firstSeen) < b.cfg.ResolveWait {
				b.wantResolve(in, &s)
				in.keep(s)
				continue
			}
			in.announced = true
			in.keep(s)
			in.refreshed = now
			b.box.Put(Event{Kind: Added, At: now, Service: s})
			continue
		}
		ch := diff(&in.last, &s, in.lastTTL)
		if ev := b.evictions[k]; len(ev) > 0 && len(ch) > 0 {
			ch = append([]Change{{Field: "evicted", Old: strings.Join(ev, ", "), New: fmt.Sprintf("dropped: the cache is full (%d records)", b.cfg.MaxRecords)}}, ch...)
		}
		in.keep(s)
		switch {
		case len(ch) > 0:
			b.box.Put(Event{Kind: Updated, At: now, Service: s, Changes: ch})
			in.refreshed = now
		case refreshedBy[k] && now.Sub(in.refreshed) >= time.Second:
			b.box.Put(Event{Kind: Refreshed, At: now, Service: s})
			in.refreshed = now
		}
	}
	b.flushQueries()
	b.count(func(st *Stats) {
		st.Records, st.Instances, st.Evicted = len(b.cache.recs), len(b.instances), b.cache.evicted
	})
}

func (b *Browser) dropInstance(in *instance) {
	delete(b.instances, in.key)
	if bt := b.types[in.typeKey]; bt != nil {
		bt.instances--
	}
	b.sched.cancel(in.due)
	if h := mdns.NameKey(in.last.Host); h != "" {
		delete(b.byHost[h], in.key)
		if len(b.byHost[h]) == 0 {
			delete(b.byHost, h)
		}
	}
}

// keep remembers s as the instance's last snapshot, without its records.
func (in *instance) keep(s Service) {
	in.lastTTL = ttls(&s)
	s.Records = nil
	in.last = s
}

func (b *Browser) wantResolve(in *instance, s *Service) {
	if in.retries > 0 {
		return // already asked; a retry is scheduled
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
// false once no PTR of a browsed type points to it; cause says why.
func (b *Browser) snapshot(in *instance) (s Service, alive bool, cause Cause) {
	s.Name = in.name
	s.Instance, s.Type, s.Domain, _ = mdns.SplitInstance(in.name)
	for _, r := range b.cache.pointingTo(in.name) {
		if bt := b.types[r.key.name]; bt != nil && !bt.enumerate {
			// A record with a goodbye pending still counts until it is
			// removed one second later (RFC 6762 §10.1).
			alive = true
			s.Records = append(s.Records, *r)
			if s.Plane == "" && r.IfName != "" {
				s.Plane = "mdns " + r.IfName
			}
		}
	}
	cause = in.cause
	if cause == "" {
		cause = CauseExpired
	}
	srv := latest(b.cache.lookup(in.name, mdns.TypeSRV))
	txtRec := latest(b.cache.lookup(in.name, mdns.TypeTXT))
	if srv != nil {
		_, _, port, target, _ := srv.SRV()
		s.Host, s.Port = target, port
		s.Priority, s.Weight, _, _, _ = srv.SRV()
		s.Records = append(s.Records, *srv)
		for _, typ := range []uint16{mdns.TypeA, mdns.TypeAAAA} {
			for _, r := range b.cache.lookup(target, typ) {
				if a, ok := r.Addr(); ok && !slices.Contains(s.Addrs, a) {
					s.Addrs = append(s.Addrs, a)
					s.Records = append(s.Records, *r)
				}
			}
		}
		slices.SortFunc(s.Addrs, func(a, c netip.Addr) int { return a.Compare(c) })
	}
	s.TXTState = txtState(nil, false)
	if txtRec != nil {
		s.TXTRaw = txtRec.Data
		s.TXTState = txtState(txtRec.Data, true)
		s.TXT, _ = txt.Parse(txtRec.Data)
		s.Records = append(s.Records, *txtRec)
	}
	b.liveness(in, &s)
	return s, alive, cause
}

// liveness sets the instance's state from its records.
func (b *Browser) liveness(in *instance, s *Service) {
	goodbye, ptr := false, false
	var stale time.Time
	for i := range s.Records {
		r := &s.Records[i]
		if r.Type == mdns.TypePTR {
			ptr = true
			if r.cause == CauseGoodbye {
				goodbye = true
			}
		}
		// RFC 6762 §5.2: the refresh query at 80% of the TTL was not
		// answered by the 85% point (when the next one goes).
		if r.cause == "" && r.step >= 2 && !b.replay { // stale needs refresh queries a replay never asked
			s.Unanswered += r.step - 1
			if at := r.LastSeen.Add(scheduleTTL(r.TTL) / 100 * refreshPoints[1]); stale.IsZero() || at.Before(stale) {
				stale = at
			}
		}
	}
	st, since := StateLive, time.Time{}
	switch {
	case goodbye:
		st = StateGoodbye
	case !in.announced && (s.Host == "" || s.TXTState == TXTMissing || len(s.Addrs) == 0):
		st = StateResolving
	case ptr && (s.Host == "" || len(s.Addrs) == 0):
		st = StateUnresolvable
	case !stale.IsZero():
		st, since = StateStale, stale
	}
	if st != in.last.State || in.last.StateSince.IsZero() {
		if since.IsZero() {
			since = b.now()
		}
		s.StateSince = since
	} else {
		s.StateSince = in.last.StateSince
	}
	s.State = st
}

// latest picks the most recently received record (the newest data wins
// while an RRset's older members wait out their second, RFC 6762 §10.2),
// preferring those with no removal pending.
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
		case r.seq > best.seq:
			best = r
		}
	}
	return best
}

// flushQueries sends the resolution queries collected while settling.
func (b *Browser) flushQueries() {
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
	b.sendMany(qs)
}

// sendMany sends questions in as many queries as they need.
func (b *Browser) sendMany(qs []mdns.Question) int {
	slices.SortFunc(qs, func(a, c mdns.Question) int {
		if n := strings.Compare(mdns.NameKey(a.Name), mdns.NameKey(c.Name)); n != 0 {
			return n
		}
		return int(a.Type) - int(c.Type)
	})
	qs = slices.CompactFunc(qs, func(a, c mdns.Question) bool { return a.Type == c.Type && mdns.EqualNames(a.Name, c.Name) })
	failed := 0
	for len(qs) > 0 {
		n := min(len(qs), 40) // stay well inside one packet
		if b.send(qs[:n], nil) != nil {
			failed++
		}
		qs = qs[n:]
	}
	return failed
}

// send multicasts one query (continued in further packets when its known
// answers need them, RFC 6762 §7.2) on every interface and family, within
// the query budget: questions asked less than a second ago are left out,
// and a query over the budget waits in the backlog.
func (b *Browser) send(qs []mdns.Question, known []mdns.KnownAnswer) error {
	now := b.now()
	if qs = b.budget.fresh(now, qs); len(qs) == 0 {
		return nil
	}
	if len(b.budget.backlog) > 0 || !b.budget.take(now) {
		b.budget.wait(pending{qs: qs, known: known})
		b.sched.set(b.budget.due, b.budget.nextToken(now))
		b.count(func(s *Stats) { s.QueriesDeferred, s.QueriesDropped = b.budget.deferred, b.budget.dropped })
		return nil
	}
	return b.transmit(now, qs, known)
}

// transmit sends a query now.
func (b *Browser) transmit(now time.Time, qs []mdns.Question, known []mdns.KnownAnswer) error {
	b.budget.sent(now, qs)
	if b.replay {
		b.count(func(s *Stats) { s.NotAsked++ })
		return nil // offline: a live browser would have asked here
	}
	err := SendQuery(b.link, Question{Questions: qs, Known: known})
	b.count(func(s *Stats) {
		s.Queries++
		if err != nil {
			s.SendErrors++
			s.LastSendError = err
		}
	})
	return err
}

// schedule moves a record's one task to its next refresh query (RFC 6762
// §5.2: at 80, 85, 90 and 95% of the TTL, plus up to 2% jitter) or, after
// the last, to its expiry.
func (b *Browser) schedule(r *Record) {
	at := r.expires
	if r.cause == "" && r.step < len(refreshPoints) {
		ttl := scheduleTTL(r.TTL)
		at = r.LastSeen.Add(ttl/100*refreshPoints[r.step] + b.cfg.Rand(ttl/50+1))
	}
	b.sched.set(r.due, at)
}

// refreshPoints are the percentages of a TTL at which a record in use is
// queried again (RFC 6762 §5.2).
var refreshPoints = [...]time.Duration{80, 85, 90, 95}

// runDue runs every task whose time has come.
func (b *Browser) runDue(now time.Time) {
	dirty := map[string]bool{}
	var refresh []mdns.Question
	for {
		t := b.sched.popDue(now)
		if t == nil {
			break
		}
		switch t.kind {
		case taskQuery:
			bt := b.types[t.name]
			if bt == nil {
				continue
			}
			b.send([]mdns.Question{{Name: bt.name, Type: mdns.TypePTR, QU: b.cfg.QU && bt.next == time.Second}}, b.knownAnswers(now, bt))
			b.sched.set(bt.due, now.Add(bt.next))
			bt.next = min(bt.next*2, time.Hour)
		case taskRecord:
			r := t.rec
			if !b.cache.held(r) {
				continue
			}
			if !now.Before(r.expires) {
				if r.cause == "" {
					r.cause = CauseExpired
				}
				b.cache.remove(r)
				b.touch(r, dirty, now, false)
				continue
			}
			if r.cause == "" && b.inUse(r) {
				refresh = append(refresh, mdns.Question{Name: r.Name, Type: r.Type})
			}
			r.step++
			b.schedule(r)
			b.touch(r, dirty, now, false) // its instance may now be stale
		case taskResolve:
			in := b.instances[t.name]
			if in == nil {
				continue
			}
			if !in.announced && now.Sub(in.firstSeen) < b.cfg.ResolveWait {
				in.retries = 0 // ask once more for what is missing
				b.sched.set(in.due, in.firstSeen.Add(b.cfg.ResolveWait))
			}
			dirty[t.name] = dirty[t.name] || false
		case taskResolveRequest:
			b.retransmit(now, t.req, dirty)
		case taskBacklog:
			for len(b.budget.backlog) > 0 && b.budget.take(now) {
				p := b.budget.backlog[0]
				b.budget.backlog = b.budget.backlog[1:]
				b.budget.queued -= len(p.qs)
				_ = b.transmit(now, p.qs, p.known)
			}
			if len(b.budget.backlog) > 0 {
				b.sched.set(b.budget.due, b.budget.nextToken(now))
			}
		}
	}
	if len(refresh) > 0 {
		b.sendMany(refresh)
	}
	if len(dirty) > 0 {
		b.settle(now, dirty)
	}
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
// left (RFC 6762 §7.1), one per target. They go in as many packets as they
// need (§7.2), up to a bound.
func (b *Browser) knownAnswers(now time.Time, bt *browsedType) []mdns.KnownAnswer {
	var out []mdns.KnownAnswer
	seen := map[string]bool{}
	for _, r := range b.cache.lookup(bt.name, mdns.TypePTR) {
		rem := r.Remaining(now)
		target, _ := r.Target()
		tk := mdns.NameKey(target)
		if r.cause != "" || uint64(rem)*2 <= uint64(min(r.TTL, maxScheduleTTL)) || seen[tk] {
			continue
		}
		seen[tk] = true
		out = append(out, mdns.KnownAnswer{Name: bt.name, Target: target, TTL: rem})
		if len(out) >= maxKnownAnswers {
			break // the rest go unlisted rather than flood the link
		}
	}
	return out
}

// maxKnownAnswers bounds one query's known-answer list (about eight
// packets of continuation).
const maxKnownAnswers = 400

// later returns the later of two times.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
