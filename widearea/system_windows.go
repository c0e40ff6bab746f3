//go:build windows

package widearea

import (
	"errors"
	"net/netip"
)

// SystemServers is not implemented on Windows: the resolvers live behind
// an OS API, not a file, so a DNS server must be given.
func SystemServers() ([]netip.AddrPort, []string, error) {
	return nil, nil, errors.New("on Windows bonjourctl does not read the system's DNS servers: give --server ADDR")
}
