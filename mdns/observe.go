package mdns

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/net/bpf"
)

// The packet-socket filter of Config.Observe, in classic BPF. It runs on a
// packet from its network header on (a SOCK_DGRAM packet socket) and keeps
// unfragmented (or first-fragment) UDP to or from port 5353 whose
// destination is not a multicast address: the group sockets already
// receive multicast, and every copy must be counted once.
func unicastFilter() []bpf.Instruction {
	type step struct {
		label string
		ins   bpf.Instruction
		t, f  string // JumpIf targets; "" is the next instruction
	}
	jeq := func(v uint32, t, f string) step {
		return step{ins: bpf.JumpIf{Cond: bpf.JumpEqual, Val: v}, t: t, f: f}
	}
	prog := []step{
		{ins: bpf.LoadAbsolute{Off: 0, Size: 1}},
		{ins: bpf.ALUOpConstant{Op: bpf.ALUOpShiftRight, Val: 4}},
		jeq(4, "v4", ""),
		jeq(6, "v6", "reject"),
		{label: "v4", ins: bpf.LoadAbsolute{Off: 9, Size: 1}},
		jeq(17, "", "reject"),
		{ins: bpf.LoadAbsolute{Off: 6, Size: 2}},
		{ins: bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x1fff}, t: "reject"},
		{ins: bpf.LoadAbsolute{Off: 16, Size: 1}},
		{ins: bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf0}},
		jeq(0xe0, "reject", ""),
		{ins: bpf.LoadMemShift{Off: 0}},
		{ins: bpf.LoadIndirect{Off: 0, Size: 2}},
		jeq(Port, "accept", ""),
		{ins: bpf.LoadIndirect{Off: 2, Size: 2}},
		jeq(Port, "accept", "reject"),
		{label: "v6", ins: bpf.LoadAbsolute{Off: 6, Size: 1}},
		jeq(17, "", "reject"),
		{ins: bpf.LoadAbsolute{Off: 24, Size: 1}},
		jeq(0xff, "reject", ""),
		{ins: bpf.LoadAbsolute{Off: 40, Size: 2}},
		jeq(Port, "accept", ""),
		{ins: bpf.LoadAbsolute{Off: 42, Size: 2}},
		jeq(Port, "accept", "reject"),
		{label: "accept", ins: bpf.RetConstant{Val: 1 << 18}},
		{label: "reject", ins: bpf.RetConstant{Val: 0}},
	}
	at := map[string]int{}
	for i, s := range prog {
		if s.label != "" {
			at[s.label] = i
		}
	}
	skip := func(from int, label string) uint8 {
		if label == "" {
			return 0
		}
		return uint8(at[label] - from - 1)
	}
	out := make([]bpf.Instruction, len(prog))
	for i, s := range prog {
		if j, ok := s.ins.(bpf.JumpIf); ok {
			j.SkipTrue, j.SkipFalse = skip(i, s.t), skip(i, s.f)
			out[i] = j
			continue
		}
		out[i] = s.ins
	}
	return out
}

// parseObserved reads a packet taken from the network header on, as the
// packet socket delivers it: IPv4 or IPv6, then UDP. ok is false for
// anything else, and for the rest of a fragmented datagram (counted by the
// caller: it cannot be shown whole).
func parseObserved(b []byte) (src, dst netip.AddrPort, hops int, payload []byte, fragment, ok bool) {
	if len(b) < 1 {
		return
	}
	var udp []byte
	switch b[0] >> 4 {
	case 4:
		ihl := int(b[0]&0xf) * 4
		if len(b) < 20 || ihl < 20 || len(b) < ihl+8 || b[9] != 17 {
			return
		}
		flags := binary.BigEndian.Uint16(b[6:])
		fragment = flags&0x2000 != 0 || flags&0x1fff != 0
		total := int(binary.BigEndian.Uint16(b[2:]))
		if total >= ihl && total < len(b) {
			b = b[:total] // Ethernet padding
		}
		s, d := netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
		hops, udp = int(b[8]), b[ihl:]
		src = netip.AddrPortFrom(s, binary.BigEndian.Uint16(udp[0:]))
		dst = netip.AddrPortFrom(d, binary.BigEndian.Uint16(udp[2:]))
	case 6:
		if len(b) < 48 || b[6] != 17 {
			return
		}
		if plen := int(binary.BigEndian.Uint16(b[4:])); 40+plen < len(b) {
			b = b[:40+plen]
		}
		s, d := netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
		hops, udp = int(b[7]), b[40:]
		src = netip.AddrPortFrom(s, binary.BigEndian.Uint16(udp[0:]))
		dst = netip.AddrPortFrom(d, binary.BigEndian.Uint16(udp[2:]))
	default:
		return
	}
	ulen := int(binary.BigEndian.Uint16(udp[4:]))
	if ulen >= 8 && ulen <= len(udp) {
		udp = udp[:ulen]
	}
	return src, dst, hops, udp[8:], fragment, !fragment
}
