package cli

import (
	"bufio"
	"context"

	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"

	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/internal/dump"
	"github.com/bonjourctl/bonjourctl/internal/iostreams"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/schema"
	"github.com/bonjourctl/bonjourctl/txt"
)

type queryOptions struct {
	IO     *iostreams.IOStreams
	Listen func(context.Context, mdns.Config) (Link, error)
	Global *globalOptions

	Name    string
	Type    uint16
	QU      bool
	Legacy  bool
	Timeout time.Duration
	Loc     *time.Location
	// DNS asks a unicast DNS server instead (--server).
	DNS     dnsFlags
	RawName string
}

func newCmdQuery(f *Factory, g *globalOptions) *cobra.Command {
	opts := &queryOptions{IO: f.IOStreams, Listen: f.Listen, Global: g, Loc: time.Local}
	cmd := &cobra.Command{
		Use:   "query NAME RRTYPE",
		Short: "Send one mDNS question and show every answer with its packet",
		Long: `Query multicasts one question and prints every response that answers it, whole,
with its packet metadata (source, interface, IP TTL, flags, each record's TTL
and cache-flush bit), like dns-sd -Q with the details shown.

--qu asks for a unicast reply (RFC 6762 §5.4). --legacy sends from an
ephemeral port instead of 5353, as a plain DNS client would; responders must
then reply by unicast to that port, echo the query ID and question, and
leave out the cache-flush bit (RFC 6762 §6.7).

--server ADDR asks a unicast DNS server instead (EDNS0, TCP when the reply
is truncated) and prints its reply with every record's exact bytes.`,
		Example: `  bonjourctl query _p2p._tcp.local PTR
  bonjourctl query "Node 1._p2p._tcp.local" TXT --qu
  bonjourctl query host1.local A --legacy`,
		Args: positional(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = mdns.ParseName(args[0])
			opts.RawName = args[0]
			t, ok := mdns.ParseType(args[1])
			if !ok {
				return flagErrorf("unknown record type %q (try A, AAAA, PTR, SRV, TXT, ANY)", args[1])
			}
			opts.Type = t
			if opts.Timeout <= 0 {
				return flagErrorf("--timeout must be positive, got %v", opts.Timeout)
			}
			if len(opts.DNS.Servers) > 0 {
				if opts.QU || opts.Legacy {
					return flagErrorf("--qu and --legacy are mDNS flags; --server asks a unicast DNS server")
				}
				return queryWide(cmd.Context(), opts)
			}
			return queryRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.QU, "qu", false, "Ask for a unicast reply (QU bit)")
	cmd.Flags().BoolVar(&opts.Legacy, "legacy", false, "Send from an ephemeral port and expect a legacy unicast reply")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 3*time.Second, "Wait this `duration` for answers")
	opts.DNS.addServer(cmd.Flags())
	return cmd
}

func queryRun(ctx context.Context, o *queryOptions) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	cfg := o.Global.mdnsConfig()
	cfg.Legacy = o.Legacy
	cfg.Unicast = o.QU // a QU answer comes by unicast to port 5353
	link, err := listen(ctx, o.Listen, cfg)
	if err != nil {
		return err
	}
	defer link.Close()
	// mDNS queries carry ID 0; a legacy query gets a random ID, which a
	// responder must echo (RFC 6762 §6.7).
	var id uint16
	if o.Legacy {
		id = uint16(1 + rand.IntN(0xfffe))
	}
	mode := "QM (multicast reply)"
	if o.QU {
		mode = "QU (unicast reply requested)"
	}
	if o.Legacy {
		mode = fmt.Sprintf("legacy unicast from port %d", link.LegacyPort())
	}
	fmt.Fprintf(o.IO.ErrOut, "asking %s %s, %s, again at 1 s, 2 s... until answered; waiting %v\n", mdns.EscapeText(o.Name), mdns.TypeString(o.Type), mode, o.Timeout)
	w := bufio.NewWriter(o.IO.Out)
	defer w.Flush()
	printer := dump.NewPrinter(o.Loc)
	enc := json.NewEncoder(w)
	n := 0
	var werr error
	res, err := browse.Ask(ctx, link, browse.Question{Questions: []mdns.Question{{Name: o.Name, Type: o.Type, QU: o.QU}}, ID: id, Legacy: o.Legacy, Retransmit: true},
		func(p *mdns.Packet, m *mdns.Message) bool {
			if len(browse.Answers(m, o.Name, o.Type)) == 0 || werr != nil {
				return false
			}
			n++
			d := dump.Decoded{Packet: *p, Msg: m}
			if o.Global.JSON {
				werr = enc.Encode(dump.JSON(d))
			} else {
				kind := "multicast"
				if p.Dst.IsValid() && !p.Dst.Addr().IsMulticast() {
					kind = "unicast"
				}
				fmt.Fprintf(w, "answer %d (%s reply", n, kind)
				if o.Legacy {
					if m.ID == id {
						fmt.Fprintf(w, "; query ID %d echoed", id)
					} else {
						fmt.Fprintf(w, "; query ID %d NOT echoed (got %d)", id, m.ID)
					}
				}
				fmt.Fprintf(w, "):\n")
				werr = printer.Text(w, d)
			}
			if werr == nil {
				werr = w.Flush()
			}
			return true
		})
	if werr != nil {
		return werr
	}
	if errors.Is(context.Cause(ctx), context.Canceled) {
		return errInterrupted
	}
	if res.Queries > 0 && res.SendErrors == res.Queries {
		return fmt.Errorf("the question was never sent: %v", res.LastSendError)
	}
	if res.SendErrors > 0 {
		fmt.Fprintf(o.IO.ErrOut, "%d of %d queries did not go out everywhere; last: %v\n", res.SendErrors, res.Queries, res.LastSendError)
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if n == 0 {
		return fmt.Errorf("no answer for %s %s within %v (asked %d times)", mdns.EscapeText(o.Name), mdns.TypeString(o.Type), o.Timeout, res.Queries)
	}
	return nil
}

type resolveOptions struct {
	queryOptions
	QM       bool
	Instance string
	Service  string
	Expect   expectFlags
}

func newCmdResolve(f *Factory, g *globalOptions) *cobra.Command {
	opts := &resolveOptions{queryOptions: queryOptions{IO: f.IOStreams, Listen: f.Listen, Global: g, Loc: time.Local}}
	cmd := &cobra.Command{
		Use:   "resolve INSTANCE TYPE",
		Short: "Resolve one instance and prove its TXT record on the wire",
		Long: `Resolve asks the network directly for an instance's SRV and TXT records (and then
the host's addresses) and prints which packet carried each: source, interface,
TTL, cache-flush bit. The TXT record is shown as its exact bytes, decoded and
linted. It exits 1 when no TXT record arrives: the answer to "is my TXT data
on the wire at all?". --domain DOMAIN resolves over unicast DNS instead.
With --expect key=value, --expect-txt-hex or
--expect-state (as for browse --instance) the expectations decide: exit 0
when all hold, 1 with one line per unmet expectation.`,
		Example: `  bonjourctl resolve "Node 1" _p2p._tcp
  bonjourctl resolve --json printer _ipp._tcp
  bonjourctl resolve "Node 1" _p2p._tcp --expect key=value --expect-state present`,
		Args: positional(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Instance, opts.Service = args[0], args[1]
			if !strings.Contains(opts.Service, "._tcp") && !strings.Contains(opts.Service, "._udp") {
				return flagErrorf("argument 2 (%q) is not a service type like _p2p._tcp", opts.Service)
			}
			if opts.Timeout <= 0 {
				return flagErrorf("--timeout must be positive, got %v", opts.Timeout)
			}
			if err := opts.Expect.parse(); err != nil {
				return err
			}
			opts.Name = mdns.InstanceName(opts.Instance, opts.Service)
			if err := opts.DNS.check(); err != nil {
				return err
			}
			if opts.DNS.wide() {
				if opts.QU || opts.QM {
					return flagErrorf("--qu and --qm are mDNS flags; --domain resolves over unicast DNS")
				}
				return resolveWide(cmd.Context(), opts)
			}
			return resolveRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.QU, "qu", false, "Ask for unicast replies in the first query (QU bit), opening port 5353 for them if they cannot be watched")
	cmd.Flags().BoolVar(&opts.QM, "qm", false, "Ask for multicast replies only (default: QU first where unicast replies can be watched)")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 3*time.Second, "Wait this `duration` for answers")
	opts.Expect.add(cmd.Flags())
	opts.DNS.addDomain(cmd.Flags())
	opts.DNS.addServer(cmd.Flags())
	return cmd
}

// resolveJSON is resolve's --json output.
type resolveJSON struct {
	Name     string        `json:"name"`
	Complete bool          `json:"complete"`
	Missing  []string      `json:"missing"`
	Host     string        `json:"host,omitempty"`
	Port     uint16        `json:"port,omitempty"`
	Addrs    []string      `json:"addrs"`
	TXT      txtJSON       `json:"txt"`
	Records  []recordJSON  `json:"records"`
	Queries  int           `json:"queries"`
	Packets  []dump.Packet `json:"packets"`
}

func resolveRun(ctx context.Context, o *resolveOptions) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	link, qu, err := listenQuerier(ctx, o.Listen, o.Global.mdnsConfig(), o.QU, o.QM)
	if err != nil {
		return err
	}
	defer link.Close()
	b := browse.New(link, browse.Config{QU: qu})
	ectx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ectx, func(browse.Event) error { return nil }) }()
	fmt.Fprintf(o.IO.ErrOut, "resolving %s (SRV, TXT, then addresses; asking again at 1 s, 2 s... for what is missing); waiting %v\n", mdns.EscapeText(o.Name), o.Timeout)
	res, rerr := b.Resolve(ctx, o.Name)
	stop()
	<-done
	if errors.Is(context.Cause(ctx), context.Canceled) {
		return errInterrupted
	}
	if rerr != nil && !errors.Is(rerr, context.DeadlineExceeded) {
		return rerr
	}
	s := &res.Service
	w := bufio.NewWriter(o.IO.Out)
	defer w.Flush()
	now := time.Now()
	if o.Global.JSON {
		j := resolveJSON{Name: mdns.EscapeText(o.Name), Complete: res.Complete, Missing: append([]string{}, res.Missing()...), Host: mdns.EscapeText(s.Host), Port: s.Port,
			Queries: res.Queries, Packets: []dump.Packet{}}
		ev := eventJSON(browse.Event{Service: *s, At: now}, now, schema.Builtin())
		j.Addrs, j.TXT, j.Records = ev.Addrs, ev.TXT, ev.Records
		for _, p := range res.Packets {
			j.Packets = append(j.Packets, dump.JSON(dump.Decode(p, 0)))
		}
		if err := json.NewEncoder(w).Encode(j); err != nil {
			return err
		}
	} else {
		err := writeResolved(w, s, func(r *browse.Record) string {
			return fmt.Sprintf("from %s on %s (IP TTL %d), %s, TTL %d, cache-flush %v", r.Src, mdns.EscapeText(r.IfName), r.HopLimit, r.LastSeen.In(o.Loc).Format("15:04:05.000"), r.TTL, r.CacheFlush)
		})
		if err != nil {
			return err
		}
	}
	if res.SendErrors > 0 {
		fmt.Fprintf(o.IO.ErrOut, "%d of %d queries did not go out everywhere; last: %v\n", res.SendErrors, res.Queries, res.LastSendError)
	}
	if o.Expect.given() {
		// The expectations decide the exit status (--expect-state missing
		// passes when no TXT came); an instance whose SRV never came was
		// not seen.
		w.Flush()
		var seen *browse.Service
		if s.Host != "" || s.TXTState != browse.TXTMissing {
			seen = s
		}
		return o.Expect.report(o.IO.ErrOut, o.Name, seen, s.Host != "", fmt.Sprintf("within %v (asked %d times)", o.Timeout, res.Queries))
	}
	switch {
	case s.TXTState == browse.TXTMissing:
		what := "no answer at all"
		if s.Host != "" {
			what = "the SRV record arrived, the TXT record did not"
		}
		return fmt.Errorf("no TXT record for %s within %v (%s; asked %d times)", mdns.EscapeText(o.Name), o.Timeout, what, res.Queries)
	case s.TXTState == browse.TXTZeroLength:
		w.Flush()
		fmt.Fprintf(o.IO.ErrOut, "bonjourctl: the TXT record of %s is zero-length RDATA (0 bytes): illegal (RFC 6763 §6.1); publish one empty string (the byte 00) or a key\n", mdns.EscapeText(o.Name))
		return errSilent
	case !res.Complete:
		return fmt.Errorf("%s is not fully resolved within %v: no %s arrived (asked %d times)", mdns.EscapeText(o.Name), o.Timeout, strings.Join(res.Missing(), " or "), res.Queries)
	}
	return nil
}

// writeResolved prints a resolved instance: a line for each record (but
// the PTR) saying where it came from, then its TXT record decoded, linted
// and judged by its type's schema.
func writeResolved(w io.Writer, s *browse.Service, where func(r *browse.Record) string) error {
	for i := range s.Records {
		r := &s.Records[i]
		switch r.Type {
		case mdns.TypePTR:
		case mdns.TypeSRV:
			fmt.Fprintf(w, "SRV   %s:%d  %s\n", mdns.EscapeText(s.Host), s.Port, where(r))
		case mdns.TypeTXT:
			fmt.Fprintf(w, "TXT   %d bytes %s  %s\n", len(r.Data), dump.TXTText(r.Data), where(r))
		default:
			a, _ := r.Addr()
			fmt.Fprintf(w, "%-5s %s  %s\n", mdns.TypeString(r.Type), a, where(r))
		}
	}
	if s.TXTState == browse.TXTMissing {
		return nil
	}
	fmt.Fprintln(w)
	rep := buildTXTReport(s.TXTRaw, txt.FormatHex)
	rep.Schema = judgeTXT(schema.Builtin(), s.Type, s.Instance, s.TXTRaw)
	return writeTXTReport(&iostreams.IOStreams{Out: w}, rep, false)
}
