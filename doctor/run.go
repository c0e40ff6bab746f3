package doctor

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bonjourctl/bonjourctl/advertise"
	"github.com/bonjourctl/bonjourctl/browse"
	"github.com/bonjourctl/bonjourctl/internal/dump"
	"github.com/bonjourctl/bonjourctl/mdns"
	"github.com/bonjourctl/bonjourctl/schema"
	"github.com/bonjourctl/bonjourctl/txt"
)

// Link is what the doctor needs of the mdns core; *mdns.Core has it.
type Link interface {
	Subscribe(name string, size int) *mdns.Sub
	Send(msg []byte, to mdns.Dest) error
	Interfaces() []net.Interface
	IPv4() bool
	IPv6() bool
	PayloadLimit() int
	Unseen() []string
}

// Options configure Run.
type Options struct {
	// Listen opens the core (the port-5353 step reports its failure).
	Listen func(ctx context.Context) (Link, error)
	// Interfaces are the interfaces the user selected (all when empty);
	// ListInterfaces lists the machine's (default net.Interfaces), and
	// InterfaceAddrs an interface's addresses (default
	// advertise.InterfaceAddrs).
	Interfaces     []string
	ListInterfaces func() ([]net.Interface, error)
	InterfaceAddrs func(net.Interface) []netip.Addr
	// Holders lists the processes holding a UDP port (default PortHolders).
	Holders func(port int) ([]Holder, bool)
	// Type and Instance name the service to examine (both optional).
	Type, Instance string
	// Wait is how long each listening step lasts (default 3 s).
	Wait time.Duration
	// Schemas, when set, judges the TXT record of a well-known type by
	// its schema too.
	Schemas *schema.Set
}

// Line is one pass/warn/fail/info line of the report.
type Line struct {
	Level  string `json:"level"` // pass, warn, fail, info
	Topic  string `json:"topic"`
	Reason string `json:"reason"`
	Ref    string `json:"ref,omitempty"`
}

// Report is the doctor's answer.
type Report struct {
	Verdict string `json:"verdict"`
	Lines   []Line `json:"lines"`
	Plist   string `json:"infoPlist,omitempty"`
}

// Failed reports whether any line failed.
func (r *Report) Failed() bool {
	return slices.ContainsFunc(r.Lines, func(l Line) bool { return l.Level == "fail" })
}

func (r *Report) add(level, topic, ref, format string, args ...any) {
	r.Lines = append(r.Lines, Line{Level: level, Topic: topic, Reason: fmt.Sprintf(format, args...), Ref: ref})
}

// Run checks the machine, the link and (with a type) one service, and
// returns the report. It returns an error only for what stops it from
// examining anything (the interfaces cannot be listed) or when ctx ends.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.ListInterfaces == nil {
		opts.ListInterfaces = net.Interfaces
	}
	if opts.InterfaceAddrs == nil {
		opts.InterfaceAddrs = advertise.InterfaceAddrs
	}
	if opts.Holders == nil {
		opts.Holders = PortHolders
	}
	if opts.Wait <= 0 {
		opts.Wait = 3 * time.Second
	}
	d := &doc{opts: opts, rep: &Report{}}
	err := d.run(ctx)
	d.finish()
	if err == nil {
		err = ctx.Err()
	}
	return d.rep, err
}

type doc struct {
	opts     Options
	rep      *Report
	verdicts []string
	offline  bool // judging a capture (Replay)
}

// heard says how an instance was looked for: a browse live, or a capture.
func (d *doc) heard() string {
	if d.offline {
		return "was in the capture"
	}
	return fmt.Sprintf("answered a browse in %v", d.opts.Wait)
}

func (d *doc) run(ctx context.Context) error {
	if err := d.interfaces(); err != nil {
		return err
	}
	link, ok := d.port(ctx)
	if !ok {
		return nil
	}
	d.loopTest(ctx, link)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if d.opts.Type != "" {
		d.service(ctx, link)
	}
	return nil
}

// interfaces: step 1, each interface and whether mDNS works on it.
func (d *doc) interfaces() error {
	ifaces, err := d.opts.ListInterfaces()
	if err != nil {
		return fmt.Errorf("list interfaces: %w", err)
	}
	usable := 0
	for _, ifi := range ifaces {
		if len(d.opts.Interfaces) > 0 && !slices.Contains(d.opts.Interfaces, ifi.Name) {
			continue
		}
		kind := Classify(ifi.Name, ifi.Flags)
		addrs := d.opts.InterfaceAddrs(ifi)
		as := make([]string, len(addrs))
		for i, a := range addrs {
			as[i] = a.String()
		}
		desc := fmt.Sprintf("%s: %s, addresses %s", mdns.EscapeText(ifi.Name), kind, orNone(strings.Join(as, " ")))
		switch kind {
		case KindPhysical, KindVirtual:
			usable++
			d.rep.add("pass", "interface", "RFC 6762 §3", "%s; mDNS works here", desc)
		case KindBridge:
			usable++
			d.rep.add("warn", "interface", "", "%s; mDNS stays inside this bridge: peers on the LAN will not see services on it, nor it theirs", desc)
		case KindTunnel:
			d.rep.add("warn", "interface", "", "%s; most VPNs and tunnels do not carry multicast: mDNS does not cross them", desc)
		case KindLoopback:
			d.rep.add("info", "interface", "", "%s; not used for mDNS", desc)
		default:
			d.rep.add("warn", "interface", "RFC 6762 §3", "%s; cannot carry mDNS", desc)
		}
	}
	if usable == 0 {
		d.rep.add("fail", "interface", "RFC 6762 §3", "no interface is up and multicast-capable: nothing can be discovered")
		d.verdicts = append(d.verdicts, "no usable interface")
	}
	return nil
}

// port: step 2, who holds UDP 5353 and whether bonjourctl can listen beside
// them.
func (d *doc) port(ctx context.Context) (Link, bool) {
	holders, known := d.opts.Holders(mdns.Port)
	var hs []string
	for _, h := range holders {
		hs = append(hs, fmt.Sprintf("%s (pid %d)", txt.EscapeUTF8([]byte(h.Command)), h.PID))
	}
	link, err := d.opts.Listen(ctx)
	if err != nil {
		d.rep.add("fail", "port 5353", "RFC 6762 §15", "cannot listen on UDP 5353 beside the other stacks: %v (holders: %s)", err, orNone(strings.Join(hs, ", ")))
		d.verdicts = append(d.verdicts, "cannot use port 5353")
		return nil, false
	}
	switch {
	case len(hs) > 0:
		d.rep.add("pass", "port 5353", "RFC 6762 §15", "listening on UDP 5353 beside %s", strings.Join(hs, ", "))
	case known:
		d.rep.add("pass", "port 5353", "RFC 6762 §15", "listening on UDP 5353; no other mDNS stack holds it on this host")
	default:
		d.rep.add("pass", "port 5353", "RFC 6762 §15", "listening on UDP 5353 (this system does not say who else holds it)")
	}
	for _, u := range link.Unseen() {
		d.rep.add("info", "port 5353", "", "not visible to this run: %s", u)
	}
	return link, true
}

// loopTest: step 3, advertise a temporary service and watch it come back
// on every interface and family; meanwhile count what else is heard.
func (d *doc) loopTest(ctx context.Context, link Link) {
	name := fmt.Sprintf("bonjourctl-doctor-%04x", rand.IntN(0xffff))
	svc := advertise.Service{Instance: name, Type: "_bonjourctl-doctor._udp", Port: 9, Host: name + ".local."}
	lctx, cancel := context.WithTimeout(ctx, d.opts.Wait+1500*time.Millisecond)
	defer cancel()
	sub := link.Subscribe("doctor loop test", 0)
	defer sub.Close()
	resp := advertise.New(link, svc, advertise.Config{InterfaceAddrs: d.opts.InterfaceAddrs})
	var wg sync.WaitGroup
	var sendErrs []string
	var mu sync.Mutex
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = resp.Run(lctx, func(ev advertise.Event) error {
			if ev.Kind == advertise.SendFailed {
				mu.Lock()
				sendErrs = append(sendErrs, ev.Detail)
				mu.Unlock()
			}
			return nil
		})
	}()
	seenOn := map[string]bool{}
	sources := map[string]int{}
	packets := 0
	ours := mdns.NameKey(name)
	// Ask every responder on the link for its service types (RFC 6763
	// §9), so that a quiet but healthy link still answers.
	enumerate := browse.Question{Questions: []mdns.Question{{Name: browse.ServicesName, Type: mdns.TypePTR}}}
	_ = browse.SendQuery(link, enumerate)
	again := time.NewTimer(time.Second)
	defer again.Stop()
recv:
	for {
		var p mdns.Packet
		select {
		case <-again.C:
			_ = browse.SendQuery(link, enumerate)
			continue
		case <-lctx.Done():
			break recv
		case q, ok := <-sub.C():
			if !ok {
				break recv
			}
			p = q
		}
		m, perr := mdns.Parse(p.Raw)
		if perr == nil && mentions(m, ours) {
			if m.Response() {
				seenOn[fmt.Sprintf("%s IPv%d", p.IfName, p.Family())] = true
			}
			continue
		}
		if perr == nil && !m.Response() && len(m.Questions) == 1 && mdns.EqualNames(m.Questions[0].Name, browse.ServicesName) && isOwn(link, p.Src.Addr(), d.opts.InterfaceAddrs) {
			continue // our own question, looped back
		}
		packets++
		sources[p.Src.Addr().WithZone("").String()]++
	}
	cancel()
	wg.Wait()
	var fams []string
	for _, ifi := range link.Interfaces() {
		for _, fam := range []int{4, 6} {
			if (fam == 4 && !link.IPv4()) || (fam == 6 && !link.IPv6()) || !d.hasFamily(ifi, fam) {
				continue
			}
			k := fmt.Sprintf("%s IPv%d", ifi.Name, fam)
			if seenOn[k] {
				fams = append(fams, k)
			} else {
				d.rep.add("fail", "loop test", "RFC 6762 §3", "a service advertised here was not seen back on %s: multicast does not loop on this interface (firewall, or the interface drops multicast)", mdns.EscapeText(k))
			}
		}
	}
	for _, e := range sendErrs {
		d.rep.add("warn", "loop test", "", "the test service's %s", e)
	}
	switch {
	case len(fams) > 0:
		d.rep.add("pass", "loop test", "", "advertised %s and saw it come back on %s", name, mdns.EscapeText(strings.Join(fams, ", ")))
	case len(seenOn) > 0:
		d.rep.add("pass", "loop test", "", "advertised %s and saw it come back (on interfaces without an address of their own)", name)
	default:
		tested := false
		for _, ifi := range link.Interfaces() {
			tested = tested || d.hasFamily(ifi, 4) || d.hasFamily(ifi, 6)
		}
		if !tested {
			d.rep.add("fail", "loop test", "RFC 6762 §3", "no selected interface has an address: nothing can be advertised or seen")
		}
		d.verdicts = append(d.verdicts, "multicast does not work on this host")
	}
	if packets == 0 {
		d.rep.add("warn", "link", "", "heard no other mDNS packet in %v, though it asked every device for its service types (%s PTR): no other device is talking, or multicast from the LAN does not reach this host (Wi-Fi isolation, a firewall, IGMP snooping)", d.opts.Wait+1500*time.Millisecond, browse.ServicesName)
		return
	}
	var srcs []string
	for s, n := range sources {
		srcs = append(srcs, fmt.Sprintf("%s (%d)", s, n))
	}
	sort.Strings(srcs)
	d.rep.add("pass", "link", "", "heard %d mDNS packets from %d other sources: %s", packets, len(sources), strings.Join(srcs, ", "))
}

// mentions reports whether a message has a question or record whose name
// (or target) lies under the given folded name.
func mentions(m *mdns.Message, key string) bool {
	match := func(n string) bool { k := mdns.NameKey(n); return strings.Contains(k, key) }
	for _, q := range m.Questions {
		if match(q.Name) {
			return true
		}
	}
	for _, sec := range [][]mdns.Record{m.Answers, m.Authority, m.Additional} {
		for i := range sec {
			if match(sec[i].Name) {
				return true
			}
			if t, ok := sec[i].Target(); ok && match(t) {
				return true
			}
		}
	}
	return false
}

// isOwn reports whether a is one of this host's addresses on the link.
func isOwn(link Link, a netip.Addr, addrs func(net.Interface) []netip.Addr) bool {
	for _, ifi := range link.Interfaces() {
		for _, o := range addrs(ifi) {
			if o.WithZone("") == a.WithZone("") {
				return true
			}
		}
	}
	return false
}

func (d *doc) hasFamily(ifi net.Interface, fam int) bool {
	for _, a := range d.opts.InterfaceAddrs(ifi) {
		if (fam == 4 && a.Is4()) || (fam == 6 && a.Is6()) {
			return true
		}
	}
	return false
}

// service: step 4, browse for the type, pick the instance, ask it every
// question QM and QU, and report its TXT record.
func (d *doc) service(ctx context.Context, link Link) {
	typeName := mdns.ParseName(d.opts.Type)
	short := mdns.ServiceType(typeName)
	d.rep.Plist = InfoPlist(short)
	d.rep.add("info", "apple", "Apple: NWBrowser, Bonjour descriptors", "NWBrowser returns TXT metadata only when browsing with .bonjourWithTXTRecord(type: %q, domain: nil) (includeTxtRecord: true in the iOS/macOS 26 API; nw_browse_descriptor_set_include_txt_record in C); later TXT changes arrive as .changed results with metadataChanged", short)
	d.rep.add("info", "apple", "Apple: TN3179 Understanding local network privacy", "the app's Info.plist needs NSBonjourServices listing %s and an NSLocalNetworkUsageDescription; a browse that waits with -65570 means local network access was denied; dns-sd in Terminal is allowed where the app may not be", short)

	found := map[string]browse.Service{}
	b := browse.New(link, browse.Config{})
	b.Browse(short)
	bctx, cancel := context.WithTimeout(ctx, d.opts.Wait)
	// Meanwhile, responses about the type from a port other than 5353,
	// which every conformant browser ignores (RFC 6762 §6).
	wrongPort := map[netip.AddrPort]bool{}
	sub := link.Subscribe("doctor source ports", 0)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		key := mdns.NameKey(typeName)
		for {
			p, err := sub.Recv(bctx)
			if err != nil {
				return
			}
			if p.Src.Port() == mdns.Port || (p.Dst.IsValid() && !p.Dst.Addr().IsMulticast() && p.Dst.Port() != mdns.Port) {
				continue
			}
			if m, err := mdns.Parse(p.Raw); err == nil && m.Response() && mentions(m, key) {
				wrongPort[p.Src] = true
			}
		}
	}()
	_ = b.Run(bctx, func(ev browse.Event) error {
		if ev.Kind == browse.Removed {
			delete(found, mdns.NameKey(ev.Service.Name))
		} else {
			found[mdns.NameKey(ev.Service.Name)] = ev.Service
		}
		return nil
	})
	cancel()
	<-watched
	sub.Close()
	if ctx.Err() != nil {
		return
	}
	var srcs []string
	for src := range wrongPort {
		srcs = append(srcs, src.String())
	}
	sort.Strings(srcs)
	for _, src := range srcs {
		d.rep.add("fail", "answers", "RFC 6762 §6", "%s answers about %s from port %s, not 5353: every conformant browser ignores those responses (Apple's, avahi's, bonjourctl's); the responder must send from port 5353", src[:strings.LastIndex(src, ":")], short, src[strings.LastIndex(src, ":")+1:])
	}
	s, ok := d.pick(found, typeName, short)
	if !ok {
		return
	}
	d.rep.add("pass", "announced", "RFC 6763 §4", "%q answers PTR questions for %s (host %s, port %d)", txt.EscapeUTF8([]byte(s.Instance)), short, mdns.EscapeText(s.Host), s.Port)
	d.answers(ctx, link, s, typeName)
	d.txtVerdict(s)
}

func (d *doc) pick(found map[string]browse.Service, typeName, short string) (browse.Service, bool) {
	if d.opts.Instance != "" {
		if s, ok := found[mdns.NameKey(mdns.InstanceName(d.opts.Instance, typeName))]; ok {
			return s, true
		}
		names := make([]string, 0, len(found))
		for _, f := range found {
			names = append(names, txt.EscapeUTF8([]byte(f.Instance)))
		}
		sort.Strings(names)
		d.rep.add("fail", "announced", "RFC 6763 §4", "no instance %q of %s %s (seen: %s)", txt.EscapeUTF8([]byte(d.opts.Instance)), short, d.heard(), orNone(strings.Join(names, ", ")))
		d.verdicts = append(d.verdicts, fmt.Sprintf("%s is not announced", txt.EscapeUTF8([]byte(d.opts.Instance))))
		return browse.Service{}, false
	}
	if len(found) == 0 {
		d.rep.add("fail", "announced", "RFC 6763 §4", "no instance of %s %s", short, d.heard())
		d.verdicts = append(d.verdicts, fmt.Sprintf("no %s service is announced", short))
		return browse.Service{}, false
	}
	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := found[keys[0]]
	if len(keys) > 1 {
		d.rep.add("info", "announced", "", "%d instances of %s; examining %q (name one to choose)", len(keys), short, txt.EscapeUTF8([]byte(s.Instance)))
	}
	return s, true
}

// answers asks the instance's PTR, SRV, TXT and A questions, first QM
// then QU. Each question waits until a second has passed since the record
// was last multicast (a responder stays silent for that second, RFC 6762
// §6) and is asked again after a second without an answer, so a healthy
// responder is never reported silent.
func (d *doc) answers(ctx context.Context, link Link, s browse.Service, typeName string) {
	last := map[uint16]time.Time{}
	for _, r := range s.Records {
		if r.LastSeen.After(last[r.Type]) {
			last[r.Type] = r.LastSeen
		}
	}
	unicastUnseen := false
	for _, u := range link.Unseen() {
		unicastUnseen = unicastUnseen || strings.Contains(u, "unicast")
	}
	questions := []struct {
		name string
		typ  uint16
	}{{typeName, mdns.TypePTR}, {s.Name, mdns.TypeSRV}, {s.Name, mdns.TypeTXT}, {s.Host, mdns.TypeA}}
	// note keeps, for each question, when its record was last multicast,
	// from whatever response carries it (another querier's doing too).
	note := func(p *mdns.Packet, m *mdns.Message) {
		if p.Dst.IsValid() && !p.Dst.Addr().IsMulticast() {
			return
		}
		for _, q := range questions {
			for _, r := range browse.Answers(m, q.name, q.typ) {
				if r.Type == q.typ && p.Received.After(last[q.typ]) {
					last[q.typ] = p.Received
				}
			}
		}
	}
	for _, qu := range []bool{false, true} {
		mode := map[bool]string{false: "QM", true: "QU"}[qu]
		var missing, second, failed []string
		for _, q := range questions {
			if q.name == "" {
				missing = append(missing, mdns.TypeString(q.typ))
				continue
			}
			if w := time.Until(last[q.typ].Add(1100 * time.Millisecond)); w > 0 {
				t := time.NewTimer(w)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
			actx, cancel := context.WithTimeout(ctx, 2200*time.Millisecond)
			var answeredAt time.Time
			res, err := browse.Ask(actx, link, browse.Question{Questions: []mdns.Question{{Name: q.name, Type: q.typ, QU: qu}}, Retransmit: true},
				func(p *mdns.Packet, m *mdns.Message) bool {
					note(p, m)
					for _, r := range browse.Answers(m, q.name, q.typ) {
						if r.Type == q.typ {
							answeredAt = p.Received
							return true
						}
					}
					return false
				})
			cancel()
			switch {
			case ctx.Err() != nil:
				return
			case err != nil || (res.SendErrors == res.Queries):
				failed = append(failed, fmt.Sprintf("%s (%v)", mdns.TypeString(q.typ), res.LastSendError))
			case res.Answered.IsZero():
				missing = append(missing, mdns.TypeString(q.typ))
			case answeredAt.Sub(res.First) > time.Second:
				second = append(second, mdns.TypeString(q.typ))
			}
		}
		switch {
		case len(failed) > 0:
			d.rep.add("warn", "answers", "", "%s questions for %s were not sent: the answers could not be checked", mode, strings.Join(failed, ", "))
		case len(missing) == 0:
			d.rep.add("pass", "answers", "RFC 6762 §6", "answers PTR, SRV, TXT and A questions (%s)", mode)
		case qu && unicastUnseen:
			d.rep.add("info", "answers", "RFC 6762 §5.4", "no answer seen to QU questions for %s: a QU answer may come by unicast, which this run cannot see", strings.Join(missing, ", "))
		default:
			d.rep.add("warn", "answers", "RFC 6762 §6", "no answer to %s questions for %s, each asked twice a second apart, more than a second after the record was last multicast", mode, strings.Join(missing, ", "))
		}
		if len(second) > 0 && len(failed) == 0 {
			d.rep.add("info", "answers", "RFC 6762 §6", "%s answered only when asked again (%s): the first question went unanswered", mode, strings.Join(second, ", "))
		}
	}
}

// txtVerdict: the TXT record in plain words.
func (d *doc) txtVerdict(s browse.Service) {
	from := ""
	for _, r := range s.Records {
		if r.Type == mdns.TypeTXT {
			from = fmt.Sprintf("from %s on %s", r.Src.Addr(), mdns.EscapeText(r.IfName))
		}
	}
	var verdict string
	switch s.TXTState {
	case browse.TXTMissing:
		d.rep.add("fail", "txt", "RFC 6763 §6", "no TXT record seen for %q: browsers get the service without metadata; the responder must publish a TXT record (the byte 00 when empty)", txt.EscapeUTF8([]byte(s.Instance)))
		verdict = "TXT record is missing"
	case browse.TXTZeroLength:
		d.rep.add("fail", "txt", "RFC 6763 §6.1", "the TXT record is zero-length RDATA %s: illegal; many browsers (NWBrowser among them) report no metadata. Publish at least one string, or the byte 00", from)
		verdict = "TXT record is zero-length (illegal)"
	default:
		n := len(s.TXT.Strings)
		plural := "s"
		if n == 1 {
			plural = ""
		}
		verdict = fmt.Sprintf("TXT record is on the wire (%d string%s, %d bytes, %s)", n, plural, len(s.TXTRaw), from)
		d.rep.add("pass", "txt", "RFC 6763 §6", "%s: %s", verdict, dump.TXTText(s.TXTRaw))
		for _, f := range txt.Lint(s.TXTRaw) {
			lvl := map[txt.Severity]string{txt.Error: "fail", txt.Warning: "warn", txt.Info: "info"}[f.Severity]
			d.rep.add(lvl, "txt", "RFC 6763 §"+f.Section, "%s: %s", f.Code, f.Message)
		}
		d.schemaVerdict(s)
	}
	d.verdicts = append(d.verdicts, verdict)
}

// schemaVerdict judges the TXT record by its type's schema, if it has one.
func (d *doc) schemaVerdict(s browse.Service) {
	if d.opts.Schemas == nil {
		return
	}
	sc := d.opts.Schemas.For(s.Type)
	if sc == nil {
		return
	}
	rep := sc.Check(s.TXT, len(s.TXTRaw), s.Instance)
	bad := 0
	for _, f := range rep.Findings {
		if f.Severity == txt.Info {
			continue
		}
		bad++
		lvl := map[txt.Severity]string{txt.Error: "fail", txt.Warning: "warn"}[f.Severity]
		d.rep.add(lvl, "schema", strings.TrimSpace(sc.Name+" "+f.Section), "%s: %s", f.Code, f.Message)
	}
	if bad == 0 {
		d.rep.add("pass", "schema", sc.Source, "the TXT keys are what %s needs (%d keys judged)", sc.Name, len(rep.Explained))
	}
}

func (d *doc) finish() {
	fails := 0
	for _, l := range d.rep.Lines {
		if l.Level == "fail" {
			fails++
		}
	}
	switch {
	case len(d.verdicts) > 0:
		d.rep.Verdict = strings.Join(d.verdicts, "; ")
	case fails > 0:
		d.rep.Verdict = fmt.Sprintf("%d problem(s) found", fails)
	default:
		d.rep.Verdict = "mDNS works on this host"
	}
}

// InfoPlist returns the Info.plist keys an app that browses or advertises
// typ needs (Apple TN3179).
func InfoPlist(typ string) string {
	return fmt.Sprintf(`<key>NSBonjourServices</key>
<array>
    <string>%s</string>
</array>
<key>NSLocalNetworkUsageDescription</key>
<string>Finds %s services on your local network.</string>
`, typ, typ)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
