package widearea

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/txt"
)

// Registration is a service to publish in a unicast DNS zone.
type Registration struct {
	Instance string   // unescaped label: "Node 1"
	Type     string   // "_p2p._tcp"
	Subtypes []string // "_printer"
	Domain   string   // "example.test"
	Host     string   // SRV target, a full name: "node1.example.test."
	Port     uint16
	TXT      []byte       // RDATA exactly
	Addrs    []netip.Addr // A and AAAA records for Host, when given
	TTL      uint32       // of SRV, A and AAAA records (default 120)
	TTLOther uint32       // of PTR and TXT records (default: TTL)
	// Lease asks the server to delete the records after this long unless
	// refreshed (the EDNS0 Update Lease option, RFC 9664); zero: no lease.
	Lease time.Duration
}

// Name is the instance's full name in the domain.
func (r *Registration) Name() string {
	return mdns.EscapeLabel(r.Instance) + "." + trimDot(r.Type) + "." + dns.Fqdn(r.Domain)
}

func (r *Registration) ttl() uint32 {
	if r.TTL == 0 {
		return 120
	}
	return r.TTL
}

func (r *Registration) ttlOther() uint32 {
	if r.TTLOther == 0 {
		return r.ttl()
	}
	return r.TTLOther
}

// ServicesRecord is the service type enumeration PTR (RFC 6763 §9) that
// lists the registration's type in its domain. It is shared by every
// instance of the type, so it is added with the instance's records but
// deleted only when no instance of the type is left (DeregisterType).
func (r *Registration) ServicesRecord() dns.RR {
	return &dns.PTR{
		Hdr: dns.RR_Header{Name: "_services._dns-sd._udp." + dns.Fqdn(r.Domain), Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: r.ttlOther()},
		Ptr: trimDot(r.Type) + "." + dns.Fqdn(r.Domain),
	}
}

// Records are the records the registration adds, in zone order: PTR
// (and subtype PTRs), SRV, TXT, then addresses.
func (r *Registration) Records() []dns.RR {
	name := r.Name()
	ttl := r.ttl()
	hdr := func(owner string, t uint16) dns.RR_Header {
		return dns.RR_Header{Name: owner, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
	}
	typeName := trimDot(r.Type) + "." + dns.Fqdn(r.Domain)
	other := func(owner string) dns.RR_Header {
		h := hdr(owner, dns.TypePTR)
		h.Ttl = r.ttlOther()
		return h
	}
	rrs := []dns.RR{&dns.PTR{Hdr: other(typeName), Ptr: name}}
	for _, st := range r.Subtypes {
		sub := trimDot(st) + "._sub." + typeName
		rrs = append(rrs, &dns.PTR{Hdr: other(sub), Ptr: name})
	}
	rrs = append(rrs,
		&dns.SRV{Hdr: hdr(name, dns.TypeSRV), Port: r.Port, Target: dns.Fqdn(r.Host)},
		TXTRecord(name, r.ttlOther(), r.TXT))
	for _, a := range r.Addrs {
		if a.Is4() {
			rrs = append(rrs, &dns.A{Hdr: hdr(dns.Fqdn(r.Host), dns.TypeA), A: a.AsSlice()})
		} else {
			rrs = append(rrs, &dns.AAAA{Hdr: hdr(dns.Fqdn(r.Host), dns.TypeAAAA), AAAA: a.AsSlice()})
		}
	}
	return rrs
}

// TXTRecord is a TXT record with RDATA exactly raw (kept in RFC 3597 form
// so that no byte is reinterpreted on the way to the wire).
func TXTRecord(name string, ttl uint32, raw []byte) dns.RR {
	return &dns.RFC3597{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: ttl}, Rdata: hex.EncodeToString(raw)}
}

// RcodeError is a server's refusal of an update, explained.
type RcodeError struct {
	Rcode  int
	Zone   string
	Server netip.AddrPort
}

func (e *RcodeError) Error() string {
	code := RcodeName(e.Rcode)
	srv := ServerString(e.Server)
	switch e.Rcode {
	case dns.RcodeRefused:
		return fmt.Sprintf("%s refused the update of zone %s (REFUSED): its allow-update or update-policy does not let this key or address change it", srv, e.Zone)
	case dns.RcodeNotAuth:
		return fmt.Sprintf("%s is not authoritative for zone %s (NOTAUTH): send updates to the zone's primary server", srv, e.Zone)
	case dns.RcodeNotZone:
		return fmt.Sprintf("%s: a record of the update is outside zone %s (NOTZONE)", srv, e.Zone)
	case dns.RcodeServerFailure:
		return fmt.Sprintf("%s failed to apply the update to zone %s (SERVFAIL): see its log", srv, e.Zone)
	case dns.RcodeNotImplemented:
		return fmt.Sprintf("%s does not implement DNS UPDATE (NOTIMP)", srv)
	}
	return fmt.Sprintf("%s rejected the update of zone %s (%s)", srv, e.Zone, code)
}

// Registrar adds, changes and deletes a registration with DNS UPDATE.
type Registrar struct {
	c    *Client
	key  *TSIG // nil: unsigned updates
	zone string
	reg  Registration
	// Renamed counts the renames after name conflicts.
	Renamed int
	// Granted is the lease the server acknowledged (zero when none or
	// when the server ignored the option).
	Granted time.Duration
	// Kept are address records Deregister leaves in the zone, and why:
	// they were there before Register (not ours to delete), or another
	// instance of the type targets the same host.
	Kept []Kept
}

// Kept is a record left in the zone on purpose.
type Kept struct {
	RR     dns.RR
	Reason string
}

func (g *Registrar) kept(rr dns.RR) bool {
	return slices.ContainsFunc(g.Kept, func(k Kept) bool { return dns.IsDuplicate(k.RR, rr) })
}

// NewRegistrar prepares a registration; key may be nil.
func NewRegistrar(c *Client, key *TSIG, reg Registration) *Registrar {
	return &Registrar{c: c, key: key, reg: reg}
}

// Registration returns what is registered (its name may have changed).
func (g *Registrar) Registration() Registration { return g.reg }

// Zone finds the zone that holds the domain: the owner of the SOA record
// in the answer or the authority section of an SOA question.
func (g *Registrar) Zone(ctx context.Context) (string, error) {
	if g.zone != "" {
		return g.zone, nil
	}
	r, err := g.c.Ask(ctx, g.reg.Domain, dns.TypeSOA)
	if err != nil {
		return "", fmt.Errorf("finding the zone of %s: %w", g.reg.Domain, err)
	}
	for _, rr := range append(append([]dns.RR{}, r.Msg.Answer...), r.Msg.Ns...) {
		if soa, ok := rr.(*dns.SOA); ok {
			g.zone = soa.Hdr.Name
			return g.zone, nil
		}
	}
	return "", fmt.Errorf("finding the zone of %s: %s answered %s with no SOA record", g.reg.Domain, ServerString(r.Server), RcodeName(r.Msg.Rcode))
}

// maxRenames bounds the renames after conflicts.
const maxRenames = 20

// Register adds the records with the prerequisite that the instance name
// is not in use (RFC 2136 §2.4.5); when it is, the instance is renamed
// "Name (2)", "Name (3)"... as on mDNS, and onRename is told.
func (g *Registrar) Register(ctx context.Context, onRename func(old, new string)) (*Reply, error) {
	zone, err := g.Zone(ctx)
	if err != nil {
		return nil, err
	}
	g.Kept = nil
	for _, rr := range g.reg.Records() {
		t := rr.Header().Rrtype
		if t != dns.TypeA && t != dns.TypeAAAA {
			continue
		}
		r, err := g.c.Lookup(ctx, rr.Header().Name, t)
		if err != nil {
			return nil, fmt.Errorf("asking whether %s %s is in the zone: %w", rr.Header().Name, dns.TypeToString[t], err)
		}
		for _, have := range r.Msg.Answer {
			if dns.IsDuplicate(have, rr) {
				g.Kept = append(g.Kept, Kept{rr, "it was in the zone before"})
				break
			}
		}
	}
	base := g.reg.Instance
	for n := 2; ; n++ {
		m := g.update(zone)
		m.NameNotUsed([]dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: g.reg.Name()}}})
		m.Insert(append(g.reg.Records(), g.reg.ServicesRecord()))
		r, err := g.send(ctx, m)
		if err != nil {
			return nil, err
		}
		if r.Msg.Rcode == dns.RcodeYXDomain && n-2 < maxRenames {
			old := g.reg.Instance
			g.reg.Instance = fmt.Sprintf("%s (%d)", base, n)
			g.Renamed++
			if onRename != nil {
				onRename(old, g.reg.Instance)
			}
			continue
		}
		if r.Msg.Rcode == dns.RcodeYXDomain {
			return r, fmt.Errorf("%s: every name up to %q is in use (YXDOMAIN)", ServerString(r.Server), g.reg.Instance)
		}
		if r.Msg.Rcode != dns.RcodeSuccess {
			return r, &RcodeError{Rcode: r.Msg.Rcode, Zone: zone, Server: r.Server}
		}
		g.noteLease(r)
		return r, nil
	}
}

// RefreshInterval is how often a leased registration is refreshed: at 80%
// of the lease, so that a lost refresh can be retried before it ends (zero
// without a lease).
func (g *Registrar) RefreshInterval() time.Duration { return g.reg.Lease * 8 / 10 }

// Refresh adds the records again (they are there: this renews a lease).
func (g *Registrar) Refresh(ctx context.Context) (*Reply, error) {
	return g.apply(ctx, func(m *dns.Msg) { m.Insert(append(g.reg.Records(), g.reg.ServicesRecord())) })
}

// SetTXT replaces the TXT record.
func (g *Registrar) SetTXT(ctx context.Context, raw []byte) (*Reply, error) {
	next := g.reg
	next.TXT = raw
	r, err := g.apply(ctx, func(m *dns.Msg) {
		m.RemoveRRset([]dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: g.reg.Name(), Rrtype: dns.TypeTXT}}})
		m.Insert([]dns.RR{TXTRecord(next.Name(), next.ttlOther(), raw)})
	})
	if err == nil {
		g.reg = next
	}
	return r, err
}

// Deregistered says what Deregister did.
type Deregistered struct {
	Deleted  int  // records the first update deleted
	TypeGone bool // the type's _services._dns-sd._udp PTR was deleted too
	// TypeErr is why the second update (the _services PTR) failed: the
	// records are gone, the PTR may remain.
	TypeErr error
}

// Deregister deletes exactly the records Register added, then the
// service type enumeration PTR when no instance of the type is left: the
// second update's prerequisite (RFC 2136 §2.4.3: no PTR RRset at the type's
// name) makes the server decide, so another registrant's instance keeps
// its type listed. An error means the first update failed: nothing was
// deleted.
func (g *Registrar) Deregister(ctx context.Context) (Deregistered, error) {
	var d Deregistered
	if other := g.hostShared(ctx); other != "" {
		for _, rr := range g.reg.Records() {
			if t := rr.Header().Rrtype; (t == dns.TypeA || t == dns.TypeAAAA) && !g.kept(rr) {
				g.Kept = append(g.Kept, Kept{rr, other})
			}
		}
	}
	var rrs []dns.RR
	for _, rr := range g.reg.Records() {
		if !g.kept(rr) {
			rrs = append(rrs, rr)
		}
	}
	if _, err := g.apply(ctx, func(m *dns.Msg) { m.Remove(rrs) }); err != nil {
		return d, err
	}
	d.Deleted = len(rrs)
	zone, _ := g.Zone(ctx)
	m := g.update(zone)
	typeName := trimDot(g.reg.Type) + "." + dns.Fqdn(g.reg.Domain)
	m.RRsetNotUsed([]dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: typeName, Rrtype: dns.TypePTR}}})
	m.Remove([]dns.RR{g.reg.ServicesRecord()})
	r, err := g.send(ctx, m)
	switch {
	case err != nil:
		d.TypeErr = err
	case r.Msg.Rcode == dns.RcodeSuccess:
		d.TypeGone = true
	case r.Msg.Rcode == dns.RcodeYXRrset:
		// other instances of the type remain
	default:
		d.TypeErr = &RcodeError{Rcode: r.Msg.Rcode, Zone: zone, Server: r.Server}
	}
	return d, nil
}

// maxSharedCheck bounds the instances asked about by hostShared.
const maxSharedCheck = 100

// hostShared says why the host's addresses must stay ("" when they need
// not): another instance of the same type has its SRV pointing at the
// host, or that could not be found out. (An instance of another type on
// the same host is not seen: DNS cannot be asked "which SRV records name
// this host".)
func (g *Registrar) hostShared(ctx context.Context) string {
	typeName := trimDot(g.reg.Type) + "." + dns.Fqdn(g.reg.Domain)
	unknown := "whether another instance uses the host could not be found out"
	r, err := g.c.Lookup(ctx, typeName, dns.TypePTR)
	if err != nil {
		return unknown
	}
	n := 0
	for _, rr := range r.Msg.Answer {
		ptr, ok := rr.(*dns.PTR)
		if !ok || mdns.EqualNames(ptr.Ptr, g.reg.Name()) {
			continue
		}
		if n++; n > maxSharedCheck {
			return unknown
		}
		sr, err := g.c.Lookup(ctx, ptr.Ptr, dns.TypeSRV)
		if err != nil {
			return unknown
		}
		for _, a := range sr.Msg.Answer {
			if srv, ok := a.(*dns.SRV); ok && mdns.EqualNames(srv.Target, g.reg.Host) {
				inst, _, _, _ := mdns.SplitInstance(ptr.Ptr)
				return fmt.Sprintf("instance %q targets the same host", txt.EscapeUTF8([]byte(inst)))
			}
		}
	}
	return ""
}

func (g *Registrar) apply(ctx context.Context, fill func(*dns.Msg)) (*Reply, error) {
	zone, err := g.Zone(ctx)
	if err != nil {
		return nil, err
	}
	m := g.update(zone)
	fill(m)
	r, err := g.send(ctx, m)
	if err != nil {
		return nil, err
	}
	if r.Msg.Rcode != dns.RcodeSuccess {
		return r, &RcodeError{Rcode: r.Msg.Rcode, Zone: zone, Server: r.Server}
	}
	g.noteLease(r)
	return r, nil
}

func (g *Registrar) update(zone string) *dns.Msg {
	m := new(dns.Msg)
	m.SetUpdate(zone)
	if g.reg.Lease > 0 {
		opt := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
		opt.SetUDPSize(UDPSize)
		secs := uint32(g.reg.Lease / time.Second)
		opt.Option = append(opt.Option, &dns.EDNS0_UL{Code: dns.EDNS0UL, Lease: secs, KeyLease: secs})
		m.Extra = append(m.Extra, opt)
	}
	return m
}

func (g *Registrar) send(ctx context.Context, m *dns.Msg) (*Reply, error) {
	r, err := g.c.Exchange(ctx, m, g.key)
	if err != nil {
		var se *SignatureError
		if errors.As(err, &se) {
			return nil, se
		}
		return nil, err
	}
	return r, nil
}

// noteLease records the lease the server granted, if it said one.
func (g *Registrar) noteLease(r *Reply) {
	g.Granted = 0
	if opt := r.Msg.IsEdns0(); opt != nil {
		for _, o := range opt.Option {
			if ul, ok := o.(*dns.EDNS0_UL); ok {
				g.Granted = time.Duration(ul.Lease) * time.Second
			}
		}
	}
}

// ZoneText prints records as zone-file lines (TXT as quoted strings, the
// way dns-sd -Z and BIND print them), ready to paste into a zone.
func ZoneText(rrs []dns.RR) string {
	var b strings.Builder
	for _, rr := range rrs {
		b.WriteString(Presentation(rr))
		b.WriteByte('\n')
	}
	return b.String()
}

// Presentation is one record as a zone-file line; a TXT record kept as raw
// RDATA is shown as its strings.
func Presentation(rr dns.RR) string {
	if rr == nil {
		return ""
	}
	if g, ok := rr.(*dns.RFC3597); ok && g.Hdr.Rrtype == dns.TypeTXT && g.Rdata == "" {
		// Zero-length RDATA has no string form: RFC 3597's generic syntax.
		return g.Hdr.String() + `\# 0`
	}
	if g, ok := rr.(*dns.RFC3597); ok && g.Hdr.Rrtype == dns.TypeTXT {
		buf := make([]byte, dns.Len(g)+64)
		if n, err := dns.PackRR(g, buf, 0, nil, false); err == nil {
			if t, _, err := dns.UnpackRR(buf[:n], 0); err == nil {
				return t.String()
			}
		}
	}
	return rr.String()
}

// RecordLine is a received record as a zone-file line: TXT from its exact
// RDATA, any type miekg/dns cannot decode in RFC 3597 generic syntax.
func RecordLine(r *mdns.Record) string {
	if r.Type == dns.TypeTXT {
		return Presentation(TXTRecord(r.Name, r.TTL, r.Data))
	}
	if rr := r.RR(); rr != nil {
		return rr.String()
	}
	g := &dns.RFC3597{Hdr: dns.RR_Header{Name: r.Name, Rrtype: r.Type, Class: r.Class, Ttl: r.TTL}, Rdata: hex.EncodeToString(r.Data)}
	return g.String()
}
