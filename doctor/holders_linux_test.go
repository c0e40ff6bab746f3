package doctor

import (
	"strings"
	"testing"
)

func TestParseUDPTable(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  411: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000   104        0 29843 2 0000000000000000 0
  412: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 11111 2 0000000000000000 0
`
	got := parseUDPTable(strings.NewReader(table), 5353)
	if len(got) != 1 || got["29843"] != "00000000:14E9" {
		t.Errorf("parseUDPTable = %v", got)
	}
}
