#!/usr/bin/python3
"""Announce COUNT distinct _p2p._tcp instances (PTR, SRV, TXT, A in one
response each) from this host on eth0, RATE packets per second, then print
"done". For bonjourctl's 10,000-instance benchmark.

usage: many.py COUNT RATE ADDRESS
"""
import socket
import struct
import sys
import time


def name(*labels):
    return b"".join(bytes([len(l)]) + l for l in labels) + b"\x00"


def rr(owner, rtype, cls, ttl, rdata):
    return owner + struct.pack("!HHIH", rtype, cls, ttl, len(rdata)) + rdata


count, rate, addr = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# From port 5353, as a responder must (RFC 6762 §6): queriers ignore the rest.
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("0.0.0.0", 5353))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(addr))
start = time.monotonic()
for i in range(count):
    inst = name(b"node-%05d" % i, b"_p2p", b"_tcp", b"local")
    host = name(b"host-%05d" % i, b"local")
    txt = b"\x09key=value" + bytes([len(b"id=%05d" % i)]) + b"id=%05d" % i
    body = rr(name(b"_p2p", b"_tcp", b"local"), 12, 1, 4500, inst)
    body += rr(inst, 33, 0x8001, 120, struct.pack("!HHH", 0, 0, 4001) + host)
    body += rr(inst, 16, 0x8001, 4500, txt)
    body += rr(host, 1, 0x8001, 120, bytes([10, 88, (i >> 8) & 0xFF, i & 0xFF]))
    msg = struct.pack("!HHHHHH", 0, 0x8400, 0, 4, 0, 0) + body
    s.sendto(msg, ("224.0.0.251", 5353))
    while time.monotonic() - start < (i + 1) / rate:
        time.sleep(0.0002)
print("done", flush=True)
