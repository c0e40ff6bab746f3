package browse

import (
	"bytes"
	"container/heap"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/bonjourctl/bonjourctl/mdns"
)

// Cause says why a record or an instance went away.
type Cause string

const (
	CauseGoodbye Cause = "goodbye" // the responder sent it with TTL 0 (RFC 6762 §10.1)
	CauseExpired Cause = "expired" // its TTL ran out
	CauseFlushed Cause = "flushed" // a cache-flush record replaced it (RFC 6762 §10.2)
	CauseEvicted Cause = "evicted" // the cache was full
	// CauseAbsent: a DNS server's answer no longer holds it (DNS-SD over
	// unicast DNS has no goodbyes: a deleted record is simply not there).
	CauseAbsent Cause = "absent"
)

// Record is one cached resource record, as it was on the wire (its data
// owned by the cache and never written again), and where it came from.
type Record struct {
	mdns.Record
	Src       netip.AddrPort
	IfIndex   int
	IfName    string
	Family    int
	HopLimit  int  // IP TTL or hop limit of the latest packet; -1 when unknown
	Observed  bool // the latest packet was seen on the link, not received (mdns.Packet.Observed)
	FirstSeen time.Time
	LastSeen  time.Time // arrival of the latest packet carrying it
	Packets   int       // packets that carried it

	zone    string // for a link-local AAAA: the interface it was heard on
	expires time.Time
	cause   Cause // set when removal is scheduled (goodbye, flush)
	key     cacheKey
	due     *task  // its next refresh or its expiry
	step    int    // refresh points already queried
	seq     uint64 // order of the latest packet that carried it
	exIdx   int    // position in the cache's expiry heap
}

// Addr returns the address of an A or AAAA record, an IPv6 link-local one
// with the interface it was heard on as its zone.
func (r *Record) Addr() (netip.Addr, bool) {
	a, ok := r.Record.Addr()
	if ok && r.zone != "" {
		a = a.WithZone(r.zone)
	}
	return a, ok
}

// Remaining returns the TTL left at now, in whole seconds.
func (r *Record) Remaining(now time.Time) uint32 {
	d := r.expires.Sub(now)
	if d <= 0 {
		return 0
	}
	return uint32((d + time.Second - 1) / time.Second)
}

// maxScheduleTTL bounds the TTLs used for scheduling: RFC 2181 §8 makes
// values with the top bit set meaningless, and time arithmetic on them
// would overflow. The received TTL is kept and shown as it was.
const maxScheduleTTL = 1<<31 - 1

func scheduleTTL(ttl uint32) time.Duration {
	return time.Duration(min(ttl, maxScheduleTTL)) * time.Second
}

type cacheKey struct {
	ifIndex int
	name    string // NameKey
	rrtype  uint16
	class   uint16
	rdata   string // canonical: names folded and uncompressed
}

type nameType struct {
	name   string
	rrtype uint16
}

// cache is the RFC 6762 §10 record cache: keyed by interface, name, type,
// class and data; bounded, evicting the record closest to expiry, found in
// O(log n) through an expiry heap (as python-zeroconf's cache does).
type cache struct {
	recs    map[cacheKey]*Record
	byName  map[nameType][]*Record
	ptrTo   map[string][]*Record // PTR records by their target's NameKey
	expiry  expiryHeap
	max     int
	evicted uint64
	seq     uint64 // packets seen, to order records received at the same instant
}

func newCache(max int) *cache {
	return &cache{recs: map[cacheKey]*Record{}, byName: map[nameType][]*Record{}, ptrTo: map[string][]*Record{}, max: max}
}

// expiryHeap orders the cached records by expiry.
type expiryHeap []*Record

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].exIdx, h[j].exIdx = i, j
}
func (h *expiryHeap) Push(x any) {
	r := x.(*Record)
	r.exIdx = len(*h)
	*h = append(*h, r)
}
func (h *expiryHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	r.exIdx = -1
	return r
}

// expiresAt moves a cached record's expiry.
func (c *cache) expiresAt(r *Record, t time.Time) {
	r.expires = t
	if r.exIdx >= 0 && r.exIdx < len(c.expiry) && c.expiry[r.exIdx] == r {
		heap.Fix(&c.expiry, r.exIdx)
	}
}

func canonicalRData(r *mdns.Record) string {
	if p, w, port, t, ok := r.SRV(); ok {
		return strconv.Itoa(int(p)) + " " + strconv.Itoa(int(w)) + " " + strconv.Itoa(int(port)) + " " + mdns.NameKey(t)
	}
	if t, ok := r.Target(); ok {
		return mdns.NameKey(t)
	}
	return string(r.Data)
}

// upsert adds or refreshes a record. It returns the cached record (nil for
// a goodbye of a record not held), the records a cache-flush displaced
// (scheduled to go in 1 s) and the record evicted to make room, if any.
func (c *cache) upsert(now time.Time, p *mdns.Packet, r *mdns.Record) (rec *Record, flushed []*Record, evicted *Record) {
	k := cacheKey{ifIndex: p.IfIndex, name: mdns.NameKey(r.Name), rrtype: r.Type, class: r.Class, rdata: canonicalRData(r)}
	rec = c.recs[k]
	if r.TTL == 0 {
		// RFC 6762 §10.1: a goodbye; remove one second later.
		if rec != nil && rec.cause == "" {
			c.expiresAt(rec, now.Add(time.Second))
			rec.cause = CauseGoodbye
			rec.TTL = 0
			rec.LastSeen = now
			rec.Packets++
		}
		return rec, nil, nil
	}
	if rec == nil {
		if c.max > 0 && len(c.recs) >= c.max {
			evicted = c.evictOne()
		}
		rec = &Record{key: k, FirstSeen: now, due: newTask(taskRecord), expires: now.Add(scheduleTTL(r.TTL))}
		rec.due.rec = rec
		c.recs[k] = rec
		heap.Push(&c.expiry, rec)
		nt := nameType{k.name, k.rrtype}
		c.byName[nt] = append(c.byName[nt], rec)
		if r.Type == mdns.TypePTR {
			c.ptrTo[k.rdata] = append(c.ptrTo[k.rdata], rec)
		}
	}
	data := rec.Data
	if !bytes.Equal(data, r.Data) || data == nil {
		// A new slice, never written again: events and snapshots share
		// it safely with whoever consumes them.
		data = append(make([]byte, 0, len(r.Data)), r.Data...)
	}
	rec.Record = *r
	rec.Record.Data = data
	rec.Src, rec.IfIndex, rec.IfName, rec.Family = p.Src, p.IfIndex, p.IfName, p.Family()
	rec.HopLimit, rec.Observed = p.HopLimit, p.Observed
	rec.zone = ""
	if a, ok := r.Addr(); ok && a.Is6() && a.IsLinkLocalUnicast() {
		rec.zone = p.IfName
	}
	rec.LastSeen = now
	rec.Packets++
	c.seq++
	rec.seq = c.seq
	c.expiresAt(rec, now.Add(scheduleTTL(r.TTL)))
	rec.cause, rec.step = "", 0
	if r.CacheFlush {
		// RFC 6762 §10.2: other members of this RRset on this interface
		// received more than one second ago go in one second.
		for _, other := range c.byName[nameType{k.name, k.rrtype}] {
			if other == rec || other.key.ifIndex != k.ifIndex || other.key.class != k.class || other.cause != "" {
				continue
			}
			if now.Sub(other.LastSeen) > time.Second {
				c.expiresAt(other, now.Add(time.Second))
				other.cause = CauseFlushed
				flushed = append(flushed, other)
			}
		}
	}
	return rec, flushed, evicted
}

func (c *cache) evictOne() *Record {
	var victim *Record
	if len(c.expiry) > 0 {
		victim = c.expiry[0]
	}
	if victim != nil {
		c.remove(victim)
		victim.cause = CauseEvicted
		c.evicted++
	}
	return victim
}

func (c *cache) remove(r *Record) {
	delete(c.recs, r.key)
	if r.exIdx >= 0 && r.exIdx < len(c.expiry) && c.expiry[r.exIdx] == r {
		heap.Remove(&c.expiry, r.exIdx)
	}
	if r.key.rrtype == mdns.TypePTR {
		if rs := without(c.ptrTo[r.key.rdata], r); len(rs) > 0 {
			c.ptrTo[r.key.rdata] = rs
		} else {
			delete(c.ptrTo, r.key.rdata)
		}
	}
	nt := nameType{r.key.name, r.key.rrtype}
	if rs := without(c.byName[nt], r); len(rs) > 0 {
		c.byName[nt] = rs
	} else {
		delete(c.byName, nt)
	}
}

func (c *cache) held(r *Record) bool { return c.recs[r.key] == r }

func without(rs []*Record, r *Record) []*Record {
	if i := slices.Index(rs, r); i >= 0 {
		rs[i] = rs[len(rs)-1]
		rs[len(rs)-1] = nil
		rs = rs[:len(rs)-1]
	}
	return rs
}

// pointingTo returns the PTR records whose target is name.
func (c *cache) pointingTo(name string) []*Record { return c.ptrTo[mdns.NameKey(name)] }

// lookup returns the live records for a name and type, on every interface.
func (c *cache) lookup(name string, rrtype uint16) []*Record {
	return c.byName[nameType{mdns.NameKey(name), rrtype}]
}
