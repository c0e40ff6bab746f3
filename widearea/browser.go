package widearea

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/txt"
)

// BrowseConfig tunes a Browser. The zero value works.
type BrowseConfig struct {
	// Floor is the shortest time between two polls of one name (default
	// 10 s): plain DNS has no push, so records are asked again when their
	// TTL runs out, but never more often than this.
	Floor time.Duration
	// Ceiling is the longest (default 1 h): a long TTL does not hide a
	// change for a day.
	Ceiling time.Duration
	// Concurrency bounds the questions in flight at the server (default 8).
	Concurrency int
	// MaxInstances bounds the instances tracked per type (default 10,000);
	// beyond it instances are counted, not resolved.
	MaxInstances int
	// OnProblem, when set, is told of every PTR question that got no
	// usable answer (no reply, SERVFAIL, REFUSED...): the instances known
	// are kept, and the name is asked again at Floor.
	OnProblem func(error)
}

func (c *BrowseConfig) defaults() {
	if c.Floor <= 0 {
		c.Floor = 10 * time.Second
	}
	if c.Ceiling <= 0 {
		c.Ceiling = time.Hour
	}
	if c.Ceiling < c.Floor {
		c.Ceiling = c.Floor
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.MaxInstances <= 0 {
		c.MaxInstances = 10000
	}
}

// BrowseStats counts what a Browser did.
type BrowseStats struct {
	Rounds        int
	Instances     int
	InstancesShed int // PTR answers not tracked: over MaxInstances
	Failed        int // questions with no usable answer
}

// Browser browses service types in a unicast DNS domain by polling.
type Browser struct {
	c     *Client
	cfg   BrowseConfig
	types []string // browse names: "_p2p._tcp.example.test."

	mu    sync.Mutex
	stats BrowseStats
}

// NewBrowser browses each service type ("_p2p._tcp", or a subtype
// "_printer._sub._http._tcp") in domain.
func NewBrowser(c *Client, domain string, types []string, cfg BrowseConfig) *Browser {
	cfg.defaults()
	b := &Browser{c: c, cfg: cfg}
	for _, t := range types {
		b.types = append(b.types, dns.Fqdn(trimDot(t)+"."+trimDot(dns.Fqdn(domain))))
	}
	return b
}

// Stats returns the counters so far.
func (b *Browser) Stats() BrowseStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// known is one tracked instance.
type known struct {
	svc browse.Service
	due time.Time // when its SRV, TXT and addresses are asked again
	err error     // the last resolution's unanswered question, if any
}

// Found is an instance found by Once, with the question about it that
// got no usable answer, if one did not: its Service then holds only what
// did arrive, and what is missing was not seen, not absent.
type Found struct {
	browse.Service
	Err error
}

// Run polls until ctx ends, reporting every instance added, updated and
// removed (browse.CauseAbsent) to fn; an error from fn stops it.
func (b *Browser) Run(ctx context.Context, fn func(browse.Event) error) error {
	state := make([]map[string]*known, len(b.types))
	ptrDue := make([]time.Time, len(b.types))
	for i := range state {
		state[i] = map[string]*known{}
	}
	for {
		now := time.Now()
		next := now.Add(b.cfg.Ceiling)
		for i, t := range b.types {
			if now.Before(ptrDue[i]) {
				next = earliest(next, ptrDue[i])
				for _, k := range state[i] {
					next = earliest(next, k.due)
				}
				if !b.anyDue(state[i], now) {
					continue
				}
			}
			evs, due, err := b.round(ctx, t, state[i], now.Before(ptrDue[i]))
			if err != nil && !isRoundError(err) {
				return err
			}
			if !due.IsZero() {
				ptrDue[i] = due
			}
			next = earliest(next, ptrDue[i])
			for _, k := range state[i] {
				next = earliest(next, k.due)
			}
			for _, ev := range evs {
				if err := fn(ev); err != nil {
					return err
				}
			}
		}
		wait := time.Until(next)
		if wait < time.Second {
			wait = time.Second
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// roundError is a PTR question without a usable answer: Run goes on,
// Once fails.
type roundError struct{ err error }

func (e *roundError) Error() string { return e.err.Error() }
func (e *roundError) Unwrap() error { return e.err }

func isRoundError(err error) bool {
	_, ok := err.(*roundError)
	return ok
}

// Once runs one round for every type and returns the instances found; a
// PTR question without a usable answer is an error.
func (b *Browser) Once(ctx context.Context) ([]Found, error) {
	var out []Found
	for _, t := range b.types {
		st := map[string]*known{}
		if _, _, err := b.round(ctx, t, st, false); err != nil {
			if re, ok := err.(*roundError); ok {
				return out, re.err
			}
			return out, err
		}
		for _, k := range st {
			out = append(out, Found{k.svc, k.err})
		}
	}
	slices.SortFunc(out, func(a, c Found) int { return compareNames(a.Name, c.Name) })
	return out, nil
}

func compareNames(a, b string) int {
	ka, kb := mdns.NameKey(a), mdns.NameKey(b)
	switch {
	case ka < kb:
		return -1
	case ka > kb:
		return 1
	}
	return 0
}

func (b *Browser) anyDue(st map[string]*known, now time.Time) bool {
	for _, k := range st {
		if !now.Before(k.due) {
			return true
		}
	}
	return false
}

func earliest(a, b time.Time) time.Time {
	if !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// round asks for the PTR records of one browse name (unless skipPTR: its
// TTL has not run out), resolves the instances that are new or due, and
// returns the events and when the PTR is due again (zero when not asked).
func (b *Browser) round(ctx context.Context, name string, st map[string]*known, skipPTR bool) ([]browse.Event, time.Time, error) {
	now := time.Now()
	var evs []browse.Event
	var ptrDue time.Time
	present := map[string]browse.Record{}
	if !skipPTR {
		r, err := b.c.Lookup(ctx, name, dns.TypePTR)
		if err != nil {
			if ctx.Err() != nil {
				return nil, time.Time{}, ctx.Err()
			}
			// No usable answer: keep what is known (a SERVFAIL is not
			// "no instances"), ask again at the floor.
			b.count(func(s *BrowseStats) { s.Failed++ })
			if b.cfg.OnProblem != nil {
				b.cfg.OnProblem(err)
			}
			return nil, now.Add(b.cfg.Floor), &roundError{err}
		}
		b.count(func(s *BrowseStats) { s.Rounds++ })
		minTTL := uint32(0)
		shed := 0
		for _, rec := range r.Parsed.Answers {
			target, ok := rec.Target()
			if rec.Type != dns.TypePTR || !ok || !mdns.EqualNames(rec.Name, name) {
				continue
			}
			if len(present) >= b.cfg.MaxInstances {
				shed++
				continue
			}
			present[mdns.NameKey(target)] = browse.NewRecord(rec, r.Server, r.Transport(), r.At)
			if minTTL == 0 || rec.TTL < minTTL {
				minTTL = rec.TTL
			}
		}
		if shed > 0 {
			b.count(func(s *BrowseStats) { s.InstancesShed += shed })
		}
		ptrDue = now.Add(b.interval(minTTL))
		for key, k := range st {
			if _, ok := present[key]; !ok {
				delete(st, key)
				evs = append(evs, browse.Event{Kind: browse.Removed, At: now, Service: k.svc, Cause: browse.CauseAbsent})
			}
		}
	} else {
		for key, k := range st {
			present[key] = k.svc.Records[0]
		}
	}
	// Resolve what is new or due, at most Concurrency at a time.
	type job struct {
		key string
		ptr browse.Record
		old *known
	}
	var jobs []job
	for key, ptr := range present {
		old := st[key]
		if old == nil || !now.Before(old.due) {
			jobs = append(jobs, job{key, ptr, old})
		} else if !skipPTR {
			old.svc.Records[0] = ptr
		}
	}
	slices.SortFunc(jobs, func(a, c job) int { return compareNames(a.key, c.key) })
	results := make([]browse.Service, len(jobs))
	dues := make([]time.Time, len(jobs))
	errs := make([]error, len(jobs))
	sem := make(chan struct{}, b.cfg.Concurrency)
	var wg sync.WaitGroup
	for i, j := range jobs {
		target, _ := j.ptr.Target()
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i], dues[i], errs[i] = b.resolve(ctx, target, j.ptr)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, time.Time{}, err
	}
	at := time.Now()
	for i, j := range jobs {
		s := results[i]
		if errs[i] != nil && b.cfg.OnProblem != nil {
			b.cfg.OnProblem(errs[i])
		}
		if j.old == nil {
			// New: reported as far as it resolved (what did not arrive is
			// "not seen"), and asked again at the floor when a question
			// went unanswered.
			st[j.key] = &known{svc: s, due: dues[i], err: errs[i]}
			evs = append(evs, browse.Event{Kind: browse.Added, At: at, Service: s})
			continue
		}
		if errs[i] != nil {
			// A question went unanswered: that is not a change in the
			// zone. Keep what is known; ask again at the floor.
			j.old.due, j.old.err = dues[i], errs[i]
			continue
		}
		j.old.err = nil
		if ch := browse.Diff(&j.old.svc, &s); len(ch) > 0 {
			evs = append(evs, browse.Event{Kind: browse.Updated, At: at, Service: s, Changes: ch})
		} else {
			evs = append(evs, browse.Event{Kind: browse.Refreshed, At: at, Service: s})
		}
		j.old.svc, j.old.due = s, dues[i]
	}
	b.count(func(s *BrowseStats) { s.Instances = len(st) })
	return evs, ptrDue, nil
}

func (b *Browser) count(f func(*BrowseStats)) {
	b.mu.Lock()
	f(&b.stats)
	b.mu.Unlock()
}

// interval is how long until a record with this TTL is asked again.
func (b *Browser) interval(ttl uint32) time.Duration {
	d := time.Duration(ttl) * time.Second
	return min(max(d, b.cfg.Floor), b.cfg.Ceiling)
}

// resolve asks for an instance's SRV and TXT, then its host's addresses,
// and returns its snapshot, when it is due again (the floor when a
// question went unanswered) and that question's error.
func (b *Browser) resolve(ctx context.Context, name string, ptr browse.Record) (browse.Service, time.Time, error) {
	s, err := b.c.Resolve(ctx, name)
	s.Records = append([]browse.Record{ptr}, s.Records...)
	if err != nil {
		b.count(func(st *BrowseStats) { st.Failed++ })
		return s, time.Now().Add(b.cfg.Floor), err
	}
	minTTL := uint32(0)
	for _, r := range s.Records[1:] {
		if minTTL == 0 || r.TTL < minTTL {
			minTTL = r.TTL
		}
	}
	return s, time.Now().Add(b.interval(minTTL)), nil
}

// Resolve asks for one instance's SRV and TXT records and its host's A and
// AAAA records. The Service says what was found: missing pieces stay
// missing (TXTMissing, no Host, no Addrs) and State is resolving or
// unresolvable unless everything arrived. err is set when a question got
// no usable answer at all.
func (c *Client) Resolve(ctx context.Context, name string) (browse.Service, error) {
	s := browse.Service{Name: name, TXTState: browse.TXTMissing, State: browse.StateLive, StateSince: time.Now()}
	s.Instance, s.Type, s.Domain, _ = mdns.SplitInstance(name)
	var firstErr error
	keep := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	srvR, err := c.Lookup(ctx, name, dns.TypeSRV)
	keep(err)
	txtR, err := c.Lookup(ctx, name, dns.TypeTXT)
	keep(err)
	if srvR != nil {
		s.Plane = srvR.Plane()
		for _, rec := range srvR.Parsed.Answers {
			if rec.Type != dns.TypeSRV || !mdns.EqualNames(rec.Name, name) {
				continue
			}
			prio, weight, port, target, ok := rec.SRV()
			if !ok {
				continue
			}
			s.Host, s.Port, s.Priority, s.Weight = target, port, prio, weight
			s.Records = append(s.Records, browse.NewRecord(rec, srvR.Server, srvR.Transport(), srvR.At))
			break
		}
	}
	if txtR != nil {
		if s.Plane == "" {
			s.Plane = txtR.Plane()
		}
		for _, rec := range txtR.Parsed.Answers {
			if rec.Type != dns.TypeTXT || !mdns.EqualNames(rec.Name, name) {
				continue
			}
			s.TXTRaw = rec.Data
			s.TXTState = browse.TXTStateOf(rec.Data, true)
			s.TXT, _ = txt.Parse(rec.Data)
			s.Records = append(s.Records, browse.NewRecord(rec, txtR.Server, txtR.Transport(), txtR.At))
			break
		}
	}
	if s.Host != "" {
		for _, typ := range []uint16{dns.TypeA, dns.TypeAAAA} {
			r, err := c.Lookup(ctx, s.Host, typ)
			keep(err)
			if r == nil {
				continue
			}
			for _, rec := range r.Parsed.Answers {
				a, ok := rec.Addr()
				if !ok || rec.Type != typ || slices.Contains(s.Addrs, a) {
					continue
				}
				s.Addrs = append(s.Addrs, a)
				s.Records = append(s.Records, browse.NewRecord(rec, r.Server, r.Transport(), r.At))
			}
		}
		slices.SortFunc(s.Addrs, func(a, b netip.Addr) int { return a.Compare(b) })
	}
	switch {
	case s.Host == "" || len(s.Addrs) == 0:
		s.State = browse.StateUnresolvable
	case s.TXTState == browse.TXTMissing:
		s.State = browse.StateResolving
	}
	if firstErr != nil {
		firstErr = fmt.Errorf("resolving %s: %w", mdns.EscapeText(name), firstErr)
	}
	return s, firstErr
}

// Missing names what an instance resolved over DNS lacks: "SRV", "TXT",
// "address" (none when it is complete).
func Missing(s *browse.Service) []string {
	missing := []string{}
	if s.Host == "" {
		missing = append(missing, "SRV")
	}
	if s.TXTState == browse.TXTMissing {
		missing = append(missing, "TXT")
	}
	if s.Host != "" && len(s.Addrs) == 0 {
		missing = append(missing, "address")
	}
	return missing
}
