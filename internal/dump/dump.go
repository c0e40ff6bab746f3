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
	Text   string `json:"text"` // escaped: printable ASCII as is, other bytes as \xHH
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
	var pe *mdns.ParseError
	if errors.As(d.Err, &pe) {
		out.Malformed = &Malformed{Offset: pe.Offset, Section: pe.Section.String(), Index: pe.Index, Reason: pe.Reason}
	}
	return out
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
			Text:       r.RDataText(),
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
		t.Strings = append(t.Strings, TXTString{Length: len(s), Hex: hex.EncodeToString(s), Text: txt.Escape(s)})
	}
	if err != nil {
		t.Error = err.Error()
	}
	return t
}

// Text writes d as a header line and one line per question and record.
// Times are printed in loc.
func Text(w io.Writer, d Decoded, loc *time.Location) error {
	m := d.Msg
	var sb strings.Builder
	if d.Frame > 0 {
		fmt.Fprintf(&sb, "#%d ", d.Frame)
	}
	if !d.Received.IsZero() {
		sb.WriteString(d.Received.In(loc).Format("15:04:05.000000 "))
	}
	if d.IfName != "" {
		sb.WriteString(mdns.EscapeText(d.IfName) + " ")
	}
	if d.Src.IsValid() {
		sb.WriteString(d.Src.String())
		if d.Dst.IsValid() {
			sb.WriteString(" > " + d.Dst.String())
		}
		sb.WriteByte(' ')
		if d.HopLimit >= 0 {
			if d.Family() == 4 {
				fmt.Fprintf(&sb, "ttl %d ", d.HopLimit)
			} else {
				fmt.Fprintf(&sb, "hlim %d ", d.HopLimit)
			}
		}
	}
	kind := "query"
	if m.Response() {
		kind = "response"
	}
	fmt.Fprintf(&sb, "%s id %d", kind, m.ID)
	if f := m.FlagNames(); f != "" {
		fmt.Fprintf(&sb, " [%s]", f)
	}
	if m.Opcode() != 0 {
		fmt.Fprintf(&sb, " opcode %d", m.Opcode())
	}
	if m.Rcode() != 0 {
		fmt.Fprintf(&sb, " rcode %d", m.Rcode())
	}
	fmt.Fprintf(&sb, " qd %d an %d ns %d ar %d (%d bytes)\n", m.Counts[0], m.Counts[1], m.Counts[2], m.Counts[3], len(d.Raw))
	for _, q := range m.Questions {
		fmt.Fprintf(&sb, "  qd %s %s %s", mdns.EscapeText(q.Name), mdns.TypeString(q.Type), mdns.ClassString(q.Class))
		if q.QU {
			sb.WriteString(" QU")
		} else {
			sb.WriteString(" QM")
		}
		sb.WriteByte('\n')
	}
	for _, sec := range []struct {
		tag string
		rs  []mdns.Record
	}{{"an", m.Answers}, {"ns", m.Authority}, {"ar", m.Additional}} {
		for i := range sec.rs {
			r := &sec.rs[i]
			flush := ""
			if r.CacheFlush {
				flush = " flush"
			}
			fmt.Fprintf(&sb, "  %s %s %s %s%s ttl %d %s\n", sec.tag, mdns.EscapeText(r.Name), mdns.TypeString(r.Type), mdns.ClassString(r.Class), flush, r.TTL, r.RDataText())
			if r.DataErr != nil {
				fmt.Fprintf(&sb, "     ! rdata not decoded: %s\n", mdns.EscapeText(r.DataErr.Error()))
			}
			if r.Type == dns.TypeTXT {
				for _, f := range txt.Lint(r.Data) {
					if f.Severity >= txt.Warning {
						fmt.Fprintf(&sb, "     ! txt %s\n", f)
					}
				}
			}
		}
	}
	if m.Trailing > 0 {
		fmt.Fprintf(&sb, "  ! %d trailing bytes after the last record\n", m.Trailing)
	}
	var pe *mdns.ParseError
	if errors.As(d.Err, &pe) {
		fmt.Fprintf(&sb, "  ! malformed at offset %d (%s %d): %s\n", pe.Offset, pe.Section, pe.Index, pe.Reason)
		sb.WriteString(HexDump(d.Raw, pe.Offset, "    "))
	}
	_, err := io.WriteString(w, sb.String())
	return err
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
