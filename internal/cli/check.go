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
	Listen   func(context.Context, mdns.Config) (*mdns.Conn, error)
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
	cmd.Flags().DurationVarP(&opts.Duration, "duration", "d", 10*time.Second, "Listen this `long`")
	cmd.Flags().BoolVar(&opts.Active, "active", false, "Send queries too (PTR, QU SRV/TXT, legacy unicast)")
	cmd.Flags().BoolVar(&opts.Started, "started", false, "The responders start after check: judge their probing too")
	return cmd
}

// checkTarget returns the filter for a type ("_p2p._tcp") or an instance
// ("Node 1._p2p._tcp"), and the type's full name.
func checkTarget(t string) (filter func(string) bool, typeName, instance string) {
	if t == "" {
		return nil, "", ""
	}
	full := strings.ToLower(fqdnName(t))
	labels := mdns.SplitName(full)
	if len(labels) >= 3 && strings.HasPrefix(labels[0], "_") {
		typeName = full
		return func(n string) bool { return n == full || strings.HasSuffix(n, "."+full) }, typeName, ""
	}
	typeName = strings.Join(labels[1:], ".") + "."
	return func(n string) bool { return n == full || n == typeName }, typeName, fqdnName(t)
}

func checkRun(ctx context.Context, o *checkOptions) error {
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	filter, typeName, instance := checkTarget(o.Target)
	conn, err := o.Listen(ctx, o.Global.mdnsConfig())
	if err != nil {
		return fmt.Errorf("listen for mDNS: %w", err)
	}
	defer conn.Close()
	c := check.New(filter)
	packets := 0
	pkts := make(chan mdns.Packet, 1024)
	feed := func(pc *mdns.Conn) chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				p, err := pc.Recv(ctx)
				if err != nil {
					return
				}
				select {
				case pkts <- p:
				case <-ctx.Done():
					return
				}
			}
		}()
		return done
	}
	var legacy *mdns.Conn
	done := []chan struct{}{feed(conn)}
	if o.Active {
		cfg := o.Global.mdnsConfig()
		cfg.Legacy = true
		if legacy, err = o.Listen(ctx, cfg); err != nil {
			return fmt.Errorf("open a legacy unicast socket: %w", err)
		}
		defer legacy.Close()
		done = append(done, feed(legacy))
	}
	fmt.Fprintf(o.IO.ErrOut, "listening for %v%s\n", o.Duration, map[bool]string{true: " and querying", false: ""}[o.Active])
	instances := map[string]bool{}
	if instance != "" {
		instances[instance] = true
	}
	if o.Active {
		_ = sendQuestions(conn, []mdns.Question{{Name: typeName, Type: mdns.TypePTR}}, 0)
	}
	// Active stages: PTR now, at 1.5 s (with QU SRV/TXT and a legacy TXT
	// query for each instance) and at 3 s; in the last 1.2 s, a direct SRV
	// query for every instance heard, to catch responders that left
	// without goodbyes.
	var stage2, stage3, final bool
	var finalAt time.Time
	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case p := <-pkts:
			packets++
			c.Packet(&p)
			if o.Active {
				if m, err := mdns.Parse(p.Raw); err == nil && m.Response() {
					for _, r := range m.Answers {
						if t, ok := r.Target(); ok && r.Type == mdns.TypePTR && strings.EqualFold(r.Name, typeName) && r.TTL > 0 {
							instances[t] = true
						}
					}
				}
			}
		case now := <-tick.C:
			if !o.Active {
				continue
			}
			el := now.Sub(start)
			switch {
			case !stage2 && el > 1500*time.Millisecond:
				stage2 = true
				_ = sendQuestions(conn, []mdns.Question{{Name: typeName, Type: mdns.TypePTR}}, 0)
				_ = sendQuestions(legacy, []mdns.Question{{Name: typeName, Type: mdns.TypePTR}}, 0x4241)
				for inst := range instances {
					_ = sendQuestions(conn, []mdns.Question{{Name: inst, Type: mdns.TypeSRV, QU: true}, {Name: inst, Type: mdns.TypeTXT, QU: true}}, 0)
					_ = sendQuestions(legacy, []mdns.Question{{Name: inst, Type: mdns.TypeTXT}}, 0x4242)
				}
			case !stage3 && el > 3*time.Second:
				stage3 = true
				// With every instance heard as a known answer: responders
				// must not repeat those (RFC 6762 §7.1).
				var known []mdns.KnownAnswer
				for inst := range instances {
					known = append(known, mdns.KnownAnswer{Name: typeName, Target: inst, TTL: 4500})
				}
				_ = sendQuery(conn, []mdns.Question{{Name: typeName, Type: mdns.TypePTR}}, known, 0)
				_ = sendQuestions(legacy, []mdns.Question{{Name: typeName, Type: mdns.TypePTR}}, 0x4243)
			case !final && o.Duration > 4*time.Second && el > o.Duration-1200*time.Millisecond:
				final, finalAt = true, now
				for inst := range instances {
					_ = sendQuestions(conn, []mdns.Question{{Name: inst, Type: mdns.TypeSRV}}, 0)
				}
			}
		}
	}
	cancel()
	conn.Close()
	if legacy != nil {
		legacy.Close()
	}
	for _, d := range done {
		<-d
	}
	for len(pkts) > 0 {
		p := <-pkts
		packets++
		c.Packet(&p)
	}
	if final {
		for inst := range instances {
			c.Vanished(inst, finalAt, time.Now())
		}
	}
	findings := c.Findings(o.Started)
	w := bufio.NewWriter(o.IO.Out)
	defer w.Flush()
	fails, warns := 0, 0
	for _, f := range findings {
		switch f.Level {
		case check.Fail:
			fails++
		case check.Warn:
			warns++
		}
	}
	verdict := fmt.Sprintf("%d packets: %d failures, %d warnings", packets, fails, warns)
	if o.Global.JSON {
		if err := json.NewEncoder(w).Encode(struct {
			Verdict  string          `json:"verdict"`
			Packets  int             `json:"packets"`
			Findings []check.Finding `json:"findings"`
		}{verdict, packets, append([]check.Finding{}, findings...)}); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(w, verdict)
		for _, f := range findings {
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
	if packets == 0 {
		return errors.New("heard no mDNS packet at all: nothing to judge")
	}
	if fails > 0 {
		w.Flush()
		return errSilent
	}
	return nil
}
