//go:build !linux

package doctor

// PortHolders is not available on this platform (the OS does not tell
// without privileges); ok is false.
func PortHolders(port int) ([]Holder, bool) { return nil, false }
