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
	"github.com/spf13/cobra"

	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/internal/dump"
	"github.com/bonjourctl/bonjourctl/internal/iostreams"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/tui"
)

type tuiOptions struct {
	IO     *iostreams.IOStreams
	Listen func(context.Context, mdns.Config) (Link, error)
	Global *globalOptions
	Types  []string
	// Signals lets Bubble Tea handle signals itself (not in tests).
	Signals bool
	Started time.Time // the process's start (zero in tests)
}

func newCmdTUI(f *Factory, g *globalOptions) *cobra.Command {
	opts := &tuiOptions{IO: f.IOStreams, Listen: f.Listen, Global: g, Signals: f.Notify != nil, Started: f.Started}
	return &cobra.Command{
		Use:   "tui [TYPE...]",
		Short: "Live terminal view of services, their TXT records and the packets behind them",
		Long: `The TUI browses (all types, or the given ones) and shows every instance with a
TXT badge (ok, empty, zero-len, missing, lint warn/err), its age and TTL left;
the selected instance's decoded TXT, raw bytes, lint findings, record
provenance, event timeline and the Apple NWBrowser hint; and with w, the raw
packets that touched it. Press ? for the keys.`,
		Example: `  bonjourctl tui
  bonjourctl tui _p2p._tcp _http._tcp`,
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
			return tuiRun(cmd.Context(), opts)
		},
	}
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
		d := dump.Decode(p, 0)
		sb.Reset()
		_ = printer.Text(&sb, d)
		tp := tui.Packet{At: p.Received, Src: p.Src, Own: p.Own, Query: !d.Msg.Response(), Text: sb.String(), Skipped: int(sub.Dropped())}
		for _, q := range d.Msg.Questions {
			tp.Asks = append(tp.Asks, tui.Ref{Name: mdns.NameKey(q.Name), Type: q.Type})
		}
		for _, sec := range [][]mdns.Record{d.Msg.Answers, d.Msg.Authority, d.Msg.Additional} {
			for i := range sec {
				tp.Has = append(tp.Has, tui.Ref{Name: mdns.NameKey(sec[i].Name), Type: sec[i].Type})
				if tg, ok := sec[i].Target(); ok {
					tp.Has = append(tp.Has, tui.Ref{Name: mdns.NameKey(tg)})
				}
			}
		}
		select {
		case out <- tp:
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
}

// EventsDropped counts the events the engine could not hand to the UI.
func (b tuiBackend) EventsDropped() uint64 { return b.b.Stats().EventsDropped }

// Requery asks for an instance's TXT and SRV records (QM, so that every
// browser on the link sees the answers) and reports what came back within
// a second: who answered which, and how fast.
func (b tuiBackend) Requery(name string) (string, error) {
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
		if err := enc.Encode(eventJSON(browse.Event{Kind: "instance", At: at, Service: s}, at)); err != nil {
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

func tuiRun(ctx context.Context, o *tuiOptions) error {
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
	sub := link.Subscribe("tui wire pane", 4096)
	var wg sync.WaitGroup
	var browseErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(packets)
		defer sub.Close()
		wireTap(ctx, sub, packets)
	}()
	go func() {
		defer wg.Done()
		defer close(events) // unblocks the UI's pending wait
		browseErr = b.Run(ctx, func(ev browse.Event) error {
			select {
			case events <- ev:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	opts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithInput(o.IO.In), tea.WithOutput(o.IO.Out)}
	if !o.IO.ColorEnabled() {
		opts = append(opts, tea.WithColorProfile(colorprofile.Ascii))
	}
	if !o.Signals {
		opts = append(opts, tea.WithoutSignalHandler(), tea.WithWindowSize(100, 30))
	}
	dir, err := os.Getwd()
	if err != nil {
		dir = os.TempDir()
	}
	_, uiErr := tea.NewProgram(tui.New(events, packets, tuiBackend{ctx: ctx, b: b, link: link, dir: dir}), opts...).Run()
	interrupted := ctx.Err() != nil // a signal (SIGTERM, SIGINT) ended it
	cancel()                        // the UI has exited: stop browsing
	wg.Wait()
	switch {
	case errors.Is(uiErr, tea.ErrInterrupted), interrupted:
		uiErr = errInterrupted // Ctrl-C or a signal: exit 130
	case errors.Is(uiErr, tea.ErrProgramKilled) || errors.Is(uiErr, context.Canceled):
		uiErr = nil
	}
	if browseErr != nil && !errors.Is(browseErr, context.Canceled) && !errors.Is(browseErr, net.ErrClosed) {
		return errors.Join(uiErr, browseErr)
	}
	return uiErr
}
