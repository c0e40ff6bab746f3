// Package expect states what a service must look like (TXT pairs, exact
// TXT bytes, the TXT's state) and says, for a service seen on the wire,
// which expectations it does not meet and what was there instead, for
// scripts and CI: `browse --instance NAME --expect key=value`.
package expect

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/txt"
)

// Expectation is one thing a service must show.
type Expectation struct {
	flag string // as given, for messages
	// A TXT pair: Key with Value (HasValue), or Key as a boolean
	// attribute (no "=").
	Key      string
	Value    []byte
	HasValue bool
	// Or the exact TXT RDATA.
	RData []byte
	// Or the TXT's state.
	State browse.TXTState
}

func (e Expectation) String() string { return e.flag }

// Pair parses --expect: "key=value", "key=" (an empty value) or "key" (a
// boolean attribute, present without "=").
func Pair(s string) (Expectation, error) {
	k, v, eq := strings.Cut(s, "=")
	if k == "" {
		return Expectation{}, fmt.Errorf("--expect %q: the key is empty (want key=value, key= or key)", s)
	}
	return Expectation{flag: "--expect " + s, Key: k, Value: []byte(v), HasValue: eq}, nil
}

// RData parses --expect-txt-hex: the exact TXT RDATA as hex.
func RData(s string) (Expectation, error) {
	b, err := txt.DecodeHex(s)
	if err != nil {
		return Expectation{}, fmt.Errorf("--expect-txt-hex: %v", err)
	}
	return Expectation{flag: "--expect-txt-hex " + s, RData: b}, nil
}

// State parses --expect-state: present, empty, missing or zero-length.
func State(s string) (Expectation, error) {
	switch st := browse.TXTState(s); st {
	case browse.TXTPresent, browse.TXTEmpty, browse.TXTMissing, browse.TXTZeroLength:
		return Expectation{flag: "--expect-state " + s, State: st}, nil
	}
	return Expectation{}, fmt.Errorf("--expect-state must be present, empty, missing or zero-length, not %q", s)
}

// Unmet returns one line per expectation svc does not meet: what was
// expected, what was on the wire, and which packet carried it.
func Unmet(es []Expectation, svc *browse.Service) []string {
	var out []string
	for _, e := range es {
		if why := e.unmet(svc); why != "" {
			out = append(out, fmt.Sprintf("%s: %s", e.flag, why))
		}
	}
	return out
}

func (e Expectation) unmet(svc *browse.Service) string {
	have := describe(svc)
	switch {
	case e.State != "":
		if svc.TXTState != e.State {
			return fmt.Sprintf("the TXT is %s%s", svc.TXTState, have)
		}
	case e.RData != nil:
		if svc.TXTState == browse.TXTMissing {
			return "no TXT record was seen"
		}
		if !bytes.Equal(svc.TXTRaw, e.RData) {
			return fmt.Sprintf("the TXT RDATA is %s%s", hexOrNone(svc.TXTRaw), have)
		}
	default:
		if svc.TXTState == browse.TXTMissing {
			return "no TXT record was seen"
		}
		for _, a := range txt.Attributes(svc.TXT) {
			if a.Kind == txt.Ignored || a.FirstIndex != a.Index || !strings.EqualFold(string(a.Key), e.Key) {
				continue // RFC 6763 §6.4: only a key's first occurrence counts
			}
			switch {
			case !e.HasValue && a.Kind == txt.Boolean:
				return ""
			case !e.HasValue:
				return fmt.Sprintf("%s is not a boolean attribute: it is %s%s", txt.EscapeUTF8(a.Key), txt.EscapeUTF8(svc.TXT.Strings[a.Index]), have)
			case a.Kind == txt.Boolean:
				return fmt.Sprintf("%s has no value (a boolean attribute)%s", txt.EscapeUTF8(a.Key), have)
			case !bytes.Equal(a.Value, e.Value):
				return fmt.Sprintf("%s is %q%s", txt.EscapeUTF8(a.Key), txt.EscapeUTF8(a.Value), have)
			}
			return ""
		}
		return fmt.Sprintf("no key %s in the TXT%s", e.Key, have)
	}
	return ""
}

// describe says where the TXT came from: its strings and its packet.
func describe(svc *browse.Service) string {
	var strs []string
	for _, s := range svc.TXT.Strings {
		strs = append(strs, txt.EscapeUTF8(s))
	}
	what := ""
	switch svc.TXTState {
	case browse.TXTPresent:
		what = " [" + strings.Join(strs, " ") + "]"
	case browse.TXTMissing:
		return " (no TXT record was seen)"
	}
	for _, r := range svc.Records {
		if r.Type == mdns.TypeTXT {
			return fmt.Sprintf("%s, from %s at %s", what, r.Src, r.LastSeen.Format("15:04:05.000"))
		}
	}
	return what
}

func hexOrNone(b []byte) string {
	if len(b) == 0 {
		return "empty (zero-length)"
	}
	return hex.EncodeToString(b)
}
