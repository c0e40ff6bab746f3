package dump

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/txt"
)

// RDataText renders a record's data for people: TXT as its quoted strings
// with every non-printable byte escaped, other types in presentation form,
// and undecodable data as hex.
func RDataText(r *mdns.Record) string { return string(AppendRDataText(nil, r)) }

// AppendRDataText appends RDataText's rendering to b.
func AppendRDataText(b []byte, r *mdns.Record) []byte {
	if r.Type == dns.TypeTXT {
		return AppendTXTText(b, r.Data)
	}
	switch {
	case len(r.Data) == 0:
		return append(b, "(empty rdata)"...)
	case r.DataErr != nil:
		return fmt.Appendf(b, "\\# %d %x", len(r.Data), r.Data)
	}
	switch r.Type {
	case dns.TypePTR:
		t, _ := r.Target()
		return mdns.AppendEscaped(b, t)
	case dns.TypeA, dns.TypeAAAA:
		a, _ := r.Addr()
		return a.AppendTo(b)
	case dns.TypeSRV:
		pr, w, port, t, _ := r.SRV()
		b = strconv.AppendUint(b, uint64(pr), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(w), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(port), 10)
		b = append(b, ' ')
		return mdns.AppendEscaped(b, t)
	}
	rr := r.RR()
	if rr == nil { // not from Parse
		return fmt.Appendf(b, "\\# %d %x", len(r.Data), r.Data)
	}
	s := strings.TrimPrefix(rr.String(), rr.Header().String())
	return mdns.AppendEscaped(b, s)
}

// TXTText renders TXT RDATA: each string quoted and escaped with its length,
// "(zero-length rdata)" for none, and a note where the strings overrun.
func TXTText(rdata []byte) string { return string(AppendTXTText(nil, rdata)) }

// AppendTXTText appends TXTText's rendering to b.
func AppendTXTText(b, rdata []byte) []byte {
	if len(rdata) == 0 {
		return append(b, "(zero-length rdata)"...)
	}
	first := true
	off := 0
	for off < len(rdata) {
		n := int(rdata[off])
		if off+1+n > len(rdata) {
			break
		}
		if !first {
			b = append(b, ' ')
		}
		first = false
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, ']', '"')
		b = txt.AppendEscaped(b, rdata[off+1:off+1+n], true)
		b = append(b, '"')
		off += 1 + n
	}
	if off < len(rdata) {
		_, err := txt.Parse(rdata)
		if !first {
			b = append(b, ' ')
		}
		b = append(b, "(malformed: "...)
		b = append(b, err.Error()...)
		b = append(b, ')')
	}
	return b
}
