//go:build linux

package netlab

import (
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// waitFor polls a daemon's output until it holds mark or d has passed,
// and says whether it does.
func (l *Buffer) waitFor(mark string, d time.Duration) bool {
	for end := time.Now().Add(d); !strings.Contains(l.String(), mark); {
		if time.Now().After(end) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// stopGroups ends each started command's process group with SIGTERM and
// waits for it.
func stopGroups(cmds ...*exec.Cmd) {
	for _, c := range cmds {
		if c != nil && c.Process != nil {
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
			_ = c.Wait()
		}
	}
}
