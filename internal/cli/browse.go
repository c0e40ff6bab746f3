package cli

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/internal/iostreams"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/schema"
	"github.com/bonjourctl/bonjourctl/txt"
)

type browseOptions struct {
	IO     *iostreams.IOStreams
	Listen func(context.Context, mdns.Config) (Link, error)
	Global *globalOptions

	Types   []string
	Once    bool
	Timeout time.Duration
	QU, QM  bool
	Loc     *time.Location
	Started time.Time // the process's start (zero in tests)
	Read    string    // a capture file instead of the network
	// Instance, with Expect, watches one instance and asserts on it.
	Instance  string
	Expect    expectFlags
	watchName string // the instance's full name
	// DNS, with a domain other than local, browses over unicast DNS.
	DNS       dnsFlags
	PollFloor time.Duration
	Zone      bool
	Schema    schemaFlags
}

func newCmdBrowse(f *Factory, g *globalOptions, runF func(*browseOptions) error) *cobra.Command {
	opts := &browseOptions{IO: f.IOStreams, Listen: f.Listen, Global: g, Loc: time.Local, Started: f.Started}
	cmd := &cobra.Command{
		Use:   "browse [TYPE...]",
		Short: "Discover DNS-SD services and stream every change",
		Long: `Browse discovers instances of the given service types (all types on the link when
none is given, like avahi-browse -a) and prints one line per change:

  add  an instance resolved (host:port, addresses, TXT), or given up waiting
       for what never came ("no TXT record seen")
  upd  something changed: TXT strings, port, host, addresses or TTLs, old -> new
  rmv  an instance went, with the cause: goodbye, expired or flushed

Names and TXT values in any script are shown as text; only bytes that are not
UTF-8 and characters that are not printable are escaped. The engine is an
RFC 6762 querier (query backoff, known-answer suppression, refresh at 80-95%
of TTLs) with a bounded cache; counters go to stderr at the end.

--read FILE replays a pcap or pcapng capture (plain or gzip; - for standard
input) through the same engine on the capture's own clock, printing what a
browser on that link would have printed; nothing is sent.

--domain DOMAIN (a domain other than local) browses over unicast DNS instead
(wide-area DNS-SD, RFC 6763 §11): the system's resolvers or --server, polled
at the records' TTLs (--poll-floor), each line saying "via dns SERVER";
--zone prints what was found as zone-file lines.

Instances of well-known types (bonjourctl txt schemas) are judged by their
type's TXT schema too: the add line counts the findings, --json has them.

--instance NAME watches one instance of the type and, with --expect key=value
(repeatable; key= for an empty value, key for a boolean attribute),
--expect-txt-hex or --expect-state, asserts on it for scripts and CI: exit 0
as soon as everything holds, 1 with one line per unmet expectation (what was
expected, what was on the wire, which packet) at --timeout (default 5s) or at
the end of a --read capture, 2 for usage errors.`,
		Example: `  bonjourctl browse _p2p._tcp
  bonjourctl browse -t --json _ipp._tcp
  bonjourctl browse _printer._sub._http._tcp
  bonjourctl browse --read customer.pcapng _p2p._tcp
  bonjourctl browse _p2p._tcp --instance "Node 1" --expect key=value --timeout 5s`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Types = args
			if err := checkTypes(args); err != nil {
				return err
			}
			if opts.Timeout < 0 {
				return flagErrorf("--timeout must be positive, got %v", opts.Timeout)
			}
			if opts.QU && opts.QM {
				return flagErrorf("--qu and --qm cannot be used together")
			}
			if err := opts.parseExpect(); err != nil {
				return err
			}
			if err := opts.checkDNS(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return browseRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&opts.Once, "once", "t", false, "Print what was found after one round (--timeout) and exit")
	fl.DurationVar(&opts.Timeout, "timeout", 0, "Stop after `duration` (default: 3s with --once, 5s with --instance, else never)")
	fl.BoolVar(&opts.QU, "qu", false, "Ask for unicast replies in the first query (QU bit), opening port 5353 for them if they cannot be watched")
	fl.BoolVar(&opts.QM, "qm", false, "Ask for multicast replies only (default: QU first where unicast replies can be watched)")
	fl.StringVar(&opts.Read, "read", "", "Replay a pcap or pcapng `file` (- for standard input) instead of the network")
	fl.StringVar(&opts.Instance, "instance", "", "Watch this instance `name` of the type (with --expect: assert on it)")
	opts.Expect.add(fl)
	opts.DNS.addDomain(fl)
	opts.DNS.addServer(fl)
	opts.Schema.add(fl, false)
	fl.BoolVar(&opts.Zone, "zone", false, "With --domain: print the records found as zone-file lines and exit")
	fl.DurationVar(&opts.PollFloor, "poll-floor", 10*time.Second, "With --domain: ask a name again no sooner than this `duration`, whatever its TTL")
	return cmd
}

// checkDNS refuses DNS-plane flags that do not go together.
func (o *browseOptions) checkDNS() error {
	if err := o.DNS.check(); err != nil {
		return err
	}
	if !o.DNS.wide() {
		if o.Zone {
			return flagErrorf("--zone needs --domain DOMAIN (mDNS records are not a zone)")
		}
		return nil
	}
	if o.Read != "" {
		return flagErrorf("--read and --domain cannot be used together (a capture holds mDNS)")
	}
	if o.QU || o.QM {
		return flagErrorf("--qu and --qm are mDNS flags; --domain browses over unicast DNS")
	}
	if o.PollFloor < time.Second {
		return flagErrorf("--poll-floor must be at least 1s, got %v", o.PollFloor)
	}
	if o.Instance != "" {
		o.watchName = ""
	}
	return nil
}

// parseExpect checks --instance and the expectations.
func (o *browseOptions) parseExpect() error {
	if o.Instance == "" {
		if o.Expect.given() {
			return flagErrorf("--expect, --expect-txt-hex and --expect-state need --instance NAME")
		}
		return nil
	}
	if len(o.Types) != 1 {
		return flagErrorf("--instance needs exactly one service type, got %d", len(o.Types))
	}
	if len(o.Instance) > 63 {
		return flagErrorf("--instance %q is %d bytes; an instance name is at most 63", o.Instance, len(o.Instance))
	}
	if o.Once {
		return flagErrorf("--once and --instance cannot be used together")
	}
	if err := o.Expect.parse(); err != nil {
		return err
	}
	o.watchName = mdns.InstanceName(o.Instance, mdns.ParseName(o.Types[0]))
	return nil
}

// checkTypes refuses arguments that are not service types.
func checkTypes(args []string) error {
	for i, a := range args {
		if !strings.Contains(a, "._tcp") && !strings.Contains(a, "._udp") {
			return flagErrorf("argument %d (%q) is not a service type like _p2p._tcp", i+1, mdns.EscapeText(a))
		}
	}
	return nil
}

// errUnmet means an expectation was not met (already explained): exit 1.
var errUnmet = fmt.Errorf("%w", errSilent)

func browseRun(ctx context.Context, o *browseOptions) error {
	if o.DNS.wide() {
		if o.Timeout == 0 && o.Instance != "" {
			o.Timeout = 5 * time.Second
		}
		if o.Timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, o.Timeout)
			defer cancel()
		}
		return browseWide(ctx, o)
	}
	timeout := o.Timeout
	switch {
	case o.Once && timeout == 0:
		timeout = 3 * time.Second
	case o.Instance != "" && timeout == 0:
		timeout = 5 * time.Second
	}
	if timeout > 0 && o.Read == "" {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var b *browse.Browser
	var run func(fn func(browse.Event) error) error
	var linkStats func() mdns.Stats
	if o.Read != "" {
		next, name, fileStats, closeFn, err := capturePackets(o.IO.In, o.Read, o.Global)
		if err != nil {
			return err
		}
		defer closeFn()
		b = browse.New(nil, browse.Config{})
		run = func(fn func(browse.Event) error) error { return b.Replay(ctx, next, fn) }
		defer func() {
			st := fileStats()
			fmt.Fprintf(o.IO.ErrOut, "replayed %s: %d frames, %d mDNS packets; nothing was sent (a live browser would have sent %d queries)\n", name, st.Frames, st.Packets, b.Stats().NotAsked)
		}()
	} else {
		link, qu, err := listenQuerier(ctx, o.Listen, o.Global.mdnsConfig(), o.QU, o.QM)
		if err != nil {
			return err
		}
		defer link.Close()
		b = browse.New(link, browse.Config{QU: qu, Started: o.Started})
		run = func(fn func(browse.Event) error) error { return b.Run(ctx, fn) }
		linkStats = link.Stats
	}
	w := bufio.NewWriter(o.IO.Out)
	defer w.Flush()
	schemas, serr := o.Schema.set()
	if serr != nil {
		return serr
	}
	p := &eventPrinter{w: w, json: o.Global.JSON, loc: o.Loc, schemas: schemas}
	if len(o.Types) == 0 {
		b.BrowseAll()
		if !o.Global.JSON {
			b.OnType(func(t string) { fmt.Fprintf(o.IO.ErrOut, "found service type %s\n", mdns.EscapeText(t)) })
		}
	} else {
		b.Browse(o.Types...)
	}
	mix := schemas.NewMixup(o.Types)
	if extra := mix.Extra(); len(extra) > 0 {
		b.Browse(extra...)
	}
	current := map[string]browse.Event{}
	var watched *browse.Service // the --instance, as last seen
	met := false
	errMet := errors.New("expectations met")
	err := run(func(ev browse.Event) error {
		asked, note := mix.Take(ev.Service.Type, ev.Kind == browse.Added, txt.EscapeUTF8([]byte(ev.Service.Instance)), mdns.EscapeText(ev.Service.Host))
		if note != "" {
			fmt.Fprintln(o.IO.ErrOut, "note: "+note)
		}
		if !asked {
			return nil // an instance of a type asked for only to tell a mix-up
		}
		if o.Instance != "" {
			if !mdns.EqualNames(ev.Service.Name, o.watchName) {
				return nil
			}
			s := ev.Service
			if ev.Kind == browse.Removed {
				watched = nil
			} else {
				watched = &s
			}
		}
		if o.Once {
			if ev.Kind == browse.Removed {
				delete(current, mdns.NameKey(ev.Service.Name))
			} else {
				current[mdns.NameKey(ev.Service.Name)] = ev
			}
			return nil
		}
		if err := p.print(ev, ev.At); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if watched != nil && o.Read == "" && len(o.Expect.unmet(watched)) == 0 {
			met = true
			return errMet // live: stop as soon as everything holds
		}
		return nil
	})
	if errors.Is(err, errMet) {
		err = nil
	}
	if o.Once {
		evs := make([]browse.Event, 0, len(current))
		for _, ev := range current {
			evs = append(evs, ev)
		}
		// In the order they were found (then by name).
		slices.SortFunc(evs, func(a, b browse.Event) int {
			if c := firstSeen(&a.Service).Compare(firstSeen(&b.Service)); c != 0 {
				return c
			}
			return strings.Compare(mdns.NameKey(a.Service.Name), mdns.NameKey(b.Service.Name))
		})
		for _, ev := range evs {
			ev.Kind, ev.Changes = browse.Added, nil
			if perr := p.print(ev, time.Now()); perr != nil {
				return perr
			}
		}
	}
	if linkStats != nil {
		printBrowseStats(o.IO.ErrOut, b.Stats(), linkStats())
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if o.Instance == "" {
		return nil
	}
	w.Flush()
	return o.verdict(met, watched, timeout)
}

// verdict prints the outcome of --instance: every expectation met, or
// one line for each that was not, and returns the exit status's error.
func (o *browseOptions) verdict(met bool, watched *browse.Service, timeout time.Duration) error {
	within := fmt.Sprintf("within %v", timeout)
	if o.Read != "" {
		within = "in the capture"
	}
	return o.Expect.report(o.IO.ErrOut, o.watchName, watched, met || o.Read != "", within)
}

// firstSeen is when the earliest of an instance's records arrived.
func firstSeen(s *browse.Service) time.Time {
	var t time.Time
	for _, r := range s.Records {
		if t.IsZero() || r.FirstSeen.Before(t) {
			t = r.FirstSeen
		}
	}
	return t
}

// printBrowseStats writes the engine's and the core's counters: what was
// received, sent, and anything lost or not sent.
func printBrowseStats(w io.Writer, st browse.Stats, cs mdns.Stats) {
	fmt.Fprintf(w, "%d packets (%d malformed), %d queries sent, %d instances, %d records cached, %d evicted, %d instances over the cap, %d packets dropped by bonjourctl\n",
		st.Packets, st.Malformed, st.Queries, st.Instances, st.Records, st.Evicted, st.InstancesShed, st.PacketsLost)
	if st.TypesShed > 0 {
		fmt.Fprintf(w, "%d service types found but not browsed: over the cap of %d types\n", st.TypesShed, browse.DefaultMaxTypes)
	}
	if st.QueriesDeferred > 0 || st.QueriesDropped > 0 {
		fmt.Fprintf(w, "query budget: %d questions waited for it, %d dropped (its backlog was full)\n", st.QueriesDeferred, st.QueriesDropped)
	}
	if st.IgnoredPort > 0 {
		fmt.Fprintf(w, "%d responses ignored: sent from a port other than 5353 (RFC 6762 §6)\n", st.IgnoredPort)
	}
	if st.EventsDropped > 0 {
		fmt.Fprintf(w, "%d events not printed: the output was too slow to take them\n", st.EventsDropped)
	}
	if st.SendErrors > 0 {
		fmt.Fprintf(w, "%d queries not sent everywhere; last: %v\n", st.SendErrors, st.LastSendError)
	}
	if cs.OtherInterface > 0 {
		fmt.Fprintf(w, "%d packets from interfaces not selected, ignored\n", cs.OtherInterface)
	}
}

// eventPrinter writes browse events as lines or JSON objects.
type eventPrinter struct {
	w       io.Writer
	json    bool
	loc     *time.Location
	schemas *schema.Set // TXT schemas of well-known types (nil: none)
}

func (p *eventPrinter) print(ev browse.Event, now time.Time) error {
	if p.json {
		return json.NewEncoder(p.w).Encode(eventJSON(ev, now, p.schemas))
	}
	s := &ev.Service
	ts := ev.At.In(p.loc).Format("15:04:05.000")
	name := txt.EscapeUTF8([]byte(s.Instance))
	// An mDNS browse prints its lines as they always were; another plane
	// says where each line's records came from.
	via := ""
	if s.Plane != "" && !strings.HasPrefix(s.Plane, "mdns") {
		via = "  via " + s.Plane
	}
	switch ev.Kind {
	case browse.Added:
		addrs := make([]string, len(s.Addrs))
		for i, a := range s.Addrs {
			addrs[i] = a.String()
		}
		host := "(no SRV record seen)"
		if s.Host != "" {
			host = fmt.Sprintf("%s:%d", mdns.EscapeText(s.Host), s.Port)
		}
		if len(addrs) == 0 {
			addrs = append(addrs, "(no address seen)")
		}
		schemaNote := ""
		if s.TXTState != browse.TXTMissing {
			if c := judgeTXT(p.schemas, s.Type, s.Instance, s.TXTRaw).counts(); c != "" {
				schemaNote = "  schema: " + c + " (--json or resolve for which)"
			}
		}
		_, err := fmt.Fprintf(p.w, "%s  add  %s  %s  %s  %s  txt %s%s%s\n", ts, name, s.Type, host, strings.Join(addrs, " "), s.TXTSummary(), schemaNote, via)
		return err
	case browse.Updated:
		parts := make([]string, len(ev.Changes))
		for i, c := range ev.Changes {
			parts[i] = fmt.Sprintf("%s: %s -> %s", c.Field, orNone(c.Old), orNone(c.New))
			if c.Field == "state" {
				parts[i] += stateNote(s, p.loc)
			}
		}
		_, err := fmt.Fprintf(p.w, "%s  upd  %s  %s  %s%s\n", ts, name, s.Type, strings.Join(parts, "; "), via)
		return err
	case browse.Refreshed:
		return nil // in --json; a line per answer would drown the changes
	default:
		cause := string(ev.Cause)
		if ev.Cause == browse.CauseAbsent {
			cause = "absent (no longer in the server's answer)"
		}
		_, err := fmt.Fprintf(p.w, "%s  rmv  %s  %s  %s%s\n", ts, name, s.Type, cause, via)
		return err
	}
}

// stateNote explains an instance's state for a line of text.
func stateNote(s *browse.Service, loc *time.Location) string {
	since := s.StateSince.In(loc).Format("15:04:05.000")
	switch s.State {
	case browse.StateStale:
		return fmt.Sprintf(" (since %s: %d refresh queries unanswered; the responder may be gone without a goodbye)", since, s.Unanswered)
	case browse.StateUnresolvable:
		return " (its SRV record or every address expired while its PTR remains: clients see it but cannot connect)"
	case browse.StateGoodbye:
		return " (removed in 1 s, RFC 6762 §10.1)"
	}
	return ""
}

// browseEventJSON is one line of browse --json. Documented in the README.
type browseEventJSON struct {
	Event      string       `json:"event"`
	Time       string       `json:"time"`
	Name       string       `json:"name"`
	Instance   string       `json:"instance"`
	Type       string       `json:"type"`
	Domain     string       `json:"domain"`
	Host       string       `json:"host"`
	Port       uint16       `json:"port"`
	Addrs      []string     `json:"addrs"`
	TXT        txtJSON      `json:"txt"`
	State      string       `json:"state"`
	Since      string       `json:"stateSince,omitempty"`
	Unanswered int          `json:"unansweredRefreshes"`
	Changes    []changeJSON `json:"changes,omitempty"`
	Cause      string       `json:"cause,omitempty"`
	Plane      string       `json:"plane"` // "mdns eth0", "dns 10.88.0.9"
	Records    []recordJSON `json:"records"`
}

type txtJSON struct {
	State    string        `json:"state"` // missing, zero-length, empty, present
	RData    string        `json:"rdata"` // hex, exactly as received
	Strings  []txtStrJSON  `json:"strings"`
	Findings []txt.Finding `json:"findings"`
	Schema   *schemaJSON   `json:"schema,omitempty"` // the service type's schema's verdict
}

type changeJSON struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

type recordJSON struct {
	Name         string `json:"name"`
	Type         string `json:"type"`
	TTL          uint32 `json:"ttl"`
	TTLRemaining uint32 `json:"ttlRemaining"`
	CacheFlush   bool   `json:"cacheFlush"`
	Src          string `json:"src"`
	Interface    string `json:"interface"`
	Family       int    `json:"family"`
	FirstSeen    string `json:"firstSeen"`
	LastSeen     string `json:"lastSeen"`
	Packets      int    `json:"packets"`
	RData        string `json:"rdata"`
}

func eventJSON(ev browse.Event, now time.Time, schemas *schema.Set) browseEventJSON {
	s := &ev.Service
	j := browseEventJSON{
		Event: string(ev.Kind), Time: ev.At.UTC().Format(time.RFC3339Nano),
		Name: mdns.EscapeText(s.Name), Instance: txt.EscapeUTF8([]byte(s.Instance)), Type: s.Type, Domain: s.Domain,
		Host: mdns.EscapeText(s.Host), Port: s.Port, Addrs: []string{}, Cause: string(ev.Cause), Records: []recordJSON{},
		State: string(s.State), Unanswered: s.Unanswered, Plane: s.Plane,
	}
	if !s.StateSince.IsZero() {
		j.Since = s.StateSince.UTC().Format(time.RFC3339Nano)
	}
	for _, a := range s.Addrs {
		j.Addrs = append(j.Addrs, a.String())
	}
	j.TXT = txtJSON{State: string(s.TXTState), RData: hex.EncodeToString(s.TXTRaw), Strings: []txtStrJSON{}, Findings: []txt.Finding{}}
	if s.TXTState != browse.TXTMissing {
		rep := buildTXTReport(s.TXTRaw, txt.FormatHex)
		j.TXT.Strings, j.TXT.Findings = rep.Strings, rep.Findings
		j.TXT.Schema = judgeTXT(schemas, s.Type, s.Instance, s.TXTRaw)
	}
	for _, c := range ev.Changes {
		j.Changes = append(j.Changes, changeJSON(c))
	}
	for _, r := range s.Records {
		j.Records = append(j.Records, recordJSON{
			Name: mdns.EscapeText(r.Name), Type: mdns.TypeString(r.Type), TTL: r.TTL, TTLRemaining: r.Remaining(now),
			CacheFlush: r.CacheFlush, Src: r.Src.String(), Interface: r.IfName, Family: r.Family,
			FirstSeen: r.FirstSeen.UTC().Format(time.RFC3339Nano), LastSeen: r.LastSeen.UTC().Format(time.RFC3339Nano),
			Packets: r.Packets, RData: hex.EncodeToString(r.Data),
		})
	}
	return j
}
