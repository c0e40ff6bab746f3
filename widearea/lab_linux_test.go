//go:build linux

package widearea

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bonjourctl/bonjourctl/internal/netlab"
)

func TestMain(m *testing.M) {
	os.Exit(netlab.Main(m, map[string]func([]string) int{"register": registerSkewed}))
}

// registerSkewed runs in a lab host: register with a key whose clock is
// off by args[3], print the error, exit 1 on one.
func registerSkewed(args []string) int {
	skew, _ := time.ParseDuration(args[3])
	server, _ := ParseServer(args[0])
	key, err := NewTSIG(args[1], "hmac-sha256", args[2])
	if err != nil {
		fmt.Println(err)
		return 2
	}
	key.Now = func() time.Time { return time.Now().Add(skew) }
	c := &Client{Servers: []netip.AddrPort{server}}
	g := NewRegistrar(c, key, Registration{Instance: "Skewed", Type: "_p2p._tcp", Domain: "example.test", Host: "ns1.example.test", Port: 1, TXT: []byte{0}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := g.Register(ctx, nil); err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("registered")
	return 0
}

// TestBadTime: a signature an hour off the server's clock is the server's
// BADTIME, said with both times; the same key on time registers.
func TestBadTime(t *testing.T) {
	lab := netlab.New(t, 2)
	secret := "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="
	lab.Host(2).StartNamed(t, context.Background(), netlab.NamedConfig{
		Zones:     map[string]string{"example.test": "$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 10.88.0.2\n"},
		Keys:      map[string]string{"bctl-key": "hmac-sha256 " + secret},
		UpdateKey: "bctl-key",
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := lab.Host(1).Func(ctx, "register", "10.88.0.2", "bctl-key", secret, "1h").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "(BADTIME, RFC 8945 §5.2.3)") || !strings.Contains(string(out), "(1h0m0s apart, more than the fudge of 300 s)") {
		t.Errorf("an hour ahead: %v\n%s", err, out)
	}
	out, err = lab.Host(1).Func(ctx, "register", "10.88.0.2", "bctl-key", secret, "0s").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "registered") {
		t.Errorf("on time: %v\n%s", err, out)
	}
}
