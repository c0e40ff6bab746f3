package mdns

import (
	"encoding/binary"
	"net"
	"net/netip"
	"syscall"
)

// HardwareAddr returns the link-layer (MAC) address the system has for a
// neighbor on an interface, from its neighbor table (ARP for IPv4, NDP for
// IPv6), read over netlink.
func HardwareAddr(ifIndex int, a netip.Addr) (net.HardwareAddr, bool) {
	fam := syscall.AF_INET6
	if a.Unmap().Is4() {
		fam = syscall.AF_INET
	}
	rib, err := syscall.NetlinkRIB(syscall.RTM_GETNEIGH, fam)
	if err != nil {
		return nil, false
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		return nil, false
	}
	want := a.WithZone("").Unmap()
	for _, m := range msgs {
		if m.Header.Type != syscall.RTM_NEWNEIGH || len(m.Data) < 12 {
			continue
		}
		if idx := int(int32(binary.NativeEndian.Uint32(m.Data[4:8]))); ifIndex != 0 && idx != ifIndex {
			continue
		}
		var dst netip.Addr
		var mac net.HardwareAddr
		for b := m.Data[12:]; len(b) >= 4; {
			l := int(binary.NativeEndian.Uint16(b[0:2]))
			if l < 4 || l > len(b) {
				break
			}
			switch binary.NativeEndian.Uint16(b[2:4]) {
			case 1: // NDA_DST
				dst, _ = netip.AddrFromSlice(b[4:l])
			case 2: // NDA_LLADDR
				mac = append(net.HardwareAddr(nil), b[4:l]...)
			}
			b = b[min((l+3)&^3, len(b)):]
		}
		if dst.Unmap() == want && len(mac) > 0 {
			return mac, true
		}
	}
	return nil, false
}
