package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/miekg/dns"
	"github.com/spf13/cobra"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/internal/dump"
	"github.com/bonjourctl/bonjourctl/internal/iostreams"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/schema"
	"github.com/bonjourctl/bonjourctl/tui"
	"github.com/bonjourctl/bonjourctl/widearea"
)

type tuiOptions struct {
	IO     *iostreams.IOStreams
	Listen func(context.Context, mdns.Config) (Link, error)
	Global *globalOptions
	Types  []string
	// Signals lets Bubble Tea handle signals itself (not in tests).
	Signals bool
	Started time.Time // the process's start (zero in tests)
	Read    string    // a capture file to step through instead of the network
	// DNS also browses a unicast DNS domain (wide-area), beside mDNS.
	DNS       dnsFlags
	PollFloor time.Duration
	Schema    schemaFlags
}

func newCmdTUI(f *Factory, g *globalOptions) *cobra.Command {
	opts := &tuiOptions{IO: f.IOStreams, Listen: f.Listen, Global: g, Signals: f.Notify != nil, Started: f.Started}
	cmd := &cobra.Command{
		Use:   "tui [TYPE...]",
		Short: "Live terminal view of services, their TXT records and the packets behind them",
		Long: `The TUI browses (all types, or the given ones) and shows every instance with a
TXT badge (ok, empty, zero-len, missing, lint warn/err), its age and TTL left;
the selected instance's decoded TXT, raw bytes, lint findings, record
provenance, event timeline and the Apple NWBrowser hint; and with w, the raw
packets that touched it. Press ? for the keys.

With --read FILE it steps through a capture instead (nothing is sent): it
starts paused at the first packet; space plays (as captured, +/- for
faster or slower; a quiet gap passes in at most 2 s), n feeds one packet,
t jumps to a time of day, +2.5s from the start, or end (backwards too).`,
		Example: `  bonjourctl tui
  bonjourctl tui _p2p._tcp _http._tcp
  bonjourctl tui --read mdns.pcapng _p2p._tcp`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Types = args
			if err := checkTypes(args); err != nil {
				return err
			}
			if !opts.IO.IsStdinTTY() || !opts.IO.IsStdoutTTY() {
				return flagErrorf("the TUI needs a terminal on standard input and output; for a stream use: bonjourctl browse --json")
			}
			if g.JSON {
				return flagErrorf("--json does not apply to the TUI (e exports a JSON snapshot); use bonjourctl browse --json")
			}
			if opts.Read == "-" {
				return flagErrorf("tui --read needs a file: the TUI reads its keys from standard input")
			}
			if err := opts.DNS.check(); err != nil {
				return err
			}
			if opts.DNS.wide() && opts.Read != "" {
				return flagErrorf("--read and --domain cannot be used together (a capture holds mDNS)")
			}
			if opts.PollFloor < time.Second {
				return flagErrorf("--poll-floor must be at least 1s, got %v", opts.PollFloor)
			}
			return tuiRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Read, "read", "", "Step through a pcap or pcapng `file` instead of the network")
	cmd.Flags().StringVar(&opts.DNS.Domain, "domain", "", "Also browse this `domain` over unicast DNS (wide-area DNS-SD), beside mDNS on the link")
	opts.DNS.addServer(cmd.Flags())
	cmd.Flags().DurationVar(&opts.PollFloor, "poll-floor", 10*time.Second, "With --domain: ask a name again no sooner than this `duration`")
	opts.Schema.add(cmd.Flags(), false)
	return cmd
}

// wireTap renders every packet the core receives for the TUI's wire pane,
// from a subscription of its own: when the UI is behind, the tap's queue
// at the core overflows and the loss is counted there (shown in the pane),
// never the browse engine's.
func wireTap(ctx context.Context, sub *mdns.Sub, out chan<- tui.Packet) {
	printer := dump.NewPrinter(time.Local)
	var sb strings.Builder
	for {
		p, err := sub.Recv(ctx)
		if err != nil {
			return
		}
		select {
		case out <- renderPacket(printer, &sb, p, int(sub.Dropped())):
		case <-ctx.Done():
			return
		}
	}
}

// tuiBackend does the UI's I/O, called from its Cmds.
type tuiBackend struct {
	ctx  context.Context
	b    *browse.Browser
	link Link
	dir  string // where exports go (the working directory, absolute)
	// wide asks the DNS server for instances of wideDomain.
	wide       *widearea.Client
	wideDomain string
}

// EventsDropped counts the events the engine could not hand to the UI.
func (b tuiBackend) EventsDropped() uint64 { return b.b.Stats().EventsDropped }

// Requery asks for an instance's TXT and SRV records (QM, so that every
// browser on the link sees the answers) and reports what came back within
// a second: who answered which, and how fast.
func (b tuiBackend) Requery(name string) (string, error) {
	if b.wide != nil && strings.HasSuffix(mdns.NameKey(mdns.ParseFQDN(name)), "."+mdns.NameKey(b.wideDomain)) {
		return b.requeryDNS(name)
	}
	ctx, cancel := context.WithTimeout(b.ctx, time.Second)
	defer cancel()
	type answer struct {
		after time.Duration
		src   netip.Addr
	}
	got := map[uint16]answer{}
	var start time.Time
	res, err := browse.Ask(ctx, b.link, browse.Question{Questions: []mdns.Question{{Name: name, Type: mdns.TypeTXT}, {Name: name, Type: mdns.TypeSRV}}},
		func(p *mdns.Packet, m *mdns.Message) bool {
			if start.IsZero() {
				start = time.Now()
			}
			for _, t := range []uint16{mdns.TypeTXT, mdns.TypeSRV} {
				if _, ok := got[t]; !ok && len(browse.Answers(m, name, t)) > 0 {
					got[t] = answer{p.Received.Sub(start), p.Src.Addr().WithZone("")}
				}
			}
			return len(got) == 2
		})
	if res.Queries == 0 || (res.SendErrors == res.Queries && res.SendErrors > 0) {
		return "", fmt.Errorf("the question was not sent: %v", res.LastSendError)
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return "", err
	}
	var parts []string
	for _, t := range []uint16{mdns.TypeTXT, mdns.TypeSRV} {
		a, ok := got[t]
		if !ok {
			parts = append(parts, fmt.Sprintf("no %s answer in 1 s", mdns.TypeString(t)))
			continue
		}
		after := a.after
		if !res.First.IsZero() {
			after = max(0, start.Add(a.after).Sub(res.First))
		}
		parts = append(parts, fmt.Sprintf("%s answered in %v by %s", mdns.TypeString(t), after.Round(100*time.Microsecond), a.src))
	}
	report := strings.Join(parts, "; ")
	if len(got) < 2 {
		report += " (a responder stays silent for a record it multicast under a second before, RFC 6762 §6: r again to retry)"
	}
	return report, nil
}

// requeryDNS asks the DNS server for a wide-area instance again.
func (b tuiBackend) requeryDNS(name string) (string, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	start := time.Now()
	s, err := b.wide.Resolve(ctx, name)
	took := time.Since(start).Round(100 * time.Microsecond)
	if err != nil && len(s.Records) == 0 {
		return "", err
	}
	var got []string
	for _, r := range s.Records {
		got = append(got, mdns.TypeString(r.Type)+" over "+strings.TrimPrefix(r.IfName, "dns/"))
	}
	report := fmt.Sprintf("%s answered in %v: %s", s.Plane, took, strings.Join(got, ", "))
	if m := widearea.Missing(&s); len(m) > 0 {
		report += "; no " + strings.Join(m, ", ")
	}
	if err != nil {
		report += " (" + err.Error() + ")"
	}
	return report, nil
}

// Export writes the instances as browse --json prints them, one JSON
// object a line, to a new file in the working directory, and returns its
// absolute path.
func (b tuiBackend) Export(svcs []browse.Service, at time.Time) (string, error) {
	base := filepath.Join(b.dir, "bonjourctl-tui-"+at.Format("20060102-150405"))
	var fh *os.File
	var err error
	path := base + ".jsonl"
	for i := 2; i < 100; i++ {
		fh, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
		path = fmt.Sprintf("%s-%d.jsonl", base, i)
	}
	if err != nil {
		return "", fmt.Errorf("cannot create %s: %w (start the TUI in a directory you can write to)", path, err)
	}
	w := bufio.NewWriter(fh)
	enc := json.NewEncoder(w)
	for _, s := range svcs {
		if err := enc.Encode(eventJSON(browse.Event{Kind: "instance", At: at, Service: s}, at, schema.Builtin())); err != nil {
			fh.Close()
			return "", fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		fh.Close()
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := fh.Close(); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}

// tuiOptions' tea options: input, output, colour, signals.
func (o *tuiOptions) teaOptions(ctx context.Context) []tea.ProgramOption {
	opts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithInput(o.IO.In), tea.WithOutput(o.IO.Out)}
	if !o.IO.ColorEnabled() {
		opts = append(opts, tea.WithColorProfile(colorprofile.Ascii))
	}
	if !o.Signals {
		opts = append(opts, tea.WithoutSignalHandler(), tea.WithWindowSize(100, 30))
	}
	return opts
}

// uiExit maps how the UI ended to the command's error: Ctrl-C or a
// signal exit 130.
func uiExit(uiErr error, interrupted bool) error {
	switch {
	case errors.Is(uiErr, tea.ErrInterrupted), interrupted:
		return errInterrupted
	case errors.Is(uiErr, tea.ErrProgramKilled) || errors.Is(uiErr, context.Canceled):
		return nil
	}
	return uiErr
}

func workDir() string {
	dir, err := os.Getwd()
	if err != nil {
		return os.TempDir()
	}
	return dir
}

// tuiReadRun steps through a capture in the TUI.
func tuiReadRun(ctx context.Context, o *tuiOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	open := func() (func() (mdns.Packet, error), func(), error) {
		next, _, _, closeFn, err := capturePackets(nil, o.Read, o.Global)
		return next, closeFn, err
	}
	player := newCapturePlayer(ctx, o.Read, o.Types, open)
	feed, err := player.start(time.Time{})
	if err != nil {
		return err
	}
	defer player.stop()
	m := tui.NewReplay(*feed, readBackend{tuiBackend{ctx: ctx, dir: workDir()}}, player)
	_, uiErr := tea.NewProgram(m, o.teaOptions(ctx)...).Run()
	return uiExit(uiErr, ctx.Err() != nil)
}

func tuiRun(ctx context.Context, o *tuiOptions) error {
	if o.Read != "" {
		return tuiReadRun(ctx, o)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cfg := o.Global.mdnsConfig()
	cfg.Observe = true // the wire pane shows unicast mDNS too, without taking it from other stacks
	link, err := listen(ctx, o.Listen, cfg)
	if err != nil {
		return err
	}
	defer link.Close()
	packets := make(chan tui.Packet, 256)
	events := make(chan browse.Event)
	// QU first (RFC 6762 §5.4) where the unicast replies can be watched.
	b := browse.New(link, browse.Config{QU: len(unicastUnseen(link)) == 0, Started: o.Started})
	if len(o.Types) == 0 {
		b.BrowseAll()
	} else {
		b.Browse(o.Types...)
	}
	backend := tuiBackend{ctx: ctx, b: b, link: link, dir: workDir()}
	var wb *widearea.Browser
	if o.DNS.wide() {
		c, err := dnsClient(o.DNS.Servers)
		if err != nil {
			return err
		}
		types, err := wideTypes(ctx, c, dns.Fqdn(o.DNS.Domain), o.Types)
		if err != nil {
			return err
		}
		// Problems are told by the instances' state and the re-query
		// report: the TUI owns the terminal.
		wb = widearea.NewBrowser(c, o.DNS.Domain, types, widearea.BrowseConfig{Floor: o.PollFloor})
		backend.wide, backend.wideDomain = c, dns.Fqdn(o.DNS.Domain)
	}
	sub := link.Subscribe("tui wire pane", 4096)
	var wg, producers sync.WaitGroup
	var browseErr, wideErr error
	send := func(ev browse.Event) error {
		select {
		case events <- ev:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(packets)
		defer sub.Close()
		wireTap(ctx, sub, packets)
	}()
	producers.Add(1)
	go func() {
		defer producers.Done()
		browseErr = b.Run(ctx, send)
	}()
	if wb != nil {
		producers.Add(1)
		go func() {
			defer producers.Done()
			wideErr = wb.Run(ctx, send)
		}()
	}
	go func() {
		defer wg.Done()
		producers.Wait()
		close(events) // unblocks the UI's pending wait
	}()
	schemas, err := o.Schema.set()
	if err != nil {
		return err
	}
	_, uiErr := tea.NewProgram(tui.New(events, packets, backend).WithSchemas(schemas), o.teaOptions(ctx)...).Run()
	interrupted := ctx.Err() != nil // a signal (SIGTERM, SIGINT) ended it
	cancel()                        // the UI has exited: stop browsing
	wg.Wait()
	uiErr = uiExit(uiErr, interrupted)
	for _, err := range []error{browseErr, wideErr} {
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, net.ErrClosed) {
			uiErr = errors.Join(uiErr, err)
		}
	}
	return uiErr
}
