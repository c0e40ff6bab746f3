package netlab

import (
	"os"
	"testing"
)

const envFunc = "BONJOURCTL_NETLAB_FUNC"

// Main is for TestMain: when the binary was re-executed by Host.Func it runs
// the named function (with the arguments after the test flags) and returns
// its exit code; otherwise it runs the tests.
//
//	func TestMain(m *testing.M) {
//		os.Exit(netlab.Main(m, map[string]func([]string) int{"send": send}))
//	}
func Main(m *testing.M, funcs map[string]func(args []string) int) int {
	name := os.Getenv(envFunc)
	if name == "" {
		return m.Run()
	}
	fn, ok := funcs[name]
	if !ok {
		os.Stderr.WriteString("netlab: no function registered as " + name + "\n")
		return 3
	}
	var args []string
	for _, a := range os.Args[1:] {
		if len(a) > 6 && a[:6] == "-test." {
			continue
		}
		args = append(args, a)
	}
	return fn(args)
}

// InHost reports whether this process was started by Host.Func (so TestMain
// should call Main and skip its own setup).
func InHost() bool { return os.Getenv(envFunc) != "" }
