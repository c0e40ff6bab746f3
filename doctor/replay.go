package doctor

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/txt"
)

// question is one question about the service seen in the capture.
type question struct {
	at  time.Time
	src netip.AddrPort
	typ uint16
	qu  bool
}

// answer is one response carrying a record of the service.
type answer struct {
	at      time.Time
	src     netip.Addr
	typ     uint16
	unicast bool
}

// wireFacts is what the capture says about one instance, packet by packet.
type wireFacts struct {
	questions []question
	answers   []answer
	// data: for each unique record type (SRV, TXT), the distinct data
	// each sender gave it, in order, for conflicts and updates.
	data map[string]map[netip.Addr][]string
	// unflushed: record types a sender changed without the cache-flush
	// bit, so caches keep the old data beside the new.
	unflushed map[string]bool
}

const maxFacts = 10000 // questions and answers kept (a capture can be long)

// Replay answers from a capture (next returns its packets in order, then
// io.EOF) what packets alone can answer about a service: which instances
// of the type were on the wire, whether the instance's TXT record was and
// what it held, whether anyone asked for it (and how), whether the
// responder answered those questions (QM by multicast, QU by unicast), and
// who conflicted with whom. The steps that need the machine and the
// network (interfaces, port 5353, the loop test, asking questions) are
// named as skipped. opts.Type is needed; opts.Instance picks one.
func Replay(ctx context.Context, next func() (mdns.Packet, error), source string, opts Options) (*Report, error) {
	d := &doc{opts: opts, rep: &Report{}, offline: true}
	typeName := mdns.NameKey(mdns.ParseName(opts.Type))
	short := strings.TrimSuffix(mdns.ServiceType(typeName), ".")
	facts := map[string]*wireFacts{} // by instance key
	var first, last time.Time
	packets := 0
	tee := func() (mdns.Packet, error) {
		p, err := next()
		if err != nil {
			return p, err
		}
		if first.IsZero() {
			first = p.Received
		}
		last, packets = p.Received, packets+1
		if m, perr := mdns.Parse(p.Raw); perr == nil || m != nil {
			observe(facts, typeName, &p, m)
		}
		return p, nil
	}
	found := map[string]browse.Service{}
	b := browse.New(nil, browse.Config{})
	b.Browse(typeName)
	err := b.Replay(ctx, tee, func(ev browse.Event) error {
		if ev.Kind != browse.Removed {
			found[mdns.NameKey(ev.Service.Name)] = ev.Service
		}
		return nil
	})
	if err != nil && !errors.Is(err, io.EOF) {
		d.finish()
		return d.rep, err
	}
	d.rep.add("info", "offline", "", "judged from %s: %d mDNS packets, %s to %s; skipped, as they need this machine and the network: interfaces, port 5353, the loop test, asking questions", source, packets, clock(first), clock(last))
	s, ok := d.pick(found, typeName, short)
	if ok {
		if s.State == browse.StateGoodbye {
			d.rep.add("warn", "announced", "RFC 6763 §4", "%q was on the wire (host %s, port %d), then said goodbye at %s: it was gone when the capture ended", txt.EscapeUTF8([]byte(s.Instance)), mdns.EscapeText(s.Host), s.Port, clock(s.StateSince))
		} else {
			d.rep.add("pass", "announced", "RFC 6763 §4", "%q was on the wire (host %s, port %d) until the capture ended", txt.EscapeUTF8([]byte(s.Instance)), mdns.EscapeText(s.Host), s.Port)
		}
		d.txtVerdict(s)
		d.wire(s, facts[mdns.NameKey(s.Name)])
	}
	d.rep.Plist = InfoPlist(short)
	d.finish()
	return d.rep, nil
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("15:04:05.000")
}

// observe notes the questions and answers about the type's instances and
// the data each sender gave their unique records.
func observe(facts map[string]*wireFacts, typeName string, p *mdns.Packet, m *mdns.Message) {
	of := func(name string) *wireFacts {
		k := mdns.NameKey(name)
		if !strings.HasSuffix(k, "."+typeName) {
			return nil
		}
		f := facts[k]
		if f == nil {
			if len(facts) >= maxFacts {
				return nil
			}
			f = &wireFacts{data: map[string]map[netip.Addr][]string{}, unflushed: map[string]bool{}}
			facts[k] = f
		}
		return f
	}
	if !m.Response() {
		for _, q := range m.Questions {
			if f := of(q.Name); f != nil && len(f.questions) < maxFacts {
				f.questions = append(f.questions, question{p.Received, p.Src, q.Type, q.QU})
			}
		}
		return
	}
	unicast := p.Dst.IsValid() && !p.Dst.Addr().IsMulticast()
	for _, sec := range [][]mdns.Record{m.Answers, m.Additional} {
		for i := range sec {
			r := &sec[i]
			f := of(r.Name)
			if f == nil || r.TTL == 0 {
				continue
			}
			if len(f.answers) < maxFacts {
				f.answers = append(f.answers, answer{p.Received, p.Src.Addr().WithZone(""), r.Type, unicast})
			}
			if r.Type == mdns.TypeSRV || r.Type == mdns.TypeTXT {
				k := mdns.TypeString(r.Type)
				if f.data[k] == nil {
					f.data[k] = map[netip.Addr][]string{}
				}
				src, data := p.Src.Addr().WithZone(""), recordData(r)
				seen := f.data[k][src]
				if (len(f.data[k]) < 16 || seen != nil) && len(seen) < 16 && !slices.Contains(seen, data) {
					if len(seen) > 0 && !r.CacheFlush {
						f.unflushed[k] = true
					}
					f.data[k][src] = append(seen, data)
				}
			}
		}
	}
}

// recordData is a record's data as compared and shown: an SRV's fields
// with its target decompressed (two packets compress it differently), a
// TXT's bytes in hex.
func recordData(r *mdns.Record) string {
	if pri, weight, port, target, ok := r.SRV(); ok {
		return fmt.Sprintf("%d %d %d %s", pri, weight, port, mdns.EscapeText(mdns.NameKey(target)))
	}
	return hex.EncodeToString(r.Data)
}

// wire reports what the capture shows of the questions for an instance
// and the answers to them, and any conflict over its records.
func (d *doc) wire(s browse.Service, f *wireFacts) {
	if f == nil {
		f = &wireFacts{}
	}
	var txtQs []question
	for _, q := range f.questions {
		if q.typ == mdns.TypeTXT || q.typ == mdns.TypeANY {
			txtQs = append(txtQs, q)
		}
	}
	if len(txtQs) == 0 {
		d.rep.add("warn", "asked", "RFC 6763 §6", "nobody asked for the TXT record of %q in the capture: a browser that never asks shows no metadata (Apple's NWBrowser with the .bonjour descriptor; use .bonjourWithTXTRecord)", txt.EscapeUTF8([]byte(s.Instance)))
	} else {
		by := map[netip.Addr]int{}
		qu := 0
		for _, q := range txtQs {
			by[q.src.Addr().WithZone("")]++
			if q.qu {
				qu++
			}
		}
		var who []string
		for a, n := range by {
			who = append(who, fmt.Sprintf("%s (%d)", a, n))
		}
		sort.Strings(who)
		d.rep.add("info", "asked", "RFC 6762 §5", "TXT asked %d times (%d QU) since %s by %s", len(txtQs), qu, clock(txtQs[0].at), strings.Join(who, ", "))
		answered, unicast := 0, 0
		var missed []string
		for _, q := range txtQs {
			// Answered: the TXT from anyone within a second after the
			// question, or multicast in the second before it (a responder
			// then stays silent, RFC 6762 §6).
			ok := slices.ContainsFunc(f.answers, func(a answer) bool {
				return a.typ == mdns.TypeTXT && a.at.After(q.at.Add(-time.Second)) && a.at.Before(q.at.Add(time.Second)) && (a.at.After(q.at) || !a.unicast)
			})
			if ok {
				answered++
				if q.qu && slices.ContainsFunc(f.answers, func(a answer) bool {
					return a.typ == mdns.TypeTXT && a.unicast && a.at.After(q.at) && a.at.Before(q.at.Add(time.Second))
				}) {
					unicast++
				}
			} else if len(missed) < 5 {
				missed = append(missed, clock(q.at))
			}
		}
		switch {
		case answered == len(txtQs):
			d.rep.add("pass", "answers", "RFC 6762 §6", "every TXT question was answered within a second (%d of them by unicast, for QU)", unicast)
		default:
			d.rep.add("fail", "answers", "RFC 6762 §6", "%d of %d TXT questions got no TXT within a second (at %s): the responder did not answer them (or the capture missed the replies: unicast ones need a capture on the asking host)", len(txtQs)-answered, len(txtQs), strings.Join(missed, ", "))
		}
	}
	for _, k := range []string{"SRV", "TXT"} {
		bySender := f.data[k]
		// Two senders whose data differ claim one name; one sender whose
		// data changed updated it.
		distinct := map[string]bool{}
		for _, ds := range bySender {
			for _, d := range ds {
				distinct[d] = true
			}
		}
		if len(bySender) > 1 && len(distinct) > 1 {
			var parts []string
			for src, ds := range bySender {
				parts = append(parts, fmt.Sprintf("%s from %s", strings.Join(ds, ", then "), src))
			}
			sort.Strings(parts)
			d.rep.add("fail", "conflict", "RFC 6762 §9", "%s of %q went out from %d responders with different data: %s", k, txt.EscapeUTF8([]byte(s.Instance)), len(bySender), strings.Join(parts, "; "))
			continue
		}
		for src, ds := range bySender {
			if len(ds) < 2 {
				continue
			}
			if f.unflushed[k] {
				d.rep.add("warn", "update", "RFC 6762 §10.2", "%s of %q changed %d times (from %s) without the cache-flush bit: caches keep the old data beside the new", k, txt.EscapeUTF8([]byte(s.Instance)), len(ds)-1, src)
			} else {
				d.rep.add("info", "update", "RFC 6762 §8.4", "%s of %q changed %d times (from %s), announced with the cache-flush bit", k, txt.EscapeUTF8([]byte(s.Instance)), len(ds)-1, src)
			}
		}
	}
}
