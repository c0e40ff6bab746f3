// Package schema knows the TXT keys of well-known DNS-SD service types.
// Each schema is data: one JSON file per service type, embedded in the
// binary, citing the specification it comes from; a user adds their own
// in the same format. Checking a record against its type's schema names
// every key, explains its value and reports what the specification
// forbids, with the section.
package schema

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bonjourctl/bonjourctl/txt"
)

//go:embed schemas/*.json
var builtin embed.FS

// Schema describes one service type's TXT record (and instance name).
type Schema struct {
	Types  []string `json:"types"`  // "_matterc._udp"
	Name   string   `json:"name"`   // "Matter commissionable node"
	Source string   `json:"source"` // the specification, cited
	// Instance, when set, is what the instance label must look like.
	Instance *Pattern `json:"instance,omitempty"`
	Subtypes []Named  `json:"subtypes,omitempty"`
	Keys     []Key    `json:"keys"`
	// UnknownKeys is how a key the schema does not name is reported:
	// "info" (the default) or "ignore".
	UnknownKeys string `json:"unknownKeys,omitempty"`
	// MaxRecord bounds the whole RDATA in bytes (0: no bound beyond RFC
	// 6763's), with why.
	MaxRecord       int    `json:"maxRecord,omitempty"`
	MaxRecordReason string `json:"maxRecordReason,omitempty"`
	// NotType names service types people use by mistake for this one.
	NotType []Named  `json:"notType,omitempty"`
	Notes   []string `json:"notes,omitempty"`

	file string
	keys map[string]*Key // lower-case key -> key
}

// Named is a name with what it means.
type Named struct {
	Name    string `json:"name"`
	Meaning string `json:"meaning"`
}

// Pattern is a regular expression with what it means.
type Pattern struct {
	Regexp  string `json:"regexp"`
	Meaning string `json:"meaning"`
	Section string `json:"section,omitempty"`
	re      *regexp.Regexp
}

// Key is one TXT key of a schema.
type Key struct {
	Key     string `json:"key"`
	Meaning string `json:"meaning"`
	Section string `json:"section,omitempty"`
	// Required: "error" or "warning" when the key must (should) be
	// present; empty when it is optional.
	Required string `json:"required,omitempty"`
	// Repeat allows the key in several strings (libp2p's dnsaddr); RFC
	// 6763 §6.4 says clients use the first, so otherwise a repeat warns.
	Repeat bool `json:"repeat,omitempty"`
	// Format of the value: "uint" (decimal; Min, Max, NoLeadingZeros),
	// "enum" (Values), "hex" (Len or MaxLen digits), "bytes" (binary, Len
	// bytes), "text" (UTF-8, MaxLen bytes), "regexp" (Regexp), "flag" (a
	// boolean attribute, no value), "multiaddr-p2p" (a libp2p multiaddr
	// ending in /p2p/<peer id>), "any".
	Format         string  `json:"format"`
	Min            *uint64 `json:"min,omitempty"`
	Max            *uint64 `json:"max,omitempty"`
	NoLeadingZeros bool    `json:"noLeadingZeros,omitempty"`
	Len            int     `json:"len,omitempty"`
	MaxLen         int     `json:"maxLen,omitempty"`
	Values         []Named `json:"values,omitempty"`
	Regexp         string  `json:"regexp,omitempty"`
	Bits           []Named `json:"bits,omitempty"` // for a uint bitmap: bit number -> meaning
	re             *regexp.Regexp
}

// Set is the schemas known: built in, then the user's.
type Set struct {
	byType map[string]*Schema
	all    []*Schema
}

// Builtin returns the embedded schemas.
func Builtin() *Set {
	s := &Set{byType: map[string]*Schema{}}
	files, _ := fs.Glob(builtin, "schemas/*.json")
	sort.Strings(files)
	for _, f := range files {
		b, _ := builtin.ReadFile(f)
		sc, err := Parse(bytes.NewReader(b), path.Base(f))
		if err != nil {
			panic("schema: built-in " + err.Error()) // a build defect, caught by the tests
		}
		s.add(sc)
	}
	return s
}

// Add reads a schema file of the user's; it replaces a built-in schema for
// the same types.
func (s *Set) Add(r io.Reader, file string) error {
	sc, err := Parse(r, file)
	if err != nil {
		return err
	}
	s.add(sc)
	return nil
}

func (s *Set) add(sc *Schema) {
	s.all = append(s.all, sc)
	for _, t := range sc.Types {
		s.byType[typeKey(t)] = sc
	}
}

// All returns every schema, built-in ones first.
func (s *Set) All() []*Schema { return s.all }

// For returns the schema of a service type ("_matterc._udp", with or
// without a domain or a subtype), or nil.
func (s *Set) For(serviceType string) *Schema {
	return s.byType[typeKey(serviceType)]
}

// Mistaken returns the schema whose NotType names serviceType: the type
// people use by mistake for it (libp2p under _p2p._tcp), or nil.
func (s *Set) Mistaken(serviceType string) (*Schema, Named) {
	k := typeKey(serviceType)
	for _, sc := range s.all {
		for _, n := range sc.NotType {
			if typeKey(n.Name) == k {
				return sc, n
			}
		}
	}
	return nil, Named{}
}

// typeKey reduces "_printer._sub._ipp._tcp.local." to "_ipp._tcp".
func typeKey(t string) string {
	labels := strings.Split(strings.ToLower(strings.TrimSuffix(t, ".")), ".")
	for i := 1; i < len(labels); i++ {
		if labels[i] == "_tcp" || labels[i] == "_udp" {
			return labels[i-1] + "." + labels[i]
		}
	}
	return strings.ToLower(strings.TrimSuffix(t, "."))
}

// Parse reads one schema file; errors say the file and what is wrong.
func Parse(r io.Reader, file string) (*Schema, error) {
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	dec.DisallowUnknownFields()
	var sc Schema
	if err := dec.Decode(&sc); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%s: offset %d: %v", file, se.Offset, err)
		}
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	sc.file = file
	if len(sc.Types) == 0 {
		return nil, fmt.Errorf("%s: no service type (\"types\": [\"_example._tcp\"])", file)
	}
	for _, t := range sc.Types {
		for _, f := range CheckType(t) {
			if f.Severity == txt.Error {
				return nil, fmt.Errorf("%s: type %q: %s", file, t, f.Message)
			}
		}
	}
	if sc.Name == "" || sc.Source == "" {
		return nil, fmt.Errorf("%s: a schema needs a name and a source (the specification it comes from)", file)
	}
	switch sc.UnknownKeys {
	case "", "info", "ignore":
	default:
		return nil, fmt.Errorf("%s: unknownKeys must be info or ignore, not %q", file, sc.UnknownKeys)
	}
	if sc.Instance != nil {
		re, err := regexp.Compile(sc.Instance.Regexp)
		if err != nil {
			return nil, fmt.Errorf("%s: instance regexp: %v", file, err)
		}
		sc.Instance.re = re
	}
	sc.keys = map[string]*Key{}
	for i := range sc.Keys {
		k := &sc.Keys[i]
		where := fmt.Sprintf("%s: key %d (%q)", file, i+1, k.Key)
		if k.Key == "" || strings.Contains(k.Key, "=") {
			return nil, fmt.Errorf("%s: a key is 1 or more characters without '='", where)
		}
		if _, dup := sc.keys[strings.ToLower(k.Key)]; dup {
			return nil, fmt.Errorf("%s: listed twice", where)
		}
		switch k.Required {
		case "", "error", "warning":
		default:
			return nil, fmt.Errorf("%s: required must be error or warning, not %q", where, k.Required)
		}
		switch k.Format {
		case "uint", "hex", "bytes", "text", "flag", "multiaddr-p2p", "any":
		case "enum":
			if len(k.Values) == 0 {
				return nil, fmt.Errorf("%s: format enum needs values", where)
			}
		case "regexp":
			re, err := regexp.Compile(k.Regexp)
			if err != nil {
				return nil, fmt.Errorf("%s: regexp: %v", where, err)
			}
			k.re = re
		default:
			return nil, fmt.Errorf("%s: unknown format %q (uint, enum, hex, bytes, text, regexp, flag, multiaddr-p2p, any)", where, k.Format)
		}
		sc.keys[strings.ToLower(k.Key)] = k
	}
	return &sc, nil
}

// File is where the schema was read from.
func (sc *Schema) File() string { return sc.file }

// Finding is one schema verdict on a record.
type Finding struct {
	Code     string       `json:"code"`
	Severity txt.Severity `json:"severity"`
	Key      string       `json:"key,omitempty"`
	Index    int          `json:"index"` // the string, or -1 for the record or the name
	Message  string       `json:"message"`
	Section  string       `json:"section,omitempty"` // of the schema's source
}

func (f Finding) String() string {
	where := "record"
	if f.Index >= 0 {
		where = fmt.Sprintf("string %d", f.Index)
	}
	sec := ""
	if f.Section != "" {
		sec = ", " + f.Section
	}
	return fmt.Sprintf("%s %s (%s%s): %s", f.Severity, f.Code, where, sec, f.Message)
}

// Finding codes. They are stable.
const (
	CodeMissing      = "schema-missing-key"
	CodeBadValue     = "schema-bad-value"
	CodeUnknown      = "schema-unknown-key"
	CodeRepeated     = "schema-repeated-key"
	CodeInstance     = "schema-instance-name"
	CodeTooBig       = "schema-record-too-big"
	CodeKeyCase      = "schema-key-case"
	CodeTypeName     = "service-type-name"
	CodeUnregistered = "service-type-unregistered"
	CodeWrongType    = "schema-wrong-type"
)

// Explained is one string of a record with what the schema says of it.
type Explained struct {
	Index   int    `json:"index"`
	Key     string `json:"key"`
	Meaning string `json:"meaning"`         // the key's, or "" when the schema does not name it
	Value   string `json:"value,omitempty"` // what the value means, when the schema says ("1: not paired")
	Section string `json:"section,omitempty"`
}

// Report is a record checked against a schema.
type Report struct {
	Schema    string      `json:"schema"`
	Source    string      `json:"source"`
	Explained []Explained `json:"keys"`
	Findings  []Finding   `json:"findings"`
}

// Check judges a record (and, when not empty, its instance label)
// against the schema.
func (sc *Schema) Check(rec txt.Record, rdataLen int, instance string) Report {
	rep := Report{Schema: sc.Name, Source: sc.Source, Explained: []Explained{}, Findings: []Finding{}}
	add := func(code string, sev txt.Severity, key string, idx int, sec, format string, args ...any) {
		rep.Findings = append(rep.Findings, Finding{Code: code, Severity: sev, Key: key, Index: idx, Section: sec, Message: fmt.Sprintf(format, args...)})
	}
	if instance != "" && sc.Instance != nil && !sc.Instance.re.MatchString(instance) {
		add(CodeInstance, txt.Warning, "", -1, sc.Instance.Section, "instance name %q is not %s", txt.EscapeUTF8([]byte(instance)), sc.Instance.Meaning)
	}
	if sc.MaxRecord > 0 && rdataLen > sc.MaxRecord {
		add(CodeTooBig, txt.Warning, "", -1, "", "the record is %d bytes, over %d: %s", rdataLen, sc.MaxRecord, sc.MaxRecordReason)
	}
	seen := map[string]int{}
	for _, a := range txt.Attributes(rec) {
		if a.Kind == txt.Ignored {
			continue
		}
		lk := strings.ToLower(string(a.Key))
		k := sc.keys[lk]
		if k == nil {
			if sc.UnknownKeys != "ignore" {
				add(CodeUnknown, txt.Info, txt.Escape(a.Key), a.Index, "", "key %q is not one %s defines", txt.Escape(a.Key), sc.Name)
			}
			rep.Explained = append(rep.Explained, Explained{Index: a.Index, Key: txt.Escape(a.Key)})
			continue
		}
		seen[lk]++
		if seen[lk] > 1 && !k.Repeat {
			add(CodeRepeated, txt.Warning, k.Key, a.Index, k.Section, "key %s appears again: clients use the first (RFC 6763 §6.4) and ignore this one", k.Key)
			continue
		}
		if string(a.Key) != k.Key {
			add(CodeKeyCase, txt.Info, k.Key, a.Index, k.Section, "key %q is spelt %s in %s; DNS-SD keys are case-insensitive, but some implementations compare them exactly", txt.Escape(a.Key), k.Key, sc.Name)
		}
		ex := Explained{Index: a.Index, Key: k.Key, Meaning: k.Meaning, Section: k.Section}
		if msg, meaning := k.judge(a); msg != "" {
			add(CodeBadValue, txt.Error, k.Key, a.Index, k.Section, "%s: %s", k.Key, msg)
		} else {
			ex.Value = meaning
		}
		rep.Explained = append(rep.Explained, ex)
	}
	if sc.Types[0] == "_p2p._udp" {
		checkPeerIDs(rec, add)
	}
	for _, k := range sc.Keys {
		if k.Required != "" && seen[strings.ToLower(k.Key)] == 0 {
			sev := txt.Error
			if k.Required == "warning" {
				sev = txt.Warning
			}
			add(CodeMissing, sev, k.Key, -1, k.Section, "no %s key (%s)", k.Key, k.Meaning)
		}
	}
	return rep
}

// judge checks one value; it returns what is wrong, or what it means.
func (k *Key) judge(a txt.Attribute) (wrong, meaning string) {
	v := a.Value
	if k.Format == "flag" {
		if a.Kind != txt.Boolean {
			return fmt.Sprintf("a boolean attribute: the key alone, without '=' (got %s)", a.Kind), ""
		}
		return "", ""
	}
	if k.Format != "any" && a.Kind == txt.Boolean {
		return "has no value (a boolean attribute); it needs key=value", ""
	}
	if k.MaxLen > 0 && len(v) > k.MaxLen {
		return fmt.Sprintf("%d bytes, longer than %d", len(v), k.MaxLen), ""
	}
	switch k.Format {
	case "uint":
		s := string(v)
		if s == "" || strings.TrimLeft(s, "0123456789") != "" {
			return fmt.Sprintf("%q is not a decimal number", txt.EscapeUTF8(v)), ""
		}
		if k.NoLeadingZeros && len(s) > 1 && s[0] == '0' {
			return fmt.Sprintf("%q has leading zeros (the specification omits them)", s), ""
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || (k.Max != nil && n > *k.Max) || (k.Min != nil && n < *k.Min) {
			return fmt.Sprintf("%s is out of range (%s)", s, k.rangeText()), ""
		}
		return "", k.bitsText(n)
	case "enum":
		for _, val := range k.Values {
			if val.Name == string(v) {
				return "", val.Meaning
			}
		}
		names := make([]string, len(k.Values))
		for i, val := range k.Values {
			names[i] = val.Name
		}
		return fmt.Sprintf("%q is not one of %s", txt.EscapeUTF8(v), strings.Join(names, ", ")), ""
	case "hex":
		for _, c := range v {
			if !strings.ContainsRune("0123456789abcdefABCDEF", rune(c)) {
				return fmt.Sprintf("%q is not hexadecimal", txt.EscapeUTF8(v)), ""
			}
		}
		if k.Len > 0 && len(v) != k.Len {
			return fmt.Sprintf("%d hex digits, want %d", len(v), k.Len), ""
		}
	case "bytes":
		if k.Len > 0 && len(v) != k.Len {
			return fmt.Sprintf("%d bytes, want %d (a binary value)", len(v), k.Len), ""
		}
	case "text":
		if !utf8.Valid(v) {
			return "not UTF-8", ""
		}
	case "regexp":
		if !k.re.Match(v) {
			return fmt.Sprintf("%q does not match %s", txt.EscapeUTF8(v), k.Regexp), ""
		}
	case "multiaddr-p2p":
		if msg := checkMultiaddr(v); msg != "" {
			return msg, ""
		}
	}
	return "", ""
}

func (k *Key) rangeText() string {
	lo, hi := "0", "any"
	if k.Min != nil {
		lo = strconv.FormatUint(*k.Min, 10)
	}
	if k.Max != nil {
		hi = strconv.FormatUint(*k.Max, 10)
	}
	return lo + "-" + hi
}

// bitsText names the bits set in a bitmap value, or its value's meaning.
func (k *Key) bitsText(n uint64) string {
	for _, val := range k.Values {
		if val.Name == strconv.FormatUint(n, 10) {
			return val.Meaning
		}
	}
	if len(k.Bits) == 0 {
		return ""
	}
	var set []string
	for _, b := range k.Bits {
		bit, err := strconv.Atoi(b.Name)
		if err == nil && bit < 64 && n&(1<<bit) != 0 {
			set = append(set, b.Meaning)
		}
	}
	if len(set) == 0 {
		return "no flag set"
	}
	return strings.Join(set, ", ")
}

// Types lists the service types with a schema, sorted.
func (s *Set) Types() []string {
	var out []string
	for t := range s.byType {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}
