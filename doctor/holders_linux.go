package doctor

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// PortHolders lists the processes with a UDP socket bound to port (Linux:
// from /proc/net/udp, /proc/net/udp6 and /proc/*/fd). ok is false where the
// system does not tell.
func PortHolders(port int) (holders []Holder, ok bool) {
	inodes := map[string]string{}
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		for ino, local := range parseUDPTable(fh, port) {
			inodes[ino] = local
		}
		fh.Close()
		ok = true
	}
	if !ok {
		return nil, false
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	seen := map[string]bool{}
	for _, fd := range procs {
		link, err := os.Readlink(fd)
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		ino := strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")
		local, hit := inodes[ino]
		if !hit {
			continue
		}
		pidStr := strings.Split(fd, "/")[2]
		if seen[pidStr+ino] {
			continue
		}
		seen[pidStr+ino] = true
		pid, _ := strconv.Atoi(pidStr)
		comm, _ := os.ReadFile("/proc/" + pidStr + "/comm")
		holders = append(holders, Holder{PID: pid, Command: strings.TrimSpace(string(comm)), Local: local})
	}
	return holders, true
}

// parseUDPTable reads /proc/net/udp{,6} and returns inode -> local address
// for sockets bound to port.
func parseUDPTable(r io.Reader, port int) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	want := fmt.Sprintf(":%04X", port)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || !strings.HasSuffix(f[1], want) {
			continue
		}
		out[f[9]] = f[1]
	}
	return out
}
