// Package ipudp decodes and builds IPv4/IPv6 + UDP headers around a DNS
// message, verifying every length field and checksum so that `bonjourctl
// decode` can say exactly which one is wrong, and so that captures can be
// written as raw IP packets.
package ipudp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Check is one verified header field.
type Check struct {
	Field string // e.g. "IPv4 header checksum"
	OK    bool
	Got   uint32
	Want  uint32
	Note  string
}

func (c Check) String() string {
	if c.OK {
		return fmt.Sprintf("ok    %s 0x%04x", c.Field, c.Got)
	}
	s := fmt.Sprintf("WRONG %s is 0x%04x, should be 0x%04x", c.Field, c.Got, c.Want)
	if c.Note != "" {
		s += " (" + c.Note + ")"
	}
	return s
}

// Datagram is a decoded IP + UDP packet.
type Datagram struct {
	Family   int // 4 or 6
	Src, Dst netip.AddrPort
	HopLimit int // IPv4 TTL or IPv6 hop limit
	Payload  []byte
	Checks   []Check
	// PayloadOffset is where the UDP payload starts in the input.
	PayloadOffset int
}

// Valid reports whether every check passed.
func (d *Datagram) Valid() bool {
	for _, c := range d.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// Error is input that cannot be read as IP + UDP, with the offset.
type Error struct {
	Offset int
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Reason) }

// LooksLikeIP reports whether b starts like an IPv4 or IPv6 header carrying
// UDP (so that a bare DNS message is not mistaken for one).
func LooksLikeIP(b []byte) bool {
	switch {
	case len(b) >= 28 && b[0]>>4 == 4:
		ihl := int(b[0]&0xf) * 4
		if ihl < 20 || len(b) < ihl+8 || b[9] != 17 {
			return false
		}
		// A DNS message could start like this (ID 0x45xx): the header's
		// own total length, or its checksum, tells them apart.
		total := int(binary.BigEndian.Uint16(b[2:]))
		return (total <= len(b) && total >= ihl+8 && len(b)-total < 64) || ipv4HeaderChecksum(b[:ihl]) == binary.BigEndian.Uint16(b[10:])
	case len(b) >= 48 && b[0]>>4 == 6:
		if b[6] != 17 && b[6] != 0 && b[6] != 60 {
			return false
		}
		// No header checksum in IPv6: its payload length must be what
		// follows the header (a DNS message with ID 0x6xxx has its
		// question count there).
		plen := int(binary.BigEndian.Uint16(b[4:]))
		return plen == len(b)-40 || (plen < len(b)-40 && len(b)-40-plen < 64 && plen >= 8)
	}
	return false
}

// Parse decodes an IPv4 or IPv6 packet carrying UDP. Lengths that do not fit
// the data are errors; wrong checksums and lengths that merely disagree are
// recorded as failed Checks, and decoding goes on with the bytes present.
func Parse(b []byte) (*Datagram, error) {
	if len(b) == 0 {
		return nil, &Error{0, "no data"}
	}
	switch b[0] >> 4 {
	case 4:
		return parse4(b)
	case 6:
		return parse6(b)
	}
	return nil, &Error{0, fmt.Sprintf("IP version %d (want 4 or 6)", b[0]>>4)}
}

// Split is Parse without the checks, for reading captures fast: it returns
// the addresses, hop limit and UDP payload, or ok=false when b is not a
// well-formed, unfragmented IPv4 or IPv6 packet carrying UDP.
func Split(b []byte) (src, dst netip.AddrPort, hopLimit int, payload []byte, ok bool) {
	if len(b) < 20 {
		return
	}
	var off, end int
	var s, d netip.Addr
	switch b[0] >> 4 {
	case 4:
		ihl := int(b[0]&0xf) * 4
		if ihl < 20 || len(b) < ihl || b[9] != 17 || binary.BigEndian.Uint16(b[6:])&0x3fff != 0 {
			return
		}
		s, d = netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
		off, end, hopLimit = ihl, min(len(b), int(binary.BigEndian.Uint16(b[2:]))), int(b[8])
	case 6:
		if len(b) < 48 {
			return
		}
		end = min(len(b), 40+int(binary.BigEndian.Uint16(b[4:])))
		if off = udpAt6(b[:end]); off < 0 {
			return
		}
		s, d = netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
		hopLimit = int(b[7])
	default:
		return
	}
	if end < off+8 {
		return
	}
	udp := b[off:end]
	if ul := int(binary.BigEndian.Uint16(udp[4:])); ul >= 8 && ul < len(udp) {
		udp = udp[:ul]
	}
	src = netip.AddrPortFrom(s, binary.BigEndian.Uint16(udp[0:]))
	dst = netip.AddrPortFrom(d, binary.BigEndian.Uint16(udp[2:]))
	return src, dst, hopLimit, udp[8:], true
}

// udpAt6 returns where the UDP header starts in an IPv6 packet, after
// any hop-by-hop, routing and destination options headers, or -1 when the
// packet does not carry UDP (or its extension headers are cut off).
func udpAt6(b []byte) int {
	next, off := b[6], 40
	for next == 0 || next == 43 || next == 60 {
		if off+8 > len(b) {
			return -1
		}
		next, off = b[off], off+(int(b[off+1])+1)*8
	}
	if next != 17 {
		return -1
	}
	return off
}

// CarriesUDP reports whether an IPv6 packet carries UDP, after any
// hop-by-hop, routing and destination options headers.
func CarriesUDP(b []byte) bool { return len(b) >= 40 && udpAt6(b) >= 0 }

func parse4(b []byte) (*Datagram, error) {
	if len(b) < 20 {
		return nil, &Error{len(b), fmt.Sprintf("IPv4 header needs 20 bytes, have %d", len(b))}
	}
	ihl := int(b[0]&0xf) * 4
	if ihl < 20 {
		return nil, &Error{0, fmt.Sprintf("IPv4 header length field says %d bytes (minimum 20)", ihl)}
	}
	if len(b) < ihl {
		return nil, &Error{len(b), fmt.Sprintf("IPv4 header length field says %d bytes, have %d", ihl, len(b))}
	}
	d := &Datagram{Family: 4, HopLimit: int(b[8])}
	total := int(binary.BigEndian.Uint16(b[2:]))
	d.Checks = append(d.Checks, Check{Field: "IPv4 total length (offset 2)", OK: total == len(b), Got: uint32(total), Want: uint32(len(b)),
		Note: fmt.Sprintf("the packet has %d bytes", len(b))})
	got := binary.BigEndian.Uint16(b[10:])
	want := ipv4HeaderChecksum(b[:ihl])
	d.Checks = append(d.Checks, Check{Field: "IPv4 header checksum (offset 10)", OK: got == want, Got: uint32(got), Want: uint32(want)})
	if b[9] != 17 {
		return nil, &Error{9, fmt.Sprintf("IPv4 protocol is %d, not UDP (17)", b[9])}
	}
	if frag := binary.BigEndian.Uint16(b[6:]); frag&0x1fff != 0 || frag&0x2000 != 0 {
		return nil, &Error{6, "IPv4 fragment: reassemble the packet first"}
	}
	src, _ := netip.AddrFromSlice(b[12:16])
	dst, _ := netip.AddrFromSlice(b[16:20])
	end := len(b)
	if total >= ihl && total < end {
		end = total
	}
	return parseUDP(d, b[:end], ihl, src, dst, func(udp []byte) uint16 {
		return udpChecksum(pseudo4(src, dst, len(udp)), udp)
	})
}

func parse6(b []byte) (*Datagram, error) {
	if len(b) < 40 {
		return nil, &Error{len(b), fmt.Sprintf("IPv6 header needs 40 bytes, have %d", len(b))}
	}
	d := &Datagram{Family: 6, HopLimit: int(b[7])}
	plen := int(binary.BigEndian.Uint16(b[4:]))
	d.Checks = append(d.Checks, Check{Field: "IPv6 payload length (offset 4)", OK: plen == len(b)-40, Got: uint32(plen), Want: uint32(len(b) - 40),
		Note: fmt.Sprintf("the packet has %d bytes after the 40-byte header", len(b)-40)})
	src, _ := netip.AddrFromSlice(b[8:24])
	dst, _ := netip.AddrFromSlice(b[24:40])
	next, off := b[6], 40
	for next == 0 || next == 60 { // hop-by-hop and destination options
		if off+8 > len(b) {
			return nil, &Error{off, "IPv6 extension header cut off"}
		}
		n := (int(b[off+1]) + 1) * 8
		if off+n > len(b) {
			return nil, &Error{off + 1, "IPv6 extension header length overruns the packet"}
		}
		next, off = b[off], off+n
	}
	if next != 17 {
		return nil, &Error{6, fmt.Sprintf("IPv6 next header is %d, not UDP (17)", next)}
	}
	end := len(b)
	if 40+plen >= off && 40+plen < end {
		end = 40 + plen
	}
	return parseUDP(d, b[:end], off, src, dst, func(udp []byte) uint16 {
		return udpChecksum(pseudo6(src, dst, len(udp)), udp)
	})
}

func parseUDP(d *Datagram, b []byte, off int, src, dst netip.Addr, sum func([]byte) uint16) (*Datagram, error) {
	if len(b)-off < 8 {
		return nil, &Error{off, fmt.Sprintf("UDP header needs 8 bytes, have %d", len(b)-off)}
	}
	udp := b[off:]
	ulen := int(binary.BigEndian.Uint16(udp[4:]))
	d.Checks = append(d.Checks, Check{Field: fmt.Sprintf("UDP length (offset %d)", off+4), OK: ulen == len(udp), Got: uint32(ulen), Want: uint32(len(udp)),
		Note: fmt.Sprintf("%d bytes follow the IP header", len(udp))})
	if ulen >= 8 && ulen < len(udp) {
		udp = udp[:ulen]
	}
	d.Src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(udp[0:]))
	d.Dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(udp[2:]))
	got := binary.BigEndian.Uint16(udp[6:])
	if got == 0 && d.Family == 4 {
		d.Checks = append(d.Checks, Check{Field: fmt.Sprintf("UDP checksum (offset %d)", off+6), OK: true, Note: "not used (zero)"})
	} else {
		want := sum(udp)
		d.Checks = append(d.Checks, Check{Field: fmt.Sprintf("UDP checksum (offset %d)", off+6), OK: got == want, Got: uint32(got), Want: uint32(want)})
	}
	d.Payload = udp[8:]
	d.PayloadOffset = off + 8
	return d, nil
}

func ipv4HeaderChecksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		if i == 10 {
			continue
		}
		s += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	return fold(s)
}

func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

func pseudo4(src, dst netip.Addr, n int) uint32 {
	a, b := src.As4(), dst.As4()
	var s uint32
	for i := 0; i < 4; i += 2 {
		s += uint32(a[i])<<8 | uint32(a[i+1])
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	return s + 17 + uint32(n)
}

func pseudo6(src, dst netip.Addr, n int) uint32 {
	a, b := src.As16(), dst.As16()
	var s uint32
	for i := 0; i < 16; i += 2 {
		s += uint32(a[i])<<8 | uint32(a[i+1])
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	return s + 17 + uint32(n)
}

// udpChecksum computes the UDP checksum over the pseudo-header sum s and
// udp, taking the checksum field (bytes 6-7) as zero.
func udpChecksum(s uint32, udp []byte) uint16 {
	for i := 0; i+1 < len(udp); i += 2 {
		if i != 6 {
			s += uint32(binary.BigEndian.Uint16(udp[i:]))
		}
	}
	if len(udp)%2 == 1 {
		s += uint32(udp[len(udp)-1]) << 8
	}
	c := fold(s)
	if c == 0 {
		c = 0xffff
	}
	return c
}

// Build wraps payload in an IPv4 or IPv6 header (by src's family) and a UDP
// header with correct lengths and checksums.
func Build(src, dst netip.AddrPort, hopLimit int, payload []byte) []byte {
	if hopLimit < 0 || hopLimit > 255 {
		hopLimit = 255
	}
	ulen := 8 + len(payload)
	udp := make([]byte, ulen)
	binary.BigEndian.PutUint16(udp[0:], src.Port())
	binary.BigEndian.PutUint16(udp[2:], dst.Port())
	binary.BigEndian.PutUint16(udp[4:], uint16(ulen))
	copy(udp[8:], payload)
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	if s.Is4() {
		binary.BigEndian.PutUint16(udp[6:], udpChecksum(pseudo4(s, d, ulen), udp))
		out := make([]byte, 20+ulen)
		out[0] = 0x45
		binary.BigEndian.PutUint16(out[2:], uint16(20+ulen))
		out[6] = 0x40 // don't fragment
		out[8] = byte(hopLimit)
		out[9] = 17
		a, b := s.As4(), d.As4()
		copy(out[12:], a[:])
		copy(out[16:], b[:])
		binary.BigEndian.PutUint16(out[10:], ipv4HeaderChecksum(out[:20]))
		copy(out[20:], udp)
		return out
	}
	binary.BigEndian.PutUint16(udp[6:], udpChecksum(pseudo6(s, d, ulen), udp))
	out := make([]byte, 40+ulen)
	out[0] = 0x60
	binary.BigEndian.PutUint16(out[4:], uint16(ulen))
	out[6] = 17
	out[7] = byte(hopLimit)
	a, b := s.As16(), d.As16()
	copy(out[8:], a[:])
	copy(out[24:], b[:])
	copy(out[40:], udp)
	return out
}
