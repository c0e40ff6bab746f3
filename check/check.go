// Package check judges live mDNS responders against RFC 6762 and RFC 6763
// from the packets they send: header bits, IP TTL, cache-flush use, TTLs,
// TXT rules, names, additional records, probing and announcing, repeated
// multicasts, answer delays and legacy unicast replies. It is a pure state
// machine fed packets in order; every finding names the responder, the
// rule, its section and the evidence (packet times).
package check

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/schema"
	"github.com/bonjourctl/bonjourctl/txt"
)

// Level ranks a finding.
type Level string

const (
	Pass Level = "pass"
	Warn Level = "warn"
	Fail Level = "fail"
)

// Finding is one verdict on one responder.
type Finding struct {
	Level     Level       `json:"level"`
	Rule      string      `json:"rule"`      // stable code, e.g. "aa-in-query"
	Section   string      `json:"section"`   // e.g. "RFC 6762 §18.4"
	Responder string      `json:"responder"` // source address (and host name when known)
	Message   string      `json:"message"`
	Evidence  []time.Time `json:"evidence"` // times of the packets that show it
	// Trigger names the packet that made the responder send what is
	// judged, when it was an answer: "query from 10.88.0.1:5353 at
	// 12:00:00.123 (Node\ 1._p2p._tcp.local. TXT QU)".
	Trigger string `json:"trigger,omitempty"`
}

// question is a question seen on the link: when, from whom, QU or not.
type question struct {
	at   time.Time
	src  netip.AddrPort
	qu   bool
	typ  uint16
	name string
	// answeredBy: responders already judged for their answer to it.
	answeredBy map[netip.Addr]bool
}

func (q *question) String() string {
	mode := "QM"
	if q.qu {
		mode = "QU"
	}
	return fmt.Sprintf("query from %s at %s (%s %s %s)", q.src, q.at.Format("15:04:05.000"), mdns.EscapeText(q.name), mdns.TypeString(q.typ), mode)
}

type respKey struct {
	src  netip.Addr
	name string
	typ  uint16
}

type knownAnswer struct {
	at     time.Time
	name   string // lower
	target string // lower
	ttl    uint32
}

type nameType struct {
	name string
	typ  uint16
}

type probeKey struct {
	src  netip.Addr
	name string
}

// Checker accumulates findings.
type Checker struct {
	schemas  *schema.Set         // TXT schemas of well-known types (nil: RFC rules only)
	findings map[string]*Finding // by rule + responder (+ detail)
	order    []string
	hosts    map[netip.Addr]string
	probes   map[probeKey][]time.Time
	queried  map[string]time.Time // lower name -> last query time (any querier)
	filter   func(name string) bool
	goodbye  map[string]bool          // lower names seen with TTL 0
	lastSeen map[string]time.Time     // lower names: last response carrying them
	owner    map[string]netip.Addr    // lower names: who sent them
	probeAt  time.Time                // last probe seen on the link (any querier)
	probeSrc netip.Addr               // who sent it
	queryAt  time.Time                // last query seen on the link (any querier)
	known    []knownAnswer            // known answers of recent queries
	asked    map[nameType]*question   // lower name+type of recent questions
	annMC    map[respKey]time.Time    // last unsolicited multicast of a record
	lastMC   map[respKey]time.Time    // last multicast of a record, solicited or not
	probing  map[netip.Addr]time.Time // responders: their last probe
	upBefore map[probeKey]bool        // first heard answering a question: running before the check
	ptrAns   map[netip.Addr]int       // answers to PTR questions, per responder
	ptrAdd   map[netip.Addr]int       // ... of which carried SRV/TXT
	ptrFirst map[netip.Addr]time.Time

	perSrc    map[netip.Addr]int // findings per sender
	pruned    time.Time          // capture time of the last prune
	untracked int                // names and findings not tracked over maxTracked
}

// maxTracked bounds each of the checker's tables (names, questions,
// responders, findings): a sender inventing names cannot grow it without
// bound. What is not tracked over the bound is counted and reported.
const maxTracked = 20000

// maxPerSender bounds the distinct findings about one sender.
const maxPerSender = 500

// maxKnown bounds the known answers kept from the last second's queries.
const maxKnown = 4096

// room reports whether m may take key k: it already holds it, or has room.
// Otherwise the key is counted as untracked.
func room[K comparable, V any](c *Checker, m map[K]V, k K) bool {
	if _, ok := m[k]; ok || len(m) < maxTracked {
		return true
	}
	c.untracked++
	return false
}

// prune drops what no rule looks at any more: questions and announcements
// older than the windows they are judged in (150 ms, 1 s).
func (c *Checker) prune(now time.Time) {
	c.pruned = now
	for k, at := range c.queried {
		if now.Sub(at) > 2*time.Second {
			delete(c.queried, k)
		}
	}
	for k, q := range c.asked {
		if now.Sub(q.at) > 2*time.Second {
			delete(c.asked, k)
		}
	}
	for k, at := range c.annMC {
		if now.Sub(at) > 2*time.Second {
			delete(c.annMC, k)
		}
	}
}

// New returns a Checker. With filter set, only records and questions whose
// name it accepts are judged (a type or an instance).
func New(filter func(name string) bool) *Checker {
	return &Checker{findings: map[string]*Finding{}, hosts: map[netip.Addr]string{},
		probes: map[probeKey][]time.Time{}, queried: map[string]time.Time{}, filter: filter,
		goodbye: map[string]bool{}, lastSeen: map[string]time.Time{}, owner: map[string]netip.Addr{}, annMC: map[respKey]time.Time{}, asked: map[nameType]*question{},
		lastMC: map[respKey]time.Time{}, probing: map[netip.Addr]time.Time{}, upBefore: map[probeKey]bool{},
		ptrAns: map[netip.Addr]int{}, ptrAdd: map[netip.Addr]int{}, ptrFirst: map[netip.Addr]time.Time{}, perSrc: map[netip.Addr]int{}}
}

// UseSchemas judges TXT records of well-known service types by their
// schemas too (rules schema-*, at the schema's level: error fails).
func (c *Checker) UseSchemas(s *schema.Set) { c.schemas = s }

func (c *Checker) responder(a netip.Addr) string {
	if h := c.hosts[a.WithZone("")]; h != "" {
		return a.String() + " (" + h + ")"
	}
	return a.String()
}

func (c *Checker) add(level Level, rule, section string, src netip.Addr, at time.Time, detail, format string, args ...any) {
	c.addTriggered(level, rule, section, src, at, detail, "", format, args...)
}

// addTriggered is add for a finding about an answer to a question.
func (c *Checker) addTriggered(level Level, rule, section string, src netip.Addr, at time.Time, detail, trigger, format string, args ...any) {
	k := rule + "|" + src.WithZone("").String() + "|" + detail
	f := c.findings[k]
	if f == nil {
		// One sender's findings are bounded on their own, so that a flood
		// from one host cannot crowd out what the others do.
		a := src.WithZone("")
		if !room(c, c.findings, k) || !room(c, c.perSrc, a) || c.perSrc[a] >= maxPerSender {
			if c.perSrc[a] >= maxPerSender {
				c.untracked++
			}
			return
		}
		c.perSrc[a]++
		f = &Finding{Level: level, Rule: rule, Section: section, Responder: src.String(), Message: fmt.Sprintf(format, args...), Trigger: trigger}
		c.findings[k] = f
		c.order = append(c.order, k)
	}
	if len(f.Evidence) < 5 {
		f.Evidence = append(f.Evidence, at)
	}
}

func (c *Checker) wanted(name string) bool { return c.filter == nil || c.filter(mdns.NameKey(name)) }

// Packet judges one received packet.
func (c *Checker) Packet(p *mdns.Packet) {
	m, err := mdns.Parse(p.Raw)
	src := p.Src.Addr()
	if err != nil {
		c.add(Fail, "malformed", "RFC 1035 §4", src, p.Received, "", "sent a malformed message: %v", err)
		return
	}
	if p.Received.Sub(c.pruned) > time.Second || p.Received.Before(c.pruned) {
		c.prune(p.Received)
	}
	relevant := c.filter == nil
	for _, q := range m.Questions {
		relevant = relevant || c.wanted(q.Name)
	}
	for _, sec := range [][]mdns.Record{m.Answers, m.Authority, m.Additional} {
		for i := range sec {
			relevant = relevant || c.wanted(sec[i].Name)
			if t, ok := sec[i].Target(); ok {
				relevant = relevant || c.wanted(t)
			}
			if (sec[i].Type == mdns.TypeA || sec[i].Type == mdns.TypeAAAA) && sec[i].TTL > 0 {
				if a, ok := sec[i].Addr(); ok && a == src.WithZone("") && room(c, c.hosts, a) {
					c.hosts[a] = strings.TrimSuffix(sec[i].Name, ".")
				}
			}
		}
	}
	if !relevant {
		return
	}
	if p.HopLimit >= 0 && p.Src.Port() == mdns.Port {
		if p.HopLimit != 255 {
			c.add(Warn, "ip-ttl", "RFC 6762 §11", src, p.Received, "", "sends with IP TTL/hop limit %d; mDNS packets should go out with 255 (receivers may discard others)", p.HopLimit)
		}
	}
	if m.Response() {
		c.response(p, m)
	} else {
		c.query(p, m)
	}
}

func (c *Checker) query(p *mdns.Packet, m *mdns.Message) {
	src := p.Src.Addr()
	c.queryAt = p.Received
	for _, q := range m.Questions {
		// A querier on both families sends each question twice, a few
		// milliseconds apart; an answer's delay counts from the first copy.
		if at, ok := c.queried[mdns.NameKey(q.Name)]; (!ok && room(c, c.queried, mdns.NameKey(q.Name))) || (ok && p.Received.Sub(at) > 50*time.Millisecond) {
			c.queried[mdns.NameKey(q.Name)] = p.Received
		}
		// The copy of a question over the other family, milliseconds
		// later, is the same question.
		if old, ok := c.asked[nameType{mdns.NameKey(q.Name), q.Type}]; (!ok && room(c, c.asked, nameType{mdns.NameKey(q.Name), q.Type})) || (ok && p.Received.Sub(old.at) > 50*time.Millisecond) {
			c.asked[nameType{mdns.NameKey(q.Name), q.Type}] = &question{at: p.Received, src: p.Src, qu: q.QU, typ: q.Type, name: q.Name, answeredBy: map[netip.Addr]bool{}}
		}
	}
	// Known answers (§7.1), kept briefly to judge the replies.
	cut := 0
	for cut < len(c.known) && p.Received.Sub(c.known[cut].at) > time.Second {
		cut++
	}
	c.known = c.known[cut:]
	for _, a := range m.Answers {
		if t, ok := a.Target(); ok && a.Type == mdns.TypePTR {
			if len(c.known) >= maxKnown {
				c.known = c.known[1:] // the oldest first
				c.untracked++
			}
			c.known = append(c.known, knownAnswer{p.Received, mdns.NameKey(a.Name), mdns.NameKey(t), a.TTL})
		}
	}
	if p.Src.Port() != mdns.Port {
		return // a legacy querier, not a responder
	}
	if m.Authoritative() {
		c.add(Fail, "aa-in-query", "RFC 6762 §18.4", src, p.Received, "", "sets the AA bit in queries; it must be zero in queries")
	}
	if len(m.Authority) == 0 {
		return
	}
	c.probeAt, c.probeSrc = p.Received, src.WithZone("")
	if room(c, c.probing, src.WithZone("")) {
		c.probing[src.WithZone("")] = p.Received
	}
	// A probe: questions with the proposed records in the authority section.
	for _, q := range m.Questions {
		if !c.wanted(q.Name) {
			continue
		}
		k := probeKey{src.WithZone(""), mdns.NameKey(q.Name)}
		if room(c, c.probes, k) && len(c.probes[k]) < 8 { // 3 are judged
			c.probes[k] = append(c.probes[k], p.Received)
		}
		if q.Type != mdns.TypeANY {
			c.add(Warn, "probe-type", "RFC 6762 §8.1", src, p.Received, q.Name, "probes for %s with type %s; probes ask type ANY", mdns.EscapeText(q.Name), mdns.TypeString(q.Type))
		}
		if !q.QU {
			c.add(Warn, "probe-qu", "RFC 6762 §8.1", src, p.Received, q.Name, "probes for %s without the QU bit; the first probe should ask for a unicast reply", mdns.EscapeText(q.Name))
		}
	}
	for i := range m.Authority {
		if m.Authority[i].CacheFlush {
			c.add(Fail, "probe-flush", "RFC 6762 §8.1", src, p.Received, "", "sets the cache-flush bit on proposed records in a probe's authority section")
		}
	}
}

// unique reports whether a record type is unique in DNS-SD (SRV, TXT,
// A, AAAA) rather than shared (PTR).
func unique(t uint16) bool {
	return t == mdns.TypeSRV || t == mdns.TypeTXT || t == mdns.TypeA || t == mdns.TypeAAAA
}

func (c *Checker) response(p *mdns.Packet, m *mdns.Message) {
	src := p.Src.Addr()
	legacy := p.Dst.IsValid() && !p.Dst.Addr().IsMulticast() && p.Dst.Port() != mdns.Port
	switch {
	case !m.Authoritative() && legacy:
		// avahi-daemon answers legacy queries from its cache, without AA.
		c.add(Warn, "aa-in-legacy-reply", "RFC 6762 §18.4", src, p.Received, "", "answers legacy unicast queries without the AA bit (answers from a cache?)")
	case !m.Authoritative() && p.Dst.IsValid() && !p.Dst.Addr().IsMulticast():
		// avahi-daemon's unicast replies to QU questions lack AA.
		c.add(Fail, "aa-in-response", "RFC 6762 §18.4", src, p.Received, "unicast", "sends unicast responses (to QU questions) without the AA bit; mDNS responses must set it")
	case !m.Authoritative():
		c.add(Fail, "aa-in-response", "RFC 6762 §18.4", src, p.Received, "", "sends responses without the AA bit; mDNS responses must set it")
	}
	if p.Src.Port() != mdns.Port {
		c.add(Fail, "source-port", "RFC 6762 §6", src, p.Received, "", "sends responses from port %d; they must come from 5353", p.Src.Port())
	}
	multicast := !p.Dst.IsValid() || p.Dst.Addr().IsMulticast()
	if multicast {
		if m.ID != 0 {
			c.add(Fail, "id-in-response", "RFC 6762 §18.1", src, p.Received, "", "multicasts responses with ID %d; multicast responses must carry ID 0", m.ID)
		}
		if len(m.Questions) > 0 {
			c.add(Fail, "questions-in-response", "RFC 6762 §6", src, p.Received, "", "multicast responses carry %d question(s); they must carry none (avahi-daemon drops such responses)", len(m.Questions))
		}
	}
	hasPTR, hasAdd := false, false
	for _, r := range m.Additional {
		if r.Type == mdns.TypeSRV || r.Type == mdns.TypeTXT {
			hasAdd = true
		}
	}
	onlyPTR := true
	for _, r := range m.Answers {
		onlyPTR = onlyPTR && r.Type == mdns.TypePTR
	}
	for si, sec := range [][]mdns.Record{m.Answers, m.Additional} {
		for i := range sec {
			r := &sec[i]
			if !c.wanted(r.Name) {
				if t, ok := r.Target(); !ok || !c.wanted(t) {
					continue
				}
			}
			c.record(p, r, legacy, multicast, si == 0, onlyPTR)
			if r.Type == mdns.TypePTR && r.TTL > 0 && !strings.HasPrefix(mdns.NameKey(r.Name), "_services._dns-sd._udp") && !strings.HasSuffix(r.Name, ".arpa.") {
				hasPTR = true
			}
		}
	}
	for _, r := range m.Answers {
		if r.Type == mdns.TypeSRV || r.Type == mdns.TypeTXT {
			hasAdd = true
		}
	}
	if hasPTR && legacy {
		// Judged on legacy unicast replies to PTR questions (check
		// --active asks them): unlike multicast answers, they are never
		// trimmed of records the responder multicast a moment ago.
		a := src.WithZone("")
		if !room(c, c.ptrAns, a) {
			return
		}
		c.ptrAns[a]++
		if hasAdd {
			c.ptrAdd[a]++
		} else if c.ptrFirst[a].IsZero() {
			c.ptrFirst[a] = p.Received
		}
	}
}

func (c *Checker) record(p *mdns.Packet, r *mdns.Record, legacy, multicast, answer, onlyPTR bool) {
	src := p.Src.Addr()
	name := mdns.EscapeText(r.Name)
	if legacy {
		if r.CacheFlush {
			c.add(Fail, "legacy-flush", "RFC 6762 §6.7", src, p.Received, "", "legacy unicast replies carry the cache-flush bit (%s %s); they must not", name, mdns.TypeString(r.Type))
		}
		if r.TTL > 10 {
			c.add(Warn, "legacy-ttl", "RFC 6762 §6.7", src, p.Received, "", "legacy unicast replies give TTL %d; at most 10 s is asked", r.TTL)
		}
		return
	}
	ln := mdns.NameKey(r.Name)
	if r.TTL == 0 {
		if room(c, c.goodbye, ln) {
			c.goodbye[ln] = true
		}
		return
	}
	if room(c, c.lastSeen, ln) {
		c.lastSeen[ln] = p.Received
		c.owner[ln] = src
	}
	switch {
	case r.Type == mdns.TypePTR && r.CacheFlush && !strings.HasSuffix(r.Name, ".arpa."):
		c.add(Fail, "flush-on-shared", "RFC 6762 §10.2", src, p.Received, r.Name, "sets the cache-flush bit on the shared PTR record %s; browsers would then drop every other instance of the type", name)
	case unique(r.Type) && !r.CacheFlush && multicast:
		c.add(Warn, "no-flush-on-unique", "RFC 6762 §10.2", src, p.Received, r.Name+mdns.TypeString(r.Type), "sends the unique record %s %s without the cache-flush bit; stale data lingers in caches", name, mdns.TypeString(r.Type))
	}
	want := map[uint16]uint32{mdns.TypeSRV: 120, mdns.TypeA: 120, mdns.TypeAAAA: 120, mdns.TypePTR: 4500, mdns.TypeTXT: 4500}[r.Type]
	if want != 0 && r.TTL != want && !strings.HasSuffix(r.Name, ".arpa.") {
		c.add(Warn, "ttl", "RFC 6762 §10", src, p.Received, mdns.TypeString(r.Type), "gives %s records TTL %d; the recommended TTL is %d (120 s for records about a host, 75 minutes for the rest)", mdns.TypeString(r.Type), r.TTL, want)
	}
	if r.Type == mdns.TypeTXT {
		for _, f := range txt.Lint(r.Data) {
			if f.Severity == txt.Info {
				continue
			}
			lvl := Warn
			if f.Severity == txt.Error {
				lvl = Fail
			}
			c.add(lvl, "txt-"+f.Code, "RFC 6763 §"+f.Section, src, p.Received, r.Name, "TXT of %s: %s", name, f.Message)
		}
		c.judgeSchema(src, p.Received, r, name)
	}
	if r.Type == mdns.TypePTR && !strings.HasSuffix(r.Name, ".arpa.") {
		if t, ok := r.Target(); ok {
			c.names(p, r.Name, t)
		}
	}
	// §6: a record is multicast at most once a second on a link (but in
	// answer to a probe); §8.3: announcements at least one second apart.
	if multicast && answer {
		q, solicited := c.solicitation(r, p.Received)
		k := respKey{src.WithZone(""), mdns.NameKey(r.Name), r.Type}
		defending := !c.probeAt.IsZero() && c.probeSrc != src.WithZone("") && p.Received.Sub(c.probeAt) < 300*time.Millisecond
		// A responder still probing must not answer for the names it
		// probes: what it sends then is not judged as answers.
		probing := p.Received.Sub(c.probing[src.WithZone("")]) < time.Second
		if !probing {
			c.answerChecks(p, r, onlyPTR)
		}
		last, seen := c.lastMC[k]
		since := p.Received.Sub(last)
		switch {
		case solicited && !defending && !probing && seen && since > 0 && since < time.Second:
			c.addTriggered(Fail, "one-second-rule", "RFC 6762 §6", src, p.Received, r.Name+mdns.TypeString(r.Type), q.String(),
				"multicast %s %s again %v after its previous multicast, in answer to a question; a record goes out at most once a second on a link (answers to probes excepted)", name, mdns.TypeString(r.Type), since.Round(time.Millisecond))
		case !solicited && !defending:
			// Records no question asked for in the 150 ms before (shared
			// answers wait at most 120 ms) are announcements.
			if l, ok := c.annMC[k]; ok && p.Received.Sub(l) < time.Second && p.Received.Sub(l) > 0 {
				c.add(Fail, "announce-spacing", "RFC 6762 §8.3", src, p.Received, r.Name+mdns.TypeString(r.Type),
					"announced %s %s twice within %v; announcements must be at least 1 s apart", name, mdns.TypeString(r.Type), p.Received.Sub(l).Round(time.Millisecond))
			}
			if room(c, c.annMC, k) {
				c.annMC[k] = p.Received
			}
		}
		// §5.4: a QU question gets a unicast answer, unless the record has
		// not been multicast within a quarter of its TTL.
		if solicited && q.qu && !defending && !probing && seen && since > 0 && since < time.Duration(min(r.TTL, 1<<31-1))*time.Second/4 {
			c.addTriggered(Warn, "qu-multicast", "RFC 6762 §5.4", src, p.Received, r.Name+mdns.TypeString(r.Type), q.String(),
				"answered a QU question for %s %s by multicast %v after multicasting it; a record multicast within a quarter of its TTL goes to a QU question by unicast", name, mdns.TypeString(r.Type), since.Round(time.Millisecond))
		}
		if room(c, c.lastMC, k) {
			c.lastMC[k] = p.Received
		}
		if r.Type == mdns.TypePTR && !probing {
			if qt, ok := c.queried[mdns.NameKey(r.Name)]; ok {
				// Judged on pure PTR answers only: an announcement that
				// happens to follow a query is not an answer to it.
				if d := p.Received.Sub(qt); onlyPTR && !defending && d >= 0 && d < 20*time.Millisecond && c.hosts[src.WithZone("")] != "" {
					c.add(Warn, "shared-answer-delay", "RFC 6762 §6", src, p.Received, "", "answered a shared PTR question after %v; shared answers wait 20-120 ms so responses from several hosts do not collide", d.Round(100*time.Microsecond))
				}
			}
		}
	}
	if unique(r.Type) && r.Type != mdns.TypeA && r.Type != mdns.TypeAAAA {
		pk := probeKey{src.WithZone(""), mdns.NameKey(r.Name)}
		if _, ok := c.probes[pk]; !ok && !c.upBefore[pk] && room(c, c.probes, pk) && room(c, c.upBefore, pk) {
			if _, asked := c.solicitation(r, p.Received); asked {
				// First heard answering a question: it was running before
				// the check began, and its probing was not seen.
				c.upBefore[pk] = true
			} else {
				c.probes[pk] = nil // seen announced; judged in Findings
			}
		}
	}
}

// answerChecks judges one multicast answer against the questions just
// before it: known-answer suppression (§7.1) and prompt answers for unique
// records (§6).
func (c *Checker) answerChecks(p *mdns.Packet, r *mdns.Record, onlyPTR bool) {
	src := p.Src.Addr()
	ln := mdns.NameKey(r.Name)
	// Judged on pure PTR answers only: an announcement that happens to
	// follow a query is not an answer to it.
	if t, ok := r.Target(); ok && r.Type == mdns.TypePTR && onlyPTR {
		lt := mdns.NameKey(t)
		for _, k := range c.known {
			if d := p.Received.Sub(k.at); d >= 0 && d < 150*time.Millisecond && k.name == ln && k.target == lt && k.ttl*2 >= r.TTL {
				c.add(Fail, "known-answer-ignored", "RFC 6762 §7.1", src, p.Received, ln+lt,
					"answered with %s PTR %s although the query listed it as a known answer with %d s left; it must stay silent", mdns.EscapeText(r.Name), mdns.EscapeText(t), k.ttl)
			}
		}
	}
	if unique(r.Type) {
		if q, ok := c.asked[nameType{ln, r.Type}]; ok && !q.answeredBy[src.WithZone("")] {
			if d := p.Received.Sub(q.at); d > 100*time.Millisecond && d < time.Second {
				c.addTriggered(Warn, "unique-answer-delay", "RFC 6762 §6", src, p.Received, ln, q.String(), "answered a question for its unique record %s %s after %v; unique answers go out at once (within about 10 ms)", mdns.EscapeText(r.Name), mdns.TypeString(r.Type), d.Round(time.Millisecond))
			}
			q.answeredBy[src.WithZone("")] = true // judged once per question and responder
		}
	}
}

// solicitation returns the question for this record (its name and type,
// or ANY) asked in the 150 ms before it, if one was.
func (c *Checker) solicitation(r *mdns.Record, at time.Time) (*question, bool) {
	ln := mdns.NameKey(r.Name)
	for _, t := range []uint16{r.Type, mdns.TypeANY} {
		if q, ok := c.asked[nameType{ln, t}]; ok && at.Sub(q.at) >= 0 && at.Sub(q.at) < 150*time.Millisecond {
			return q, true
		}
	}
	return nil, false
}

// names checks a service type and instance name (RFC 6763 §4.1.1, §7;
// RFC 6335 §5.1).
func (c *Checker) names(p *mdns.Packet, ptrName, target string) {
	src := p.Src.Addr()
	labels := mdns.SplitName(ptrName)
	if len(labels) >= 3 && labels[len(labels)-2] != "_sub" {
		svc := labels[0]
		if strings.HasPrefix(ptrName, "_services.") {
			return
		}
		if len(svc) > 16 || !strings.HasPrefix(svc, "_") || !validServiceName(svc[1:]) {
			c.add(Warn, "service-name", "RFC 6335 §5.1, RFC 6763 §7", src, p.Received, svc, "service name %s is not 1-15 letters, digits and hyphens after the underscore", mdns.EscapeText(svc))
		}
	}
	tl := mdns.SplitName(target)
	if len(tl) > 0 {
		inst := mdns.UnescapeLabel(tl[0])
		if len(inst) > 63 || !utf8.ValidString(inst) {
			c.add(Warn, "instance-name", "RFC 6763 §4.1.1", src, p.Received, inst, "instance name %s is not 1-63 bytes of UTF-8", mdns.EscapeText(tl[0]))
		}
	}
}

func validServiceName(s string) bool {
	if s == "" || len(s) > 15 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	letter := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			letter = true
		case r >= '0' && r <= '9', r == '-':
		default:
			return false
		}
	}
	return letter
}

// Vanished reports a responder that stopped answering for name without
// sending goodbyes: the caller asked for name at asked and nothing came
// back since (RFC 6762 §10.1).
func (c *Checker) Vanished(name string, asked, now time.Time) {
	ln := mdns.NameKey(name)
	last, ok := c.lastSeen[ln]
	// A responder heard shortly before the question may rightly stay
	// silent: it multicast the record less than a second ago (§6).
	if !ok || c.goodbye[ln] || last.After(asked.Add(-1500*time.Millisecond)) {
		return
	}
	c.add(Fail, "no-goodbye", "RFC 6762 §10.1", c.owner[ln], now, ln, "stopped answering for %s (last heard %s) without sending goodbye records (TTL 0); browsers keep showing it until its TTL runs out", mdns.EscapeText(name), last.Format("15:04:05.000"))
}

// Names returns the instance names (SRV owners) heard so far.
func (c *Checker) Names() []string {
	var out []string
	for n := range c.lastSeen {
		if c.filter == nil || c.filter(n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Findings returns everything found, failures first, then warnings; with
// probing judged over the whole observation (observedStart says whether the
// check was running before the responders started).
func (c *Checker) Findings(observedStart bool) []Finding {
	if observedStart {
		keys := make([]probeKey, 0, len(c.probes))
		for k := range c.probes {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i].name < keys[j].name })
		for _, k := range keys {
			ts := c.probes[k]
			if len(ts) == 0 && c.upBefore[k] {
				continue // running before the check began
			}
			switch {
			case len(ts) == 0:
				c.add(Fail, "no-probes", "RFC 6762 §8.1", k.src, time.Time{}, k.name, "announced %s without probing for it first (3 probes 250 ms apart)", mdns.EscapeText(k.name))
			case len(ts) < 3:
				c.add(Warn, "probe-count", "RFC 6762 §8.1", k.src, ts[0], k.name, "sent %d probe(s) for %s; 3 are asked", len(ts), mdns.EscapeText(k.name))
			default:
				for i := 1; i < len(ts) && i < 3; i++ {
					if d := ts[i].Sub(ts[i-1]); d < 200*time.Millisecond {
						c.add(Warn, "probe-spacing", "RFC 6762 §8.1", k.src, ts[i], k.name, "probes for %s %v apart; 250 ms is asked", mdns.EscapeText(k.name), d.Round(time.Millisecond))
					}
				}
			}
		}
	}
	for a, n := range c.ptrAns {
		if c.ptrAdd[a] == 0 {
			c.add(Warn, "ptr-additionals", "RFC 6763 §12.1", a, c.ptrFirst[a], "", "answered %d PTR question(s) without the SRV and TXT records as additional records, so every browser must ask again", n)
		}
	}
	if c.untracked > 0 {
		// Added last, past the bound on findings.
		c.findings["untracked"] = &Finding{Level: Warn, Rule: "untracked", Section: "bonjourctl", Message: fmt.Sprintf("%d times a name, question, responder or finding was not tracked, over bonjourctl's bound of %d of each (a flood of invented names?): judgments about them are missing", c.untracked, maxTracked)}
		if !slices.Contains(c.order, "untracked") {
			c.order = append(c.order, "untracked")
		}
	}
	out := make([]Finding, 0, len(c.order))
	for _, k := range c.order {
		f := *c.findings[k]
		if a, err := netip.ParseAddr(f.Responder); err == nil {
			f.Responder = c.responder(a)
		}
		out = append(out, f)
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i].Level) > rank(out[j].Level) })
	return out
}

func rank(l Level) int {
	switch l {
	case Fail:
		return 2
	case Warn:
		return 1
	}
	return 0
}

// judgeSchema judges a TXT record by its service type's schema.
func (c *Checker) judgeSchema(src netip.Addr, at time.Time, r *mdns.Record, name string) {
	if c.schemas == nil {
		return
	}
	inst, typ, _, ok := mdns.SplitInstance(r.Name)
	if !ok {
		return
	}
	sc := c.schemas.For(typ)
	if sc == nil {
		return
	}
	rec, err := txt.Parse(r.Data)
	if err != nil {
		return // txt lint has said so
	}
	for _, f := range sc.Check(rec, len(r.Data), inst).Findings {
		if f.Severity == txt.Info {
			continue
		}
		lvl := Warn
		if f.Severity == txt.Error {
			lvl = Fail
		}
		sec := sc.Name
		if f.Section != "" {
			sec += " " + f.Section
		}
		c.add(lvl, f.Code, sec, src, at, r.Name+"|"+f.Code+"|"+f.Key, "TXT of %s: %s", name, f.Message)
	}
}
