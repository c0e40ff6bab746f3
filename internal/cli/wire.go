package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bonjourctl/bonjourctl/capture"
	"github.com/bonjourctl/bonjourctl/internal/dump"
	"github.com/bonjourctl/bonjourctl/internal/iostreams"
	"github.com/bonjourctl/bonjourctl/internal/ipudp"
	"github.com/bonjourctl/bonjourctl/internal/pcapfile"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/txt"
)

// positional wraps a cobra argument validator so its errors are usage errors.
func positional(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return &FlagError{err}
		}
		return nil
	}
}

type captureOptions struct {
	IO     *iostreams.IOStreams
	Listen func(context.Context, mdns.Config) (Link, error)
	Global *globalOptions

	Name     string
	Type     string
	Host     string
	Pcap     string
	Read     string
	Count    int
	Duration time.Duration
	Location *time.Location
}

func newCmdCapture(f *Factory, g *globalOptions, runF func(*captureOptions) error) *cobra.Command {
	opts := &captureOptions{IO: f.IOStreams, Listen: f.Listen, Global: g, Location: time.Local}
	cmd := &cobra.Command{
		Use:   "capture",
		Short: "Show every mDNS packet on the link, decoded",
		Long: `Capture shows every multicast DNS packet received on the selected interfaces
(a tcpdump for mDNS): a header line per packet (time, interface, source and
destination, IP TTL, id, flags, section counts), then one line per question and
record with its cache-flush or QU bit, TTL and data. TXT data is shown as its
strings with their lengths; bytes that are not printable ASCII appear as \xHH.

It listens on UDP 5353 beside any other mDNS stack (avahi-daemon,
mDNSResponder) and sends nothing. --read decodes a pcap or pcapng file (or
standard input) instead; there -4, -6 and -i select packets by family and by
pcapng interface name.`,
		Example: `  bonjourctl capture -i eth0
  bonjourctl capture --type _p2p._tcp --json
  bonjourctl capture --pcap mdns.pcapng --duration 30s
  bonjourctl capture --read mdns.pcapng --name "Node 1._p2p._tcp.local."`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Count < 0 {
				return flagErrorf("--count must be 0 or more, got %d", opts.Count)
			}
			if opts.Duration < 0 {
				return flagErrorf("--duration must be 0 or more, got %v", opts.Duration)
			}
			if opts.Read != "" && opts.Pcap != "" {
				return flagErrorf("--read and --pcap cannot be used together")
			}
			if runF != nil {
				return runF(opts)
			}
			return captureRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Name, "name", "", "Only packets with a question or record for this `name` (case-insensitive)")
	fl.StringVar(&opts.Type, "type", "", "Only packets about this service `type` (e.g. _p2p._tcp) or its instances")
	fl.StringVar(&opts.Host, "host", "", "Only packets from this `address` or with records for this host name")
	fl.StringVar(&opts.Pcap, "pcap", "", "Also write the packets to this pcapng `file`")
	fl.StringVar(&opts.Read, "read", "", "Decode a pcap or pcapng `file` instead of the network (- for standard input)")
	fl.IntVarP(&opts.Count, "count", "c", 0, "Stop after `n` packets (0: no limit)")
	fl.DurationVarP(&opts.Duration, "duration", "d", 0, "Stop after this `duration` (0: until interrupted)")
	return cmd
}

func captureRun(ctx context.Context, o *captureOptions) (err error) {
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	family := 0
	switch {
	case o.Global.IPv4:
		family = 4
	case o.Global.IPv6:
		family = 6
	}
	copts := capture.Options{JSON: o.Global.JSON, Location: o.Location, Count: o.Count}
	if o.Read != "" {
		// Live, the sockets select family and interfaces; in a file, the
		// filter does.
		copts.Filter = capture.NewFilter(o.Name, o.Type, o.Host, family, o.Global.Interfaces)
		in, name := o.IO.In, "standard input"
		if o.Read != "-" {
			fh, err := os.Open(o.Read)
			if err != nil {
				return err
			}
			defer fh.Close()
			in, name = fh, o.Read
		}
		sum, err := capture.File(ctx, in, name, o.IO.Out, copts)
		if sum.Frames > 0 || err == nil {
			fmt.Fprintln(o.IO.ErrOut, sum.String())
		}
		return err
	}
	copts.Filter = capture.NewFilter(o.Name, o.Type, o.Host, 0, nil)
	if o.Pcap != "" {
		fh, cerr := os.Create(o.Pcap)
		if cerr != nil {
			return fmt.Errorf("create pcap file: %w", cerr)
		}
		pw := pcapfile.NewWriter(fh)
		copts.Pcap = pw
		defer func() {
			ferr := pw.Flush()
			if cerr := fh.Close(); ferr == nil {
				ferr = cerr
			}
			if err == nil && ferr != nil {
				err = fmt.Errorf("write %s: %w", o.Pcap, ferr)
			}
		}()
	}
	cfg := o.Global.mdnsConfig()
	cfg.Observe = true // unicast mDNS too, seen without taking it from other stacks
	link, err := listen(ctx, o.Listen, cfg)
	if err != nil {
		return err
	}
	defer link.Close()
	names := make([]string, 0, len(link.Interfaces()))
	for _, ifi := range link.Interfaces() {
		names = append(names, ifi.Name)
	}
	fams := map[[2]bool]string{{true, true}: "IPv4 and IPv6", {true, false}: "IPv4", {false, true}: "IPv6"}[[2]bool{link.IPv4(), link.IPv6()}]
	fmt.Fprintf(o.IO.ErrOut, "capturing mDNS on %s (%s); Ctrl-C to stop\n", mdns.EscapeText(strings.Join(names, ", ")), fams)
	for _, u := range link.Unseen() {
		fmt.Fprintf(o.IO.ErrOut, "not visible to this capture: %s\n", u)
	}
	sum, err := capture.Live(ctx, link, o.IO.Out, copts)
	line := sum.String()
	if copts.Pcap != nil {
		ferr := copts.Pcap.Flush()
		line += fmt.Sprintf("; %d written to %s", copts.Pcap.Count(), o.Pcap)
		if ferr != nil {
			line += fmt.Sprintf(" (%d not written: %v)", copts.Pcap.Pending(), ferr)
			if err == nil {
				err = fmt.Errorf("write %s: %w", o.Pcap, ferr)
			}
		}
	}
	fmt.Fprintln(o.IO.ErrOut, line)
	return err
}

type decodeOptions struct {
	IO     *iostreams.IOStreams
	Global *globalOptions
	Input  string
}

func newCmdDecode(f *Factory, g *globalOptions, runF func(*decodeOptions) error) *cobra.Command {
	opts := &decodeOptions{IO: f.IOStreams, Global: g}
	cmd := &cobra.Command{
		Use:   "decode [HEX | -]",
		Short: "Decode one DNS or mDNS message given as hex",
		Long: `Decode one DNS or mDNS message given as hex digits (spaces, colons and newlines
are allowed), from the argument or from standard input ("-" or no argument).

When the bytes start with an IPv4 or IPv6 header carrying UDP, decode shows
those headers too and verifies the IP header checksum, the UDP checksum and
every length field, saying exactly which one is wrong.`,
		Example: `  bonjourctl decode 000084000000000100000000...
  pbpaste | bonjourctl decode
  bonjourctl decode --json '45 00 00 89 ...'`,
		Args: positional(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 && args[0] != "-" {
				opts.Input = args[0]
			} else {
				// A DNS message is at most 64 KiB: 1 MiB of hex text is plenty.
				b, err := readAtMost(opts.IO.In, 1<<20)
				if err != nil {
					return flagErrorf("standard input: %v; decode takes one message as hex", err)
				}
				opts.Input = string(b)
			}
			if runF != nil {
				return runF(opts)
			}
			return decodeRun(opts)
		},
	}
	return cmd
}

// decodeResult is decode's JSON output.
type decodeResult struct {
	IP      *ipJSON      `json:"ip,omitempty"`
	Message *dump.Packet `json:"message"`
}

type ipJSON struct {
	Family   int         `json:"family"`
	Src      string      `json:"src"`
	Dst      string      `json:"dst"`
	HopLimit int         `json:"hopLimit"`
	Valid    bool        `json:"valid"`
	Checks   []checkJSON `json:"checks"`
}

type checkJSON struct {
	Field string `json:"field"`
	OK    bool   `json:"ok"`
	Got   uint32 `json:"got"`
	Want  uint32 `json:"want"`
	Note  string `json:"note,omitempty"`
}

func decodeRun(o *decodeOptions) error {
	if strings.TrimSpace(o.Input) == "" {
		return flagErrorf("no hex given (pass it as an argument or on standard input)")
	}
	b, err := txt.DecodeHex(o.Input)
	if err != nil {
		var ie *txt.InputError
		if errors.As(err, &ie) {
			return &FlagError{fmt.Errorf("bad hex at character %d: %s", ie.Pos, ie.Reason)}
		}
		return &FlagError{err}
	}
	var res decodeResult
	payload := b
	var dg *ipudp.Datagram
	if ipudp.LooksLikeIP(b) {
		dg, err = ipudp.Parse(b)
		if err != nil {
			return fmt.Errorf("IP/UDP header: %w", err)
		}
		payload = dg.Payload
	}
	p := mdns.Packet{Raw: payload, HopLimit: -1}
	if dg != nil {
		p.Src, p.Dst, p.HopLimit = dg.Src, dg.Dst, dg.HopLimit
	}
	d := dump.Decode(p, 0)
	if o.Global.JSON {
		if dg != nil {
			res.IP = &ipJSON{Family: dg.Family, Src: dg.Src.String(), Dst: dg.Dst.String(), HopLimit: dg.HopLimit, Valid: dg.Valid()}
			for _, c := range dg.Checks {
				res.IP.Checks = append(res.IP.Checks, checkJSON(c))
			}
		}
		j := dump.JSON(d)
		res.Message = &j
		enc := json.NewEncoder(o.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		if dg != nil {
			hops := "hop limit"
			if dg.Family == 4 {
				hops = "TTL"
			}
			fmt.Fprintf(o.IO.Out, "IPv%d %s > %s %s %d, UDP payload %d bytes at offset %d\n", dg.Family, dg.Src, dg.Dst, hops, dg.HopLimit, len(dg.Payload), dg.PayloadOffset)
			for _, c := range dg.Checks {
				fmt.Fprintf(o.IO.Out, "  %s\n", c)
			}
		}
		if err := dump.Text(o.IO.Out, d, time.Local); err != nil {
			return err
		}
	}
	switch {
	case d.Err != nil:
		return fmt.Errorf("message is malformed: %w", d.Err)
	case dg != nil && !dg.Valid():
		for _, c := range dg.Checks {
			if !c.OK {
				return fmt.Errorf("%s is wrong: 0x%04x, should be 0x%04x", c.Field, c.Got, c.Want)
			}
		}
	}
	return nil
}
