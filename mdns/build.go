package mdns

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

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

// BuildQuery packs an mDNS query: ID 0, no flags, the questions (with the
// QU bit where asked) and the known answers.
func BuildQuery(qs []Question, known []KnownAnswer) ([]byte, error) {
	m := new(dns.Msg)
	m.Id = 0
	m.RecursionDesired = false
	for _, q := range qs {
		cl := q.Class
		if cl == 0 {
			cl = dns.ClassINET
		}
		if q.QU {
			cl |= topBit
		}
		m.Question = append(m.Question, dns.Question{Name: dns.Fqdn(q.Name), Qtype: q.Type, Qclass: cl})
	}
	for _, k := range known {
		m.Answer = append(m.Answer, &dns.PTR{
			Hdr: dns.RR_Header{Name: dns.Fqdn(k.Name), Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: k.TTL},
			Ptr: dns.Fqdn(k.Target),
		})
	}
	m.Compress = true
	b, err := m.Pack()
	if err != nil {
		return nil, fmt.Errorf("pack query: %w", err)
	}
	return b, nil
}

// Target returns the domain name a PTR, SRV or CNAME record points to.
func (r *Record) Target() (string, bool) {
	if r.DataErr != nil || len(r.Data) == 0 {
		return "", false
	}
	switch r.Type {
	case dns.TypePTR, dns.TypeSRV:
		return r.target, true
	}
	if rr, ok := r.rr.(*dns.CNAME); ok {
		return rr.Target, true
	}
	return "", false
}

// SRV returns the fields of an SRV record.
func (r *Record) SRV() (priority, weight, port uint16, target string, ok bool) {
	if r.Type != dns.TypeSRV || r.DataErr != nil || len(r.Data) == 0 {
		return 0, 0, 0, "", false
	}
	return r.srv[0], r.srv[1], r.srv[2], r.target, true
}

// Addr returns the address of an A or AAAA record.
func (r *Record) Addr() (netip.Addr, bool) {
	return r.addr, r.addr.IsValid()
}

// SplitName splits a presentation-format name (as Parse returns it, with
// backslash escapes) into its labels, still escaped.
func SplitName(name string) []string { return dns.SplitDomainName(name) }

// UnescapeLabel turns a presentation-format label back into its bytes:
// \DDD is a decimal byte, \X is X.
func UnescapeLabel(l string) string {
	if len(l) == 0 {
		return l
	}
	b := make([]byte, 0, len(l))
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c != '\\' || i+1 >= len(l) {
			b = append(b, c)
			continue
		}
		if i+3 < len(l) && isDigit(l[i+1]) && isDigit(l[i+2]) && isDigit(l[i+3]) {
			v := int(l[i+1]-'0')*100 + int(l[i+2]-'0')*10 + int(l[i+3]-'0')
			if v < 256 {
				b = append(b, byte(v))
				i += 3
				continue
			}
		}
		b = append(b, l[i+1])
		i++
	}
	return string(b)
}

// EscapeLabel is the inverse of UnescapeLabel, as miekg/dns presents names.
func EscapeLabel(l string) string {
	b := make([]byte, 0, len(l)+4)
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c == '.' || c == ' ' || c == '\'' || c == '@' || c == ';' || c == '(' || c == ')' || c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < ' ' || c > '~':
			b = append(b, '\\', '0'+c/100, '0'+c/10%10, '0'+c%10)
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// ParseType reads an RR type name ("TXT", "aaaa", "TYPE65") or number.
func ParseType(s string) (uint16, bool) {
	if t, ok := dns.StringToType[strings.ToUpper(s)]; ok {
		return t, true
	}
	u := strings.ToUpper(s)
	if n, err := strconv.ParseUint(strings.TrimPrefix(u, "TYPE"), 10, 16); err == nil {
		return uint16(n), true
	}
	return 0, false
}
