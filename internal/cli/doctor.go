package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/bonjourctl/bonjourctl/advertise"
	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/doctor"
	"github.com/bonjourctl/bonjourctl/internal/iostreams"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/txt"
)

type doctorOptions struct {
	IO       *iostreams.IOStreams
	Listen   func(context.Context, mdns.Config) (*mdns.Conn, error)
	Global   *globalOptions
	Instance string
	Type     string
	Wait     time.Duration
}

func newCmdDoctor(f *Factory, g *globalOptions) *cobra.Command {
	opts := &doctorOptions{IO: f.IOStreams, Listen: f.Listen, Global: g}
	cmd := &cobra.Command{
		Use:   "doctor [[INSTANCE] TYPE]",
		Short: "Explain why a service or its TXT data is not seen",
		Long: `Doctor checks the machine (interfaces, port 5353, a loop test that advertises a
temporary service and watches it come back on each interface, what is heard
on the link), then, given a service type (and optionally an instance), whether
it is announced, whether it answers PTR, SRV, TXT and address questions (QM and
QU), and exactly what its TXT record holds. It ends with platform hints: what
Apple's NWBrowser needs to deliver TXT metadata, and the Info.plist keys.

Output: a short verdict first, then pass/warn/fail lines with the reason and
the RFC section or platform document. Exit 1 when anything fails.`,
		Example: `  bonjourctl doctor
  bonjourctl doctor _p2p._tcp
  bonjourctl doctor "Node 1" _p2p._tcp`,
		Args: positional(cobra.MaximumNArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch len(args) {
			case 1:
				opts.Type = args[0]
			case 2:
				opts.Instance, opts.Type = args[0], args[1]
			}
			if opts.Type != "" && !strings.Contains(opts.Type, "._tcp") && !strings.Contains(opts.Type, "._udp") {
				return flagErrorf("%q is not a service type like _p2p._tcp", opts.Type)
			}
			return doctorRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().DurationVar(&opts.Wait, "wait", 3*time.Second, "How `long` to listen in each step")
	return cmd
}

// doctorLine is one pass/warn/fail line.
type doctorLine struct {
	Level  string `json:"level"` // pass, warn, fail, info
	Topic  string `json:"topic"`
	Reason string `json:"reason"`
	Ref    string `json:"ref,omitempty"`
}

type doctorReport struct {
	Verdict string       `json:"verdict"`
	Lines   []doctorLine `json:"lines"`
	Plist   string       `json:"infoPlist,omitempty"`
}

func (r *doctorReport) add(level, topic, ref, format string, args ...any) {
	r.Lines = append(r.Lines, doctorLine{Level: level, Topic: topic, Reason: fmt.Sprintf(format, args...), Ref: ref})
}

func doctorRun(ctx context.Context, o *doctorOptions) error {
	rep := &doctorReport{}
	verdicts := []string{}

	// 1. Interfaces.
	ifaces, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("list interfaces: %w", err)
	}
	usable := 0
	for _, ifi := range ifaces {
		if len(o.Global.Interfaces) > 0 && !contains(o.Global.Interfaces, ifi.Name) {
			continue
		}
		kind := doctor.Classify(ifi.Name, ifi.Flags)
		addrs := advertise.InterfaceAddrs(ifi)
		as := make([]string, len(addrs))
		for i, a := range addrs {
			as[i] = a.String()
		}
		desc := fmt.Sprintf("%s: %s, addresses %s", ifi.Name, kind, orNone(strings.Join(as, " ")))
		switch kind {
		case doctor.KindPhysical, doctor.KindVirtual:
			usable++
			rep.add("pass", "interface", "RFC 6762 §3", "%s; mDNS works here", desc)
		case doctor.KindBridge:
			usable++
			rep.add("warn", "interface", "", "%s; mDNS stays inside this bridge: peers on the LAN will not see services on it, nor it theirs", desc)
		case doctor.KindTunnel:
			rep.add("warn", "interface", "", "%s; most VPNs and tunnels do not carry multicast: mDNS does not cross them", desc)
		case doctor.KindLoopback:
			rep.add("info", "interface", "", "%s; not used for mDNS", desc)
		default:
			rep.add("warn", "interface", "RFC 6762 §3", "%s; cannot carry mDNS", desc)
		}
	}
	if usable == 0 {
		rep.add("fail", "interface", "RFC 6762 §3", "no interface is up and multicast-capable: nothing can be discovered")
		verdicts = append(verdicts, "no usable interface")
	}

	// 2. Port 5353.
	holders, known := doctor.PortHolders(mdns.Port)
	var hs []string
	for _, h := range holders {
		hs = append(hs, fmt.Sprintf("%s (pid %d)", h.Command, h.PID))
	}
	conn, err := o.Listen(ctx, o.Global.mdnsConfig())
	if err != nil {
		rep.add("fail", "port 5353", "RFC 6762 §15", "cannot listen on UDP 5353 beside the other stacks: %v (holders: %s)", err, orNone(strings.Join(hs, ", ")))
		return writeDoctor(o, rep, append(verdicts, "cannot use port 5353"))
	}
	defer conn.Close()
	switch {
	case len(hs) > 0:
		rep.add("pass", "port 5353", "RFC 6762 §15", "bound UDP 5353 beside %s (address reuse works)", strings.Join(hs, ", "))
	case known:
		rep.add("pass", "port 5353", "RFC 6762 §15", "bound UDP 5353; no other mDNS stack holds it on this host")
	default:
		rep.add("pass", "port 5353", "RFC 6762 §15", "bound UDP 5353 (this system does not say who else holds it)")
	}

	// 3. Loop test and what is heard on the link.
	loop := loopTest(ctx, o, conn, rep)
	if loop != "" {
		verdicts = append(verdicts, loop)
	}

	// 4. The service.
	if o.Type != "" {
		verdicts = append(verdicts, doctorService(ctx, o, conn, rep)...)
	}
	return writeDoctor(o, rep, verdicts)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// loopTest advertises a temporary service on a second socket and watches
// for its announcement through conn on every interface; meanwhile it counts
// what else is heard.
func loopTest(ctx context.Context, o *doctorOptions, conn *mdns.Conn, rep *doctorReport) string {
	pub, err := o.Listen(ctx, o.Global.mdnsConfig())
	if err != nil {
		rep.add("fail", "loop test", "", "cannot open a second mDNS socket: %v", err)
		return "loop test failed"
	}
	name := fmt.Sprintf("bonjourctl-doctor-%04x", rand.IntN(0xffff))
	svc := advertise.Service{Instance: name, Type: "_bonjourctl-doctor._udp", Port: 9, Host: name + ".local."}
	lctx, cancel := context.WithTimeout(ctx, o.Wait+1500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = advertise.New(pub, svc, advertise.Config{}).Run(lctx, func(advertise.Event) error { return nil })
		pub.Close()
	}()
	seenOn := map[string]bool{}
	sources := map[string]int{}
	ours := strings.ToLower(name)
	packets := 0
	for {
		p, err := conn.Recv(lctx)
		if err != nil {
			break
		}
		m, perr := mdns.Parse(p.Raw)
		if perr == nil && strings.Contains(strings.ToLower(string(p.Raw)), ours) {
			if m.Response() {
				seenOn[fmt.Sprintf("%s IPv%d", p.IfName, p.Family())] = true
			}
			continue
		}
		packets++
		sources[p.Src.Addr().WithZone("").String()]++
	}
	cancel()
	wg.Wait()
	var fams []string
	for _, ifi := range conn.Interfaces() {
		for _, fam := range []int{4, 6} {
			if (fam == 4 && !conn.IPv4()) || (fam == 6 && !conn.IPv6()) {
				continue
			}
			k := fmt.Sprintf("%s IPv%d", ifi.Name, fam)
			if seenOn[k] {
				fams = append(fams, k)
			} else if fam == 6 && !hasV6(ifi) || fam == 4 && !hasV4(ifi) {
				continue
			} else {
				rep.add("fail", "loop test", "RFC 6762 §3", "a service advertised here was not seen back on %s: multicast does not loop on this interface (firewall, or the interface drops multicast)", k)
			}
		}
	}
	verdict := ""
	if len(fams) > 0 {
		rep.add("pass", "loop test", "", "advertised %s and saw it come back on %s", name, strings.Join(fams, ", "))
	} else {
		verdict = "multicast does not work on this host"
	}
	if packets == 0 {
		rep.add("warn", "link", "", "heard no other mDNS packet in %v: no other device is talking, or multicast from the LAN does not reach this host (Wi-Fi isolation, a firewall, IGMP snooping)", o.Wait+1500*time.Millisecond)
	} else {
		var srcs []string
		for s, n := range sources {
			srcs = append(srcs, fmt.Sprintf("%s (%d)", s, n))
		}
		sort.Strings(srcs)
		rep.add("pass", "link", "", "heard %d mDNS packets from %d other sources: %s", packets, len(sources), strings.Join(srcs, ", "))
	}
	return verdict
}

func hasV4(ifi net.Interface) bool {
	for _, a := range advertise.InterfaceAddrs(ifi) {
		if a.Is4() {
			return true
		}
	}
	return false
}

func hasV6(ifi net.Interface) bool {
	for _, a := range advertise.InterfaceAddrs(ifi) {
		if a.Is6() {
			return true
		}
	}
	return false
}

// doctorService browses for the type, picks the instance and asks it every
// question QM and QU, then reports its TXT record.
func doctorService(ctx context.Context, o *doctorOptions, conn *mdns.Conn, rep *doctorReport) []string {
	typeName := fqdnName(o.Type)
	short := strings.TrimSuffix(strings.TrimSuffix(typeName, "."), ".local")
	bctx, cancel := context.WithTimeout(ctx, o.Wait)
	found := map[string]browse.Service{}
	_ = browse.New(conn, browse.Config{}).Run(bctx, []string{short}, func(ev browse.Event) error {
		if ev.Kind == browse.Removed {
			delete(found, strings.ToLower(ev.Service.Instance))
		} else {
			found[strings.ToLower(ev.Service.Instance)] = ev.Service
		}
		return nil
	})
	cancel()
	rep.Plist = infoPlist(short)
	rep.add("info", "apple", "Apple: NWBrowser, Bonjour descriptors", "NWBrowser returns TXT metadata only when browsing with .bonjourWithTXTRecord(type: %q, domain: nil) (includeTxtRecord: true in the iOS/macOS 26 API; nw_browse_descriptor_set_include_txt_record in C); later TXT changes arrive as .changed results with metadataChanged", short)
	rep.add("info", "apple", "Apple: TN3179 Understanding local network privacy", "the app's Info.plist needs NSBonjourServices listing %s and an NSLocalNetworkUsageDescription; a browse that waits with -65570 means local network access was denied; dns-sd in Terminal is allowed where the app may not be", short)
	var s browse.Service
	if o.Instance != "" {
		var ok bool
		if s, ok = found[strings.ToLower(o.Instance)]; !ok {
			names := make([]string, 0, len(found))
			for _, f := range found {
				names = append(names, txt.Escape([]byte(f.Instance)))
			}
			rep.add("fail", "announced", "RFC 6763 §4", "no instance %q of %s answered a browse in %v (seen: %s)", o.Instance, short, o.Wait, orNone(strings.Join(names, ", ")))
			return []string{fmt.Sprintf("%s is not announced", o.Instance)}
		}
	} else {
		if len(found) == 0 {
			rep.add("fail", "announced", "RFC 6763 §4", "no instance of %s answered a browse in %v", short, o.Wait)
			return []string{fmt.Sprintf("no %s service is announced", short)}
		}
		keys := make([]string, 0, len(found))
		for k := range found {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		s = found[keys[0]]
		if len(keys) > 1 {
			rep.add("info", "announced", "", "%d instances of %s; examining %q (name one to choose)", len(keys), short, s.Instance)
		}
	}
	rep.add("pass", "announced", "RFC 6763 §4", "%q answers PTR questions for %s (host %s, port %d)", txt.Escape([]byte(s.Instance)), short, mdns.EscapeText(s.Host), s.Port)

	// Direct questions, QM and QU.
	for _, qu := range []bool{false, true} {
		mode := map[bool]string{false: "QM", true: "QU"}[qu]
		var missing []string
		for _, q := range []struct {
			name string
			typ  uint16
		}{{typeName, mdns.TypePTR}, {s.Name, mdns.TypeSRV}, {s.Name, mdns.TypeTXT}, {s.Host, mdns.TypeA}} {
			if !askOnce(ctx, conn, q.name, q.typ, qu) {
				missing = append(missing, mdns.TypeString(q.typ))
			}
		}
		if len(missing) == 0 {
			rep.add("pass", "answers", "RFC 6762 §6", "answers PTR, SRV, TXT and A questions (%s)", mode)
		} else {
			rep.add("warn", "answers", "RFC 6762 §6", "no answer to %s questions for %s (a responder stays silent for a second after multicasting a record; run again to confirm)", mode, strings.Join(missing, ", "))
		}
		time.Sleep(1100 * time.Millisecond) // RFC 6762 §6: no repeat within one second
	}

	// The TXT record.
	from := ""
	for _, r := range s.Records {
		if r.Type == mdns.TypeTXT {
			from = fmt.Sprintf("from %s on %s", r.Src.Addr(), r.IfName)
		}
	}
	var verdict string
	switch s.TXTState {
	case browse.TXTMissing:
		rep.add("fail", "txt", "RFC 6763 §6", "no TXT record seen for %q: browsers get the service without metadata; the responder must publish a TXT record (the byte 00 when empty)", s.Instance)
		verdict = "TXT record is missing"
	case browse.TXTZeroLength:
		rep.add("fail", "txt", "RFC 6763 §6.1", "the TXT record is zero-length RDATA %s: illegal; many browsers (NWBrowser among them) report no metadata. Publish at least one string, or the byte 00", from)
		verdict = "TXT record is zero-length (illegal)"
	default:
		rec := s.TXT
		verdict = fmt.Sprintf("TXT record is on the wire (%d strings, %d bytes, %s)", len(rec.Strings), len(s.TXTRaw), from)
		if len(rec.Strings) == 1 {
			verdict = strings.Replace(verdict, "1 strings", "1 string", 1)
		}
		rep.add("pass", "txt", "RFC 6763 §6", "%s: %s", verdict, mdns.TXTText(s.TXTRaw))
		for _, f := range txt.Lint(s.TXTRaw) {
			lvl := map[txt.Severity]string{txt.Error: "fail", txt.Warning: "warn", txt.Info: "info"}[f.Severity]
			rep.add(lvl, "txt", "RFC 6763 §"+f.Section, "%s: %s", f.Code, f.Message)
		}
	}
	return []string{verdict}
}

// askOnce multicasts one question and waits up to 1 s for an answer.
func askOnce(ctx context.Context, conn *mdns.Conn, name string, typ uint16, qu bool) bool {
	if name == "" {
		return false
	}
	if err := sendQuestions(conn, []mdns.Question{{Name: name, Type: typ, QU: qu}}, 0); err != nil {
		return false
	}
	actx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	for {
		p, err := conn.Recv(actx)
		if err != nil {
			return false
		}
		m, perr := mdns.Parse(p.Raw)
		if perr == nil && m.Response() && len(answers(m, name, typ)) > 0 {
			return true
		}
	}
}

func infoPlist(typ string) string {
	return fmt.Sprintf(`<key>NSBonjourServices</key>
<array>
    <string>%s</string>
</array>
<key>NSLocalNetworkUsageDescription</key>
<string>Finds %s services on your local network.</string>
`, typ, typ)
}

func writeDoctor(o *doctorOptions, rep *doctorReport, verdicts []string) error {
	fails := 0
	for _, l := range rep.Lines {
		if l.Level == "fail" {
			fails++
		}
	}
	switch {
	case len(verdicts) > 0:
		rep.Verdict = strings.Join(verdicts, "; ")
	case fails > 0:
		rep.Verdict = fmt.Sprintf("%d problem(s) found", fails)
	default:
		rep.Verdict = "mDNS works on this host"
	}
	w := bufio.NewWriter(o.IO.Out)
	defer w.Flush()
	if o.Global.JSON {
		if err := json.NewEncoder(w).Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(w, "verdict: %s\n\n", rep.Verdict)
		for _, l := range rep.Lines {
			ref := ""
			if l.Ref != "" {
				ref = " (" + l.Ref + ")"
			}
			fmt.Fprintf(w, "%-4s %-10s %s%s\n", l.Level, l.Topic, l.Reason, ref)
		}
		if rep.Plist != "" {
			fmt.Fprintf(w, "\nInfo.plist for an app that browses or advertises this type:\n%s", rep.Plist)
		}
	}
	if fails > 0 {
		w.Flush()
		return errSilent
	}
	return nil
}
