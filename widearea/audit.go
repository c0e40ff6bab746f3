package widearea

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/check"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/txt"
)

// Audit is what check --domain found in a zone's DNS-SD data.
type Audit struct {
	Domain    string
	Types     []string // service types judged
	Instances []browse.Service
	Findings  []check.Finding
	Queries   uint64
}

// TTL bounds that make sense for polled DNS-SD data: below the floor every
// polling client asks the server again and again; above the ceiling a
// change is not seen for a day.
const (
	minSensibleTTL = 10
	maxSensibleTTL = 86400
)

// AuditZone judges the DNS-SD data published in domain: the browse-domain
// records, service type enumeration, and for every instance of the types
// (those given, or those _services._dns-sd._udp lists) its SRV, TXT,
// addresses, TXT lint, TTLs and the reach of a TXT record over 512 bytes.
func (c *Client) AuditZone(ctx context.Context, domain string, types []string) (*Audit, error) {
	domain = dns.Fqdn(domain)
	a := &Audit{Domain: domain}
	who := "dns " + ServerString(c.Servers[0])
	add := func(level check.Level, rule, section, subject, format string, args ...any) {
		a.Findings = append(a.Findings, check.Finding{Level: level, Rule: rule, Section: section, Responder: who, Message: subject + ": " + fmt.Sprintf(format, args...)})
	}
	before := c.Stats().Queries

	// Browse-domain records (RFC 6763 §11).
	enum := c.Domains(ctx, []string{domain})
	if err := ctx.Err(); err != nil {
		return a, err
	}
	for _, q := range enum.Asked {
		if q.Err != nil {
			return a, fmt.Errorf("asking %s: %w", q.Name, q.Err)
		}
	}
	var kinds []string
	for _, d := range enum.Domains {
		if !slices.Contains(kinds, string(d.Kind)) {
			kinds = append(kinds, string(d.Kind))
		}
	}
	if !slices.Contains(kinds, string(BrowseDomains)) && !slices.Contains(kinds, string(DefaultBrowseDomain)) {
		add(check.Warn, "no-browse-domain", "RFC 6763 §11", domain,
			"no b._dns-sd._udp or db._dns-sd._udp PTR record: a client that enumerates browse domains (dns-sd -F, bonjourctl domains) is not told to browse %s", domain)
	} else {
		add(check.Pass, "browse-domain", "RFC 6763 §11", domain, "browse domain records present (%s)", strings.Join(kinds, ", "))
	}

	// Service types: given, or enumerated (RFC 6763 §9).
	a.Types = types
	servicesName := ServicesName(domain)
	listed, err := c.ServiceTypes(ctx, domain)
	if err != nil {
		return a, err
	}
	if len(types) == 0 {
		a.Types = listed
		if len(listed) == 0 {
			add(check.Warn, "no-service-types", "RFC 6763 §9", servicesName, "no PTR records: service type enumeration finds nothing, and no type was given to check")
		}
	}
	for _, t := range types {
		if !slices.ContainsFunc(listed, func(l string) bool { return mdns.EqualNames(l, t) }) {
			add(check.Warn, "type-not-enumerated", "RFC 6763 §9", servicesName, "has no PTR to %s.%s: clients that enumerate service types (dns-sd -B _services._dns-sd._udp) do not see the type", t, domain)
		}
	}

	for _, t := range a.Types {
		b := NewBrowser(c, domain, []string{t}, BrowseConfig{})
		svcs, err := b.Once(ctx)
		if err != nil {
			return a, err
		}
		browseName := t + "." + domain
		if len(svcs) == 0 {
			add(check.Warn, "no-instances", "RFC 6763 §4.1", browseName, "no PTR records: no instance of %s is published", t)
		}
		for _, f := range svcs {
			a.Instances = append(a.Instances, f.Service)
			if f.Err != nil {
				// What did not arrive was not seen: not judged missing.
				add(check.Warn, "question-unanswered", "RFC 1035 §4.1.1", mdns.EscapeText(f.Name), "not judged: %v", f.Err)
				continue
			}
			a.judge(ctx, c, &f.Service, add)
		}
	}
	a.Queries = c.Stats().Queries - before
	return a, nil
}

func (a *Audit) judge(ctx context.Context, c *Client, s *browse.Service, add func(check.Level, string, string, string, string, ...any)) {
	name := mdns.EscapeText(s.Name)
	ok := true
	if s.Host == "" {
		ok = false
		add(check.Fail, "ptr-without-srv", "RFC 6763 §6", name, "a PTR record names it but it has no SRV record: clients list it and cannot connect")
	} else if len(s.Addrs) == 0 {
		ok = false
		add(check.Fail, "srv-target-unresolved", "RFC 6763 §6", name, "its SRV target %s has no A or AAAA record", mdns.EscapeText(s.Host))
	}
	switch s.TXTState {
	case browse.TXTMissing:
		ok = false
		add(check.Fail, "ptr-without-txt", "RFC 6763 §6", name, "no TXT record: every instance must have one (a single empty string when it has nothing to say); Apple's NWBrowser with TXT and others wait for it")
	case browse.TXTZeroLength:
		ok = false
		add(check.Fail, "txt-zero-length", "RFC 6763 §6.1", name, "the TXT record is zero-length RDATA: illegal; publish one empty string (\\# 1 00) instead")
	default:
		for _, f := range txt.Lint(s.TXTRaw) {
			if f.Code == txt.CodeSize1300 || f.Code == txt.CodeSize8900 {
				continue // sizes are judged below, for unicast DNS
			}
			level := check.Warn
			if f.Severity == txt.Error {
				level, ok = check.Fail, false
			} else if f.Severity == txt.Info {
				continue
			}
			add(level, "txt-"+f.Code, "RFC 6763 §"+f.Section, name, "%s", f.Message)
		}
		if len(s.TXTRaw) > 400 {
			a.judgeLongTXT(ctx, c, s, add)
		}
	}
	for _, r := range s.Records {
		switch {
		case r.TTL < minSensibleTTL:
			add(check.Warn, "ttl-short", "RFC 6763 §11 (polling)", name, "%s TTL %d s: every browsing client asks the server again every %d s", mdns.TypeString(r.Type), r.TTL, max(r.TTL, 1))
		case r.TTL > maxSensibleTTL:
			add(check.Warn, "ttl-long", "RFC 6763 §11 (polling)", name, "%s TTL %d s: a change (or removal) is not seen by clients for up to %s", mdns.TypeString(r.Type), r.TTL, time.Duration(r.TTL)*time.Second)
		}
	}
	if ok {
		add(check.Pass, "instance-complete", "RFC 6763 §6", name, "PTR, SRV (%s:%d), TXT (%d bytes) and %d address(es)", mdns.EscapeText(s.Host), s.Port, len(s.TXTRaw), len(s.Addrs))
	}
}

// judgeLongTXT asks for a long TXT record as a client without EDNS0 does
// (plain UDP, 512 bytes): a truncated reply must then be completed over
// TCP.
func (a *Audit) judgeLongTXT(ctx context.Context, c *Client, s *browse.Service, add func(check.Level, string, string, string, string, ...any)) {
	name := mdns.EscapeText(s.Name)
	m := new(dns.Msg)
	m.SetQuestion(s.Name, dns.TypeTXT)
	m.RecursionDesired = true
	plain := &Client{Servers: c.Servers, Timeout: c.Timeout, Tries: c.Tries}
	r, err := plain.Exchange(ctx, m, nil)
	if err != nil {
		add(check.Fail, "txt-long-unreachable", "RFC 1035 §4.2.1, RFC 7766", name, "a %d-byte TXT record: a plain query (no EDNS0) got no reply: %v", len(s.TXTRaw), err)
		return
	}
	var got []byte
	for _, rec := range r.Parsed.Answers {
		if rec.Type == dns.TypeTXT {
			got = rec.Data
		}
	}
	switch {
	case !bytes.Equal(got, s.TXTRaw):
		add(check.Fail, "txt-long-unreachable", "RFC 1035 §4.2.1, RFC 7766", name, "a %d-byte TXT record: a client without EDNS0 got %d bytes of it (TCP %v)", len(s.TXTRaw), len(got), r.TCP)
	case r.TCP:
		add(check.Warn, "txt-over-512", "RFC 1035 §4.2.1, RFC 6891", name,
			"a %d-byte TXT record: a client without EDNS0 gets a truncated UDP reply and must ask again over TCP (this server answered there); clients that do neither, such as avahi's wide-area browser, see no TXT", len(s.TXTRaw))
	}
}

// Compare judges the same instances seen on mDNS and in DNS: TXT bytes,
// port and the target's host label should agree when the same device
// publishes both.
func Compare(wide, local []browse.Service) []check.Finding {
	var out []check.Finding
	for _, w := range wide {
		for _, l := range local {
			if w.Instance != l.Instance || !mdns.EqualNames(w.Type, l.Type) {
				continue
			}
			var diffs []string
			if !bytes.Equal(w.TXTRaw, l.TXTRaw) || w.TXTState != l.TXTState {
				diffs = append(diffs, fmt.Sprintf("TXT %s in DNS, %s on mDNS", w.TXTSummary(), l.TXTSummary()))
			}
			if w.Port != l.Port {
				diffs = append(diffs, fmt.Sprintf("port %d in DNS, %d on mDNS", w.Port, l.Port))
			}
			if hostLabel(w.Host) != hostLabel(l.Host) {
				diffs = append(diffs, fmt.Sprintf("target %s in DNS, %s on mDNS", mdns.EscapeText(w.Host), mdns.EscapeText(l.Host)))
			}
			f := check.Finding{Level: check.Pass, Rule: "mdns-dns-agree", Section: "RFC 6763 §11", Responder: w.Plane + " / " + l.Plane,
				Message: fmt.Sprintf("%s: the same TXT, port and host on mDNS and in DNS", mdns.EscapeText(w.Instance+"."+w.Type))}
			if len(diffs) > 0 {
				f.Level, f.Rule = check.Warn, "mdns-dns-differ"
				f.Message = fmt.Sprintf("%s: %s", mdns.EscapeText(w.Instance+"."+w.Type), strings.Join(diffs, "; "))
			}
			out = append(out, f)
		}
	}
	return out
}

func hostLabel(h string) string {
	labels := mdns.SplitName(h)
	if len(labels) == 0 {
		return ""
	}
	return strings.ToLower(labels[0])
}
