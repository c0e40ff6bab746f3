package schema

import (
	"fmt"
	"strings"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/bonjourctl/bonjourctl/txt"
)

// checkMultiaddr checks a libp2p dnsaddr value: a multiaddr (parsed by
// github.com/multiformats/go-multiaddr) that ends in /p2p/<peer id>.
func checkMultiaddr(v []byte) string {
	a, err := ma.NewMultiaddr(string(v))
	if err != nil {
		return fmt.Sprintf("%q is not a multiaddr: %v", txt.EscapeUTF8(v), err)
	}
	if _, err := a.ValueForProtocol(ma.P_P2P); err != nil {
		return fmt.Sprintf("%s has no /p2p/<peer id> component: libp2p peers cannot tell whose address it is", a)
	}
	last := a[len(a)-1]
	if last.Protocol().Code != ma.P_P2P {
		return fmt.Sprintf("%s does not end in /p2p/<peer id>", a)
	}
	return ""
}

// checkPeerIDs warns when a record's dnsaddr values name different peers:
// one instance is one peer.
func checkPeerIDs(rec txt.Record, add func(code string, sev txt.Severity, key string, idx int, sec, format string, args ...any)) {
	first := ""
	for _, at := range txt.Attributes(rec) {
		if !strings.EqualFold(string(at.Key), "dnsaddr") || at.Kind != txt.Value {
			continue
		}
		a, err := ma.NewMultiaddr(string(at.Value))
		if err != nil {
			continue
		}
		id, err := a.ValueForProtocol(ma.P_P2P)
		if err != nil {
			continue
		}
		if first == "" {
			first = id
		} else if id != first {
			add(CodeBadValue, txt.Warning, "dnsaddr", at.Index, "discovery/mdns.md", "dnsaddr names peer %s, another string names %s: one instance is one peer", id, first)
		}
	}
}
