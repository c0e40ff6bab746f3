//go:build !windows

package widearea

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/miekg/dns"
)

// ResolvConf is where the system's resolvers are read from.
const ResolvConf = "/etc/resolv.conf"

// SystemServers returns the resolvers and search domains of resolv.conf.
func SystemServers() ([]netip.AddrPort, []string, error) {
	cfg, err := dns.ClientConfigFromFile(ResolvConf)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the system's resolvers: %w (give --server ADDR)", err)
	}
	port, _ := strconv.Atoi(cfg.Port)
	if port == 0 {
		port = 53
	}
	var out []netip.AddrPort
	for _, s := range cfg.Servers {
		a, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		out = append(out, netip.AddrPortFrom(a, uint16(port)))
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("%s names no nameserver (give --server ADDR)", ResolvConf)
	}
	return out, cfg.Search, nil
}
