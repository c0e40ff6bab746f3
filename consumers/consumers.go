// Package consumers says what the DNS-SD client libraries people ship on
// make of a TXT record: the value an app gets from each, computed the way
// that library computes it, with the source that shows it, and where that
// differs from what RFC 6763 §6 says a client sees. Only libraries whose
// behaviour could be read in their source and checked against them here
// are covered, but for Apple's, Android's, brutella/dnssd's and
// ESP-IDF's, whose behaviour is cited from their source (and a public
// report), and cannot be run here.
package consumers

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/txt"
)

// Verdict is what one client makes of a record.
type Verdict struct {
	Client string   `json:"client"`
	Source string   `json:"source"` // where the behaviour is read from
	Sees   string   `json:"sees"`   // what the app gets, in the library's own terms
	Notes  []string `json:"notes"`  // where it departs from RFC 6763 §6, or loses something
}

// All returns every client's verdict on rdata.
func All(rdata []byte) []Verdict {
	return []Verdict{Apple(rdata), Android(rdata), PythonZeroconf(rdata), Grandcat(rdata), Brutella(rdata), Avahi(rdata), ESPIDF(rdata)}
}

// pyEntry is one key of python-zeroconf's properties dict.
type pyEntry struct {
	key, value []byte
	none       bool // the value is None (a boolean attribute)
}

// PythonZeroconf is ServiceInfo.properties as python-zeroconf builds it
// (zeroconf/_services/info.py, ServiceInfo._set_text, 0.47.3 as Debian 12
// ships it): a dict from the bytes before the first '=' (case kept) to the
// bytes after it, or None without '='; a string with no key is skipped; a
// key seen before keeps its value unless that value was None.
func PythonZeroconf(rdata []byte) Verdict {
	v := Verdict{Client: "python-zeroconf", Source: "python-zeroconf 0.47.3, zeroconf/_services/info.py, ServiceInfo._set_text"}
	rec, err := txt.Parse(rdata)
	var props []pyEntry
	if err == nil {
		for _, s := range rec.Strings {
			k, val, eq := bytes.Cut(s, []byte("="))
			if len(k) == 0 {
				continue
			}
			i := -1
			for j := range props {
				if bytes.Equal(props[j].key, k) {
					i = j
				}
			}
			e := pyEntry{key: k, value: val, none: !eq}
			switch {
			case i < 0:
				props = append(props, e)
			case props[i].none:
				props[i].value, props[i].none = e.value, e.none
			}
		}
	}
	parts := make([]string, len(props))
	for i, e := range props {
		val := "None"
		if !e.none {
			val = pyBytes(e.value)
		}
		parts[i] = pyBytes(e.key) + ": " + val
	}
	v.Sees = "properties = {" + strings.Join(parts, ", ") + "}"
	if err != nil {
		v.Notes = append(v.Notes, "the record does not parse; what python-zeroconf makes of the bytes is not computed here")
		return v
	}
	switch {
	case len(rdata) == 0:
		v.Notes = append(v.Notes, "zero-length TXT and the empty record (00) both give {}: the app cannot tell an illegal record from a legal empty one")
	case rec.IsEmpty():
		v.Notes = append(v.Notes, "the empty record gives {}, as zero-length TXT does")
	}
	attrs := txt.Attributes(rec)
	for _, a := range attrs {
		if a.Kind == txt.Ignored || a.FirstIndex == a.Index {
			continue
		}
		first := attrs[a.FirstIndex]
		switch {
		case !bytes.Equal(first.Key, a.Key):
			v.Notes = append(v.Notes, fmt.Sprintf("keys %q and %q are one key to RFC 6763 §6.4 (case-insensitive) but two in python-zeroconf's dict", txt.Escape(first.Key), txt.Escape(a.Key)))
		case first.Kind == txt.Boolean && a.Kind != txt.Boolean:
			v.Notes = append(v.Notes, fmt.Sprintf("key %q: the first string is a boolean (RFC 6763 §6.4: it counts), python-zeroconf takes the later value of string %d", txt.Escape(a.Key), a.Index))
		default:
			v.Notes = append(v.Notes, fmt.Sprintf("duplicate key %q: python-zeroconf keeps the first (string %d), as RFC 6763 §6.4 says; string %d is lost", txt.Escape(a.Key), first.Index, a.Index))
		}
	}
	for _, e := range props {
		if e.none {
			v.Notes = append(v.Notes, fmt.Sprintf("boolean key %q is None in the dict: properties.get(%s) is falsy, as if it were absent", txt.Escape(e.key), pyBytes(e.key)))
		}
	}
	return v
}

// pyBytes is Python's repr of a bytes value.
func pyBytes(b []byte) string {
	quote := byte('\'')
	if bytes.IndexByte(b, '\'') >= 0 && bytes.IndexByte(b, '"') < 0 {
		quote = '"'
	}
	var sb strings.Builder
	sb.WriteString("b")
	sb.WriteByte(quote)
	for _, c := range b {
		switch {
		case c == quote || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == '\t':
			sb.WriteString(`\t`)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\r':
			sb.WriteString(`\r`)
		case c < ' ' || c >= 0x7f:
			fmt.Fprintf(&sb, `\x%02x`, c)
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte(quote)
	return sb.String()
}

// Grandcat is ServiceEntry.Text as github.com/grandcat/zeroconf fills it
// (client.go: entries[...].Text = rr.Txt): the strings of miekg/dns's TXT
// record, in presentation form.
func Grandcat(rdata []byte) Verdict {
	v := Verdict{Client: "grandcat/zeroconf", Source: "github.com/grandcat/zeroconf client.go (ServiceEntry.Text = the miekg/dns TXT record's Txt)"}
	strs, err := miekgStrings(rdata)
	if err != nil {
		v.Sees = "(the record does not decode: " + err.Error() + ")"
		return v
	}
	q := make([]string, len(strs))
	for i, s := range strs {
		q[i] = fmt.Sprintf("%q", s)
	}
	v.Sees = "Text = []string{" + strings.Join(q, ", ") + "}"
	rec, _ := txt.Parse(rdata)
	for i, s := range rec.Strings {
		if i < len(strs) && strs[i] != string(s) {
			v.Notes = append(v.Notes, fmt.Sprintf("string %d arrives escaped (%q for the bytes %s): miekg/dns's presentation form, not the bytes; the app must unescape \\DDD, \\\" and \\\\", i, strs[i], hex.EncodeToString(s)))
		}
	}
	switch {
	case len(rdata) == 0:
		v.Notes = append(v.Notes, "zero-length TXT gives an empty slice, the empty record []string{\"\"}: the two stay apart")
	}
	if attrs := txt.Attributes(rec); len(attrs) > 0 {
		for _, a := range attrs {
			if a.Kind != txt.Ignored && a.FirstIndex != a.Index {
				v.Notes = append(v.Notes, fmt.Sprintf("key %q appears again in string %d: Text keeps both in order; an app that builds a map[string]string from it keeps the last, RFC 6763 §6.4 the first", txt.Escape(a.Key), a.Index))
				break
			}
		}
	}
	return v
}

// miekgStrings decodes RDATA as miekg/dns does for a TXT record.
func miekgStrings(rdata []byte) ([]string, error) {
	g := &dns.RFC3597{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeTXT, Class: dns.ClassINET}, Rdata: hex.EncodeToString(rdata)}
	buf := make([]byte, len(rdata)+64)
	n, err := dns.PackRR(g, buf, 0, nil, false)
	if err != nil {
		return nil, err
	}
	rr, _, err := dns.UnpackRR(buf[:n], 0)
	if err != nil {
		return nil, err
	}
	t, ok := rr.(*dns.TXT)
	if !ok {
		return nil, fmt.Errorf("not a TXT record")
	}
	if t.Txt == nil {
		return []string{}, nil
	}
	return t.Txt, nil
}

// Avahi is the TXT field of avahi-browse -r -p (avahi 0.8): avahi keeps
// the non-empty strings only (avahi-common/strlst.c,
// avahi_string_list_parse: "Ignore empty strings"), and avahi-browse
// prints them last first, each quoted, '"' and '\\' escaped with a
// backslash and bytes outside printable ASCII as \DDD
// (avahi_string_list_to_string).
func Avahi(rdata []byte) Verdict {
	v := Verdict{Client: "avahi", Source: "avahi 0.8, avahi-common/strlst.c (avahi_string_list_parse, avahi_string_list_to_string), as avahi-browse -r -p prints it"}
	rec, err := txt.Parse(rdata)
	if err != nil {
		v.Sees = "(nothing: avahi refuses a record that does not parse)"
		return v
	}
	var parts []string
	empty := 0
	for i := len(rec.Strings) - 1; i >= 0; i-- {
		s := rec.Strings[i]
		if len(s) == 0 {
			empty++
			continue
		}
		var sb strings.Builder
		sb.WriteByte('"')
		for _, c := range s {
			switch {
			case c == '"' || c == '\\':
				sb.WriteByte('\\')
				sb.WriteByte(c)
			case c < 32 || c >= 127:
				fmt.Fprintf(&sb, "\\%03d", c)
			default:
				sb.WriteByte(c)
			}
		}
		sb.WriteByte('"')
		parts = append(parts, sb.String())
	}
	v.Sees = "avahi-browse -p TXT field: " + strings.Join(parts, " ")
	if len(parts) == 0 {
		v.Sees = "avahi-browse -p TXT field: (empty)"
	}
	switch {
	case len(rdata) == 0 || rec.IsEmpty():
		v.Notes = append(v.Notes, "zero-length TXT and the empty record (00) look the same: no strings")
	case empty > 0:
		v.Notes = append(v.Notes, fmt.Sprintf("%d empty string(s) dropped", empty))
	}
	if len(parts) > 1 {
		v.Notes = append(v.Notes, "the strings are listed last first (txt decode --from avahi reads them back in wire order)")
	}
	return v
}

// Apple is what Apple's DNS-SD API hands an app: TXTRecordGetValuePtr
// returns the first string whose key matches, compared case-insensitively
// (mDNSResponder, mDNSShared/dnssd_clientlib.c, InternalTXTRecordSearch).
// It does not run here: the facts are cited, not tested.
func Apple(rdata []byte) Verdict {
	v := Verdict{Client: "Apple (dns_sd, NWBrowser)", Source: "mDNSResponder mDNSShared/dnssd_clientlib.c (InternalTXTRecordSearch: first match, strncasecmp); zero-length TXT on iOS 17: Skyost/Bonsoir issue #67; not run here"}
	rec, err := txt.Parse(rdata)
	if err != nil {
		v.Sees = "(the record does not parse)"
		return v
	}
	var parts []string
	for _, a := range txt.Attributes(rec) {
		if a.Kind == txt.Ignored || a.FirstIndex != a.Index {
			continue
		}
		val := "(no value)"
		switch a.Kind {
		case txt.EmptyValue:
			val = `""`
		case txt.Value:
			val = fmt.Sprintf("%q", txt.EscapeUTF8(a.Value))
		}
		parts = append(parts, fmt.Sprintf("%s: %s", txt.Escape(a.Key), val))
	}
	v.Sees = "TXTRecordGetValuePtr by key: {" + strings.Join(parts, ", ") + "}"
	if len(rdata) == 0 {
		v.Notes = append(v.Notes, `iOS 17's Network framework logs "nw_txt_record_create_with_bytes txt_record cannot have length 0" for zero-length TXT, and discovery through it failed (Skyost/Bonsoir #67, iOS 17.1.1): publish one empty string (00) instead`)
	}
	v.Notes = append(v.Notes, "NWBrowser delivers TXT metadata only when browsing with the .bonjourWithTXTRecord descriptor; with .bonjour the metadata is nil whatever is on the wire")
	for _, a := range txt.Attributes(rec) {
		if a.Kind != txt.Ignored && a.FirstIndex != a.Index {
			v.Notes = append(v.Notes, fmt.Sprintf("key %q again in string %d: the first (string %d) is returned, as RFC 6763 §6.4 says", txt.Escape(a.Key), a.Index, a.FirstIndex))
		}
	}
	return v
}

// Brutella is Service.Text as github.com/brutella/dnssd fills it
// (cache.go at commit 8c9d3cd): a map[string]string from miekg/dns's TXT
// strings split at the first '=', each assignment made unconditionally
// (the "don't override" check above it has no effect), so the last value
// of a key wins, a string without '=' is dropped, and keys are
// case-sensitive. The module is not served by the proxy here: cited, not
// run.
func Brutella(rdata []byte) Verdict {
	v := Verdict{Client: "brutella/dnssd", Source: "github.com/brutella/dnssd cache.go (commit 8c9d3cd, 2026-02-27); not run here"}
	strs, err := miekgStrings(rdata)
	if err != nil {
		v.Sees = "(the record does not decode: " + err.Error() + ")"
		return v
	}
	text := map[string]string{}
	var order []string
	var dropped []string
	for _, s := range strs {
		k, val, ok := strings.Cut(s, "=")
		if !ok {
			if s != "" {
				dropped = append(dropped, s)
			}
			continue
		}
		if _, seen := text[k]; !seen {
			order = append(order, k)
		} else {
			v.Notes = append(v.Notes, fmt.Sprintf("key %q repeats: the map keeps the last value (%q), RFC 6763 §6.4 the first", k, val))
		}
		text[k] = val
	}
	v.Sees = fmt.Sprintf("Text = %#v", text)
	for _, d := range dropped {
		v.Notes = append(v.Notes, fmt.Sprintf("boolean key %q (no '=') is dropped: the app cannot see it", d))
	}
	lower := map[string]string{}
	for _, k := range order {
		if o, ok := lower[strings.ToLower(k)]; ok {
			v.Notes = append(v.Notes, fmt.Sprintf("keys %q and %q are one key to RFC 6763 §6.4 but two in the map", o, k))
		} else {
			lower[strings.ToLower(k)] = k
		}
	}
	rec, _ := txt.Parse(rdata)
	for i, s := range rec.Strings {
		if i < len(strs) && strs[i] != string(s) {
			v.Notes = append(v.Notes, fmt.Sprintf("string %d arrives escaped (%q): miekg/dns's presentation form, not the bytes", i, strs[i]))
		}
	}
	return v
}

// ESPIDF is the mdns_txt_item_t array of ESP-IDF's mdns component
// (espressif/esp-protocols components/mdns/mdns.c,
// _mdns_txt_items_count_get and _mdns_result_txt_create): strings in
// order up to the first empty string, where parsing stops; a string that
// starts with '=' skipped; the key up to '=', the value after it with its
// length (NULL when empty, as for a key without '='); a record of one byte
// or one that overruns gives no items. Cited, not run here.
func ESPIDF(rdata []byte) Verdict {
	v := Verdict{Client: "ESP-IDF mdns", Source: "espressif/esp-protocols components/mdns/mdns.c (_mdns_txt_items_count_get, _mdns_result_txt_create); not run here"}
	var items []string
	rec, err := txt.Parse(rdata)
	switch {
	case err != nil:
		v.Notes = append(v.Notes, "a length byte that runs past the end: no items at all")
	case len(rdata) <= 1:
		v.Notes = append(v.Notes, "zero-length TXT and the empty record (00) both give no items")
	default:
		for i, s := range rec.Strings {
			if len(s) == 0 {
				if rest := len(rec.Strings) - i - 1; rest > 0 {
					v.Notes = append(v.Notes, fmt.Sprintf("string %d is empty: parsing stops there, and the %d string(s) after it are lost", i, rest))
				}
				break
			}
			if s[0] == '=' {
				continue
			}
			k, val, eq := bytes.Cut(s, []byte("="))
			value := "NULL"
			if len(val) > 0 {
				value = fmt.Sprintf("%q (%d)", txt.EscapeUTF8(val), len(val))
			} else if eq {
				v.Notes = append(v.Notes, fmt.Sprintf("%q= (empty value) arrives as a NULL value, the same as the boolean %q", txt.Escape(k), txt.Escape(k)))
			}
			items = append(items, fmt.Sprintf("{%q, %s}", txt.Escape(k), value))
		}
	}
	v.Sees = "txt[] = {" + strings.Join(items, ", ") + "}"
	return v
}

// Android is MdnsServiceInfo's attributes in Android's mDNS stack (the
// Connectivity module's service-t/.../mdns/MdnsServiceInfo.java, from
// Android 14): TextEntry.fromBytes splits at the first '=' (a string that
// starts with '=' is dropped, one without is a key with a null value, the
// key read as US-ASCII), and a TreeMap ordered case-insensitively takes
// each key with putIfAbsent: the first wins, whatever its case.
// getAttributes() turns values into UTF-8 strings. Cited, not run here.
func Android(rdata []byte) Verdict {
	v := Verdict{Client: "Android NsdManager", Source: "Android Connectivity module, service-t/src/com/android/server/connectivity/mdns/MdnsServiceInfo.java (TextEntry.fromBytes; TreeMap CASE_INSENSITIVE_ORDER, putIfAbsent); not run here"}
	rec, err := txt.Parse(rdata)
	if err != nil {
		v.Sees = "(the record does not parse)"
		return v
	}
	type entry struct {
		key   string
		value []byte
		null  bool
	}
	var attrs []entry
	for _, s := range rec.Strings {
		k, val, eq := bytes.Cut(s, []byte("="))
		if eq && len(k) == 0 {
			continue
		}
		key := string(k)
		if !eq {
			val = nil
		}
		dup := false
		for _, a := range attrs {
			if strings.EqualFold(a.key, key) {
				dup = true
			}
		}
		if !dup {
			attrs = append(attrs, entry{key, val, !eq})
		}
		if len(s) == 0 {
			v.Notes = append(v.Notes, `an empty string becomes an attribute with the empty key "" and a null value`)
		}
	}
	sort.SliceStable(attrs, func(i, j int) bool { return strings.ToLower(attrs[i].key) < strings.ToLower(attrs[j].key) })
	parts := make([]string, len(attrs))
	for i, a := range attrs {
		val := "null"
		if !a.null {
			val = strings.ToValidUTF8(string(a.value), "\uFFFD")
			if !utf8.Valid(a.value) {
				v.Notes = append(v.Notes, fmt.Sprintf("the value of %q is not UTF-8: getAttributes() shows U+FFFD for its bad bytes (getAttributeAsBytes keeps them)", a.key))
			}
		}
		parts[i] = a.key + "=" + val
	}
	v.Sees = "getAttributes() = {" + strings.Join(parts, ", ") + "}"
	for _, a := range txt.Attributes(rec) {
		if a.Kind != txt.Ignored && a.FirstIndex != a.Index {
			v.Notes = append(v.Notes, fmt.Sprintf("key %q again in string %d: the first (string %d) is kept, whatever its case, as RFC 6763 §6.4 says", txt.Escape(a.Key), a.Index, a.FirstIndex))
		}
	}
	return v
}
