package browse

import (
	"net/netip"
	"time"

	"github.com/bonjourctl/bonjourctl/mdns"
)

// The functions here let another plane (DNS-SD over unicast DNS, package
// widearea) report instances exactly as this browser does: the same
// Service, TXT states, field diff and record provenance.

// TXTStateOf says what an instance's TXT RDATA is: missing (not seen),
// zero-length, the empty record, or present.
func TXTStateOf(raw []byte, seen bool) TXTState { return txtState(raw, seen) }

// Diff lists what changed between two complete snapshots of one
// instance (both with their Records).
func Diff(old, new *Service) []Change { return diff(old, new, ttls(old)) }

// NewRecord is a record that arrived from src at at, expiring at its TTL;
// iface names where it came from ("dns" for a unicast server).
func NewRecord(r mdns.Record, src netip.AddrPort, iface string, at time.Time) Record {
	family := 4
	if src.Addr().Is6() && !src.Addr().Is4In6() {
		family = 6
	}
	return Record{
		Record: r, Src: src, IfName: iface, Family: family, HopLimit: -1,
		FirstSeen: at, LastSeen: at, Packets: 1,
		expires: at.Add(time.Duration(r.TTL) * time.Second),
	}
}
