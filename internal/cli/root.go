// Package cli wires bonjourctl's cobra commands to the library packages
// (mdns, browse, advertise, check, doctor, capture, txt, tui): flags,
// wiring and printing only. It is the only package that prints errors.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/bonjourctl/bonjourctl/internal/iostreams"
	"github.com/bonjourctl/bonjourctl/mdns"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=v1.2.3".
var Version = ""

// Link is everything the commands use of an mdns core: *mdns.Core, and
// the in-memory network of package mdnstest in tests.
type Link interface {
	Subscribe(name string, size int) *mdns.Sub
	Send(msg []byte, to mdns.Dest) error
	Interfaces() []net.Interface
	IPv4() bool
	IPv6() bool
	PayloadLimit() int
	LegacyPort() int
	Unseen() []string
	Stats() mdns.Stats
	Close() error
}

// Factory holds process-wide dependencies, injected so tests replace them.
type Factory struct {
	IOStreams *iostreams.IOStreams
	// Listen opens the process's one mDNS core.
	Listen func(ctx context.Context, cfg mdns.Config) (Link, error)
	Now    func() time.Time
	Getenv func(string) string
	// Started is when the process started (zero in tests): advertise
	// counts its first probe's random delay from it.
	Started time.Time
	// Interfaces lists the machine's network interfaces and
	// InterfaceAddrs an interface's addresses (nil: the system's).
	Interfaces     func() ([]net.Interface, error)
	InterfaceAddrs func(net.Interface) []netip.Addr
	// LocalStack names the other mDNS stacks on this host (nil: read
	// from the system).
	LocalStack func() string
	// Notify and StopNotify are signal.Notify and signal.Stop; nil in
	// tests, where no command handles signals (SIGHUP, the TUI's own).
	Notify     func(c chan<- os.Signal, sig ...os.Signal)
	StopNotify func(c chan<- os.Signal)
}

// listenSockets is Factory.Listen on real sockets.
func listenSockets(ctx context.Context, cfg mdns.Config) (Link, error) {
	c, err := mdns.Listen(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// listenQuerier opens the core for a querier and says whether its first
// question asks for a unicast reply (QU). RFC 6762 §5.4 recommends QU for
// a querier's first question; bonjourctl asks QU when it can see the
// unicast replies without taking them from another stack on this host (a
// packet socket: Linux, root or CAP_NET_RAW), and otherwise QM, unless
// forced: qu opens a socket on port 5353 for the replies where it must,
// qm never asks QU.
func listenQuerier(ctx context.Context, f func(context.Context, mdns.Config) (Link, error), cfg mdns.Config, qu, qm bool) (Link, bool, error) {
	cfg.Observe = !qm
	l, err := listen(ctx, f, cfg)
	if err != nil || qm {
		return l, false, err
	}
	if len(unicastUnseen(l)) == 0 {
		return l, true, nil
	}
	if !qu {
		return l, false, nil
	}
	l.Close()
	cfg.Observe, cfg.Unicast = false, true
	l, err = listen(ctx, f, cfg)
	return l, err == nil, err
}

// unicastUnseen returns the core's notes about unicast it cannot see.
func unicastUnseen(l Link) []string {
	var out []string
	for _, u := range l.Unseen() {
		if strings.Contains(u, "unicast") {
			out = append(out, u)
		}
	}
	return out
}

// listen opens the core for a command; an interface the user named that
// cannot be used is a usage error.
func listen(ctx context.Context, f func(context.Context, mdns.Config) (Link, error), cfg mdns.Config) (Link, error) {
	l, err := f(ctx, cfg)
	if err != nil {
		var ie *mdns.InterfaceError
		if errors.As(err, &ie) {
			return nil, &FlagError{fmt.Errorf("-i: %w", err)}
		}
		return nil, fmt.Errorf("listen for mDNS: %w", err)
	}
	return l, nil
}

// globalOptions are the flags every command shares.
type globalOptions struct {
	Interfaces []string
	IPv4, IPv6 bool
	JSON       bool
	NoColor    bool
}

func (g *globalOptions) mdnsConfig() mdns.Config {
	return mdns.Config{Interfaces: g.Interfaces, IPv4: g.IPv4, IPv6: g.IPv6}
}

// Main runs bonjourctl with args and returns the process exit code.
func Main(args []string) int {
	started := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f := &Factory{Started: started, IOStreams: iostreams.System(), Listen: listenSockets, Now: time.Now, Getenv: os.Getenv, Notify: signal.Notify, StopNotify: signal.Stop}
	return Run(ctx, f, args)
}

// Run executes the command line args with f and returns the exit code.
func Run(ctx context.Context, f *Factory, args []string) int {
	root := NewRootCmd(f)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil && ctx.Err() != nil {
		err = errInterrupted
	}
	return exitCode(f.IOStreams.ErrOut, cmd, err)
}

// FlagError is a usage error: exit code 2.
type FlagError struct{ err error }

func (e *FlagError) Error() string { return e.err.Error() }
func (e *FlagError) Unwrap() error { return e.err }

func flagErrorf(format string, args ...any) error {
	return &FlagError{fmt.Errorf(format, args...)}
}

// errSilent means the command already explained itself; exit 1.
var errSilent = errors.New("silent failure")

// errInterrupted means a signal ended a command that was not a stream.
var errInterrupted = errors.New("interrupted")

func exitCode(w io.Writer, cmd *cobra.Command, err error) int {
	var flagErr *FlagError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errSilent):
		return 1
	case errors.Is(err, errInterrupted), errors.Is(err, context.Canceled):
		return 130
	case errors.As(err, &flagErr), strings.HasPrefix(err.Error(), "unknown command "):
		fmt.Fprintf(w, "bonjourctl: %v\n", err)
		if cmd != nil {
			fmt.Fprintf(w, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
		return 2
	default:
		fmt.Fprintf(w, "bonjourctl: %v\n", err)
		return 1
	}
}

// NewRootCmd builds the command tree.
func NewRootCmd(f *Factory) *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "bonjourctl",
		Short: "Inspect, decode and lint Bonjour / DNS-SD (multicast DNS) traffic",
		Long: `bonjourctl shows what is really on the wire for Bonjour / DNS-SD (mDNS, RFC 6762
and RFC 6763): every packet decoded with its TTLs and flags, and TXT records as
their exact bytes, decoded and linted.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       versionString(),
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if g.NoColor || (f.Getenv != nil && f.Getenv("NO_COLOR") != "") {
				f.IOStreams.DisableColor()
			}
			if g.IPv4 && g.IPv6 {
				return flagErrorf("-4 and -6 cannot be used together (give neither for both families)")
			}
			if g.JSON && cmd.Annotations["json"] == "" {
				return flagErrorf("--json does not apply to %s", cmd.CommandPath())
			}
			return nil
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &FlagError{err} })
	root.SetOut(f.IOStreams.Out)
	root.SetErr(f.IOStreams.ErrOut)
	pf := root.PersistentFlags()
	pf.StringArrayVarP(&g.Interfaces, "interface", "i", nil, "Use this network `interface` (repeatable; default: all multicast interfaces)")
	pf.BoolVarP(&g.IPv4, "ipv4", "4", false, "Use IPv4 only")
	pf.BoolVarP(&g.IPv6, "ipv6", "6", false, "Use IPv6 only")
	pf.BoolVar(&g.JSON, "json", false, "Write JSON (one object per line for streams)")
	pf.BoolVar(&g.NoColor, "no-color", false, "Never use colour (also when NO_COLOR is set)")
	root.AddCommand(
		newCmdVersion(f),
		newCmdCapture(f, g, nil),
		newCmdDecode(f, g, nil),
		newCmdTXT(f, g),
		newCmdBrowse(f, g, nil),
		newCmdResolve(f, g),
		newCmdQuery(f, g),
		newCmdAdvertise(f, g),
		newCmdTUI(f, g),
		newCmdCheck(f, g),
		newCmdDoctor(f, g),
		newCmdDomains(f, g),
	)
	// Commands that write JSON with --json.
	for _, path := range [][]string{{"version"}, {"capture"}, {"decode"}, {"txt", "decode"}, {"txt", "lint"}, {"browse"}, {"resolve"}, {"query"}, {"advertise"}, {"check"}, {"doctor"}, {"tui"}, {"domains"}} {
		if c, _, err := root.Find(path); err == nil {
			if c.Annotations == nil {
				c.Annotations = map[string]string{}
			}
			c.Annotations["json"] = "yes"
		}
	}
	// completion takes a shell, nothing else (cobra's own prints help and
	// exits 0 for anything).
	root.InitDefaultCompletionCmd()
	if c, _, err := root.Find([]string{"completion"}); err == nil && c.Name() == "completion" {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return flagErrorf("unknown command %q for %q: give bash, zsh, fish or powershell", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		}
	}
	return root
}

func versionString() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func newCmdVersion(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the bonjourctl version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if json, _ := cmd.Flags().GetBool("json"); json {
				_, err := fmt.Fprintf(f.IOStreams.Out, "{\"version\":%q,\"go\":%q}\n", versionString(), runtime.Version())
				return err
			}
			_, err := fmt.Fprintf(f.IOStreams.Out, "bonjourctl %s\n", versionString())
			return err
		},
	}
}
