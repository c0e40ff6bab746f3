package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
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
}

func newCmdTUI(f *Factory, g *globalOptions) *cobra.Command {
	opts := &tuiOptions{IO: f.IOStreams, Listen: f.Listen, Global: g, Signals: f.Notify != nil}
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
		var names []string
		for _, q := range d.Msg.Questions {
			names = append(names, mdns.NameKey(q.Name))
		}
		for _, sec := range [][]mdns.Record{d.Msg.Answers, d.Msg.Authority, d.Msg.Additional} {
			for i := range sec {
				names = append(names, mdns.NameKey(sec[i].Name))
				if tg, ok := sec[i].Target(); ok {
					names = append(names, mdns.NameKey(tg))
				}
			}
		}
		select {
		case out <- tui.Packet{At: p.Received, Names: names, Text: sb.String(), Skipped: int(sub.Dropped())}:
		case <-ctx.Done():
			return
		}
	}
}

// tuiBackend does the UI's I/O, called from its Cmds.
type tuiBackend struct{ b *browse.Browser }

func (b tuiBackend) Requery(name string) error { return b.b.Requery(name) }

func (b tuiBackend) Export(snapshot []byte) (string, error) {
	path := fmt.Sprintf("bonjourctl-snapshot-%s.json", time.Now().Format("20060102-150405"))
	return path, os.WriteFile(path, snapshot, 0o644)
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
	b := browse.New(link, browse.Config{QU: len(unicastUnseen(link)) == 0})
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
	_, uiErr := tea.NewProgram(tui.New(events, packets, tuiBackend{b}), opts...).Run()
	cancel() // the UI has exited: stop browsing
	wg.Wait()
	if errors.Is(uiErr, tea.ErrProgramKilled) || errors.Is(uiErr, context.Canceled) {
		uiErr = nil
	}
	if browseErr != nil && !errors.Is(browseErr, context.Canceled) && !errors.Is(browseErr, net.ErrClosed) {
		return errors.Join(uiErr, browseErr)
	}
	return uiErr
}
