package cli

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bonjourctl/bonjourctl/internal/dump"
	"github.com/bonjourctl/bonjourctl/internal/iostreams"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/txt"
)

type queryOptions struct {
	IO     *iostreams.IOStreams
	Listen func(context.Context, mdns.Config) (*mdns.Conn, error)
	Global *globalOptions

	Name    string
	Type    uint16
	QU      bool
	Legacy  bool
	Timeout time.Duration
	Loc     *time.Location
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
leave out the cache-flush bit (RFC 6762 §6.7).`,
		Example: `  bonjourctl query _p2p._tcp.local PTR
  bonjourctl query "Node 1._p2p._tcp.local" TXT --qu
  bonjourctl query host1.local A --legacy`,
		Args: positional(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = fqdnName(args[0])
			t, ok := mdns.ParseType(args[1])
			if !ok {
				return flagErrorf("unknown record type %q (try A, AAAA, PTR, SRV, TXT, ANY)", args[1])
			}
			opts.Type = t
			if opts.Timeout <= 0 {
				return flagErrorf("--timeout must be positive, got %v", opts.Timeout)
			}
			return queryRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.QU, "qu", false, "Ask for a unicast reply (QU bit)")
	cmd.Flags().BoolVar(&opts.Legacy, "legacy", false, "Send from an ephemeral port and expect a legacy unicast reply")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 2*time.Second, "Wait this `long` for answers")
	return cmd
}

// fqdnName turns "Node 1._p2p._tcp.local" (spaces and all, unescaped) into
// the presentation form with a trailing dot. Dots separate labels; a
// backslash escapes as in DNS presentation format.
func fqdnName(s string) string {
	s = strings.TrimSuffix(s, ".")
	if !strings.HasSuffix(strings.ToLower(s), ".local") && !strings.HasSuffix(strings.ToLower(s), ".arpa") {
		s += ".local"
	}
	var labels []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			cur.WriteByte(c)
			cur.WriteByte(s[i+1])
			i++
		case c == '.':
			labels = append(labels, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	labels = append(labels, cur.String())
	for i, l := range labels {
		labels[i] = mdns.EscapeLabel(mdns.UnescapeLabel(l))
	}
	return strings.Join(labels, ".") + "."
}

// sendQuestions multicasts qs with the given query ID on every interface
// and family of conn.
func sendQuestions(conn *mdns.Conn, qs []mdns.Question, id uint16) error {
	return sendQuery(conn, qs, nil, id)
}

// sendQuery is sendQuestions with known answers (RFC 6762 §7.1).
func sendQuery(conn *mdns.Conn, qs []mdns.Question, known []mdns.KnownAnswer, id uint16) error {
	msg, err := mdns.BuildQuery(qs, known)
	if err != nil {
		return err
	}
	binary.BigEndian.PutUint16(msg, id)
	var errs []error
	sent := 0
	for _, ifi := range conn.Interfaces() {
		if conn.IPv4() {
			if err := conn.Send(msg, ifi.Index, false); err != nil {
				errs = append(errs, fmt.Errorf("send on %s (IPv4): %w", ifi.Name, err))
			} else {
				sent++
			}
		}
		if conn.IPv6() {
			if err := conn.Send(msg, ifi.Index, true); err != nil {
				errs = append(errs, fmt.Errorf("send on %s (IPv6): %w", ifi.Name, err))
			} else {
				sent++
			}
		}
	}
	if sent == 0 {
		return errors.Join(errs...)
	}
	return nil
}

func answers(m *mdns.Message, name string, typ uint16) []*mdns.Record {
	var out []*mdns.Record
	for _, sec := range [][]mdns.Record{m.Answers, m.Additional} {
		for i := range sec {
			r := &sec[i]
			if strings.EqualFold(r.Name, name) && (typ == mdns.TypeANY || r.Type == typ || r.Type == mdns.TypeNSEC) {
				out = append(out, r)
			}
		}
	}
	return out
}

func queryRun(ctx context.Context, o *queryOptions) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	cfg := o.Global.mdnsConfig()
	cfg.Legacy = o.Legacy
	conn, err := o.Listen(ctx, cfg)
	if err != nil {
		return fmt.Errorf("listen for mDNS: %w", err)
	}
	defer conn.Close()
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
		mode = fmt.Sprintf("legacy unicast from port %d", conn.LocalPort())
	}
	fmt.Fprintf(o.IO.ErrOut, "asking %s %s, %s; waiting %v\n", mdns.EscapeText(o.Name), mdns.TypeString(o.Type), mode, o.Timeout)
	if err := sendQuestions(conn, []mdns.Question{{Name: o.Name, Type: o.Type, QU: o.QU}}, id); err != nil {
		return err
	}
	w := bufio.NewWriter(o.IO.Out)
	defer w.Flush()
	printer := dump.NewPrinter(o.Loc)
	enc := json.NewEncoder(w)
	n := 0
	for {
		p, err := conn.Recv(ctx)
		if err != nil {
			break
		}
		d := dump.Decode(p, 0)
		if !d.Msg.Response() || len(answers(d.Msg, o.Name, o.Type)) == 0 {
			continue
		}
		n++
		if o.Global.JSON {
			err = enc.Encode(dump.JSON(d))
		} else {
			kind := "multicast"
			if d.Dst.IsValid() && !d.Dst.Addr().IsMulticast() {
				kind = "unicast"
			}
			fmt.Fprintf(w, "answer %d (%s reply", n, kind)
			if o.Legacy {
				fmt.Fprintf(w, "; query ID %d %s", id, map[bool]string{true: "echoed", false: fmt.Sprintf("NOT echoed (got %d)", d.Msg.ID)}[d.Msg.ID == id])
			}
			fmt.Fprintf(w, "):\n")
			err = printer.Text(w, d)
		}
		if err != nil {
			return err
		}
		w.Flush()
	}
	if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
		return errInterrupted
	}
	if n == 0 {
		return fmt.Errorf("no answer for %s %s within %v", mdns.EscapeText(o.Name), mdns.TypeString(o.Type), o.Timeout)
	}
	return nil
}

type resolveOptions struct {
	queryOptions
	Instance string
	Service  string
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
on the wire at all?".`,
		Example: `  bonjourctl resolve "Node 1" _p2p._tcp
  bonjourctl resolve --json printer _ipp._tcp`,
		Args: positional(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Instance, opts.Service = args[0], args[1]
			if !strings.Contains(opts.Service, "._tcp") && !strings.Contains(opts.Service, "._udp") {
				return flagErrorf("argument 2 (%q) is not a service type like _p2p._tcp", opts.Service)
			}
			if opts.Timeout <= 0 {
				return flagErrorf("--timeout must be positive, got %v", opts.Timeout)
			}
			opts.Name = mdns.EscapeLabel(opts.Instance) + "." + fqdnName(opts.Service)
			return resolveRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.QU, "qu", false, "Ask for unicast replies (QU bit)")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 3*time.Second, "Wait this `long` for answers")
	return cmd
}

// resolveJSON is resolve's --json output.
type resolveJSON struct {
	Name    string        `json:"name"`
	Host    string        `json:"host,omitempty"`
	Port    uint16        `json:"port,omitempty"`
	Addrs   []string      `json:"addrs"`
	TXT     *txtReport    `json:"txt"`
	Packets []dump.Packet `json:"packets"`
}

func resolveRun(ctx context.Context, o *resolveOptions) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	cfg := o.Global.mdnsConfig()
	conn, err := o.Listen(ctx, cfg)
	if err != nil {
		return fmt.Errorf("listen for mDNS: %w", err)
	}
	defer conn.Close()
	fmt.Fprintf(o.IO.ErrOut, "resolving %s (SRV, TXT, then addresses); waiting %v\n", mdns.EscapeText(o.Name), o.Timeout)
	if err := sendQuestions(conn, []mdns.Question{{Name: o.Name, Type: mdns.TypeSRV, QU: o.QU}, {Name: o.Name, Type: mdns.TypeTXT, QU: o.QU}}, 0); err != nil {
		return err
	}
	w := bufio.NewWriter(o.IO.Out)
	defer w.Flush()
	out := resolveJSON{Name: mdns.EscapeText(o.Name), Addrs: []string{}, Packets: []dump.Packet{}}
	var host string
	var txtData []byte
	addrs := map[netip.Addr]bool{}
	asked := false
	for {
		p, err := conn.Recv(ctx)
		if err != nil {
			break
		}
		m, _ := mdns.Parse(p.Raw)
		if !m.Response() {
			continue
		}
		var hits []*mdns.Record
		hits = append(hits, answers(m, o.Name, mdns.TypeSRV)...)
		hits = append(hits, answers(m, o.Name, mdns.TypeTXT)...)
		if host != "" {
			hits = append(hits, answers(m, host, mdns.TypeA)...)
			hits = append(hits, answers(m, host, mdns.TypeAAAA)...)
		}
		if len(hits) == 0 {
			continue
		}
		out.Packets = append(out.Packets, dump.JSON(dump.Decode(p, 0)))
		for _, r := range hits {
			if r.Type == mdns.TypeNSEC {
				continue // negative answers: shown by query, not needed here
			}
			where := fmt.Sprintf("from %s on %s (IP TTL %d), %s, TTL %d, cache-flush %v", p.Src, p.IfName, p.HopLimit, p.Received.In(o.Loc).Format("15:04:05.000"), r.TTL, r.CacheFlush)
			switch r.Type {
			case mdns.TypeSRV:
				_, _, port, target, _ := r.SRV()
				host, out.Host, out.Port = target, mdns.EscapeText(target), port
				if !o.Global.JSON {
					fmt.Fprintf(w, "SRV   %s:%d  %s\n", mdns.EscapeText(target), port, where)
				}
				if !asked {
					asked = true
					if err := sendQuestions(conn, []mdns.Question{{Name: target, Type: mdns.TypeA, QU: o.QU}, {Name: target, Type: mdns.TypeAAAA, QU: o.QU}}, 0); err != nil {
						return err
					}
				}
			case mdns.TypeTXT:
				txtData = append([]byte(nil), r.Data...)
				if !o.Global.JSON {
					fmt.Fprintf(w, "TXT   %d bytes %s  %s\n", len(r.Data), mdns.TXTText(r.Data), where)
				}
			default:
				a, _ := r.Addr()
				if a.Is6() && a.IsLinkLocalUnicast() && p.IfName != "" {
					a = a.WithZone(p.IfName)
				}
				if !addrs[a] {
					addrs[a] = true
					out.Addrs = append(out.Addrs, a.String())
				}
				if !o.Global.JSON {
					fmt.Fprintf(w, "%-5s %s  %s\n", mdns.TypeString(r.Type), a, where)
				}
			}
		}
		w.Flush()
	}
	if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
		return errInterrupted
	}
	if txtData != nil {
		rep := buildTXTReport(txtData, txt.FormatHex)
		out.TXT = &rep
	}
	if o.Global.JSON {
		if err := json.NewEncoder(w).Encode(out); err != nil {
			return err
		}
	} else if out.TXT != nil {
		fmt.Fprintln(w)
		if err := writeTXTReport(&iostreams.IOStreams{Out: w}, *out.TXT, false); err != nil {
			return err
		}
	}
	if txtData == nil {
		what := "no answer at all"
		if host != "" {
			what = "the SRV record arrived, the TXT record did not"
		}
		return fmt.Errorf("no TXT record for %s within %v (%s)", mdns.EscapeText(o.Name), o.Timeout, what)
	}
	return nil
}
