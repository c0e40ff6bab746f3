package mdns

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/txt"
)

// Header flag bits (RFC 1035 §4.1.1).
const (
	flagQR = 1 << 15
	flagAA = 1 << 10
	flagTC = 1 << 9
	flagRD = 1 << 8
	flagRA = 1 << 7
	flagZ  = 1 << 6
	flagAD = 1 << 5
	flagCD = 1 << 4
)

// topBit is the top bit of the class field: the QU bit in questions
// (RFC 6762 §5.4) and the cache-flush bit in records (RFC 6762 §10.2).
const topBit = 1 << 15

// Message is a decoded DNS message with the mDNS bits made first-class. Record
// data is kept as the raw bytes on the wire; RR holds miekg/dns's decoding of
// it where miekg can represent it, and is never used for TXT.
type Message struct {
	ID         uint16
	Flags      uint16 // header bits 16-31 as on the wire (QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode)
	Counts     [4]uint16
	Questions  []Question
	Answers    []Record
	Authority  []Record
	Additional []Record
	Trailing   int // bytes after the last record, which a decoder ignores
}

// Response reports the QR bit.
func (m *Message) Response() bool { return m.Flags&flagQR != 0 }

// Authoritative reports the AA bit (required in mDNS responses, RFC 6762 §18.4).
func (m *Message) Authoritative() bool { return m.Flags&flagAA != 0 }

// Truncated reports the TC bit (RFC 6762 §18.5: more known answers follow).
func (m *Message) Truncated() bool { return m.Flags&flagTC != 0 }

// Opcode returns the header's opcode (0 in mDNS, RFC 6762 §18.3).
func (m *Message) Opcode() int { return int(m.Flags>>11) & 0xf }

// Rcode returns the header's response code (0 in mDNS, RFC 6762 §18.11).
func (m *Message) Rcode() int { return int(m.Flags & 0xf) }

// FlagNames lists the set header bits by name, e.g. "qr aa".
func (m *Message) FlagNames() string {
	var f []string
	for _, b := range []struct {
		bit  uint16
		name string
	}{{flagQR, "qr"}, {flagAA, "aa"}, {flagTC, "tc"}, {flagRD, "rd"}, {flagRA, "ra"}, {flagZ, "z"}, {flagAD, "ad"}, {flagCD, "cd"}} {
		if m.Flags&b.bit != 0 {
			f = append(f, b.name)
		}
	}
	return strings.Join(f, " ")
}

// Question is one entry of the question section.
type Question struct {
	Name  string // as decoded, with presentation escapes for odd bytes
	Type  uint16
	Class uint16 // without the QU bit
	QU    bool   // unicast response requested (RFC 6762 §5.4)
}

// Record is one resource record as it was on the wire.
type Record struct {
	Name       string
	Type       uint16
	Class      uint16 // without the cache-flush bit
	CacheFlush bool   // RFC 6762 §10.2
	TTL        uint32
	Offset     int    // offset of the RDATA in the message
	Data       []byte // RDATA exactly as on the wire (names may be compressed)
	RR         dns.RR // miekg/dns decoding, nil when it failed; never trust it for TXT
	DataErr    error  // why RR is nil, if it is
}

// TXT parses the record's RDATA as a TXT record (RFC 6763 §6). It is only
// meaningful when Type is dns.TypeTXT.
func (r *Record) TXT() (txt.Record, error) { return txt.Parse(r.Data) }

// Section names a part of a message, for errors and output.
type Section int

const (
	SectionHeader Section = iota
	SectionQuestion
	SectionAnswer
	SectionAuthority
	SectionAdditional
)

func (s Section) String() string {
	return [...]string{"header", "question", "answer", "authority", "additional"}[s]
}

// ParseError says where a message stopped making sense. Parse returns it
// with everything decoded before that point.
type ParseError struct {
	Offset  int
	Section Section
	Index   int // entry within the section
	Reason  string
}

func (e *ParseError) Error() string {
	if e.Section == SectionHeader {
		return fmt.Sprintf("mdns: malformed message at offset %d (header): %s", e.Offset, e.Reason)
	}
	return fmt.Sprintf("mdns: malformed message at offset %d (%s %d): %s", e.Offset, e.Section, e.Index, e.Reason)
}

// Parse decodes a DNS message. It never panics. On malformed input it
// returns the message decoded so far and a *ParseError naming the offset.
// Record data that miekg/dns cannot decode is not an error: the record keeps
// its raw bytes and DataErr says why.
func Parse(b []byte) (*Message, error) {
	m := &Message{}
	if len(b) < 12 {
		return m, &ParseError{Offset: len(b), Section: SectionHeader, Reason: fmt.Sprintf("%d bytes, shorter than the 12-byte header", len(b))}
	}
	m.ID = binary.BigEndian.Uint16(b[0:])
	m.Flags = binary.BigEndian.Uint16(b[2:])
	for i := range m.Counts {
		m.Counts[i] = binary.BigEndian.Uint16(b[4+2*i:])
	}
	off := 12
	if n := int(m.Counts[0]); n > 0 {
		m.Questions = make([]Question, 0, min(n, len(b)/5))
	}
	for i := 0; i < int(m.Counts[0]); i++ {
		name, next, err := dns.UnpackDomainName(b, off)
		if err != nil {
			return m, &ParseError{Offset: off, Section: SectionQuestion, Index: i, Reason: "name: " + nameErr(err)}
		}
		if next+4 > len(b) {
			return m, &ParseError{Offset: next, Section: SectionQuestion, Index: i, Reason: "type and class cut off"}
		}
		cl := binary.BigEndian.Uint16(b[next+2:])
		m.Questions = append(m.Questions, Question{
			Name:  name,
			Type:  binary.BigEndian.Uint16(b[next:]),
			Class: cl &^ topBit,
			QU:    cl&topBit != 0,
		})
		off = next + 4
	}
	for s, dst := range []*[]Record{&m.Answers, &m.Authority, &m.Additional} {
		sec := Section(s + 2)
		n := int(m.Counts[s+1])
		if n > 0 {
			*dst = make([]Record, 0, min(n, len(b)/11))
		}
		for i := 0; i < n; i++ {
			r, next, perr := parseRecord(b, off)
			if perr != nil {
				perr.Section, perr.Index = sec, i
				return m, perr
			}
			*dst = append(*dst, r)
			off = next
		}
	}
	m.Trailing = len(b) - off
	return m, nil
}

func parseRecord(b []byte, off int) (Record, int, *ParseError) {
	name, next, err := dns.UnpackDomainName(b, off)
	if err != nil {
		return Record{}, 0, &ParseError{Offset: off, Reason: "name: " + nameErr(err)}
	}
	if next+10 > len(b) {
		return Record{}, 0, &ParseError{Offset: next, Reason: fmt.Sprintf("record header needs 10 bytes, %d remain", len(b)-next)}
	}
	cl := binary.BigEndian.Uint16(b[next+2:])
	r := Record{
		Name:       name,
		Type:       binary.BigEndian.Uint16(b[next:]),
		Class:      cl &^ topBit,
		CacheFlush: cl&topBit != 0,
		TTL:        binary.BigEndian.Uint32(b[next+4:]),
	}
	rdlen := int(binary.BigEndian.Uint16(b[next+8:]))
	r.Offset = next + 10
	end := r.Offset + rdlen
	if end > len(b) {
		return Record{}, 0, &ParseError{Offset: next + 8, Reason: fmt.Sprintf("RDLENGTH %d overruns the message (%d bytes remain)", rdlen, len(b)-r.Offset)}
	}
	r.Data = b[r.Offset:end]
	if r.Type != dns.TypeTXT && rdlen > 0 {
		hdr := dns.RR_Header{Name: name, Rrtype: r.Type, Class: r.Class, Ttl: r.TTL, Rdlength: uint16(rdlen)}
		rr, used, err := unpackRR(hdr, b, r.Offset)
		switch {
		case err != nil:
			r.DataErr = err
		case used != end:
			r.DataErr = fmt.Errorf("record data is %d bytes but decodes from %d", rdlen, used-r.Offset)
			r.RR = rr
		default:
			r.RR = rr
		}
	}
	return r, end, nil
}

// unpackRR calls miekg/dns and turns any panic in it into an error: data off
// the network must never take the process down.
func unpackRR(hdr dns.RR_Header, b []byte, off int) (rr dns.RR, next int, err error) {
	defer func() {
		if p := recover(); p != nil {
			rr, next, err = nil, 0, fmt.Errorf("decoder panic: %v", p)
		}
	}()
	return dns.UnpackRRWithHeader(hdr, b, off)
}

func nameErr(err error) string {
	s := err.Error()
	return strings.TrimPrefix(s, "dns: ")
}

// RDataText renders a record's data for people: TXT as its quoted strings
// with every non-printable byte escaped, other types as miekg/dns presents
// them, and undecodable data as hex.
func (r *Record) RDataText() string {
	if r.Type == dns.TypeTXT {
		return TXTText(r.Data)
	}
	switch rr := r.RR.(type) {
	case nil:
		if len(r.Data) == 0 {
			return "(empty rdata)"
		}
		return fmt.Sprintf("\\# %d %x", len(r.Data), r.Data)
	case *dns.PTR:
		return EscapeText(rr.Ptr)
	case *dns.A:
		if a, ok := netip.AddrFromSlice(rr.A); ok {
			return a.Unmap().String()
		}
	case *dns.AAAA:
		if a, ok := netip.AddrFromSlice(rr.AAAA); ok {
			return a.String()
		}
	case *dns.SRV:
		b := make([]byte, 0, 24+len(rr.Target))
		b = strconv.AppendUint(b, uint64(rr.Priority), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(rr.Weight), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(rr.Port), 10)
		b = append(b, ' ')
		return string(b) + EscapeText(rr.Target)
	}
	s := strings.TrimPrefix(r.RR.String(), r.RR.Header().String())
	return EscapeText(s)
}

// TXTText renders TXT RDATA: each string quoted and escaped with its length,
// "(zero-length rdata)" for none, and a note where the strings overrun.
func TXTText(rdata []byte) string {
	if len(rdata) == 0 {
		return "(zero-length rdata)"
	}
	rec, err := txt.Parse(rdata)
	b := make([]byte, 0, 2*len(rdata)+8)
	for i, s := range rec.Strings {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, ']', '"')
		for _, c := range s {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c >= 0x20 && c <= 0x7e:
				b = append(b, c)
			default:
				b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			}
		}
		b = append(b, '"')
	}
	if err != nil {
		if len(b) > 0 {
			b = append(b, ' ')
		}
		b = append(b, "(malformed: "+err.Error()+")"...)
	}
	return string(b)
}

const hexDigits = "0123456789abcdef"

// EscapeText makes a string safe for a terminal: control characters and
// DEL become \xHH.
func EscapeText(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			fmt.Fprintf(&sb, `\x%02x`, c)
		} else {
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// TypeString names an RR type ("TXT", or "TYPE65534").
func TypeString(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return fmt.Sprintf("TYPE%d", t)
}

// ClassString names a class ("IN", or "CLASS3").
func ClassString(c uint16) string {
	if s, ok := dns.ClassToString[c]; ok {
		return s
	}
	return fmt.Sprintf("CLASS%d", c)
}
