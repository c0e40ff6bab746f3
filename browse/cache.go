package browse

import (
	"bytes"
	"net/netip"
	"slices"
	"strconv"
	"strings"
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
)

// Record is one cached resource record and where it came from.
type Record struct {
	Name       string // presentation form, as received
	Type       uint16
	Class      uint16
	CacheFlush bool
	TTL        uint32 // as received in the latest packet
	Src        netip.AddrPort
	IfIndex    int
	IfName     string
	Family     int
	FirstSeen  time.Time
	LastSeen   time.Time // arrival of the latest packet carrying it
	Packets    int       // packets that carried it
	Data       []byte    // RDATA exactly as received (TXT: the wire bytes)

	// Decoded RDATA.
	Target                 string // PTR and SRV
	Priority, Weight, Port uint16 // SRV
	Addr                   netip.Addr

	expires time.Time
	cause   Cause // set when removal is scheduled (goodbye, flush)
	gen     int   // bumped on every refresh; stale scheduler tasks compare it
	key     cacheKey
}

// Remaining returns the TTL left at now, in whole seconds.
func (r *Record) Remaining(now time.Time) uint32 {
	d := r.expires.Sub(now)
	if d <= 0 {
		return 0
	}
	return uint32((d + time.Second - 1) / time.Second)
}

type cacheKey struct {
	ifIndex int
	name    string // lower case
	rrtype  uint16
	class   uint16
	rdata   string // canonical: names lower-cased and uncompressed
}

type nameType struct {
	name   string
	rrtype uint16
}

// cache is the RFC 6762 §10 record cache: keyed by interface, name, type,
// class and data; bounded, evicting the record closest to expiry.
type cache struct {
	recs    map[cacheKey]*Record
	byName  map[nameType][]*Record
	ptrTo   map[string][]*Record // PTR records by lower-cased target
	max     int
	evicted uint64
}

func newCache(max int) *cache {
	return &cache{recs: map[cacheKey]*Record{}, byName: map[nameType][]*Record{}, ptrTo: map[string][]*Record{}, max: max}
}

func lower(s string) string { return strings.ToLower(s) }

func canonicalRData(r *mdns.Record) string {
	if p, w, port, t, ok := r.SRV(); ok {
		return strconv.Itoa(int(p)) + " " + strconv.Itoa(int(w)) + " " + strconv.Itoa(int(port)) + " " + lower(t)
	}
	if t, ok := r.Target(); ok {
		return lower(t)
	}
	return string(r.Data)
}

// upsert adds or refreshes a record. It returns the cached record (nil for a
// goodbye of a record not held) and the records it displaced: flushed ones
// are scheduled to go in 1 s and returned so the caller can reschedule them.
func (c *cache) upsert(now time.Time, p *mdns.Packet, r *mdns.Record) (rec *Record, flushed []*Record, evicted *Record) {
	k := cacheKey{ifIndex: p.IfIndex, name: lower(r.Name), rrtype: r.Type, class: r.Class, rdata: canonicalRData(r)}
	rec = c.recs[k]
	if r.TTL == 0 {
		// RFC 6762 §10.1: a goodbye; remove one second later.
		if rec != nil && rec.cause == "" {
			rec.expires, rec.cause = now.Add(time.Second), CauseGoodbye
			rec.gen++
		}
		return rec, nil, nil
	}
	if rec == nil {
		if c.max > 0 && len(c.recs) >= c.max {
			evicted = c.evictOne()
		}
		rec = &Record{key: k, FirstSeen: now, Name: r.Name, Type: r.Type, Class: r.Class}
		c.recs[k] = rec
		nt := nameType{k.name, k.rrtype}
		c.byName[nt] = append(c.byName[nt], rec)
		if r.Type == mdns.TypePTR {
			c.ptrTo[k.rdata] = append(c.ptrTo[k.rdata], rec)
		}
	}
	rec.CacheFlush, rec.TTL = r.CacheFlush, r.TTL
	rec.Src, rec.IfIndex, rec.IfName, rec.Family = p.Src, p.IfIndex, p.IfName, p.Family()
	rec.LastSeen = now
	rec.Packets++
	if !bytes.Equal(rec.Data, r.Data) || rec.Data == nil {
		// A new slice, never written again: events and snapshots share
		// it safely with whoever consumes them.
		rec.Data = append(make([]byte, 0, len(r.Data)), r.Data...)
	}
	rec.expires, rec.cause = now.Add(time.Duration(r.TTL)*time.Second), ""
	rec.gen++
	if t, ok := r.Target(); ok {
		rec.Target = t
	}
	if pr, w, port, _, ok := r.SRV(); ok {
		rec.Priority, rec.Weight, rec.Port = pr, w, port
	}
	if a, ok := r.Addr(); ok {
		if a.Is6() && a.IsLinkLocalUnicast() && p.IfName != "" {
			a = a.WithZone(p.IfName)
		}
		rec.Addr = a
	}
	if r.CacheFlush {
		// RFC 6762 §10.2: other members of this RRset on this interface
		// received more than one second ago go in one second.
		for _, other := range c.byName[nameType{k.name, k.rrtype}] {
			if other == rec || other.key.ifIndex != k.ifIndex || other.key.class != k.class || other.cause != "" {
				continue
			}
			if now.Sub(other.LastSeen) > time.Second {
				other.expires, other.cause = now.Add(time.Second), CauseFlushed
				other.gen++
				flushed = append(flushed, other)
			}
		}
	}
	return rec, flushed, evicted
}

func (c *cache) evictOne() *Record {
	var victim *Record
	for _, r := range c.recs {
		if victim == nil || r.expires.Before(victim.expires) {
			victim = r
		}
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

func without(rs []*Record, r *Record) []*Record {
	if i := slices.Index(rs, r); i >= 0 {
		rs[i] = rs[len(rs)-1]
		rs[len(rs)-1] = nil
		rs = rs[:len(rs)-1]
	}
	return rs
}

// pointingTo returns the PTR records whose target is name.
func (c *cache) pointingTo(name string) []*Record { return c.ptrTo[lower(name)] }

// lookup returns the live records for a name and type, on every interface.
func (c *cache) lookup(name string, rrtype uint16) []*Record {
	return c.byName[nameType{lower(name), rrtype}]
}
