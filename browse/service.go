package browse

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/txt"
)

// TXTState says what is known of an instance's TXT record. The four states
// stay distinct everywhere (RFC 6763 §6.1).
type TXTState string

const (
	TXTMissing    TXTState = "missing"     // no TXT record seen
	TXTZeroLength TXTState = "zero-length" // RDATA of length 0 (illegal)
	TXTEmpty      TXTState = "empty"       // the legal empty record: one empty string
	TXTPresent    TXTState = "present"
)

// Service is a snapshot of one instance as the cache knows it.
type Service struct {
	Name     string // full instance name, presentation form (escaped)
	Instance string // the instance label, unescaped (may hold any bytes: escape before printing)
	Type     string // e.g. "_p2p._tcp"
	Domain   string // e.g. "local."
	Host     string // SRV target
	Port     uint16
	Priority uint16
	Weight   uint16
	Addrs    []netip.Addr // IPv6 link-local with zone
	TXTState TXTState
	TXT      txt.Record // meaningful when TXTState is present or empty
	TXTRaw   []byte     // the RDATA exactly as received (shared: do not modify)
	Records  []Record   // PTR, SRV, TXT, A and AAAA records with provenance
	// State says how far the instance can be trusted, StateSince since
	// when; Unanswered counts the refresh queries for its records that
	// went unanswered (RFC 6762 §5.2).
	State      State
	StateSince time.Time
	Unanswered int
	// Plane says where its records came from: "mdns eth0" (the interface
	// its PTR was heard on) or "dns 10.88.0.9" (a unicast DNS server).
	Plane string
}

// State is an instance's liveness.
type State string

const (
	// StateResolving: found, its SRV, TXT or address not yet seen.
	StateResolving State = "resolving"
	// StateLive: every record answered when last asked.
	StateLive State = "live"
	// StateStale: refresh queries at 80-95% of a record's TTL went
	// unanswered: the responder may be gone without a goodbye.
	StateStale State = "stale"
	// StateUnresolvable: its SRV record, or every address of its host,
	// expired while its PTR remains: browsers list it but cannot connect.
	StateUnresolvable State = "unresolvable"
	// StateGoodbye: a goodbye (TTL 0) arrived; it is removed one second
	// later (RFC 6762 §10.1).
	StateGoodbye State = "goodbye"
)

// Kind is what happened to an instance.
type Kind string

const (
	Added   Kind = "added"
	Updated Kind = "updated"
	Removed Kind = "removed"
	// Refreshed: a packet refreshed the instance's records (TTLs, last
	// seen, packet counts) and nothing else changed; at most one a second
	// for an instance.
	Refreshed Kind = "refreshed"

	typeFound Kind = "type" // internal: BrowseAll found a service type
)

// Change is one field of an instance that changed.
type Change struct {
	Field string // "state", "txt", "port", "host", "addrs", "ttl.TYPE"
	Old   string
	New   string
}

// Event is a change in the set of known instances.
type Event struct {
	Kind    Kind
	At      time.Time
	Service Service
	Changes []Change // Updated only
	Cause   Cause    // Removed only; the Service is then the last snapshot, without Records
}

func txtState(raw []byte, seen bool) TXTState {
	switch {
	case !seen:
		return TXTMissing
	case len(raw) == 0:
		return TXTZeroLength
	case len(raw) == 1 && raw[0] == 0:
		return TXTEmpty
	}
	return TXTPresent
}

// TXTSummary renders an instance's TXT for one line: its strings escaped,
// with count and size, or what is wrong.
func (s *Service) TXTSummary() string {
	switch s.TXTState {
	case TXTMissing:
		return "no TXT record seen"
	case TXTZeroLength:
		return "zero-length TXT (illegal, RFC 6763 §6.1)"
	case TXTEmpty:
		return "empty TXT (one empty string, 1 byte)"
	}
	parts := make([]string, 0, len(s.TXT.Strings))
	for _, str := range s.TXT.Strings {
		parts = append(parts, txt.EscapeUTF8(str))
	}
	n := len(s.TXT.Strings)
	plural := "s"
	if n == 1 {
		plural = ""
	}
	return fmt.Sprintf("%s (%d string%s, %d bytes)", strings.Join(parts, " "), n, plural, len(s.TXTRaw))
}

// diff compares two snapshots of one instance; ot holds the old record
// TTLs by type (the old snapshot's Records are not kept).
func diff(old, new *Service, ot map[uint16]uint32) []Change {
	var out []Change
	if old.State != new.State {
		out = append(out, Change{"state", string(old.State), string(new.State)})
	}
	if old.TXTState != new.TXTState || !bytes.Equal(old.TXTRaw, new.TXTRaw) {
		out = append(out, Change{"txt", old.TXTSummary(), new.TXTSummary()})
	}
	if old.Port != new.Port {
		out = append(out, Change{"port", fmt.Sprint(old.Port), fmt.Sprint(new.Port)})
	}
	if !mdns.EqualNames(old.Host, new.Host) {
		out = append(out, Change{"host", old.Host, new.Host})
	}
	if !slices.Equal(old.Addrs, new.Addrs) {
		out = append(out, Change{"addrs", addrList(old.Addrs), addrList(new.Addrs)})
	}
	nt := ttls(new)
	for _, typ := range []uint16{mdns.TypePTR, mdns.TypeSRV, mdns.TypeTXT, mdns.TypeA, mdns.TypeAAAA} {
		if ot[typ] != nt[typ] && ot[typ] != 0 && nt[typ] != 0 {
			out = append(out, Change{"ttl." + mdns.TypeString(typ), fmt.Sprint(ot[typ]), fmt.Sprint(nt[typ])})
		}
	}
	return out
}

func ttls(s *Service) map[uint16]uint32 {
	m := map[uint16]uint32{}
	for _, r := range s.Records {
		if r.TTL > m[r.Type] {
			m[r.Type] = r.TTL
		}
	}
	return m
}

func addrList(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, " ")
}
