// Package avahi publishes a DNS-SD service through avahi-daemon's D-Bus
// API (org.freedesktop.Avahi), as an application on Linux does, so that a
// developer can see exactly what the system's own stack puts on the wire
// for the same service: avahi-daemon probes, announces, answers and says
// goodbye; this package registers the service, follows the entry group's
// state, renames on collisions as avahi's own tools do, and updates the
// TXT record.
package avahi

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

// D-Bus names of avahi-daemon's API (avahi-daemon/org.freedesktop.Avahi.*.xml).
const (
	busName     = "org.freedesktop.Avahi"
	serverIface = "org.freedesktop.Avahi.Server"
	groupIface  = "org.freedesktop.Avahi.EntryGroup"
)

// Entry group states (avahi-common/defs.h, AvahiEntryGroupState).
const (
	stateUncommitted = 0
	stateRegistering = 1
	stateEstablished = 2
	stateCollision   = 3
	stateFailure     = 4
)

// Service is what is published.
type Service struct {
	Instance string
	Type     string   // "_p2p._tcp"
	Domain   string   // "" for avahi's default ("local")
	Host     string   // "" for avahi's own host name
	Port     uint16   //
	TXT      [][]byte // the strings in order; avahi refuses empty strings among others
	Subtypes []string // "_printer"
	// IfIndex limits publication to one interface (0: all); Family to 4
	// or 6 (0: both).
	IfIndex int
	Family  int
}

// Kind names what happened.
type Kind string

const (
	Connected   Kind = "connected"   // Detail: avahi-daemon's version and host name
	Registering Kind = "registering" // avahi-daemon is probing
	Established Kind = "established" // probed and announced
	Collision   Kind = "collision"   // the name is taken; Detail: the new name
	Failure     Kind = "failure"     // Detail: avahi-daemon's error
	TXTUpdated  Kind = "txt-updated"
	Freed       Kind = "freed" // the entry group is gone: avahi-daemon sent goodbyes
)

// Event is one thing that happened.
type Event struct {
	Kind   Kind
	Detail string
}

// Publisher is one registration with avahi-daemon.
type Publisher struct {
	mu    sync.Mutex // guards svc and group: SetTXT runs beside Run
	conn  *dbus.Conn
	srv   dbus.BusObject
	group dbus.BusObject
	path  dbus.ObjectPath
	svc   Service
	sigs  chan *dbus.Signal
}

// ErrNoDaemon says avahi-daemon is not reachable on the system bus.
var ErrNoDaemon = errors.New("avahi: avahi-daemon does not answer on the system D-Bus (is it running, with enable-dbus=yes?)")

// Publish connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS, or the
// default socket), registers svc and returns once avahi-daemon has taken
// it; events report what it does next through Run.
func Publish(ctx context.Context, svc Service, emit func(Event)) (*Publisher, error) {
	// The connection outlives ctx: freeing the entry group after ctx ends
	// is what sends the goodbyes.
	conn, err := dbus.ConnectSystemBus(dbus.WithContext(context.WithoutCancel(ctx)))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoDaemon, err)
	}
	p := &Publisher{conn: conn, srv: conn.Object(busName, "/"), svc: svc, sigs: make(chan *dbus.Signal, 16)}
	var version, host string
	// A daemon that is starting takes its bus name a moment after the bus
	// is up: ask again for two seconds before giving up.
	for try := 0; ; try++ {
		err = p.srv.CallWithContext(ctx, serverIface+".GetVersionString", 0).Store(&version)
		var de dbus.Error
		if err == nil || try == 20 || !errors.As(err, &de) || de.Name != "org.freedesktop.DBus.Error.ServiceUnknown" {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: %v", ErrNoDaemon, err)
	}
	_ = p.srv.CallWithContext(ctx, serverIface+".GetHostNameFqdn", 0).Store(&host)
	emit(Event{Kind: Connected, Detail: fmt.Sprintf("%s, host name %s", version, host)})
	if err := p.srv.CallWithContext(ctx, serverIface+".EntryGroupNew", 0).Store(&p.path); err != nil {
		conn.Close()
		return nil, fmt.Errorf("avahi: create an entry group: %w", err)
	}
	p.group = conn.Object(busName, p.path)
	if err := conn.AddMatchSignal(dbus.WithMatchObjectPath(p.path), dbus.WithMatchInterface(groupIface), dbus.WithMatchMember("StateChanged")); err != nil {
		p.Close()
		return nil, fmt.Errorf("avahi: watch the entry group: %w", err)
	}
	conn.Signal(p.sigs)
	if err := p.register(ctx); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Publisher) ifProto() (int32, int32) {
	ifi, proto := int32(-1), int32(-1) // AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC
	if p.svc.IfIndex != 0 {
		ifi = int32(p.svc.IfIndex)
	}
	switch p.svc.Family {
	case 4:
		proto = 0 // AVAHI_PROTO_INET
	case 6:
		proto = 1 // AVAHI_PROTO_INET6
	}
	return ifi, proto
}

// register adds the service (and its subtypes) to the entry group and
// commits it.
func (p *Publisher) register(ctx context.Context) error {
	ifi, proto := p.ifProto()
	s := p.svc
	txt := s.TXT
	if txt == nil {
		txt = [][]byte{}
	}
	if err := p.group.CallWithContext(ctx, groupIface+".AddService", 0, ifi, proto, uint32(0), s.Instance, s.Type, s.Domain, s.Host, s.Port, txt).Err; err != nil {
		return fmt.Errorf("avahi: add the service: %w", err)
	}
	for _, st := range s.Subtypes {
		sub := st + "._sub." + s.Type
		if err := p.group.CallWithContext(ctx, groupIface+".AddServiceSubtype", 0, ifi, proto, uint32(0), s.Instance, s.Type, s.Domain, sub).Err; err != nil {
			return fmt.Errorf("avahi: add subtype %s: %w", st, err)
		}
	}
	if err := p.group.CallWithContext(ctx, groupIface+".Commit", 0).Err; err != nil {
		return fmt.Errorf("avahi: commit: %w", err)
	}
	return nil
}

// Run reports the entry group's states until ctx ends, renaming on a
// collision (avahi's GetAlternativeServiceName), then frees the group,
// which makes avahi-daemon send goodbyes.
func (p *Publisher) Run(ctx context.Context, emit func(Event)) error {
	defer p.Close()
	for {
		select {
		case <-ctx.Done():
			p.mu.Lock()
			err := p.group.Call(groupIface+".Free", 0).Err
			p.group = nil
			p.mu.Unlock()
			if err != nil {
				return fmt.Errorf("avahi: free the entry group: %w", err)
			}
			emit(Event{Kind: Freed, Detail: "entry group freed: avahi-daemon sends the goodbyes"})
			return ctx.Err()
		case sig, ok := <-p.sigs:
			if !ok {
				return errors.New("avahi: the D-Bus connection closed")
			}
			if sig.Path != p.path || len(sig.Body) < 2 {
				continue
			}
			state, _ := sig.Body[0].(int32)
			detail, _ := sig.Body[1].(string)
			switch state {
			case stateRegistering:
				emit(Event{Kind: Registering, Detail: "avahi-daemon is probing for the name"})
			case stateEstablished:
				emit(Event{Kind: Established, Detail: "avahi-daemon probed and announced the service"})
			case stateCollision:
				from, to, err := p.rename(ctx)
				if err != nil {
					return err
				}
				emit(Event{Kind: Collision, Detail: fmt.Sprintf("%q is taken; trying %q", from, to)})
			case stateFailure:
				emit(Event{Kind: Failure, Detail: detail})
				return fmt.Errorf("avahi: the entry group failed: %s", detail)
			case stateUncommitted:
			}
		}
	}
}

// rename takes avahi's alternative for a name in use and registers again.
func (p *Publisher) rename(ctx context.Context) (from, to string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	from = p.svc.Instance
	if err := p.srv.CallWithContext(ctx, serverIface+".GetAlternativeServiceName", 0, from).Store(&to); err != nil {
		return from, "", fmt.Errorf("avahi: name collision for %q, and no alternative: %w", from, err)
	}
	p.svc.Instance = to
	if err := p.group.CallWithContext(ctx, groupIface+".Reset", 0).Err; err != nil {
		return from, to, fmt.Errorf("avahi: reset after a collision: %w", err)
	}
	return from, to, p.register(ctx)
}

// SetTXT replaces the TXT record (UpdateServiceTxt).
func (p *Publisher) SetTXT(ctx context.Context, txt [][]byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.group == nil {
		return errors.New("avahi: the service is no longer published")
	}
	ifi, proto := p.ifProto()
	if txt == nil {
		txt = [][]byte{}
	}
	if err := p.group.CallWithContext(ctx, groupIface+".UpdateServiceTxt", 0, ifi, proto, uint32(0), p.svc.Instance, p.svc.Type, p.svc.Domain, txt).Err; err != nil {
		return fmt.Errorf("avahi: update the TXT record: %w", err)
	}
	p.svc.TXT = txt
	return nil
}

// Close frees the entry group (if Run did not) and closes the connection.
func (p *Publisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.group != nil {
		_ = p.group.Call(groupIface+".Free", 0).Err
		p.group = nil
	}
	p.conn.RemoveSignal(p.sigs)
	return p.conn.Close()
}
