// Command bonjourctl inspects, decodes and lints Bonjour / DNS-SD
// (multicast DNS) traffic on the local link.
package main

import (
	"os"

	"github.com/bonjourctl/bonjourctl/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
