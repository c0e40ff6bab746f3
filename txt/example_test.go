package txt_test

import (
	"fmt"

	"github.com/bonjourctl/bonjourctl/txt"
)

// Key/value pairs to the exact bytes on the wire, and back.
func ExampleEncode() {
	rec, _ := txt.FromPairs([]string{"key=value", "flag", "bin:hex=00ff"})
	rdata, _ := txt.Encode(rec)
	fmt.Printf("%x\n", rdata)
	back, _ := txt.Parse(rdata)
	for _, a := range txt.Attributes(back) {
		fmt.Printf("%s %s=%x\n", a.Kind, a.Key, a.Value)
	}
	// Output:
	// 096b65793d76616c756504666c61670662696e3d00ff
	// value key=76616c7565
	// boolean flag=
	// value bin=00ff
}

// The three TXT records other tools merge are kept apart: no strings at
// all (zero-length RDATA, illegal), one empty string (the legal empty
// record) and a record with data.
func ExampleLint() {
	for _, rdata := range [][]byte{{}, {0}, []byte("\x04path")} {
		rec, _ := txt.Parse(rdata)
		fmt.Printf("%x zero-length %v empty %v:", rdata, rec.ZeroLength(), rec.IsEmpty())
		for _, f := range txt.Lint(rdata) {
			fmt.Printf(" %s %s;", f.Severity, f.Code)
		}
		fmt.Println()
	}
	// Output:
	// zero-length true empty false: error zero-length-rdata;
	// 00 zero-length false empty true:
	// 0470617468 zero-length false empty false: info boolean-key;
}
