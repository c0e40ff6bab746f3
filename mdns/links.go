package mdns

import (
	"net"
	"net/netip"
	"slices"
	"time"
)

// LinkChange is a change of a selected interface: it went down or came up,
// or gained or lost an address. RFC 6762 §8.3 and §10: a responder
// re-probes and re-announces when a link comes up or its addresses change,
// and a querier asks again.
type LinkChange struct {
	At      time.Time
	IfIndex int
	Name    string
	Kind    LinkKind
	Addr    netip.Addr // address changes
}

// LinkKind is what changed.
type LinkKind string

const (
	LinkDown        LinkKind = "down"
	LinkUp          LinkKind = "up"
	LinkAddrAdded   LinkKind = "address added"
	LinkAddrRemoved LinkKind = "address removed"
)

// Links returns the subscriber's link changes (a bounded queue; changes it
// was too slow to take are dropped and counted in Dropped).
func (s *Sub) Links() <-chan LinkChange { return s.links }

// NotifyLink hands a link change to every subscriber (the core's watcher
// does; tests and replays may too).
func (c *Core) NotifyLink(l LinkChange) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return
	}
	for _, s := range c.subs {
		select {
		case s.links <- l:
		default:
			s.dropped.Add(1)
		}
	}
}

// linkState is what the watcher knows of one interface.
type linkState struct {
	up    bool
	addrs []netip.Addr
}

// snapshotLinks reads the state of the selected interfaces.
func snapshotLinks(ifaces []net.Interface) map[int]linkState {
	out := map[int]linkState{}
	for _, sel := range ifaces {
		ifi, err := net.InterfaceByIndex(sel.Index)
		if err != nil {
			out[sel.Index] = linkState{}
			continue
		}
		st := linkState{up: ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagRunning != 0}
		st.addrs = interfaceAddrs([]net.Interface{*ifi})
		slices.SortFunc(st.addrs, func(a, b netip.Addr) int { return a.Compare(b) })
		out[sel.Index] = st
	}
	return out
}

// diffLinks returns the changes from old to now.
func diffLinks(ifaces []net.Interface, old, now map[int]linkState, at time.Time) []LinkChange {
	var out []LinkChange
	for _, ifi := range ifaces {
		o, n := old[ifi.Index], now[ifi.Index]
		ch := func(k LinkKind, a netip.Addr) {
			out = append(out, LinkChange{At: at, IfIndex: ifi.Index, Name: ifi.Name, Kind: k, Addr: a})
		}
		if o.up && !n.up {
			ch(LinkDown, netip.Addr{})
		}
		for _, a := range o.addrs {
			if !slices.Contains(n.addrs, a) {
				ch(LinkAddrRemoved, a)
			}
		}
		if !o.up && n.up {
			ch(LinkUp, netip.Addr{})
		}
		for _, a := range n.addrs {
			if !slices.Contains(o.addrs, a) {
				ch(LinkAddrAdded, a)
			}
		}
	}
	return out
}

// watchLinks reports link changes until stop is closed; wake (nil where
// the system cannot tell) signals that something may have changed, and
// the interfaces are also read every poll.
func (c *Core) watchLinks(wake <-chan struct{}, stop <-chan struct{}, poll time.Duration) {
	state := snapshotLinks(c.ifaces)
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-wake:
			// Give the kernel a moment to finish the change (an address
			// often follows a link coming up).
			time.Sleep(20 * time.Millisecond)
		case <-t.C:
		}
		now := snapshotLinks(c.ifaces)
		changes := diffLinks(c.ifaces, state, now, time.Now())
		state = now
		if len(changes) == 0 {
			continue
		}
		var addrs []netip.Addr
		for _, st := range now {
			addrs = append(addrs, st.addrs...)
		}
		c.SetLocalAddrs(addrs)
		for _, l := range changes {
			c.NotifyLink(l)
		}
	}
}
