package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
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
	Listen func(context.Context, mdns.Config) (*mdns.Conn, error)
	Global *globalOptions
	Types  []string
}

func newCmdTUI(f *Factory, g *globalOptions) *cobra.Command {
	opts := &tuiOptions{IO: f.IOStreams, Listen: f.Listen, Global: g}
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

// tapTransport hands packets to the browse engine and a rendered copy to the
// TUI's wire pane. The copy never blocks the engine: when the UI is behind,
// it is skipped and counted (shown in the pane).
type tapTransport struct {
	*mdns.Conn
	out     chan tui.Packet
	printer *dump.Printer
	skipped atomic.Int64
}

func (t *tapTransport) Recv(ctx context.Context) (mdns.Packet, error) {
	p, err := t.Conn.Recv(ctx)
	if err != nil {
		return p, err
	}
	d := dump.Decode(p, 0)
	var sb strings.Builder
	_ = t.printer.Text(&sb, d)
	var names []string
	for _, q := range d.Msg.Questions {
		names = append(names, strings.ToLower(q.Name))
	}
	for _, sec := range [][]mdns.Record{d.Msg.Answers, d.Msg.Authority, d.Msg.Additional} {
		for i := range sec {
			names = append(names, strings.ToLower(sec[i].Name))
			if tg, ok := sec[i].Target(); ok {
				names = append(names, strings.ToLower(tg))
			}
		}
	}
	select {
	case t.out <- tui.Packet{At: p.Received, Names: names, Text: sb.String(), Skipped: int(t.skipped.Load())}:
	default:
		t.skipped.Add(1)
	}
	return p, nil
}

// tuiBackend does the UI's I/O, called from its Cmds.
type tuiBackend struct{ conn *mdns.Conn }

func (b tuiBackend) Requery(name string) error {
	return sendQuestions(b.conn, []mdns.Question{{Name: name, Type: mdns.TypeSRV}, {Name: name, Type: mdns.TypeTXT}}, 0)
}

func (b tuiBackend) Export(snapshot []byte) (string, error) {
	path := fmt.Sprintf("bonjourctl-snapshot-%s.json", time.Now().Format("20060102-150405"))
	return path, os.WriteFile(path, snapshot, 0o644)
}

func tuiRun(ctx context.Context, o *tuiOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conn, err := o.Listen(ctx, o.Global.mdnsConfig())
	if err != nil {
		return fmt.Errorf("listen for mDNS: %w", err)
	}
	defer conn.Close()
	tap := &tapTransport{Conn: conn, out: make(chan tui.Packet, 256), printer: dump.NewPrinter(time.Local)}
	events := make(chan browse.Event)
	b := browse.New(tap, browse.Config{})
	var wg sync.WaitGroup
	var browseErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(events) // unblocks the UI's pending wait
		browseErr = b.Run(ctx, o.Types, func(ev browse.Event) error {
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
	_, uiErr := tea.NewProgram(tui.New(events, tap.out, tuiBackend{conn}), opts...).Run()
	cancel() // the UI has exited: stop browsing
	wg.Wait()
	close(tap.out) // the engine is done with the tap; unblocks the UI's packet wait
	if errors.Is(uiErr, tea.ErrProgramKilled) || errors.Is(uiErr, context.Canceled) {
		uiErr = nil
	}
	if browseErr != nil && !errors.Is(browseErr, context.Canceled) && !errors.Is(browseErr, net.ErrClosed) {
		return errors.Join(uiErr, browseErr)
	}
	return uiErr
}
