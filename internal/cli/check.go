package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

Each finding names the responder, the rule with its RFC section, and the
times of the packets that show it. Exit 1 when anything fails.`,
		Example: `  bonjourctl check _p2p._tcp --active
  bonjourctl check --duration 30s --started`,
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
			return checkRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().DurationVarP(&opts.Duration, "duration", "d", 10*time.Second, "Listen this `duration`")
	cmd.Flags().BoolVar(&opts.Active, "active", false, "Send queries too (PTR, QU SRV/TXT, legacy unicast)")
	cmd.Flags().BoolVar(&opts.Started, "started", false, "The responders start after check: judge their probing too")
	return cmd
}

func checkRun(ctx context.Context, o *checkOptions) error {
	cfg := o.Global.mdnsConfig()
	cfg.Observe = true
	cfg.Legacy = o.Active
	link, err := listen(ctx, o.Listen, cfg)
	if err != nil {
		return err
	}
	defer link.Close()
	fmt.Fprintf(o.IO.ErrOut, "listening for %v%s\n", o.Duration, map[bool]string{true: " and querying", false: ""}[o.Active])
	for _, u := range link.Unseen() {
		fmt.Fprintf(o.IO.ErrOut, "not visible to this check: %s\n", u)
	}
	rep, err := check.Run(ctx, link, check.Options{Target: o.Target, Duration: o.Duration, Active: o.Active, Started: o.Started})
	if errors.Is(err, context.Canceled) {
		return errInterrupted
	}
	w := bufio.NewWriter(o.IO.Out)
	defer w.Flush()
	fails, warns := 0, 0
	for _, f := range rep.Findings {
		switch f.Level {
		case check.Fail:
			fails++
		case check.Warn:
			warns++
		}
	}
	verdict := fmt.Sprintf("%d packets: %d failures, %d warnings", rep.Packets, fails, warns)
	if o.Global.JSON {
		if err := json.NewEncoder(w).Encode(struct {
			Verdict     string          `json:"verdict"`
			Packets     int             `json:"packets"`
			Findings    []check.Finding `json:"findings"`
			Sent        []check.Sent    `json:"sent"`
			PacketsLost uint64          `json:"packetsLost"`
		}{verdict, rep.Packets, append([]check.Finding{}, rep.Findings...), append([]check.Sent{}, rep.Sent...), rep.PacketsLost}); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(w, verdict)
		for _, f := range rep.Findings {
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
	if fails > 0 {
		w.Flush()
		return errSilent
	}
	return nil
}
