// Package dump renders decoded mDNS packets as text lines and as JSON
// objects, one way for every command that shows packets (capture, decode and
// the TUI's wire pane). Everything from the network is escaped before it is
// written: no byte of a name or TXT value reaches a terminal unescaped.
package dump

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/txt"
)

// Packet is the JSON form of one packet. Field names are a stable contract,
// documented in the README.
type Packet struct {
	Frame      int        `json:"frame,omitempty"`
	Time       string     `json:"time,omitempty"`
	Interface  string     `json:"interface,omitempty"`
	IfIndex    int        `json:"ifIndex,omitempty"`
	Family     int        `json:"family,omitempty"`
	Src        string     `json:"src,omitempty"`
	Dst        string     `json:"dst,omitempty"`
	HopLimit   *int       `json:"hopLimit,omitempty"`
	Size       int        `json:"size"`
	ID         uint16     `json:"id"`
	Response   bool       `json:"response"`
	Flags      string     `json:"flags"`
	Opcode     int        `json:"opcode"`
	Rcode      int        `json:"rcode"`
	Counts     [4]uint16  `json:"counts"`
	Questions  []Question `json:"questions"`
	Answers    []Record   `json:"answers"`
	Authority  []Record   `json:"authority"`
	Additional []Record   `json:"additional"`
	Trailing   int        `json:"trailingBytes,omitempty"`
	Malformed  *Malformed `json:"malformed,omitempty"`
	Notes      []string   `json:"notes,omitempty"`
	Raw        string     `json:"raw"`
}

// Question is the JSON form of a question.
type Question struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Class string `json:"class"`
	QU    bool   `json:"qu"`
}

// Record is the JSON form of a resource record.
type Record struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Class      string `json:"class"`
	CacheFlush bool   `json:"cacheFlush"`
	TTL        uint32 `json:"ttl"`
	RDLength   int    `json:"rdlength"`
	RData      string `json:"rdata"` // hex of the RDATA exactly as on the wire
	Text       string `json:"text"`  // presentation form, escaped
	DataError  string `json:"dataError,omitempty"`
	TXT        *TXT   `json:"txt,omitempty"`
}

// TXT is the JSON form of TXT RDATA.
type TXT struct {
	ZeroLength bool          `json:"zeroLength"`
	Strings    []TXTString   `json:"strings"`
	Error      string        `json:"error,omitempty"`
	Findings   []txt.Finding `json:"findings"`
}

// TXTString is one string of a TXT record.
type TXTString struct {
	Length int    `json:"length"`
	Hex    string `json:"hex"`
	Text   string `json:"text"` // escaped: printable text as is, the rest as \xHH or \u{HHHH}
}

// Malformed says where decoding stopped.
type Malformed struct {
	Offset  int    `json:"offset"`
	Section string `json:"section"`
	Index   int    `json:"index"`
	Reason  string `json:"reason"`
}

// Decoded is a packet with its parse result.
type Decoded struct {
	Frame int // 1-based frame number in a capture file, 0 when live
	mdns.Packet
	Msg *mdns.Message
	Err error // *mdns.ParseError, or nil
}

// Decode parses p.Raw.
func Decode(p mdns.Packet, frame int) Decoded {
	m, err := mdns.Parse(p.Raw)
	return Decoded{Frame: frame, Packet: p, Msg: m, Err: err}
}

// JSON builds the JSON form of d.
func JSON(d Decoded) Packet {
	m := d.Msg
	out := Packet{
		Frame:      d.Frame,
		Interface:  d.IfName,
		IfIndex:    d.IfIndex,
		Size:       len(d.Raw),
		ID:         m.ID,
		Response:   m.Response(),
		Flags:      m.FlagNames(),
		Opcode:     m.Opcode(),
		Rcode:      m.Rcode(),
		Counts:     m.Counts,
		Questions:  []Question{},
		Answers:    records(m.Answers),
		Authority:  records(m.Authority),
		Additional: records(m.Additional),
		Trailing:   m.Trailing,
		Raw:        hex.EncodeToString(d.Raw),
	}
	if !d.Received.IsZero() {
		out.Time = d.Received.UTC().Format(time.RFC3339Nano)
	}
	if d.Src.IsValid() {
		out.Src, out.Family = d.Src.String(), d.Family()
	}
	if d.Dst.IsValid() {
		out.Dst = d.Dst.String()
	}
	if d.HopLimit >= 0 && d.Src.IsValid() {
		h := d.HopLimit
		out.HopLimit = &h
	}
	for _, q := range m.Questions {
		out.Questions = append(out.Questions, Question{Name: mdns.EscapeText(q.Name), Type: mdns.TypeString(q.Type), Class: mdns.ClassString(q.Class), QU: q.QU})
	}
	if pe := parseError(d.Err); pe != nil {
		out.Malformed = &Malformed{Offset: pe.Offset, Section: pe.Section.String(), Index: pe.Index, Reason: pe.Reason}
	}
	if n := SourcePortNote(d); n != "" {
		out.Notes = append(out.Notes, n)
	}
	return out
}

// SourcePortNote says what is wrong with a response sent from a port other
// than 5353, or "" when there is nothing to say.
func SourcePortNote(d Decoded) string {
	if !d.Msg.Response() || !d.Src.IsValid() || d.Src.Port() == mdns.Port {
		return ""
	}
	if !d.Dst.IsValid() || (!d.Dst.Addr().IsMulticast() && d.Dst.Port() != mdns.Port) {
		return "" // plain unicast DNS (a resolver's answer), not mDNS
	}
	return fmt.Sprintf("%s answers from port %d, not 5353: queriers ignore such responses (RFC 6762 §6), Apple's, avahi's and bonjourctl's browsers among them", d.Src.Addr(), d.Src.Port())
}

func records(rs []mdns.Record) []Record {
	out := make([]Record, 0, len(rs))
	for i := range rs {
		r := &rs[i]
		jr := Record{
			Name:       mdns.EscapeText(r.Name),
			Type:       mdns.TypeString(r.Type),
			Class:      mdns.ClassString(r.Class),
			CacheFlush: r.CacheFlush,
			TTL:        r.TTL,
			RDLength:   len(r.Data),
			RData:      hex.EncodeToString(r.Data),
			Text:       RDataText(r),
		}
		if r.DataErr != nil {
			jr.DataError = r.DataErr.Error()
		}
		if r.Type == dns.TypeTXT {
			jr.TXT = txtJSON(r.Data)
		}
		out = append(out, jr)
	}
	return out
}

func txtJSON(rdata []byte) *TXT {
	rec, err := txt.Parse(rdata)
	t := &TXT{ZeroLength: len(rdata) == 0, Strings: []TXTString{}, Findings: txt.Lint(rdata)}
	if t.Findings == nil {
		t.Findings = []txt.Finding{}
	}
	for _, s := range rec.Strings {
		t.Strings = append(t.Strings, TXTString{Length: len(s), Hex: hex.EncodeToString(s), Text: txt.EscapeUTF8(s)})
	}
	if err != nil {
		t.Error = err.Error()
	}
	return t
}

// Text writes d as a header line and one line per question and record.
// Times are printed in loc. For many packets, use a Printer.
func Text(w io.Writer, d Decoded, loc *time.Location) error {
	return NewPrinter(loc).Text(w, d)
}

// Printer renders packets as text, reusing its buffer and remembering the
// lint findings of recent TXT records (a bounded cache: captures repeat the
// same TXT data many times).
type Printer struct {
	loc       *time.Location
	buf       []byte
	lint      map[string][]byte // TXT rdata -> its rendered warning lines
	lintBytes int               // bytes held by lint, keys and lines
}

// lintCacheBytes bounds the lint cache in bytes, not entries: records off
// the network can be 64 KiB each.
const lintCacheBytes = 1 << 20

// NewPrinter returns a Printer that prints times in loc.
func NewPrinter(loc *time.Location) *Printer {
	return &Printer{loc: loc, lint: make(map[string][]byte)}
}

// lintLines returns the "! txt" lines for the warnings and errors in rdata.
func (p *Printer) lintLines(rdata []byte) []byte {
	if l, ok := p.lint[string(rdata)]; ok {
		return l
	}
	if p.lintBytes > lintCacheBytes {
		clear(p.lint)
		p.lintBytes = 0
	}
	var l []byte
	for _, f := range txt.Lint(rdata) {
		if f.Severity >= txt.Warning {
			l = append(l, "     ! txt "...)
			l = append(l, f.String()...)
			l = append(l, '\n')
		}
	}
	if len(rdata)+len(l) <= lintCacheBytes/16 { // a huge record is not worth keeping
		p.lint[string(rdata)] = l
		p.lintBytes += len(rdata) + len(l)
	}
	return l
}

// Text writes d as a header line and one line per question and record.
func (p *Printer) Text(w io.Writer, d Decoded) error {
	p.buf = p.Append(p.buf[:0], d)
	_, err := w.Write(p.buf)
	return err
}

// Append appends what Text writes to b.
func (p *Printer) Append(b []byte, d Decoded) []byte {
	m := d.Msg
	if d.Frame > 0 {
		b = append(b, '#')
		b = strconv.AppendInt(b, int64(d.Frame), 10)
		b = append(b, ' ')
	}
	if !d.Received.IsZero() {
		b = appendClock(b, d.Received.In(p.loc))
	}
	if d.IfName != "" {
		b = mdns.AppendEscaped(b, d.IfName)
		b = append(b, ' ')
	}
	if d.Src.IsValid() {
		b = d.Src.AppendTo(b)
		if d.Dst.IsValid() {
			b = append(b, " > "...)
			b = d.Dst.AppendTo(b)
		}
		b = append(b, ' ')
		if d.HopLimit >= 0 {
			if d.Family() == 4 {
				b = append(b, "ttl "...)
			} else {
				b = append(b, "hlim "...)
			}
			b = strconv.AppendInt(b, int64(d.HopLimit), 10)
			b = append(b, ' ')
		}
	}
	if m.Response() {
		b = append(b, "response id "...)
	} else {
		b = append(b, "query id "...)
	}
	b = strconv.AppendUint(b, uint64(m.ID), 10)
	b = append(b, " ["...)
	if f := m.AppendFlagNames(b); len(f) > len(b) {
		b = append(f, ']')
	} else {
		b = b[:len(b)-2] // no flags set
	}
	if m.Opcode() != 0 {
		b = append(b, " opcode "...)
		b = strconv.AppendInt(b, int64(m.Opcode()), 10)
	}
	if m.Rcode() != 0 {
		b = append(b, " rcode "...)
		b = strconv.AppendInt(b, int64(m.Rcode()), 10)
	}
	for i, tag := range []string{" qd ", " an ", " ns ", " ar "} {
		b = append(b, tag...)
		b = strconv.AppendUint(b, uint64(m.Counts[i]), 10)
	}
	b = append(b, " ("...)
	b = strconv.AppendInt(b, int64(len(d.Raw)), 10)
	b = append(b, " bytes)\n"...)
	for _, q := range m.Questions {
		b = append(b, "  qd "...)
		b = mdns.AppendEscaped(b, q.Name)
		b = append(b, ' ')
		b = append(b, mdns.TypeString(q.Type)...)
		b = append(b, ' ')
		b = append(b, mdns.ClassString(q.Class)...)
		if q.QU {
			b = append(b, " QU\n"...)
		} else {
			b = append(b, " QM\n"...)
		}
	}
	for _, sec := range []struct {
		tag string
		rs  []mdns.Record
	}{{"  an ", m.Answers}, {"  ns ", m.Authority}, {"  ar ", m.Additional}} {
		for i := range sec.rs {
			r := &sec.rs[i]
			b = append(b, sec.tag...)
			b = mdns.AppendEscaped(b, r.Name)
			b = append(b, ' ')
			b = append(b, mdns.TypeString(r.Type)...)
			b = append(b, ' ')
			b = append(b, mdns.ClassString(r.Class)...)
			if r.CacheFlush {
				b = append(b, " flush"...)
			}
			b = append(b, " ttl "...)
			b = strconv.AppendUint(b, uint64(r.TTL), 10)
			b = append(b, ' ')
			b = AppendRDataText(b, r)
			b = append(b, '\n')
			if r.DataErr != nil {
				b = append(b, "     ! rdata not decoded: "...)
				b = mdns.AppendEscaped(b, r.DataErr.Error())
				b = append(b, '\n')
			}
			if r.Type == dns.TypeTXT {
				b = append(b, p.lintLines(r.Data)...)
			}
		}
	}
	if m.Trailing > 0 {
		b = fmt.Appendf(b, "  ! %d trailing bytes after the last record\n", m.Trailing)
	}
	if n := SourcePortNote(d); n != "" {
		b = append(b, "  ! "...)
		b = append(b, n...)
		b = append(b, '\n')
	}
	if pe := parseError(d.Err); pe != nil {
		b = fmt.Appendf(b, "  ! malformed at offset %d (%s %d): %s\n", pe.Offset, pe.Section, pe.Index, pe.Reason)
		b = append(b, HexDump(d.Raw, pe.Offset, "    ")...)
	}
	return b
}

// appendClock appends t as "15:04:05.000000 " (microseconds truncated, as
// time.Format does), without Format's cost: a capture prints it per packet.
func appendClock(b []byte, t time.Time) []byte {
	h, m, s := t.Clock()
	us := t.Nanosecond() / 1000
	b = append(b, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':', byte('0'+s/10), byte('0'+s%10), '.')
	for div := 100000; div > 0; div /= 10 {
		b = append(b, byte('0'+us/div%10))
	}
	return append(b, ' ')
}

// parseError returns the *mdns.ParseError in err, or nil.
func parseError(err error) *mdns.ParseError {
	if err == nil {
		return nil
	}
	var pe *mdns.ParseError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

// HexDump renders b 16 bytes per line with offsets; the byte at mark (if in
// range) is bracketed.
func HexDump(b []byte, mark int, indent string) string {
	var sb strings.Builder
	for off := 0; off < len(b); off += 16 {
		fmt.Fprintf(&sb, "%s%04x ", indent, off)
		for i := off; i < off+16; i++ {
			switch {
			case i >= len(b):
				sb.WriteString("   ")
			case i == mark:
				fmt.Fprintf(&sb, "[%02x", b[i])
			case i == mark+1:
				fmt.Fprintf(&sb, "]%02x", b[i])
			default:
				fmt.Fprintf(&sb, " %02x", b[i])
			}
		}
		if mark == off+15 || (mark == len(b)-1 && len(b)-1 >= off && len(b)-1 < off+16) {
			sb.WriteString("]")
		} else {
			sb.WriteString(" ")
		}
		sb.WriteString(" |")
		for i := off; i < off+16 && i < len(b); i++ {
			if b[i] >= 0x20 && b[i] <= 0x7e {
				sb.WriteByte(b[i])
			} else {
				sb.WriteByte('.')
			}
		}
		sb.WriteString("|\n")
	}
	return sb.String()
}
