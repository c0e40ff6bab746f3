package mdns

import (
	"encoding/binary"
	"fmt"
	"net/netip"
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
// data is kept as the raw bytes on the wire, next to its decoding.
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
func (m *Message) FlagNames() string { return string(m.AppendFlagNames(nil)) }

// AppendFlagNames appends FlagNames's list to b.
func (m *Message) AppendFlagNames(b []byte) []byte {
	first := true
	for _, f := range flagNames {
		if m.Flags&f.bit != 0 {
			if !first {
				b = append(b, ' ')
			}
			first = false
			b = append(b, f.name...)
		}
	}
	return b
}

var flagNames = [...]struct {
	bit  uint16
	name string
}{{flagQR, "qr"}, {flagAA, "aa"}, {flagTC, "tc"}, {flagRD, "rd"}, {flagRA, "ra"}, {flagZ, "z"}, {flagAD, "ad"}, {flagCD, "cd"}}

// Question is one entry of the question section.
type Question struct {
	Name  string // as decoded, with presentation escapes for odd bytes
	Type  uint16
	Class uint16 // without the QU bit
	QU    bool   // unicast response requested (RFC 6762 §5.4)
}

// Record is one resource record as it was on the wire. PTR, SRV, A and
// AAAA data are decoded by Parse itself (read them with Target, SRV and
// Addr); any other type except TXT goes through miekg/dns.
type Record struct {
	Name       string
	Type       uint16
	Class      uint16 // without the cache-flush bit
	CacheFlush bool   // RFC 6762 §10.2
	TTL        uint32
	Offset     int    // offset of the RDATA in the message
	Data       []byte // RDATA exactly as on the wire (names may be compressed)
	DataErr    error  // why the data could not be decoded, if it could not

	target string     // PTR and SRV: the name the data points to
	srv    [3]uint16  // SRV: priority, weight, port
	addr   netip.Addr // A, AAAA
	rr     dns.RR     // miekg/dns's decoding of any other type; never TXT
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
// Record data that cannot be decoded is not an error: the record keeps its
// raw bytes and DataErr says why.
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
	var names nameTable
	off := 12
	if n := int(m.Counts[0]); n > 0 {
		m.Questions = make([]Question, 0, min(n, len(b)/5))
	}
	for i := 0; i < int(m.Counts[0]); i++ {
		name, next, err := names.unpack(b, off)
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
	// One array holds the records of all three sections; each section is
	// a slice of it with its capacity capped, so appending to one never
	// overwrites the next.
	total := int(m.Counts[1]) + int(m.Counts[2]) + int(m.Counts[3])
	var recs []Record
	if total > 0 {
		recs = make([]Record, 0, min(total, len(b)/11))
	}
	for s, dst := range []*[]Record{&m.Answers, &m.Authority, &m.Additional} {
		sec := Section(s + 2)
		n := int(m.Counts[s+1])
		first := len(recs)
		for i := 0; i < n; i++ {
			r, next, perr := parseRecord(b, off, &names)
			if perr != nil {
				perr.Section, perr.Index = sec, i
				*dst = recs[first:len(recs):len(recs)]
				return m, perr
			}
			recs = append(recs, r)
			off = next
		}
		if n > 0 {
			*dst = recs[first:len(recs):len(recs)]
		}
	}
	m.Trailing = len(b) - off
	return m, nil
}

func parseRecord(b []byte, off int, names *nameTable) (Record, int, *ParseError) {
	name, next, err := names.unpack(b, off)
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
	if rdlen > 0 {
		r.decodeData(b, names)
	}
	return r, end, nil
}

// decodeData decodes the record's data: PTR, SRV, A and AAAA here, without
// allocating more than the target name, other types with miekg/dns.
func (r *Record) decodeData(b []byte, names *nameTable) {
	switch r.Type {
	case dns.TypeTXT:
	case dns.TypeA:
		if len(r.Data) != 4 {
			r.DataErr = fmt.Errorf("record data is %d bytes; an A record holds 4", len(r.Data))
			return
		}
		r.addr = netip.AddrFrom4([4]byte(r.Data))
	case dns.TypeAAAA:
		if len(r.Data) != 16 {
			r.DataErr = fmt.Errorf("record data is %d bytes; an AAAA record holds 16", len(r.Data))
			return
		}
		r.addr = netip.AddrFrom16([16]byte(r.Data))
	case dns.TypePTR:
		r.target, r.DataErr = r.dataName(b, names, 0)
	case dns.TypeSRV:
		if len(r.Data) < 7 {
			r.DataErr = fmt.Errorf("record data is %d bytes; an SRV record needs at least 7 (priority, weight, port, target name)", len(r.Data))
			return
		}
		for i := range r.srv {
			r.srv[i] = binary.BigEndian.Uint16(r.Data[2*i:])
		}
		r.target, r.DataErr = r.dataName(b, names, 6)
	default:
		hdr := dns.RR_Header{Name: r.Name, Rrtype: r.Type, Class: r.Class, Ttl: r.TTL, Rdlength: uint16(len(r.Data))}
		rr, _, err := unpackRR(hdr, b, r.Offset)
		if err != nil {
			r.DataErr = err
			return
		}
		r.rr = rr
	}
}

// dataName decodes the name at skip bytes into the record's data, which
// must end where the data ends.
func (r *Record) dataName(b []byte, names *nameTable, skip int) (string, error) {
	start := r.Offset + skip
	name, next, err := names.unpack(b, start)
	if err != nil {
		return "", fmt.Errorf("target name at offset %d: %s", start, nameErr(err))
	}
	if end := r.Offset + len(r.Data); next != end {
		return "", fmt.Errorf("record data is %d bytes but its target name ends after %d", len(r.Data), next-r.Offset)
	}
	return name, nil
}

// nameTable remembers the names one message has decoded by their offset,
// so a name that is only a compression pointer to one of them (most names
// in an mDNS response) costs no new string.
type nameTable struct {
	n       int
	entries [24]struct {
		off  int
		ptrs int // compression pointers followed to decode it
		name string
	}
}

// maxPointers is miekg/dns's limit on compression pointers in one name.
const maxPointers = (255+1)/2 - 2

// unpack decodes the name at off, as dns.UnpackDomainName does.
func (t *nameTable) unpack(b []byte, off int) (string, int, error) {
	if off+1 < len(b) && b[off]&0xc0 == 0xc0 {
		ptr := int(b[off]&0x3f)<<8 | int(b[off+1])
		for i := 0; i < t.n; i++ {
			if e := &t.entries[i]; e.off == ptr && e.ptrs < maxPointers {
				return e.name, off + 2, nil
			}
		}
	}
	name, next, err := dns.UnpackDomainName(b, off)
	if err == nil && t.n < len(t.entries) {
		e := &t.entries[t.n]
		e.off, e.ptrs, e.name = off, pointers(b, off), name
		t.n++
	}
	return name, next, err
}

// pointers counts the compression pointers followed to read the name at
// off, which has decoded without error.
func pointers(b []byte, off int) int {
	n := 0
	for off < len(b) && n <= maxPointers {
		c := int(b[off])
		switch {
		case c == 0:
			return n
		case c&0xc0 == 0xc0:
			if off+1 >= len(b) {
				return n
			}
			n++
			off = (c&0x3f)<<8 | int(b[off+1])
		default:
			off += 1 + c
		}
	}
	return n
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

// RR returns miekg/dns's form of the record, built on demand for PTR, SRV,
// A and AAAA. It is nil for TXT (never trust miekg/dns with TXT data), for
// empty data and for data that did not decode.
func (r *Record) RR() dns.RR {
	if r.DataErr != nil || len(r.Data) == 0 {
		return nil
	}
	hdr := dns.RR_Header{Name: r.Name, Rrtype: r.Type, Class: r.Class, Ttl: r.TTL, Rdlength: uint16(len(r.Data))}
	switch r.Type {
	case dns.TypeTXT:
		return nil
	case dns.TypeA:
		return &dns.A{Hdr: hdr, A: r.addr.AsSlice()}
	case dns.TypeAAAA:
		return &dns.AAAA{Hdr: hdr, AAAA: r.addr.AsSlice()}
	case dns.TypePTR:
		return &dns.PTR{Hdr: hdr, Ptr: r.target}
	case dns.TypeSRV:
		return &dns.SRV{Hdr: hdr, Priority: r.srv[0], Weight: r.srv[1], Port: r.srv[2], Target: r.target}
	}
	return r.rr
}

const hexDigits = "0123456789abcdef"

// TypeString names an RR type ("TXT", or "TYPE65534").
func TypeString(t uint16) string {
	switch t { // the types of nearly every mDNS packet, without a map lookup
	case dns.TypePTR:
		return "PTR"
	case dns.TypeSRV:
		return "SRV"
	case dns.TypeTXT:
		return "TXT"
	case dns.TypeA:
		return "A"
	case dns.TypeAAAA:
		return "AAAA"
	case dns.TypeNSEC:
		return "NSEC"
	case dns.TypeANY:
		return "ANY"
	}
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return fmt.Sprintf("TYPE%d", t)
}

// ClassString names a class ("IN", or "CLASS3").
func ClassString(c uint16) string {
	if c == dns.ClassINET {
		return "IN"
	}
	if s, ok := dns.ClassToString[c]; ok {
		return s
	}
	return fmt.Sprintf("CLASS%d", c)
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
