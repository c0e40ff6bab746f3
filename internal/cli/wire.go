package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"github.com/spf13/cobra"

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
	Listen func(context.Context, mdns.Config) (*mdns.Conn, error)
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

// packetFilter decides which packets capture shows.
type packetFilter struct {
	name, typ string
	host      string
	hostAddr  netip.Addr
	family    int             // 4 with -4, 6 with -6 (never both), else 0
	ifaces    map[string]bool // -i names, if any
}

func newPacketFilter(o *captureOptions) packetFilter {
	f := packetFilter{name: canonicalName(o.Name), typ: canonicalName(o.Type), host: canonicalName(o.Host)}
	if a, err := netip.ParseAddr(o.Host); err == nil {
		f.hostAddr = a.WithZone("")
	}
	// Live, the sockets already select these; reading a file, they filter.
	switch {
	case o.Global.IPv4:
		f.family = 4
	case o.Global.IPv6:
		f.family = 6
	}
	if len(o.Global.Interfaces) > 0 {
		f.ifaces = map[string]bool{}
		for _, name := range o.Global.Interfaces {
			f.ifaces[name] = true
		}
	}
	return f
}

// canonicalName is a name as the decoder presents it (escaped, with its
// domain and a trailing dot), lower-cased for comparison.
func canonicalName(s string) string {
	if s == "" {
		return ""
	}
	return strings.ToLower(fqdnName(s))
}

func (f packetFilter) empty() bool { return f.name == "" && f.typ == "" && f.host == "" }

func (f packetFilter) match(d dump.Decoded) bool {
	if f.family != 0 && d.Src.IsValid() && d.Family() != f.family {
		return false
	}
	if f.ifaces != nil && !f.ifaces[d.IfName] {
		return false
	}
	if f.empty() {
		return true
	}
	if f.hostAddr.IsValid() && d.Src.Addr().WithZone("") == f.hostAddr {
		return true
	}
	names := make([]string, 0, 8)
	for _, q := range d.Msg.Questions {
		names = append(names, strings.ToLower(q.Name))
	}
	for _, sec := range [][]mdns.Record{d.Msg.Answers, d.Msg.Authority, d.Msg.Additional} {
		for i := range sec {
			r := &sec[i]
			names = append(names, strings.ToLower(r.Name))
			if t, ok := r.Target(); ok && (r.Type == dns.TypePTR || r.Type == dns.TypeSRV) {
				names = append(names, strings.ToLower(t))
			}
			if a, ok := r.Addr(); ok && f.hostAddr.IsValid() && a.Unmap() == f.hostAddr.Unmap() {
				return true
			}
		}
	}
	for _, n := range names {
		if f.name != "" && n == f.name {
			return true
		}
		if f.typ != "" && (n == f.typ || strings.HasSuffix(n, "."+f.typ)) {
			return true
		}
		if f.host != "" && !f.hostAddr.IsValid() && n == f.host {
			return true
		}
	}
	return false
}

// packetSink writes decoded packets as text or JSON lines.
type packetSink struct {
	w    *bufio.Writer
	json bool
	enc  *json.Encoder
	text *dump.Printer
	// live flushes after every packet, so a stream reader sees each one
	// as it arrives; reading a file flushes only at the end.
	live bool
}

func newPacketSink(io *iostreams.IOStreams, asJSON bool, loc *time.Location) *packetSink {
	w := bufio.NewWriterSize(io.Out, 64<<10)
	s := &packetSink{w: w, json: asJSON, text: dump.NewPrinter(loc)}
	if asJSON {
		s.enc = json.NewEncoder(w)
	}
	return s
}

func (s *packetSink) write(d dump.Decoded) error {
	var err error
	if s.json {
		err = s.enc.Encode(dump.JSON(d))
	} else {
		err = s.text.Text(s.w, d)
	}
	if err != nil {
		return err
	}
	if s.live {
		return s.w.Flush()
	}
	return nil
}

func captureRun(ctx context.Context, o *captureOptions) (err error) {
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	sink := newPacketSink(o.IO, o.Global.JSON, o.Location)
	defer func() {
		if ferr := sink.w.Flush(); err == nil {
			err = ferr
		}
	}()
	filter := newPacketFilter(o)
	if o.Read != "" {
		return captureFile(ctx, o, sink, filter)
	}

	sink.live = true
	var pw *pcapfile.Writer
	if o.Pcap != "" {
		fh, err := os.Create(o.Pcap)
		if err != nil {
			return fmt.Errorf("create pcap file: %w", err)
		}
		defer func() {
			ferr := pw.Flush()
			if cerr := fh.Close(); ferr == nil {
				ferr = cerr
			}
			if err == nil && ferr != nil {
				err = fmt.Errorf("write %s: %w", o.Pcap, ferr)
			}
		}()
		pw = pcapfile.NewWriter(fh)
	}
	conn, err := o.Listen(ctx, o.Global.mdnsConfig())
	if err != nil {
		return fmt.Errorf("listen for mDNS: %w", err)
	}
	defer conn.Close()
	names := make([]string, 0, len(conn.Interfaces()))
	for _, ifi := range conn.Interfaces() {
		names = append(names, ifi.Name)
	}
	fams := map[[2]bool]string{{true, true}: "IPv4 and IPv6", {true, false}: "IPv4", {false, true}: "IPv6"}[[2]bool{conn.IPv4(), conn.IPv6()}]
	fmt.Fprintf(o.IO.ErrOut, "capturing mDNS on %s (%s); Ctrl-C to stop\n", strings.Join(names, ", "), fams)

	shown, seen := 0, 0
	// show decodes, filters and prints one packet (and writes it to the
	// pcapng file); the live loop and the final drain share it.
	show := func(p mdns.Packet) error {
		seen++
		d := dump.Decode(p, 0)
		if !filter.match(d) {
			return nil
		}
		shown++
		if pw != nil {
			if err := pw.Write(p); err != nil {
				return fmt.Errorf("write %s: %w", o.Pcap, err)
			}
		}
		return sink.write(d)
	}
	var loopErr error
	for loopErr == nil && (o.Count == 0 || shown < o.Count) {
		p, err := conn.Recv(ctx)
		if err != nil {
			if ctx.Err() == nil {
				loopErr = err
			}
			break
		}
		loopErr = show(p)
	}
	// Read the kernel's drop count while the sockets are open, close them,
	// then drain what was already queued so that nothing received before
	// the stop is lost (unless --count was reached).
	kernelDrops, kernelOK := conn.KernelDrops()
	conn.Close()
	conn.Wait()
	for loopErr == nil && (o.Count == 0 || shown < o.Count) {
		p, err := conn.Recv(context.Background())
		if err != nil {
			break
		}
		loopErr = show(p)
	}
	summary := fmt.Sprintf("%d packets received, %d shown, %d dropped by bonjourctl (reader too slow)", seen, shown, conn.Dropped())
	if kernelOK {
		summary += fmt.Sprintf(", %d dropped by the kernel (socket buffer full)", kernelDrops)
	}
	if pw != nil {
		summary += fmt.Sprintf("; %d written to %s", pw.Count(), o.Pcap)
	}
	fmt.Fprintln(o.IO.ErrOut, summary)
	return loopErr
}

// fileBatch is a run of packets from a capture file, decoded and rendered
// by one worker; the writer takes batches in file order.
type fileBatch struct {
	pkts   []mdns.Packet
	frames []int
	out    []byte // rendered output of the packets that passed the filter
	ends   []int  // where each of those packets ends in out
	err    error  // a read error after these packets
	done   chan struct{}
}

// regularFile reports whether in is a file on disk (not a pipe or terminal).
func regularFile(in io.Reader) bool {
	f, ok := in.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode().IsRegular()
}

// captureStream decodes a capture that arrives on a pipe (tcpdump -w - |
// bonjourctl capture --read -) one packet at a time, printing each as it
// comes; Ctrl-C stops it even while the pipe is quiet.
func captureStream(ctx context.Context, o *captureOptions, r *pcapfile.Reader, name string, sink *packetSink, filter packetFilter) error {
	type item struct {
		p     mdns.Packet
		frame int
		err   error
	}
	items := make(chan item, 64)
	go func() {
		defer close(items)
		for {
			p, frame, err := r.Next()
			select {
			case items <- item{p, frame, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	sink.live = true
	shown := 0
	for {
		var it item
		select {
		case <-ctx.Done():
			return nil
		case x, ok := <-items:
			if !ok {
				return nil
			}
			it = x
		}
		if errors.Is(it.err, io.EOF) {
			return nil
		}
		if it.err != nil {
			return fmt.Errorf("%s: %w", name, it.err)
		}
		d := dump.Decode(it.p, it.frame)
		if !filter.match(d) {
			continue
		}
		if err := sink.write(d); err != nil {
			return err
		}
		if shown++; o.Count > 0 && shown >= o.Count {
			return nil
		}
	}
}

// captureFile decodes a capture file on every core: a reader cuts it into
// batches, workers decode, filter and render them, and the writer prints
// them in order.
func captureFile(ctx context.Context, o *captureOptions, sink *packetSink, filter packetFilter) error {
	in, name := o.IO.In, "standard input"
	if o.Read != "-" {
		fh, err := os.Open(o.Read)
		if err != nil {
			return err
		}
		defer fh.Close()
		in, name = fh, o.Read
	}
	r, err := pcapfile.NewReader(in)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if !regularFile(in) {
		return captureStream(ctx, o, r, name, sink, filter)
	}
	workers := runtime.GOMAXPROCS(0)
	work := make(chan *fileBatch, workers)
	ordered := make(chan *fileBatch, 2*workers)
	spare := make(chan []byte, 4*workers) // printed batches' buffers, for reuse
	var wg sync.WaitGroup
	wg.Add(1 + workers)
	go func() { // reader
		defer wg.Done()
		defer close(work)
		defer close(ordered)
		for {
			b := &fileBatch{pkts: make([]mdns.Packet, 0, 512), frames: make([]int, 0, 512), done: make(chan struct{})}
			for len(b.pkts) < 512 {
				p, frame, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					b.err = fmt.Errorf("%s: %w", name, err)
					break
				}
				b.pkts, b.frames = append(b.pkts, p), append(b.frames, frame)
			}
			select {
			case ordered <- b:
			case <-ctx.Done():
				return
			}
			select {
			case work <- b:
			case <-ctx.Done():
				return
			}
			if len(b.pkts) < 512 {
				return // end of file, or an error after these packets
			}
		}
	}()
	for i := 0; i < workers; i++ {
		go func() { // decoder
			defer wg.Done()
			printer := dump.NewPrinter(o.Location)
			for b := range work {
				var buf []byte
				select {
				case buf = <-spare:
				default:
					buf = make([]byte, 0, 512*len(b.pkts))
				}
				for i, p := range b.pkts {
					d := dump.Decode(p, b.frames[i])
					if !filter.match(d) {
						continue
					}
					if sink.json {
						j, err := json.Marshal(dump.JSON(d))
						if err != nil {
							j = []byte(fmt.Sprintf(`{"frame":%d,"error":%q}`, b.frames[i], err.Error()))
						}
						buf = append(append(buf, j...), '\n')
					} else {
						buf = printer.Append(buf, d)
					}
					b.ends = append(b.ends, len(buf))
				}
				b.out = buf
				close(b.done)
			}
		}()
	}
	defer wg.Wait()
	shown := 0
	for b := range ordered {
		select {
		case <-b.done:
		case <-ctx.Done():
			return nil
		}
		n := len(b.ends)
		if o.Count > 0 && shown+n > o.Count {
			n = o.Count - shown
		}
		if n > 0 {
			if _, err := sink.w.Write(b.out[:b.ends[n-1]]); err != nil {
				cancel()
				return err
			}
			shown += n
		}
		select {
		case spare <- b.out[:0]:
		default:
		}
		if o.Count > 0 && shown >= o.Count {
			cancel()
			return nil
		}
		if b.err != nil {
			cancel()
			return b.err
		}
	}
	return nil
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
				const maxInput = 1 << 20
				b, err := io.ReadAll(io.LimitReader(opts.IO.In, maxInput+1))
				if err != nil {
					return fmt.Errorf("read standard input: %w", err)
				}
				if len(b) > maxInput {
					return flagErrorf("standard input is longer than %d bytes; decode takes one message as hex", maxInput)
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
