package advertise

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/netip"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/internal/dump"
	"github.com/bonjourctl/bonjourctl/mdns"
)

// Service is what a Responder publishes.
type Service struct {
	Instance string   // the instance label, unescaped ("Node 1")
	Type     string   // "_p2p._tcp"
	Domain   string   // "local." (default)
	Port     uint16   //
	TXT      []byte   // TXT RDATA exactly as it goes on the wire; nil means the legal empty record (00)
	Subtypes []string // "_printer" publishes _printer._sub._p2p._tcp.local.
	Host     string   // target host name ("host.local."); required
	// Addrs, when set, are published for Host on every interface (a proxy,
	// like dns-sd -P). When empty, each interface answers with its own
	// addresses.
	Addrs []netip.Addr
	// TTLs: 120 s for host records (SRV, A, AAAA) and 4500 s for the others
	// (PTR, TXT) by default (RFC 6762 §10).
	TTLHost, TTLOther uint32
}

// Faults switches off the safeguards, to emit deliberately broken records
// for testing clients (advertise --raw).
type Faults struct {
	ZeroLengthTXT bool // send an empty TXT as zero-length RDATA (illegal, RFC 6763 §6.1)
	NoProbe       bool // announce at once, without probing (RFC 6762 §8.1)
	NoCacheFlush  bool // never set the cache-flush bit
	NoGoodbye     bool // stop silently
	FlushShared   bool // set the cache-flush bit on shared PTR records too
	AAInQueries   bool // set the AA bit on probes
	FastAnnounce  bool // announce twice 200 ms apart (RFC: at least 1 s)
	NoAdditionals bool // answer PTR questions without SRV/TXT/address additionals
	LegacyFlush   bool // keep the cache-flush bit in legacy unicast replies
}

func (s *Service) domain() string {
	if s.Domain == "" {
		return "local."
	}
	return dns.Fqdn(s.Domain)
}

func (s *Service) typeName() string { return dns.Fqdn(s.Type) + s.domain() }

func (s *Service) instanceName() string {
	return mdns.EscapeLabel(s.Instance) + "." + s.typeName()
}

const servicesName = "_services._dns-sd._udp.local."

// records is the set a Responder publishes at one moment, for one interface.
type records struct {
	ptr      []dns.RR // shared: type PTR, subtype PTRs, _services PTR
	srv, txt dns.RR   // unique
	addrs    []dns.RR // unique: A and AAAA of the host
}

func (r *records) unique() []dns.RR {
	out := []dns.RR{r.srv, r.txt}
	return append(out, r.addrs...)
}

func (r *records) all() []dns.RR { return append(append([]dns.RR(nil), r.ptr...), r.unique()...) }

// build returns the records for svc with the given host addresses.
func build(svc *Service, addrs []netip.Addr, f Faults) *records {
	ttlH, ttlO := svc.TTLHost, svc.TTLOther
	if ttlH == 0 {
		ttlH = 120
	}
	if ttlO == 0 {
		ttlO = 4500
	}
	inst, typ := svc.instanceName(), svc.typeName()
	uniq := uint16(dns.ClassINET)
	if !f.NoCacheFlush {
		uniq |= 1 << 15
	}
	shared := uint16(dns.ClassINET)
	if f.FlushShared {
		shared |= 1 << 15
	}
	r := &records{}
	r.ptr = append(r.ptr, &dns.PTR{Hdr: dns.RR_Header{Name: typ, Rrtype: dns.TypePTR, Class: shared, Ttl: ttlO}, Ptr: inst})
	for _, st := range svc.Subtypes {
		r.ptr = append(r.ptr, &dns.PTR{Hdr: dns.RR_Header{Name: dns.Fqdn(st) + "_sub." + typ, Rrtype: dns.TypePTR, Class: shared, Ttl: ttlO}, Ptr: inst})
	}
	r.ptr = append(r.ptr, &dns.PTR{Hdr: dns.RR_Header{Name: servicesName, Rrtype: dns.TypePTR, Class: shared, Ttl: ttlO}, Ptr: typ})
	r.srv = &dns.SRV{Hdr: dns.RR_Header{Name: inst, Rrtype: dns.TypeSRV, Class: uniq, Ttl: ttlH}, Port: svc.Port, Target: dns.Fqdn(svc.Host)}
	txt := svc.TXT
	if len(txt) == 0 && !f.ZeroLengthTXT {
		txt = []byte{0} // RFC 6763 §6.1: the empty TXT record is one empty string
	}
	// TXT goes out as raw bytes: miekg/dns's TXT type would re-escape the
	// strings and packs an empty list as zero-length RDATA.
	r.txt = &dns.RFC3597{Hdr: dns.RR_Header{Name: inst, Rrtype: dns.TypeTXT, Class: uniq, Ttl: ttlO}, Rdata: hex.EncodeToString(txt)}
	for _, a := range addrs {
		if a.Is4() {
			r.addrs = append(r.addrs, &dns.A{Hdr: dns.RR_Header{Name: dns.Fqdn(svc.Host), Rrtype: dns.TypeA, Class: uniq, Ttl: ttlH}, A: a.AsSlice()})
		} else {
			r.addrs = append(r.addrs, &dns.AAAA{Hdr: dns.RR_Header{Name: dns.Fqdn(svc.Host), Rrtype: dns.TypeAAAA, Class: uniq, Ttl: ttlH}, AAAA: a.WithZone("").AsSlice()})
		}
	}
	return r
}

// nsec returns an NSEC record for name listing the types it has (RFC 6762
// §6.1), with the cache-flush bit.
func nsec(name string, ttl uint32, types []uint16, flush bool) dns.RR {
	cl := uint16(dns.ClassINET)
	if flush {
		cl |= 1 << 15
	}
	return &dns.NSEC{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeNSEC, Class: cl, Ttl: ttl}, NextDomain: name, TypeBitMap: types}
}

// withTTL returns a copy of rr with another TTL (0 for a goodbye).
func withTTL(rr dns.RR, ttl uint32) dns.RR {
	c := dns.Copy(rr)
	c.Header().Ttl = ttl
	return c
}

// rdataBytes packs rr alone and returns its RDATA, uncompressed, for
// comparisons (RFC 6762 §8.2 compares rdata as raw bytes).
func rdataBytes(rr dns.RR) []byte {
	buf := make([]byte, dns.Len(rr)+64)
	off, err := dns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		return nil
	}
	nameBuf := make([]byte, 256)
	nameLen, err := dns.PackDomainName(rr.Header().Name, nameBuf, 0, nil, false)
	if err != nil {
		return nil
	}
	hdrLen := nameLen + 10
	if hdrLen > off {
		return nil
	}
	return buf[hdrLen:off]
}

// compareProbes implements the simultaneous-probe tie-break of RFC 6762
// §8.2: records sorted by class, type, then rdata bytes, compared pairwise;
// the side with the lexicographically later data wins. It returns -1 when
// ours lose, 1 when ours win, 0 when identical.
func compareProbes(ours, theirs []dns.RR) int {
	sortRR(ours)
	sortRR(theirs)
	for i := 0; i < len(ours) && i < len(theirs); i++ {
		if c := compareRR(ours[i], theirs[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(ours) > len(theirs):
		return 1
	case len(ours) < len(theirs):
		return -1
	}
	return 0
}

func compareRR(a, b dns.RR) int {
	ca, cb := a.Header().Class&^(1<<15), b.Header().Class&^(1<<15)
	if ca != cb {
		return cmpU16(ca, cb)
	}
	if a.Header().Rrtype != b.Header().Rrtype {
		return cmpU16(a.Header().Rrtype, b.Header().Rrtype)
	}
	return bytes.Compare(rdataBytes(a), rdataBytes(b))
}

func cmpU16(a, b uint16) int {
	if a < b {
		return -1
	}
	return 1
}

func sortRR(rs []dns.RR) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && compareRR(rs[j-1], rs[j]) > 0; j-- {
			rs[j-1], rs[j] = rs[j], rs[j-1]
		}
	}
}

// Describe lists the records as they will go on the wire, one per line,
// decoded by the same code that shows captured packets.
func Describe(svc *Service, addrs []netip.Addr, f Faults) []string {
	m := new(dns.Msg)
	m.Response, m.Authoritative = true, true
	m.Answer = build(svc, addrs, f).all()
	b, err := m.Pack()
	if err != nil {
		return []string{"cannot pack records: " + err.Error()}
	}
	pm, _ := mdns.Parse(b)
	var out []string
	for i := range pm.Answers {
		r := &pm.Answers[i]
		flush := ""
		if r.CacheFlush {
			flush = " (cache-flush)"
		}
		out = append(out, fmt.Sprintf("%s %s ttl %d %s%s", mdns.EscapeText(r.Name), mdns.TypeString(r.Type), r.TTL, dump.RDataText(r), flush))
	}
	return out
}
