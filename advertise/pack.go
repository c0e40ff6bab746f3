package advertise

import (
	"fmt"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/internal/dump"
)

// packed is one packet of a split message and the records it carries.
type packed struct {
	b       []byte
	records []dns.RR
}

// split packs m into packets of at most limit bytes (RFC 6762 §17: an mDNS
// packet that does not fit the link's MTU may hold only one record). The
// questions go in the first packet; answer and authority records fill
// packets in order, a record too large for any packet going alone; an
// additional record that does not fit where the answers are is left out
// (it is optional). A query split this way has the TC bit on every packet
// but the last (§7.2); a response never does (§18.5).
func split(m *dns.Msg, limit int) ([]packed, error) {
	m.Compress = true
	if m.Len() <= limit {
		b, err := m.Pack()
		if err != nil {
			return nil, fmt.Errorf("pack: %w", err)
		}
		return []packed{{b, allRecords(m)}}, nil
	}
	var out []*dns.Msg
	cur := shell(m)
	cur.Question = m.Question
	start := func() {
		out = append(out, cur)
		cur = shell(m)
	}
	for _, sec := range []struct {
		rs  []dns.RR
		add func(*dns.Msg, dns.RR)
		del func(*dns.Msg)
	}{
		{m.Answer, func(x *dns.Msg, rr dns.RR) { x.Answer = append(x.Answer, rr) }, func(x *dns.Msg) { x.Answer = x.Answer[:len(x.Answer)-1] }},
		{m.Ns, func(x *dns.Msg, rr dns.RR) { x.Ns = append(x.Ns, rr) }, func(x *dns.Msg) { x.Ns = x.Ns[:len(x.Ns)-1] }},
	} {
		for _, rr := range sec.rs {
			sec.add(cur, rr)
			if cur.Len() <= limit || recordCount(cur) == 1 {
				continue
			}
			sec.del(cur)
			start()
			sec.add(cur, rr)
		}
	}
	for _, rr := range m.Extra {
		cur.Extra = append(cur.Extra, rr)
		if cur.Len() > limit {
			cur.Extra = cur.Extra[:len(cur.Extra)-1] // optional: left out
		}
	}
	out = append(out, cur)
	res := make([]packed, 0, len(out))
	for i, x := range out {
		if !m.Response && i < len(out)-1 {
			x.Truncated = true
		}
		b, err := x.Pack()
		if err != nil {
			return nil, fmt.Errorf("pack: %w", err)
		}
		res = append(res, packed{b, allRecords(x)})
	}
	return res, nil
}

func shell(m *dns.Msg) *dns.Msg {
	x := new(dns.Msg)
	x.Id, x.Response, x.Authoritative, x.Compress = m.Id, m.Response, m.Authoritative, true
	return x
}

func recordCount(m *dns.Msg) int { return len(m.Answer) + len(m.Ns) + len(m.Extra) }

func allRecords(m *dns.Msg) []dns.RR {
	out := append([]dns.RR(nil), m.Answer...)
	out = append(out, m.Ns...)
	return append(out, m.Extra...)
}

// txtText renders TXT RDATA for an event's detail, escaped.
func txtText(rdata []byte) string { return dump.TXTText(rdata) }
