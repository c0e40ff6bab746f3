package cli

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/check"
	"github.com/bonjourctl/bonjourctl/internal/dump"
	"github.com/bonjourctl/bonjourctl/internal/iostreams"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/schema"
	"github.com/bonjourctl/bonjourctl/widearea"
)

// dnsFlags select the DNS plane: DNS-SD over unicast DNS in a domain
// other than local (RFC 6763 §11).
type dnsFlags struct {
	Domain  string
	Servers []string
}

func (d *dnsFlags) addDomain(fl *pflag.FlagSet) {
	fl.StringVar(&d.Domain, "domain", "", "Use DNS-SD over unicast DNS in this `domain` (wide-area, RFC 6763 §11) instead of mDNS in local")
}

func (d *dnsFlags) addServer(fl *pflag.FlagSet) {
	fl.StringArrayVar(&d.Servers, "server", nil, "Ask this DNS `server` (address or address:port, repeatable; default: the system's resolvers)")
}

// wide reports whether the DNS plane was asked for.
func (d *dnsFlags) wide() bool { return d.Domain != "" && !isLocalDomain(d.Domain) }

// check refuses --server without a domain to use it for.
func (d *dnsFlags) check() error {
	if len(d.Servers) > 0 && !d.wide() {
		return flagErrorf("--server needs --domain DOMAIN (a domain other than local: mDNS has no server)")
	}
	return nil
}

func isLocalDomain(d string) bool { return mdns.EqualNames(dns.Fqdn(d), "local.") }

// dnsClient is a client of the given servers, or of the system's.
func dnsClient(servers []string) (*widearea.Client, error) {
	c := &widearea.Client{}
	for i, s := range servers {
		ap, err := widearea.ParseServer(s)
		if err != nil {
			return nil, flagErrorf("--server %d: %v", i+1, err)
		}
		c.Servers = append(c.Servers, ap)
	}
	if len(c.Servers) == 0 {
		sys, _, err := widearea.SystemServers()
		if err != nil {
			return nil, err
		}
		c.Servers = sys
	}
	return c, nil
}

func serverList(c *widearea.Client) string {
	s := make([]string, len(c.Servers))
	for i, a := range c.Servers {
		s[i] = widearea.ServerString(a)
	}
	return strings.Join(s, ", ")
}

// ---- domains ----

type domainsOptions struct {
	IO         *iostreams.IOStreams
	Global     *globalOptions
	Interfaces func() ([]net.Interface, error)
	DNS        dnsFlags
	Parents    []string
	NoSubnets  bool
}

func newCmdDomains(f *Factory, g *globalOptions) *cobra.Command {
	opts := &domainsOptions{IO: f.IOStreams, Global: g, Interfaces: f.Interfaces}
	if opts.Interfaces == nil {
		opts.Interfaces = net.Interfaces
	}
	cmd := &cobra.Command{
		Use:   "domains [DOMAIN...]",
		Short: "List the browse and registration domains DNS servers name (wide-area DNS-SD)",
		Long: `Domains asks a DNS server for the domain enumeration records of RFC 6763 §11:
b (browse), db (default browse), lb (browsed automatically), r (register) and
dr (default register) ._dns-sd._udp under each DOMAIN (default: the search
domains of resolv.conf) and under the reverse-mapping name of each of this
host's subnets (lb._dns-sd._udp.0.0.88.10.in-addr.arpa. for 10.88.0.7/24),
and lists the domains found with the name that held each. Every name asked is
shown with the server's answer. Exit 1 when no domain was found.`,
		Example: `  bonjourctl domains example.com
  bonjourctl domains --server 10.0.0.53 example.test
  bonjourctl domains --no-subnets --json corp.example`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Parents = args
			return domainsRun(cmd.Context(), opts)
		},
	}
	opts.DNS.addServer(cmd.Flags())
	cmd.Flags().BoolVar(&opts.NoSubnets, "no-subnets", false, "Do not ask under the reverse-mapping names of this host's subnets")
	return cmd
}

func domainsRun(ctx context.Context, o *domainsOptions) error {
	c, err := dnsClient(o.DNS.Servers)
	if err != nil {
		return err
	}
	var parents []string
	for _, p := range o.Parents {
		parents = append(parents, dns.Fqdn(p))
	}
	if len(parents) == 0 && len(o.DNS.Servers) == 0 {
		if _, search, err := widearea.SystemServers(); err == nil {
			for _, s := range search {
				parents = append(parents, dns.Fqdn(s))
			}
		}
	}
	if !o.NoSubnets {
		parents = append(parents, widearea.HostParents(hostPrefixes(o.Interfaces))...)
	}
	if len(parents) == 0 {
		return flagErrorf("no domain to ask under: give a DOMAIN (resolv.conf names no search domain and this host has no subnet to ask for)")
	}
	fmt.Fprintf(o.IO.ErrOut, "asking %s under %s\n", serverList(c), strings.Join(parents, ", "))
	e := c.Domains(ctx, parents)
	if err := ctx.Err(); err != nil {
		return errInterrupted
	}
	w := bufio.NewWriter(o.IO.Out)
	defer w.Flush()
	if o.Global.JSON {
		type domJSON struct {
			Kind    string `json:"kind"`
			Meaning string `json:"meaning"`
			Domain  string `json:"domain"`
			From    string `json:"from"`
			Server  string `json:"server"`
			TTL     uint32 `json:"ttl"`
		}
		type askedJSON struct {
			Name   string `json:"name"`
			Result string `json:"result"`
			Error  string `json:"error,omitempty"`
		}
		out := struct {
			Domains []domJSON   `json:"domains"`
			Asked   []askedJSON `json:"asked"`
		}{[]domJSON{}, []askedJSON{}}
		for _, d := range e.Domains {
			out.Domains = append(out.Domains, domJSON{string(d.Kind), d.Kind.Meaning(), mdns.EscapeText(d.Domain), d.From, widearea.ServerString(d.Server), d.TTL})
		}
		for _, a := range e.Asked {
			j := askedJSON{Name: a.Name, Result: a.Result}
			if a.Err != nil {
				j.Error = a.Err.Error()
			}
			out.Asked = append(out.Asked, j)
		}
		if err := json.NewEncoder(w).Encode(out); err != nil {
			return err
		}
	} else {
		for _, d := range e.Domains {
			fmt.Fprintf(w, "%-28s %s  from %s (dns %s, TTL %d)\n", d.Kind.Meaning(), mdns.EscapeText(d.Domain), d.From, widearea.ServerString(d.Server), d.TTL)
		}
		if len(e.Domains) > 0 {
			fmt.Fprintln(w)
		}
		for _, a := range e.Asked {
			line := fmt.Sprintf("asked %s: %s", a.Name, a.Result)
			if a.Err != nil {
				line += " (" + a.Err.Error() + ")"
			}
			fmt.Fprintln(w, line)
		}
	}
	if len(e.Domains) == 0 {
		w.Flush()
		return fmt.Errorf("no browse or registration domain found (%d names asked)", len(e.Asked))
	}
	return nil
}

// hostPrefixes lists this host's interface prefixes.
func hostPrefixes(ifaces func() ([]net.Interface, error)) []netip.Prefix {
	list, err := ifaces()
	if err != nil {
		return nil
	}
	var out []netip.Prefix
	for _, ifi := range list {
		if ifi.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(n.IP)
			if !ok {
				continue
			}
			ones, _ := n.Mask.Size()
			out = append(out, netip.PrefixFrom(ip.Unmap(), ones))
		}
	}
	return out
}

// ---- browse --domain ----

// browseWide browses a unicast DNS domain: polls, then the same events
// as on mDNS, each saying its plane.
func browseWide(ctx context.Context, o *browseOptions) error {
	c, err := dnsClient(o.DNS.Servers)
	if err != nil {
		return err
	}
	domain := dns.Fqdn(o.DNS.Domain)
	types, err := wideTypes(ctx, c, domain, o.Types)
	if err != nil {
		return err
	}
	if len(o.Types) == 0 && !o.Global.JSON {
		for _, t := range types {
			fmt.Fprintf(o.IO.ErrOut, "found service type %s\n", mdns.EscapeText(t))
		}
	}
	cfg := widearea.BrowseConfig{Floor: o.PollFloor}
	if o.Once || o.Zone {
		fmt.Fprintf(o.IO.ErrOut, "browsing %s in %s at %s (DNS, one round)\n", strings.Join(types, ", "), domain, serverList(c))
	} else {
		cfg.OnProblem = func(err error) {
			fmt.Fprintf(o.IO.ErrOut, "%s: no usable answer (%v); the instances known are kept, asked again in %v\n", time.Now().In(o.Loc).Format("15:04:05.000"), err, o.PollFloor)
		}
		fmt.Fprintf(o.IO.ErrOut, "browsing %s in %s at %s (DNS; polled at the records' TTLs, at least %v apart)\n", strings.Join(types, ", "), domain, serverList(c), o.PollFloor)
	}
	b := widearea.NewBrowser(c, domain, types, cfg)
	w := bufio.NewWriter(o.IO.Out)
	defer w.Flush()
	schemas, err := o.Schema.set()
	if err != nil {
		return err
	}
	p := &eventPrinter{w: w, json: o.Global.JSON, loc: o.Loc, schemas: schemas}
	defer func() {
		st, cs := b.Stats(), c.Stats()
		fmt.Fprintf(o.IO.ErrOut, "%d rounds, %d instances, %d queries sent (%d again over TCP), %d questions unanswered\n", st.Rounds, st.Instances, cs.Queries, cs.TCP, st.Failed)
		if st.InstancesShed > 0 {
			fmt.Fprintf(o.IO.ErrOut, "%d instances not tracked: over the cap\n", st.InstancesShed)
		}
	}()
	if o.Once || o.Zone {
		svcs, err := b.Once(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return errInterrupted
			}
			return err
		}
		for _, f := range svcs {
			s := f.Service
			if f.Err != nil {
				fmt.Fprintf(o.IO.ErrOut, "%s: resolved only in part: %v (what did not arrive was not seen)\n", mdns.EscapeText(s.Name), f.Err)
			}
			if o.Zone {
				for _, r := range s.Records {
					fmt.Fprintln(w, widearea.RecordLine(&r.Record))
				}
				continue
			}
			if err := p.print(browse.Event{Kind: browse.Added, At: time.Now(), Service: s}, time.Now()); err != nil {
				return err
			}
		}
		return nil
	}
	var watched *browse.Service
	errMet := errors.New("expectations met")
	met := false
	err = b.Run(ctx, func(ev browse.Event) error {
		if o.Instance != "" {
			if ev.Service.Instance != o.Instance {
				return nil
			}
			s := ev.Service
			if ev.Kind == browse.Removed {
				watched = nil
			} else {
				watched = &s
			}
		}
		if err := p.print(ev, ev.At); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if watched != nil && len(o.Expect.unmet(watched)) == 0 {
			met = true
			return errMet
		}
		return nil
	})
	if errors.Is(err, errMet) {
		err = nil
	}
	if errors.Is(err, context.Canceled) {
		return errInterrupted
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if o.Instance == "" {
		return nil
	}
	w.Flush()
	return o.verdict(met, watched, o.Timeout)
}

// wideTypes returns the types given, or those the domain's
// _services._dns-sd._udp PTR records list (RFC 6763 §9).
func wideTypes(ctx context.Context, c *widearea.Client, domain string, given []string) ([]string, error) {
	if len(given) > 0 {
		return given, nil
	}
	types, err := c.ServiceTypes(ctx, domain)
	if err == nil && len(types) == 0 {
		err = fmt.Errorf("%s has no PTR records at %s: name a service type to browse", widearea.ServicesName(domain), serverList(c))
	}
	return types, err
}

// ---- resolve --domain ----

func resolveWide(ctx context.Context, o *resolveOptions) error {
	c, err := dnsClient(o.DNS.Servers)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	name := mdns.EscapeLabel(o.Instance) + "." + mdns.ParseFQDN(strings.TrimSuffix(o.Service, ".")+"."+o.DNS.Domain)
	fmt.Fprintf(o.IO.ErrOut, "resolving %s at %s (SRV, TXT, then addresses over unicast DNS)\n", name, serverList(c))
	s, rerr := c.Resolve(ctx, name)
	if errors.Is(context.Cause(ctx), context.Canceled) {
		return errInterrupted
	}
	w := bufio.NewWriter(o.IO.Out)
	defer w.Flush()
	now := time.Now()
	if o.Global.JSON {
		missing := widearea.Missing(&s)
		j := resolveJSON{Name: mdns.EscapeText(name), Complete: len(missing) == 0, Missing: missing, Host: mdns.EscapeText(s.Host), Port: s.Port,
			Queries: int(c.Stats().Queries), Packets: []dump.Packet{}}
		ev := eventJSON(browse.Event{Service: s, At: now}, now, schema.Builtin())
		j.Addrs, j.TXT, j.Records = ev.Addrs, ev.TXT, ev.Records
		if err := json.NewEncoder(w).Encode(j); err != nil {
			return err
		}
	} else {
		err := writeResolved(w, &s, func(r *browse.Record) string {
			return fmt.Sprintf("from %s (%s), %s, TTL %d", widearea.ServerString(r.Src), r.IfName, r.LastSeen.In(o.Loc).Format("15:04:05.000"), r.TTL)
		})
		if err != nil {
			return err
		}
	}
	w.Flush()
	if rerr != nil && len(s.Records) == 0 {
		return rerr
	}
	if o.Expect.given() {
		var seen *browse.Service
		if s.Host != "" || s.TXTState != browse.TXTMissing {
			seen = &s
		}
		return o.Expect.report(o.IO.ErrOut, name, seen, true, "at "+serverList(c))
	}
	switch {
	case s.TXTState == browse.TXTMissing && s.Host == "":
		return fmt.Errorf("%s has no SRV and no TXT record at %s", mdns.EscapeText(name), serverList(c))
	case s.TXTState == browse.TXTMissing:
		return fmt.Errorf("%s has an SRV record but no TXT record at %s", mdns.EscapeText(name), serverList(c))
	case s.TXTState == browse.TXTZeroLength:
		fmt.Fprintf(o.IO.ErrOut, "bonjourctl: the TXT record of %s is zero-length RDATA (0 bytes): illegal (RFC 6763 §6.1); publish one empty string (the byte 00) or a key\n", mdns.EscapeText(name))
		return errSilent
	case len(widearea.Missing(&s)) > 0:
		return fmt.Errorf("%s is not fully resolved at %s: no %s", mdns.EscapeText(name), serverList(c), strings.Join(widearea.Missing(&s), " or "))
	}
	if rerr != nil {
		return rerr
	}
	return nil
}

// ---- query --server ----

func queryWide(ctx context.Context, o *queryOptions) error {
	c, err := dnsClient(o.DNS.Servers)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	name := mdns.ParseFQDN(o.RawName)
	fmt.Fprintf(o.IO.ErrOut, "asking %s %s at %s (unicast DNS, EDNS0 %d bytes, TCP when truncated)\n", mdns.EscapeText(name), mdns.TypeString(o.Type), serverList(c), widearea.UDPSize)
	r, err := c.Ask(ctx, name, o.Type)
	if err != nil {
		if errors.Is(context.Cause(ctx), context.Canceled) {
			return errInterrupted
		}
		return err
	}
	w := bufio.NewWriter(o.IO.Out)
	defer w.Flush()
	if err := writeReply(w, r, o.Global.JSON); err != nil {
		return err
	}
	if r.Msg.Rcode != dns.RcodeSuccess {
		w.Flush()
		return fmt.Errorf("%s answered %s for %s %s", widearea.ServerString(r.Server), widearea.RcodeName(r.Msg.Rcode), mdns.EscapeText(name), mdns.TypeString(o.Type))
	}
	if len(browse.Answers(r.Parsed, name, o.Type)) == 0 && o.Type != dns.TypeANY {
		w.Flush()
		return fmt.Errorf("%s has no %s record at %s (NOERROR, no data)", mdns.EscapeText(name), mdns.TypeString(o.Type), widearea.ServerString(r.Server))
	}
	return nil
}

type replyJSON struct {
	Server     string   `json:"server"`
	Transport  string   `json:"transport"`
	Size       int      `json:"size"`
	RTTMillis  float64  `json:"rttMs"`
	Rcode      string   `json:"rcode"`
	Flags      string   `json:"flags"`
	Answers    []rrJSON `json:"answers"`
	Authority  []rrJSON `json:"authority"`
	Additional []rrJSON `json:"additional"`
}

type rrJSON struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	TTL   uint32 `json:"ttl"`
	RData string `json:"rdata"` // hex, exactly as received
	Text  string `json:"text"`  // presentation form
}

// writeReply prints a unicast DNS reply: where it came from and how, then
// every record, TXT with its exact bytes.
func writeReply(w io.Writer, r *widearea.Reply, asJSON bool) error {
	transport := "udp"
	if r.TCP {
		transport = "tcp"
	}
	m := r.Parsed
	if asJSON {
		j := replyJSON{Server: r.Server.String(), Transport: transport, Size: r.Size, RTTMillis: float64(r.RTT.Microseconds()) / 1000,
			Rcode: widearea.RcodeName(r.Msg.Rcode), Flags: m.FlagNames(), Answers: []rrJSON{}, Authority: []rrJSON{}, Additional: []rrJSON{}}
		for i, sec := range [][]mdns.Record{m.Answers, m.Authority, m.Additional} {
			out := []*[]rrJSON{&j.Answers, &j.Authority, &j.Additional}[i]
			for _, rec := range sec {
				if rec.Type == dns.TypeOPT {
					continue
				}
				*out = append(*out, rrJSON{Name: mdns.EscapeText(rec.Name), Type: mdns.TypeString(rec.Type), TTL: rec.TTL, RData: hex.EncodeToString(rec.Data), Text: widearea.RecordLine(&rec)})
			}
		}
		return json.NewEncoder(w).Encode(j)
	}
	fmt.Fprintf(w, "reply from %s over %s, %d bytes, %v, %s, flags %s\n", widearea.ServerString(r.Server), transport, r.Size, r.RTT.Round(10*time.Microsecond), widearea.RcodeName(r.Msg.Rcode), m.FlagNames())
	for i, sec := range [][]mdns.Record{m.Answers, m.Authority, m.Additional} {
		title := []string{"answer", "authority", "additional"}[i]
		for _, rec := range sec {
			if rec.Type == dns.TypeOPT {
				continue
			}
			line := widearea.RecordLine(&rec)
			if rec.Type == dns.TypeTXT {
				line += fmt.Sprintf("   ; %d bytes %s", len(rec.Data), dump.TXTText(rec.Data))
			}
			fmt.Fprintf(w, "  %-10s %s\n", title, line)
		}
	}
	return nil
}

// ---- advertise --domain ----

// checkWide refuses flags that do not go with the plane chosen.
func (o *advertiseOptions) checkWide(wide bool) error {
	dnsOnly := len(o.Servers) > 0 || o.TSIG != "" || o.TSIGFile != "" || o.Lease != 0
	if !wide {
		if dnsOnly {
			return flagErrorf("--server, --tsig, --tsig-file and --lease need --domain DOMAIN (a domain other than local: mDNS has no server)")
		}
		return nil
	}
	if o.Engine != "bonjourctl" {
		return flagErrorf("--engine %s publishes on mDNS; --domain %s registers by DNS UPDATE", o.Engine, o.Domain)
	}
	for _, r := range o.Raw {
		if r != "zero-length-txt" {
			return flagErrorf("--raw %s is an mDNS fault; with --domain only zero-length-txt applies", r)
		}
	}
	if o.TSIG != "" && o.TSIGFile != "" {
		return flagErrorf("give the TSIG key one way: --tsig or --tsig-file")
	}
	if o.Lease < 0 || (o.Lease > 0 && o.Lease < 30*time.Second) {
		return flagErrorf("--lease must be at least 30s, got %v", o.Lease)
	}
	if len(o.Servers) == 0 && !o.PrintZone {
		return flagErrorf("--domain %s needs --server ADDR: the primary server of the zone, which accepts updates", o.Domain)
	}
	return nil
}

func (o *advertiseOptions) tsigKey() (*widearea.TSIG, error) {
	switch {
	case o.TSIG != "":
		k, err := widearea.ParseTSIG(o.TSIG)
		if err != nil {
			return nil, &FlagError{err}
		}
		return k, nil
	case o.TSIGFile != "":
		b, err := readFileAtMost(o.TSIGFile, 64<<10)
		if err != nil {
			return nil, flagErrorf("--tsig-file: %v", err)
		}
		k, err := widearea.ParseKeyFile(strings.NewReader(string(b)), o.TSIGFile)
		if err != nil {
			return nil, flagErrorf("--tsig-file: %v", err)
		}
		return k, nil
	}
	return nil, nil
}

func (o *advertiseOptions) registration(wire []byte) (widearea.Registration, error) {
	reg := widearea.Registration{
		Instance: o.Instance, Type: o.Type, Subtypes: o.Subtypes, Domain: o.Domain, Port: o.Port,
		TXT: wire, TTL: o.TTLHost, TTLOther: o.TTLHost, Lease: o.Lease,
	}
	if o.ttlOtherSet {
		reg.TTLOther = o.TTLOther
	}
	host := o.Host
	if host == "" {
		host = strings.TrimSuffix(defaultHost(), ".local.")
	}
	host = strings.TrimSuffix(host, ".")
	if isLocalDomain(o.Domain) && !strings.HasSuffix(host, ".local") {
		host += ".local"
	} else if !isLocalDomain(o.Domain) && !strings.Contains(host, ".") {
		host += "." + strings.TrimSuffix(o.Domain, ".")
	}
	reg.Host = dns.Fqdn(host)
	for i, s := range o.IPs {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return reg, flagErrorf("--ip %d (%q) is not an IP address", i+1, s)
		}
		reg.Addrs = append(reg.Addrs, a)
	}
	return reg, nil
}

// advertiseWide registers the service in a unicast DNS zone by DNS UPDATE,
// replaces its TXT record on changes, refreshes a lease, and deletes what it
// added when it ends (--print-zone: prints the records and ends).
func advertiseWide(ctx context.Context, o *advertiseOptions, wire []byte, out *advertisePrinter) error {
	reg, err := o.registration(wire)
	if err != nil {
		return err
	}
	if o.PrintZone {
		out.mu.Lock()
		defer out.mu.Unlock()
		_, err := out.w.WriteString(widearea.ZoneText(append(reg.Records(), reg.ServicesRecord())))
		if err == nil {
			err = out.w.Flush()
		}
		return err
	}
	key, err := o.tsigKey()
	if err != nil {
		return err
	}
	c, err := dnsClient(o.Servers)
	if err != nil {
		return err
	}
	g := widearea.NewRegistrar(c, key, reg)
	signed := "unsigned"
	if key != nil {
		signed = "signed with TSIG key " + strings.TrimSuffix(key.Name, ".")
	}
	if len(reg.Addrs) == 0 {
		out.info("note", fmt.Sprintf("no --ip: the SRV target %s must already have A or AAAA records in DNS", reg.Host))
	}
	r, err := g.Register(ctx, func(old, new string) {
		out.info("conflict", fmt.Sprintf("%q is in use in the zone (YXDOMAIN); trying %q", old, new))
	})
	if err != nil {
		if errors.Is(context.Cause(ctx), context.Canceled) {
			return errInterrupted
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no reply from %s before --duration ended", serverList(c))
		}
		return err
	}
	reg = g.Registration()
	zone, _ := g.Zone(ctx)
	out.info("registered", fmt.Sprintf("%s in zone %s at %s: %d records added by DNS UPDATE (%s; reply %d bytes over %s in %v)",
		mdns.EscapeText(reg.Name()), zone, widearea.ServerString(r.Server), len(reg.Records())+1, signed, r.Size, transportName(r), r.RTT.Round(10*time.Microsecond)))
	for _, rr := range append(reg.Records(), reg.ServicesRecord()) {
		out.info("record", widearea.Presentation(rr))
	}
	for _, k := range g.Kept {
		out.info("note", fmt.Sprintf("%s: %s, so it stays there on exit", oneLine(k.RR), k.Reason))
	}
	if o.Lease > 0 {
		if g.Granted > 0 {
			out.info("lease", fmt.Sprintf("the server granted a lease of %v; refreshing at 80%% of it", g.Granted))
		} else {
			out.info("lease", fmt.Sprintf("the server did not acknowledge the lease (no Update Lease option in its reply): the records stay until deleted; refreshing every %v anyway", g.RefreshInterval()))
		}
	}

	uctx, stopUpdates := context.WithCancel(ctx)
	defer stopUpdates()
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchTXT(uctx, o, func(raw []byte) {
			if len(raw) == 0 {
				raw = []byte{0}
			}
			if r, err := g.SetTXT(uctx, raw); err != nil {
				out.info("error", "TXT update: "+err.Error())
			} else {
				out.info("txt-updated", fmt.Sprintf("TXT replaced by DNS UPDATE (%d bytes %s; reply over %s)", len(raw), dump.TXTText(raw), transportName(r)))
			}
		}, out)
	}()
	var refresh <-chan time.Time
	if o.Lease > 0 {
		t := time.NewTicker(g.RefreshInterval())
		defer t.Stop()
		refresh = t.C
	}
	for loop := true; loop; {
		select {
		case <-ctx.Done():
			loop = false
		case <-refresh:
			if _, err := g.Refresh(ctx); err != nil && ctx.Err() == nil {
				out.info("error", "lease refresh: "+err.Error())
			} else if err == nil {
				out.info("refreshed", "the records were added again before the lease ends")
			}
		}
	}
	stopUpdates()
	<-done
	dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := g.Deregister(dctx)
	if err != nil {
		var re *widearea.RcodeError
		var se *widearea.SignatureError
		if errors.As(err, &re) || errors.As(err, &se) {
			return fmt.Errorf("deleting the records on exit: %w (the update was refused: they stay in zone %s)", err, zone)
		}
		return fmt.Errorf("deleting the records on exit: %w (no reply: whether they were deleted is not known; ask the server)", err)
	}
	what := "the type stays listed in _services._dns-sd._udp: other instances of it remain"
	switch {
	case d.TypeErr != nil:
		what = "the type's _services._dns-sd._udp PTR may remain: " + d.TypeErr.Error()
	case d.TypeGone:
		what = "and the type's _services._dns-sd._udp PTR: no instance of it is left"
	}
	out.info("deleted", fmt.Sprintf("%d records deleted from zone %s by DNS UPDATE; %s", d.Deleted, zone, what))
	for _, k := range g.Kept {
		out.info("kept", fmt.Sprintf("%s: %s", oneLine(k.RR), k.Reason))
	}
	if errors.Is(context.Cause(ctx), context.Canceled) {
		return errInterrupted
	}
	return nil
}

// oneLine is a record's zone line with single spaces.
func oneLine(rr dns.RR) string { return strings.Join(strings.Fields(widearea.Presentation(rr)), " ") }

func transportName(r *widearea.Reply) string {
	if r != nil && r.TCP {
		return "TCP"
	}
	return "UDP"
}

// ---- check --domain ----

func checkWide(ctx context.Context, o *checkOptions) error {
	c, err := dnsClient(o.DNS.Servers)
	if err != nil {
		return err
	}
	var types []string
	if o.Target != "" {
		types = []string{strings.TrimSuffix(o.Target, ".")}
	}
	domain := dns.Fqdn(o.DNS.Domain)
	fmt.Fprintf(o.IO.ErrOut, "judging the DNS-SD data of %s at %s\n", domain, serverList(c))
	a, err := c.AuditZone(ctx, domain, types)
	if err != nil {
		if errors.Is(context.Cause(ctx), context.Canceled) {
			return errInterrupted
		}
		return err
	}
	if o.CompareMDNS && len(a.Types) > 0 {
		local, err := browseLocalFor(ctx, o, a.Types)
		if err != nil {
			return err
		}
		cmp := widearea.Compare(a.Instances, local)
		if len(cmp) == 0 {
			fmt.Fprintf(o.IO.ErrOut, "no instance of %s seen on mDNS for %v has the name of one in %s: nothing to compare\n", strings.Join(a.Types, ", "), o.Duration, domain)
		}
		a.Findings = append(a.Findings, cmp...)
	}
	w := bufio.NewWriter(o.IO.Out)
	defer w.Flush()
	fails, warns := countLevels(a.Findings)
	verdict := fmt.Sprintf("%s: %d instances of %d types, %d queries: %d failures, %d warnings", domain, len(a.Instances), len(a.Types), a.Queries, fails, warns)
	if o.Global.JSON {
		rules := map[string]int{}
		for _, f := range a.Findings {
			rules[f.Rule]++
		}
		if err := json.NewEncoder(w).Encode(struct {
			Verdict   string          `json:"verdict"`
			Domain    string          `json:"domain"`
			Types     []string        `json:"types"`
			Instances int             `json:"instances"`
			Queries   uint64          `json:"queries"`
			Failures  int             `json:"failures"`
			Warnings  int             `json:"warnings"`
			Rules     map[string]int  `json:"rules"`
			Findings  []check.Finding `json:"findings"`
		}{verdict, domain, append([]string{}, a.Types...), len(a.Instances), a.Queries, fails, warns, rules, append([]check.Finding{}, a.Findings...)}); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(w, verdict)
		writeFindings(w, a.Findings)
	}
	if fails > 0 || (o.FailOn == "warn" && warns > 0) {
		w.Flush()
		return errSilent
	}
	return nil
}

// browseLocalFor browses the types on the link for the check's duration
// and returns the instances as last seen.
func browseLocalFor(ctx context.Context, o *checkOptions, types []string) ([]browse.Service, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	link, qu, err := listenQuerier(ctx, o.Listen, o.Global.mdnsConfig(), false, false)
	if err != nil {
		return nil, err
	}
	defer link.Close()
	fmt.Fprintf(o.IO.ErrOut, "browsing %s on the link (mDNS) for %v to compare\n", strings.Join(types, ", "), o.Duration)
	b := browse.New(link, browse.Config{QU: qu})
	b.Browse(types...)
	seen := map[string]browse.Service{}
	err = b.Run(ctx, func(ev browse.Event) error {
		if ev.Kind == browse.Removed {
			delete(seen, mdns.NameKey(ev.Service.Name))
		} else {
			seen[mdns.NameKey(ev.Service.Name)] = ev.Service
		}
		return nil
	})
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		if errors.Is(context.Cause(ctx), context.Canceled) {
			return nil, errInterrupted
		}
		return nil, err
	}
	out := make([]browse.Service, 0, len(seen))
	for _, s := range seen {
		out = append(out, s)
	}
	return out, nil
}
