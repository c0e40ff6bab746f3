package mdns

import (
	"fmt"

	"github.com/miekg/dns"
)

// Type codes used by the DNS-SD engines, so they need not import miekg/dns.
const (
	TypeA    = dns.TypeA
	TypePTR  = dns.TypePTR
	TypeTXT  = dns.TypeTXT
	TypeAAAA = dns.TypeAAAA
	TypeSRV  = dns.TypeSRV
	TypeNSEC = dns.TypeNSEC
	TypeANY  = dns.TypeANY
	ClassIN  = dns.ClassINET
)

// KnownAnswer is a PTR record a querier already holds, listed in its query
// so responders need not repeat it (RFC 6762 §7.1).
type KnownAnswer struct {
	Name   string
	Target string
	TTL    uint32 // remaining
}

// Query is one set of questions and the known answers that go with them.
type Query struct {
	// ID is 0 in mDNS queries; a legacy unicast query (RFC 6762 §6.7)
	// carries one the responder must echo.
	ID        uint16
	Questions []Question
	Known     []KnownAnswer
}

// Pack packs the query into messages of at most size bytes each. The
// questions go in the first message; known answers fill it and continue in
// further messages, every message but the last with the TC bit set (RFC
// 6762 §7.2), so no query is ever IP-fragmented. It fails when the
// questions alone do not fit in size bytes.
func (q Query) Pack(size int) ([][]byte, error) {
	m := new(dns.Msg)
	m.Id = q.ID
	m.Compress = true
	for _, qu := range q.Questions {
		cl := qu.Class
		if cl == 0 {
			cl = dns.ClassINET
		}
		if qu.QU {
			cl |= topBit
		}
		m.Question = append(m.Question, dns.Question{Name: dns.Fqdn(qu.Name), Qtype: qu.Type, Qclass: cl})
	}
	if n := m.Len(); n > size {
		return nil, fmt.Errorf("pack query: %d questions take %d bytes, more than the %d a packet may hold", len(q.Questions), n, size)
	}
	var out [][]byte
	for _, k := range q.Known {
		rr := &dns.PTR{
			Hdr: dns.RR_Header{Name: dns.Fqdn(k.Name), Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: k.TTL},
			Ptr: dns.Fqdn(k.Target),
		}
		m.Answer = append(m.Answer, rr)
		if m.Len() <= size {
			continue
		}
		m.Answer = m.Answer[:len(m.Answer)-1]
		if len(m.Answer) == 0 && len(m.Question) == 0 {
			return nil, fmt.Errorf("pack query: known answer %s does not fit in %d bytes", k.Target, size)
		}
		m.Truncated = true
		b, err := m.Pack()
		if err != nil {
			return nil, fmt.Errorf("pack query: %w", err)
		}
		out = append(out, b)
		m = &dns.Msg{Compress: true}
		m.Id = q.ID
		m.Answer = []dns.RR{rr}
	}
	b, err := m.Pack()
	if err != nil {
		return nil, fmt.Errorf("pack query: %w", err)
	}
	return append(out, b), nil
}
