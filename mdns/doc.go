// Package mdns is bonjourctl's multicast DNS (RFC 6762) layer: the one core
// a process opens, and message decoding with the mDNS bits first-class.
//
// # The core
//
// Listen opens a Core: one socket set per selected interface and family,
// one reader per socket, and every received packet offered to each
// subscriber (Subscribe) on a bounded queue of its own, so a slow
// subscriber loses only its own packets, counted. Packets from an interface
// that is not selected are dropped and counted. Send is the one way to
// send: it never sends on an interface that is not selected, refuses what
// RFC 6762 §17 forbids (over 9000 bytes, or over the MTU with more than one
// record), and returns every error, naming each interface and family that
// failed. NewCore builds a Core on another Backend (tests, capture files),
// fed with Deliver.
//
// On Linux the multicast sockets are bound to the group addresses with
// IP_MULTICAST_ALL off: they receive their own interface's group traffic
// and never a unicast datagram meant for another mDNS stack on the host
// (avahi-daemon, systemd-resolved). Config.Unicast adds a socket for the
// unicast a responder must receive; Config.Observe watches unicast mDNS
// through a packet socket without taking it (CAP_NET_RAW); Config.Legacy
// adds a legacy querier's ephemeral port (§6.7). Core.Unseen says what a
// core cannot see.
//
// # Messages
//
// Parse decodes a message with github.com/miekg/dns for names and for the
// data of less common types; PTR, SRV, A and AAAA data (nearly every record
// in mDNS) are decoded here without an allocation per record. The QU bit on
// questions (§5.4) and the cache-flush bit on records (§10.2) are fields;
// record data is kept as the exact bytes on the wire. TXT data in
// particular is never taken from miekg/dns, whose TXT type escapes its
// strings and packs an empty list as zero-length RDATA: use Record.TXT and
// the txt package, which keep zero-length RDATA and one empty string apart.
// A malformed message is never dropped silently: Parse returns what it
// decoded and a *ParseError with the offset. Query.Pack builds queries,
// continuing long known-answer lists in further packets (§7.2).
//
// Names are in presentation form throughout; ParseName, NameKey,
// EqualNames, InstanceName and SplitInstance are the one place that turns
// typed text into names, compares them and takes them apart.
package mdns
