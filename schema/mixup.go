package schema

import (
	"fmt"
	"slices"
	"strings"
)

// Mixup watches for the service type people confuse with the ones asked
// for (libp2p's _p2p._udp for _p2p._tcp, and the reverse, as the schemas'
// notType entries say): a browser asks for it too, shows none of its
// instances, and tells once that it has one while nothing of the type
// asked for has been seen.
type Mixup struct {
	alts  map[string]string // the other type (lower case) -> the type asked for
	why   map[string]string // the other type -> what the schema says
	seen  map[string]bool   // types asked for that had an instance
	noted map[string]bool
}

// NewMixup watches the types asked for; a nil Set watches nothing.
func (s *Set) NewMixup(types []string) *Mixup {
	m := &Mixup{alts: map[string]string{}, why: map[string]string{}, seen: map[string]bool{}, noted: map[string]bool{}}
	if s == nil {
		return m
	}
	for _, t := range types {
		if strings.Contains(t, "._sub.") {
			continue
		}
		if sc, n := s.Mistaken(t); sc != nil {
			alt := strings.ToLower(sc.Types[0])
			m.alts[alt], m.why[alt] = t, n.Meaning
		}
		if sc := s.For(t); sc != nil {
			for _, n := range sc.NotType {
				alt := strings.ToLower(n.Name)
				m.alts[alt], m.why[alt] = t, n.Meaning
			}
		}
	}
	for alt := range m.alts {
		for _, t := range types {
			if strings.EqualFold(t, alt) {
				delete(m.alts, alt) // asked for as well: nothing to tell
			}
		}
	}
	return m
}

// Extra lists the types to ask for besides those asked for.
func (m *Mixup) Extra() []string {
	out := make([]string, 0, len(m.alts))
	for alt := range m.alts {
		out = append(out, alt)
	}
	slices.Sort(out)
	return out
}

// Take reports whether an instance of typ is of a type asked for. For an
// instance of the other type that was just added (instance and host
// already escaped for printing), note says the mix-up, once a type and
// only while nothing of the type asked for has been seen.
func (m *Mixup) Take(typ string, added bool, instance, host string) (asked bool, note string) {
	k := strings.ToLower(typ)
	askedFor, isAlt := m.alts[k]
	if !isAlt {
		m.seen[k] = true
		return true, ""
	}
	if added && !m.seen[strings.ToLower(askedFor)] && !m.noted[k] {
		m.noted[k] = true
		note = fmt.Sprintf("no %s instance seen so far, but %s has one (%s at %s): %s", askedFor, typ, instance, host, m.why[k])
	}
	return false, note
}
