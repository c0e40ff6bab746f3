package capture_test

import (
	"net/netip"

	"github.com/bonjourctl/bonjourctl/internal/dump"
	"github.com/bonjourctl/bonjourctl/mdns"
)

func mdnsAddr(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func decode(p mdns.Packet) dump.Decoded { return dump.Decode(p, 0) }
