package widearea

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/mdns"
)

// DomainKind is one of the five domain enumeration names of RFC 6763 §11.
type DomainKind string

const (
	BrowseDomains         DomainKind = "b"  // domains to browse
	DefaultBrowseDomain   DomainKind = "db" // the default browse domain
	LegacyBrowseDomains   DomainKind = "lb" // domains browsed automatically ("legacy browsing")
	RegisterDomains       DomainKind = "r"  // domains to register in
	DefaultRegisterDomain DomainKind = "dr" // the default registration domain
)

// DomainKinds are the enumeration names asked for, in order.
var DomainKinds = []DomainKind{BrowseDomains, DefaultBrowseDomain, LegacyBrowseDomains, RegisterDomains, DefaultRegisterDomain}

// Meaning says what a kind of domain is for.
func (k DomainKind) Meaning() string {
	switch k {
	case BrowseDomains:
		return "browse domain"
	case DefaultBrowseDomain:
		return "default browse domain"
	case LegacyBrowseDomains:
		return "automatic browse domain"
	case RegisterDomains:
		return "registration domain"
	case DefaultRegisterDomain:
		return "default registration domain"
	}
	return string(k)
}

// EnumName is the name asked for a kind under a parent domain:
// "b._dns-sd._udp.example.test.".
func EnumName(k DomainKind, parent string) string {
	return string(k) + "._dns-sd._udp." + dns.Fqdn(parent)
}

// ReverseParent is the name under which RFC 6763 §11 looks up the domains
// of a subnet: its address (the host's address ANDed with the mask) in
// reverse-mapping form, "0.0.88.10.in-addr.arpa." for 10.88.0.7/24. An
// IPv6 prefix maps to its ip6.arpa nibbles the same way.
func ReverseParent(p netip.Prefix) string {
	p = p.Masked()
	name, err := dns.ReverseAddr(p.Addr().String())
	if err != nil {
		return ""
	}
	return name
}

// Domain is one domain a server named, and where the name came from.
type Domain struct {
	Kind   DomainKind
	Domain string // the domain, presentation form
	From   string // the enumeration name that held it
	Server netip.AddrPort
	TTL    uint32
}

// Enumeration is everything asked and found.
type Enumeration struct {
	Domains []Domain
	// Asked lists each name asked with the server's answer in words:
	// "NXDOMAIN", "no PTR records", "2 PTR records", or an error.
	Asked []Asked
}

// Asked is one enumeration question and what came of it.
type Asked struct {
	Name   string
	Result string
	Err    error
}

// Domains asks every enumeration name under each parent (a domain, and the
// reverse-mapping names of the host's subnets) and collects the PTR
// answers.
func (c *Client) Domains(ctx context.Context, parents []string) Enumeration {
	var e Enumeration
	for _, parent := range parents {
		for _, k := range DomainKinds {
			name := EnumName(k, parent)
			r, err := c.Ask(ctx, name, dns.TypePTR)
			if err != nil {
				if ctx.Err() != nil {
					return e
				}
				e.Asked = append(e.Asked, Asked{Name: name, Result: "no answer", Err: err})
				continue
			}
			if r.Msg.Rcode != dns.RcodeSuccess {
				e.Asked = append(e.Asked, Asked{Name: name, Result: RcodeName(r.Msg.Rcode)})
				continue
			}
			n := 0
			for _, rec := range r.Parsed.Answers {
				target, ok := rec.Target()
				if rec.Type != dns.TypePTR || !ok || !mdns.EqualNames(rec.Name, name) {
					continue
				}
				n++
				d := Domain{Kind: k, Domain: target, From: name, Server: r.Server, TTL: rec.TTL}
				if !slices.ContainsFunc(e.Domains, func(o Domain) bool { return o.Kind == k && o.From == name && mdns.EqualNames(o.Domain, target) }) {
					e.Domains = append(e.Domains, d)
				}
			}
			e.Asked = append(e.Asked, Asked{Name: name, Result: plural(n, "PTR record")})
		}
	}
	return e
}

func plural(n int, what string) string {
	if n == 0 {
		return "no " + what + "s"
	}
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// HostParents returns the reverse-mapping parents of the given interface
// prefixes, skipping loopback and link-local ones, without repeats.
func HostParents(prefixes []netip.Prefix) []string {
	var out []string
	for _, p := range prefixes {
		a := p.Addr()
		if a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsMulticast() {
			continue
		}
		if name := ReverseParent(p); name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// trimDot drops a name's final dot for display.
func trimDot(s string) string { return strings.TrimSuffix(s, ".") }

// ServicesName is a domain's service type enumeration name (RFC 6763 §9).
func ServicesName(domain string) string { return "_services._dns-sd._udp." + dns.Fqdn(domain) }

// ServiceTypes returns the service types a domain's
// _services._dns-sd._udp PTR records list ("_ipp._tcp"); none is not an
// error, a question without a usable answer is.
func (c *Client) ServiceTypes(ctx context.Context, domain string) ([]string, error) {
	r, err := c.Lookup(ctx, ServicesName(domain), dns.TypePTR)
	if err != nil {
		return nil, err
	}
	var types []string
	for _, rec := range r.Parsed.Answers {
		if t, ok := rec.Target(); ok && rec.Type == dns.TypePTR {
			types = append(types, strings.TrimSuffix(trimDot(t), "."+trimDot(dns.Fqdn(domain))))
		}
	}
	return types, nil
}
