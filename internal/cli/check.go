package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bonjourctl/bonjourctl/check"
	"github.com/bonjourctl/bonjourctl/internal/iostreams"
	"github.com/bonjourctl/bonjourctl/mdns"
)

type checkOptions struct {
	IO       *iostreams.IOStreams
	Listen   func(context.Context, mdns.Config) (Link, error)
	Global   *globalOptions
	Target   string
	Duration time.Duration
	Active   bool
	Started  bool
	Read     string // a capture file instead of the network
	FailOn   string // warn or fail: the level that exits 1
	// DNS judges the DNS-SD data of a unicast DNS domain (--domain).
	DNS         dnsFlags
	CompareMDNS bool
	Schema      schemaFlags
}

func newCmdCheck(f *Factory, g *globalOptions) *cobra.Command {
	opts := &checkOptions{IO: f.IOStreams, Listen: f.Listen, Global: g}
	cmd := &cobra.Command{
		Use:   "check [TYPE | INSTANCE.TYPE]",
		Short: "Judge live responders against RFC 6762 and 6763 from what they send",
		Long: `Check listens for --duration and judges every responder it hears (or those for
one service type or instance): AA bit in responses and never in queries, ID 0,
IP TTL 255, cache-flush on unique records and never on shared ones, the
recommended TTLs, TXT rules, service and instance name rules, additional
records with PTR answers, records multicast twice within a second
(announcements under 1 s apart), answer delays for shared records, probe
type, QU bit and authority records, and legacy unicast replies. With
--started (the responders start after check does) it also judges probing:
count, spacing, and announcing without probing. --active sends queries
itself: PTR for the type, QU SRV/TXT for each instance, and a legacy unicast
TXT query, so that replies can be judged too.

It takes no packet from another mDNS stack on this host: on Linux, run as
root (or with CAP_NET_RAW) it also sees unicast replies through a packet
socket; otherwise it says what it could not see.

--read FILE judges a pcap or pcapng capture instead (plain or gzip; - for
standard input), on the capture's own clock: every timing rule is judged as
it happened (with --started when the capture began before the responders).

--domain DOMAIN judges a unicast DNS zone's DNS-SD data instead: browse-domain
records, type enumeration, every PTR with its SRV, TXT and addresses, TXT
lint, TTLs and long TXT records fetched as a client without EDNS0 does;
--compare-mdns compares the instances with those on the link.

TXT records of well-known types are judged by their type's schema too
(schema-* rules; bonjourctl txt schemas lists them).

Each finding names the responder, the rule with its RFC section, and the
times of the packets that show it. Exit 1 when anything fails (--fail-on
warn: when anything warns too), 130 when interrupted.`,
		Example: `  bonjourctl check _p2p._tcp --active
  bonjourctl check --duration 30s --started
  bonjourctl check --read customer.pcapng _p2p._tcp --fail-on warn`,
		Args: positional(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Target = args[0]
			}
			if opts.Duration <= 0 {
				return flagErrorf("--duration must be positive, got %v", opts.Duration)
			}
			if opts.Active && opts.Target == "" {
				return flagErrorf("--active needs a service type or instance to ask about")
			}
			if opts.Active && opts.Read != "" {
				return flagErrorf("--active sends queries; a --read capture cannot answer them")
			}
			if opts.FailOn != "fail" && opts.FailOn != "warn" {
				return flagErrorf("--fail-on must be fail or warn, not %q", opts.FailOn)
			}
			if err := opts.DNS.check(); err != nil {
				return err
			}
			if opts.DNS.wide() {
				if opts.Active || opts.Started || opts.Read != "" {
					return flagErrorf("--active, --started and --read judge mDNS responders; --domain judges a zone's DNS-SD data")
				}
				if strings.Count(opts.Target, "._") > 1 && !strings.HasPrefix(opts.Target, "_") {
					return flagErrorf("with --domain give a service type (like _p2p._tcp), not an instance")
				}
				return checkWide(cmd.Context(), opts)
			}
			if opts.CompareMDNS {
				return flagErrorf("--compare-mdns needs --domain DOMAIN")
			}
			return checkRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().DurationVarP(&opts.Duration, "duration", "d", 10*time.Second, "Listen this `duration`")
	cmd.Flags().BoolVar(&opts.Active, "active", false, "Send queries too (PTR, QU SRV/TXT, legacy unicast)")
	cmd.Flags().BoolVar(&opts.Started, "started", false, "The responders start after check (or the capture): judge their probing too")
	cmd.Flags().StringVar(&opts.Read, "read", "", "Judge a pcap or pcapng `file` (- for standard input) instead of the network")
	cmd.Flags().StringVar(&opts.FailOn, "fail-on", "fail", "Exit 1 on this `level` and above: fail or warn")
	opts.DNS.addDomain(cmd.Flags())
	opts.DNS.addServer(cmd.Flags())
	opts.Schema.add(cmd.Flags(), false)
	cmd.Flags().BoolVar(&opts.CompareMDNS, "compare-mdns", false, "With --domain: also browse the same types on the link (mDNS) for --duration and compare TXT, port and host")
	return cmd
}

func checkRun(ctx context.Context, o *checkOptions) error {
	var rep check.Report
	schemas, err := o.Schema.set()
	if err != nil {
		return err
	}
	if o.Read != "" {
		next, name, _, closeFn, oerr := capturePackets(o.IO.In, o.Read, o.Global)
		if oerr != nil {
			return oerr
		}
		defer closeFn()
		fmt.Fprintf(o.IO.ErrOut, "judging %s on its own clock\n", name)
		rep, err = check.Replay(ctx, next, check.Options{Target: o.Target, Started: o.Started, Schemas: schemas})
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	} else {
		cfg := o.Global.mdnsConfig()
		cfg.Observe = true
		cfg.Legacy = o.Active
		link, lerr := listen(ctx, o.Listen, cfg)
		if lerr != nil {
			return lerr
		}
		defer link.Close()
		fmt.Fprintf(o.IO.ErrOut, "listening for %v%s\n", o.Duration, map[bool]string{true: " and querying", false: ""}[o.Active])
		for _, u := range link.Unseen() {
			fmt.Fprintf(o.IO.ErrOut, "not visible to this check: %s\n", u)
		}
		rep, err = check.Run(ctx, link, check.Options{Target: o.Target, Duration: o.Duration, Active: o.Active, Started: o.Started, Schemas: schemas})
	}
	if errors.Is(err, context.Canceled) {
		return errInterrupted
	}
	w := bufio.NewWriter(o.IO.Out)
	defer w.Flush()
	fails, warns := countLevels(rep.Findings)
	verdict := fmt.Sprintf("%d packets: %d failures, %d warnings", rep.Packets, fails, warns)
	if o.Global.JSON {
		// A summary for CI: counts by level and by rule.
		rules := map[string]int{}
		for _, f := range rep.Findings {
			rules[f.Rule]++
		}
		if err := json.NewEncoder(w).Encode(struct {
			Verdict     string          `json:"verdict"`
			Packets     int             `json:"packets"`
			Failures    int             `json:"failures"`
			Warnings    int             `json:"warnings"`
			Rules       map[string]int  `json:"rules"`
			Findings    []check.Finding `json:"findings"`
			Sent        []check.Sent    `json:"sent"`
			PacketsLost uint64          `json:"packetsLost"`
		}{verdict, rep.Packets, fails, warns, rules, append([]check.Finding{}, rep.Findings...), append([]check.Sent{}, rep.Sent...), rep.PacketsLost}); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(w, verdict)
		writeFindings(w, rep.Findings)
	}
	for _, s := range rep.Sent {
		if s.Error != "" {
			fmt.Fprintf(o.IO.ErrOut, "stage %s: %s not sent everywhere: %s\n", s.Stage, s.Question, s.Error)
		}
	}
	if rep.PacketsLost > 0 {
		fmt.Fprintf(o.IO.ErrOut, "%d packets dropped by bonjourctl (the checker was too slow): not judged\n", rep.PacketsLost)
	}
	if rep.Packets == 0 {
		return errors.New("heard no mDNS packet at all: nothing to judge")
	}
	if fails > 0 || (o.FailOn == "warn" && warns > 0) {
		w.Flush()
		return errSilent
	}
	return nil
}

func countLevels(fs []check.Finding) (fails, warns int) {
	for _, f := range fs {
		switch f.Level {
		case check.Fail:
			fails++
		case check.Warn:
			warns++
		}
	}
	return fails, warns
}

// writeFindings prints findings one a line.
func writeFindings(w io.Writer, fs []check.Finding) {
	for _, f := range fs {
		var ev []string
		for _, t := range f.Evidence {
			if !t.IsZero() {
				ev = append(ev, t.Format("15:04:05.000"))
			}
		}
		evs := ""
		if len(ev) > 0 {
			evs = " [packets at " + strings.Join(ev, ", ") + "]"
		}
		fmt.Fprintf(w, "%-4s %s  %s: %s (%s)%s\n", f.Level, f.Responder, f.Rule, f.Message, f.Section, evs)
	}
}
