package cli

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/grandcat/zeroconf"
	"github.com/spf13/cobra"

	"github.com/bonjourctl/bonjourctl/advertise"
	"github.com/bonjourctl/bonjourctl/avahi"
	"github.com/bonjourctl/bonjourctl/doctor"
	"github.com/bonjourctl/bonjourctl/internal/dump"
	"github.com/bonjourctl/bonjourctl/internal/iostreams"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/txt"
)

type advertiseOptions struct {
	IO     *iostreams.IOStreams
	Listen func(context.Context, mdns.Config) (Link, error)
	Global *globalOptions

	Instance string
	Type     string
	Port     uint16
	TXT      []string
	TXTHex   string
	TXTFile  string
	Subtypes []string
	Host     string
	IPs      []string
	Domain   string
	TTLHost  uint32
	TTLOther uint32
	Duration time.Duration
	Force    bool
	Raw      []string
	Engine   string
	// The DNS plane (--domain other than local): DNS UPDATE.
	Servers     []string
	TSIG        string
	TSIGFile    string
	Lease       time.Duration
	PrintZone   bool
	ttlOtherSet bool

	Notify         func(c chan<- os.Signal, sig ...os.Signal)
	StopNotify     func(c chan<- os.Signal)
	InterfaceAddrs func(net.Interface) []netip.Addr
	LocalStack     func() string
	Started        time.Time
}

var rawFaults = map[string]func(*advertise.Faults){
	"zero-length-txt": func(f *advertise.Faults) { f.ZeroLengthTXT = true },
	"no-probe":        func(f *advertise.Faults) { f.NoProbe = true },
	"no-cache-flush":  func(f *advertise.Faults) { f.NoCacheFlush = true },
	"no-goodbye":      func(f *advertise.Faults) { f.NoGoodbye = true },
	"flush-shared":    func(f *advertise.Faults) { f.FlushShared = true },
	"aa-in-queries":   func(f *advertise.Faults) { f.AAInQueries = true },
	"fast-announce":   func(f *advertise.Faults) { f.FastAnnounce = true },
	"no-additionals":  func(f *advertise.Faults) { f.NoAdditionals = true },
	"legacy-flush":    func(f *advertise.Faults) { f.LegacyFlush = true },
}

func newCmdAdvertise(f *Factory, g *globalOptions) *cobra.Command {
	opts := &advertiseOptions{IO: f.IOStreams, Listen: f.Listen, Global: g, Notify: f.Notify, StopNotify: f.StopNotify, InterfaceAddrs: f.InterfaceAddrs}
	if opts.InterfaceAddrs == nil {
		opts.InterfaceAddrs = advertise.InterfaceAddrs
	}
	opts.LocalStack = f.LocalStack
	opts.Started = f.Started
	if opts.LocalStack == nil {
		opts.LocalStack = otherStacks
	}
	cmd := &cobra.Command{
		Use:   "advertise NAME TYPE PORT",
		Short: "Publish a DNS-SD service the way RFC 6762 and 6763 say, and report what happens",
		Long: `Advertise publishes a service as a conformant multicast DNS responder: it prints
the records and the TXT bytes (linted) first, then probes (3 probes 250 ms
apart), renames on conflicts ("NAME (2)"), announces twice, answers queries
(saying who asked and what was sent), re-announces TXT changes and sends
goodbyes (TTL 0) on Ctrl-C, SIGTERM or --duration.

TXT: --txt key=value (repeatable, in order; key:hex=.. for bytes), --txt-hex
for raw RDATA, or --txt-file (key=value lines, re-read when it changes or on
SIGHUP). Lines typed on standard input as "txt key=value flag" replace the TXT
record live.

--raw FAULT (repeatable) makes it wrong on purpose, for testing clients:
zero-length-txt, no-probe, no-cache-flush, no-goodbye, flush-shared,
aa-in-queries, fast-announce, no-additionals, legacy-flush (and --ttl-host,
--ttl-other for wrong TTLs).

--domain DOMAIN (other than local) registers in a unicast DNS zone instead,
by one DNS UPDATE to --server (signed with --tsig NAME:ALG:SECRET or
--tsig-file), renamed on conflicts, TXT changes sent as updates, deleted
on exit; --print-zone prints the records as zone-file lines and sends
nothing.

--engine grandcat publishes through github.com/grandcat/zeroconf instead, to
reproduce what an app built on it puts on the wire; --engine avahi (Linux)
registers the service with avahi-daemon over D-Bus, as a Linux app does, so
you see what the system's own stack sends for the same service.`,
		Example: `  bonjourctl advertise "Node 1" _p2p._tcp 4001 --txt key=value
  bonjourctl advertise printer _ipp._tcp 631 --subtype _universal --txt rp=ipp/print
  bonjourctl advertise cam _rtsp._tcp 554 --host cam.local --ip 10.0.0.9
  bonjourctl advertise test _p2p._tcp 4001 --raw zero-length-txt --raw no-probe`,
		Args: positional(cobra.ExactArgs(3)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Instance, opts.Type = args[0], args[1]
			if opts.Instance == "" || len(opts.Instance) > 63 {
				return flagErrorf("instance name must be 1-63 bytes, got %d", len(opts.Instance))
			}
			t := strings.TrimSuffix(strings.TrimSuffix(opts.Type, "."), ".local")
			if !strings.HasSuffix(t, "._tcp") && !strings.HasSuffix(t, "._udp") || !strings.HasPrefix(t, "_") {
				return flagErrorf("argument 2 (%q) is not a service type like _p2p._tcp", args[1])
			}
			opts.Type = t
			port, err := strconv.ParseUint(args[2], 10, 16)
			if err != nil {
				return flagErrorf("argument 3 (%q) is not a port number (0-65535)", args[2])
			}
			opts.Port = uint16(port)
			wide := !isLocalDomain(opts.Domain)
			if len(opts.IPs) > 0 && opts.Host == "" && !wide {
				return flagErrorf("--ip needs --host (the name the addresses belong to)")
			}
			opts.ttlOtherSet = cmd.Flags().Changed("ttl-other")
			if err := opts.checkWide(wide); err != nil {
				return err
			}
			for _, r := range opts.Raw {
				if rawFaults[r] == nil {
					return flagErrorf("unknown --raw fault %q", r)
				}
			}
			switch opts.Engine {
			case "bonjourctl", "grandcat":
			case "avahi":
				if runtime.GOOS != "linux" {
					return flagErrorf("--engine avahi publishes through avahi-daemon, which runs on Linux")
				}
				if len(opts.Raw) > 0 {
					return flagErrorf("--raw faults are bonjourctl's own; avahi-daemon publishes conformantly")
				}
				if len(g.Interfaces) > 1 {
					return flagErrorf("--engine avahi publishes on one interface (-i) or all of them")
				}
			default:
				return flagErrorf("--engine must be bonjourctl, grandcat or avahi, not %q", opts.Engine)
			}
			n := 0
			for _, set := range []bool{len(opts.TXT) > 0, opts.TXTHex != "", opts.TXTFile != ""} {
				if set {
					n++
				}
			}
			if n > 1 {
				return flagErrorf("give the TXT record one way: --txt, --txt-hex or --txt-file")
			}
			return advertiseRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.TXT, "txt", nil, "TXT `key=value` (repeatable, in order; flag alone for a boolean; key:hex=.. for bytes)")
	fl.StringVar(&opts.TXTHex, "txt-hex", "", "TXT RDATA as `hex`, exactly")
	fl.StringVar(&opts.TXTFile, "txt-file", "", "Read TXT key=value lines from `file`; re-read on change or SIGHUP")
	fl.StringArrayVar(&opts.Subtypes, "subtype", nil, "Also publish under this `subtype` (e.g. _printer)")
	fl.StringVar(&opts.Host, "host", "", "Target `host` name (default: this machine's name)")
	fl.StringArrayVar(&opts.IPs, "ip", nil, "Publish this `address` for --host (repeatable; a proxy, like dns-sd -P)")
	fl.StringVar(&opts.Domain, "domain", "local", "Domain")
	fl.Uint32Var(&opts.TTLHost, "ttl-host", 120, "TTL of SRV, A and AAAA records in `seconds`")
	fl.Uint32Var(&opts.TTLOther, "ttl-other", 4500, "TTL of PTR and TXT records in `seconds`")
	fl.DurationVarP(&opts.Duration, "duration", "d", 0, "Stop (with goodbyes) after this `duration`")
	fl.BoolVar(&opts.Force, "force", false, "Publish even when the TXT record has lint errors")
	fl.StringArrayVar(&opts.Raw, "raw", nil, "Deliberate `fault` (repeatable): "+strings.Join(rawNames(), ", "))
	fl.StringVar(&opts.Engine, "engine", "bonjourctl", "Responder: bonjourctl, grandcat (github.com/grandcat/zeroconf) or avahi (avahi-daemon over D-Bus, Linux)")
	fl.StringArrayVar(&opts.Servers, "server", nil, "With --domain: send the DNS UPDATE to this `server` (the zone's primary; address or address:port)")
	fl.StringVar(&opts.TSIG, "tsig", "", "With --domain: sign updates with this TSIG key, `NAME:ALGORITHM:SECRET` (secret in base64)")
	fl.StringVar(&opts.TSIGFile, "tsig-file", "", "With --domain: read the TSIG key from this `file` (BIND key-file format, as tsig-keygen writes)")
	fl.DurationVar(&opts.Lease, "lease", 0, "With --domain: ask for this update `lease` (EDNS0 Update Lease) and refresh at 80% of it")
	fl.BoolVar(&opts.PrintZone, "print-zone", false, "Print the records as zone-file lines (like dns-sd -Z) and exit without publishing")
	return cmd
}

func rawNames() []string {
	return []string{"zero-length-txt", "no-probe", "no-cache-flush", "no-goodbye", "flush-shared", "aa-in-queries", "fast-announce", "no-additionals", "legacy-flush"}
}

// maxTXTFile bounds a --txt-file: a TXT record is at most 65535 bytes,
// one line per string at most doubles that.
const maxTXTFile = 256 << 10

// txtFromLines reads key=value lines (blank lines and # comments skipped).
func txtFromLines(s string) ([]byte, error) {
	var pairs []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		pairs = append(pairs, l)
	}
	return pairsToRData(pairs)
}

func pairsToRData(pairs []string) ([]byte, error) {
	rec, err := txt.FromPairs(pairs)
	if err != nil {
		return nil, err
	}
	if len(rec.Strings) == 0 {
		return nil, nil // the responder publishes the legal empty record
	}
	return txt.Encode(rec)
}

func (o *advertiseOptions) initialTXT() ([]byte, error) {
	switch {
	case o.TXTHex != "":
		b, err := txt.DecodeHex(o.TXTHex)
		if err != nil {
			return nil, flagErrorf("--txt-hex: %v", err)
		}
		return b, nil
	case o.TXTFile != "":
		b, err := readFileAtMost(o.TXTFile, maxTXTFile)
		if err != nil {
			return nil, flagErrorf("--txt-file: %v", err)
		}
		r, err := txtFromLines(string(b))
		if err != nil {
			return nil, flagErrorf("--txt-file %s: %v", o.TXTFile, err)
		}
		return r, nil
	}
	r, err := pairsToRData(o.TXT)
	if err != nil {
		var ie *txt.InputError
		if errors.As(err, &ie) {
			return nil, flagErrorf("--txt %d (%q), position %d: %s", ie.Arg+1, short(o.TXT[ie.Arg]), ie.Pos, ie.Reason)
		}
		return nil, &FlagError{err}
	}
	return r, nil
}

func defaultHost() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "bonjourctl"
	}
	h, _, _ = strings.Cut(h, ".")
	return h + ".local."
}

func advertiseRun(ctx context.Context, o *advertiseOptions) error {
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	rdata, err := o.initialTXT()
	if err != nil {
		return err
	}
	var faults advertise.Faults
	for _, r := range o.Raw {
		rawFaults[r](&faults)
	}
	svc := advertise.Service{
		Instance: o.Instance, Type: o.Type, Domain: o.Domain, Port: o.Port, TXT: rdata,
		Subtypes: o.Subtypes, Host: o.Host, TTLHost: o.TTLHost, TTLOther: o.TTLOther,
	}
	if svc.Host == "" {
		svc.Host = defaultHost()
	} else if !strings.HasSuffix(strings.TrimSuffix(svc.Host, "."), ".local") {
		svc.Host = strings.TrimSuffix(svc.Host, ".") + ".local."
	}
	for i, s := range o.IPs {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return flagErrorf("--ip %d (%q) is not an IP address", i+1, s)
		}
		svc.Addrs = append(svc.Addrs, a)
	}
	w := bufio.NewWriter(o.IO.Out)
	defer w.Flush()
	out := &advertisePrinter{w: w, json: o.Global.JSON, zone: o.PrintZone}

	// The TXT record first: what will be on the wire, and whether it is right.
	wire := rdata
	if len(wire) == 0 && !faults.ZeroLengthTXT {
		wire = []byte{0}
	}
	findings := txt.Lint(wire)
	out.info("txt", fmt.Sprintf("TXT RDATA %d bytes: %s  %s", len(wire), orNone(hex.EncodeToString(wire)), dump.TXTText(wire)))
	for _, f := range findings {
		out.info("lint", f.String())
	}
	if sev, ok := txt.MaxSeverity(findings); ok && sev == txt.Error && !o.Force && !faults.ZeroLengthTXT {
		w.Flush()
		return errors.New("the TXT record has lint errors (above); fix them, or pass --force to publish it anyway")
	}
	if o.PrintZone || !isLocalDomain(o.Domain) {
		return advertiseWide(ctx, o, wire, out)
	}
	if o.Engine == "avahi" {
		return advertiseAvahi(ctx, o, svc, out)
	}
	if o.Engine == "grandcat" {
		return advertiseGrandcat(ctx, o, svc, out)
	}

	cfg := o.Global.mdnsConfig()
	cfg.Unicast = true // legacy queries and QU questions get unicast answers from port 5353
	link, err := listen(ctx, o.Listen, cfg)
	if err != nil {
		return err
	}
	defer link.Close()
	var addrs []netip.Addr
	for _, ifi := range link.Interfaces() {
		if len(svc.Addrs) > 0 {
			break
		}
		addrs = append(addrs, o.InterfaceAddrs(ifi)...)
	}
	if len(svc.Addrs) > 0 {
		addrs = svc.Addrs
	}
	for _, l := range advertise.Describe(&svc, addrs, faults) {
		out.info("record", l)
	}
	if len(o.Raw) > 0 {
		out.info("raw", "deliberate faults: "+strings.Join(o.Raw, ", "))
	}
	w.Flush()

	resp := advertise.New(link, svc, advertise.Config{Faults: faults, InterfaceAddrs: o.InterfaceAddrs,
		// The machine's own name belongs to its own mDNS stack when one
		// runs; --host and --ip publish a name as given (a proxy).
		YieldHost:  o.Host == "" && len(o.IPs) == 0,
		LocalStack: o.LocalStack,
		Started:    o.Started,
	})
	var wg sync.WaitGroup
	defer wg.Wait()
	uctx, stopUpdates := context.WithCancel(ctx)
	defer stopUpdates()
	wg.Add(1)
	go func() {
		defer wg.Done()
		watchTXT(uctx, o, resp.SetTXT, out)
	}()
	var mu sync.Mutex
	err = resp.Run(ctx, func(ev advertise.Event) error {
		mu.Lock()
		defer mu.Unlock()
		return out.event(ev)
	})
	stopUpdates()
	if st := resp.Stats(); st.EventsDropped > 0 || st.SendErrors > 0 || st.PacketsLost > 0 {
		fmt.Fprintf(o.IO.ErrOut, "%d sends failed (last: %v), %d events not printed (the output was too slow), %d packets dropped by bonjourctl\n", st.SendErrors, st.LastSendError, st.EventsDropped, st.PacketsLost)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// watchTXT feeds TXT updates from standard input lines ("txt k=v flag"),
// from --txt-file changes, and SIGHUP.
func watchTXT(ctx context.Context, o *advertiseOptions, setTXT func([]byte), out *advertisePrinter) {
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(o.IO.In)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	hup := make(chan os.Signal, 1)
	if o.Notify != nil {
		o.Notify(hup, syscall.SIGHUP)
		defer o.StopNotify(hup)
	}
	var mtime time.Time
	if o.TXTFile != "" {
		if st, err := os.Stat(o.TXTFile); err == nil {
			mtime = st.ModTime()
		}
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	reload := func() {
		b, err := readFileAtMost(o.TXTFile, maxTXTFile)
		if err != nil {
			out.info("error", "--txt-file: "+err.Error())
			return
		}
		rd, err := txtFromLines(string(b))
		if err != nil {
			out.info("error", "--txt-file: "+err.Error())
			return
		}
		setTXT(rd)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case l := <-lines:
			f := strings.Fields(l)
			if len(f) == 0 {
				continue
			}
			if f[0] != "txt" {
				out.info("error", fmt.Sprintf("unknown input %q (type: txt key=value flag ...)", short(l)))
				continue
			}
			rd, err := pairsToRData(f[1:])
			if err != nil {
				out.info("error", "txt: "+err.Error())
				continue
			}
			setTXT(rd)
		case <-hup:
			if o.TXTFile != "" {
				reload()
			}
		case <-tick.C:
			if o.TXTFile == "" {
				continue
			}
			if st, err := os.Stat(o.TXTFile); err == nil && !st.ModTime().Equal(mtime) {
				mtime = st.ModTime()
				reload()
			}
		}
	}
}

// advertisePrinter writes the responder's events as lines or JSON.
type advertisePrinter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	json bool
	// zone: info lines are zone-file comments (--print-zone output stays
	// a loadable zone).
	zone bool
}

type advertiseEventJSON struct {
	Event     string   `json:"event"`
	Time      string   `json:"time"`
	Name      string   `json:"name,omitempty"`
	Detail    string   `json:"detail,omitempty"`
	From      string   `json:"from,omitempty"`
	Interface string   `json:"interface,omitempty"`
	Questions []string `json:"questions,omitempty"`
	Records   []string `json:"records,omitempty"`
	Unicast   bool     `json:"unicast,omitempty"`
	Legacy    bool     `json:"legacy,omitempty"`
}

func (p *advertisePrinter) info(kind, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.zone:
		fmt.Fprintf(p.w, "; %s  %s\n", kind, text)
	case p.json:
		_ = json.NewEncoder(p.w).Encode(advertiseEventJSON{Event: kind, Time: time.Now().UTC().Format(time.RFC3339Nano), Detail: text})
	default:
		fmt.Fprintf(p.w, "%s  %s\n", kind, text)
	}
	p.w.Flush()
}

func (p *advertisePrinter) event(ev advertise.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.w.Flush()
	if p.json {
		j := advertiseEventJSON{Event: string(ev.Kind), Time: ev.At.UTC().Format(time.RFC3339Nano), Name: ev.Name, Detail: ev.Detail,
			Interface: ev.Interface, Questions: ev.Questions, Records: ev.Records, Unicast: ev.Unicast, Legacy: ev.Legacy}
		if ev.From.IsValid() {
			j.From = ev.From.String()
		}
		return json.NewEncoder(p.w).Encode(j)
	}
	ts := ev.At.Format("15:04:05.000")
	switch ev.Kind {
	case advertise.Answered, advertise.Defended:
		how := "multicast"
		switch {
		case ev.Legacy:
			how = "legacy unicast"
		case ev.Unicast:
			how = "unicast"
		}
		_, err := fmt.Fprintf(p.w, "%s  %s  %s from %s on %s (%s): %s\n", ts, ev.Kind, strings.Join(ev.Questions, ", "), ev.From, ev.Interface, how, strings.Join(ev.Records, ", "))
		return err
	case advertise.Conflict:
		_, err := fmt.Fprintf(p.w, "%s  conflict  %s (from %s on %s: %s)\n", ts, ev.Detail, ev.From, ev.Interface, ev.Source)
		return err
	default:
		_, err := fmt.Fprintf(p.w, "%s  %s  %s  %s\n", ts, ev.Kind, ev.Name, ev.Detail)
		return err
	}
}

// advertiseGrandcat publishes through github.com/grandcat/zeroconf.
func advertiseGrandcat(ctx context.Context, o *advertiseOptions, svc advertise.Service, out *advertisePrinter) error {
	for _, d := range []string{
		"an empty TXT goes on the wire as zero-length RDATA (illegal, RFC 6763 §6.1)",
		"probes twice, 40 ms apart, with PTR questions (RFC 6762 §8.1: 3 probes 250 ms apart, type ANY)",
		"never resolves name conflicts",
		"TTL 3200 on every record (RFC 6762 §10: 120 s for SRV/A/AAAA, 4500 s for PTR/TXT)",
		"does not answer A/AAAA queries for its host name",
		"TXT strings are Go strings: binary values and string order are what the library makes of them",
	} {
		out.info("deviation", d)
	}
	rec, _ := txt.Parse(svc.TXT)
	var strs []string
	for _, s := range rec.Strings {
		strs = append(strs, string(s))
	}
	var ifaces []net.Interface
	for _, name := range o.Global.Interfaces {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			return fmt.Errorf("interface %s: %w", name, err)
		}
		ifaces = append(ifaces, *ifi)
	}
	var (
		server *zeroconf.Server
		err    error
	)
	if len(svc.Addrs) > 0 {
		ips := make([]string, len(svc.Addrs))
		for i, a := range svc.Addrs {
			ips[i] = a.String()
		}
		server, err = zeroconf.RegisterProxy(svc.Instance, svc.Type, svc.Domain, int(svc.Port), strings.TrimSuffix(strings.TrimSuffix(svc.Host, "."), ".local"), ips, strs, ifaces)
	} else {
		server, err = zeroconf.Register(svc.Instance, svc.Type, svc.Domain, int(svc.Port), strs, ifaces)
	}
	if err != nil {
		return fmt.Errorf("grandcat/zeroconf: %w", err)
	}
	out.info("published", "through github.com/grandcat/zeroconf; Ctrl-C to stop")
	<-ctx.Done()
	server.Shutdown()
	out.info("goodbye", "grandcat/zeroconf shut down (it sends its own goodbyes)")
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil
	}
	return ctx.Err()
}

// otherStacks names the other processes on this host holding UDP 5353
// (avahi-daemon, mDNSResponder...), where the system says; "" for none.
func otherStacks() string {
	holders, _ := doctor.PortHolders(mdns.Port)
	var out []string
	for _, h := range holders {
		if h.PID == os.Getpid() {
			continue
		}
		s := fmt.Sprintf("%s (pid %d)", txt.EscapeUTF8([]byte(h.Command)), h.PID)
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return strings.Join(out, ", ")
}

// advertiseAvahi registers the service with avahi-daemon over D-Bus.
func advertiseAvahi(ctx context.Context, o *advertiseOptions, svc advertise.Service, out *advertisePrinter) error {
	strs, err := avahiTXT(svc.TXT)
	if err != nil {
		return err
	}
	as := avahi.Service{Instance: svc.Instance, Type: svc.Type, Port: svc.Port, TXT: strs, Subtypes: svc.Subtypes}
	if d := strings.TrimSuffix(svc.Domain, "."); d != "" && d != "local" {
		as.Domain = d
	}
	if o.Host != "" {
		as.Host = strings.TrimSuffix(svc.Host, ".") // a proxy: the name given
	}
	if len(o.Global.Interfaces) == 1 {
		ifi, err := net.InterfaceByName(o.Global.Interfaces[0])
		if err != nil {
			return &FlagError{fmt.Errorf("-i: %w", err)}
		}
		as.IfIndex = ifi.Index
	}
	switch {
	case o.Global.IPv4:
		as.Family = 4
	case o.Global.IPv6:
		as.Family = 6
	}
	emit := func(ev avahi.Event) { out.info(string(ev.Kind), ev.Detail) }
	pub, err := avahi.Publish(ctx, as, emit)
	if err != nil {
		return err
	}
	uctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		watchTXT(uctx, o, func(rdata []byte) {
			s, err := avahiTXT(rdata)
			if err == nil {
				err = pub.SetTXT(uctx, s)
			}
			if err != nil {
				out.info("error", err.Error())
				return
			}
			out.info(string(avahi.TXTUpdated), "new TXT: "+dump.TXTText(rdata))
		}, out)
	}()
	err = pub.Run(ctx, emit)
	stop()
	wg.Wait()
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// avahiTXT turns TXT RDATA into the strings avahi-daemon takes; it cannot
// publish an empty string beside others, nor zero-length RDATA.
func avahiTXT(rdata []byte) ([][]byte, error) {
	if len(rdata) == 0 {
		return nil, nil // avahi-daemon publishes the legal empty record (00)
	}
	rec, err := txt.Parse(rdata)
	if err != nil {
		return nil, fmt.Errorf("the TXT record does not parse: %w", err)
	}
	if rec.IsEmpty() {
		return nil, nil
	}
	for i, s := range rec.Strings {
		if len(s) == 0 {
			return nil, fmt.Errorf("avahi-daemon refuses an empty string among others in a TXT record (string %d); leave it out, or use --engine bonjourctl", i+1)
		}
	}
	return rec.Strings, nil
}
