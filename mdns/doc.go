// Package mdns sends and receives multicast DNS (RFC 6762) messages on
// 224.0.0.251:5353 and [ff02::fb]:5353 and decodes them.
//
// Decoding uses github.com/miekg/dns for names and for record data of the
// less common types; PTR, SRV, A and AAAA data (nearly every record in mDNS)
// are decoded here, without an allocation per record. This package owns
// everything mDNS adds: the QU bit on questions (RFC 6762
// §5.4), the cache-flush bit on records (§10.2), and record data kept as the
// exact bytes on the wire. TXT data in particular is never taken from
// miekg/dns, which escapes its strings and cannot tell zero-length RDATA
// from one empty string; use Record.TXT and the txt package.
//
// A malformed message is never dropped silently: Parse returns what it
// decoded and a *ParseError with the offset. The receive path never blocks
// on a slow reader: packets wait in a bounded queue, and overflow is counted
// (Conn.Dropped, Conn.KernelDrops).
package mdns
