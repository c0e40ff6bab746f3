#!/usr/bin/python3
"""Send COUNT copies of an mDNS response (a TXT record) to 224.0.0.251:5353
on eth0 at RATE packets per second, then print how many were sent.

usage: flood.py RATE COUNT
"""
import socket
import struct
import sys
import time

rate, count = float(sys.argv[1]), int(sys.argv[2])
name = b"\x05flood\x05local\x00"
txt = b"\x09key=value"
msg = struct.pack("!HHHHHH", 0, 0x8400, 0, 1, 0, 0) + name + struct.pack("!HHIH", 16, 0x8001, 4500, len(txt)) + txt
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
ifindex = socket.if_nametoindex("eth0")
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, struct.pack("4s4si", socket.inet_aton("224.0.0.251"), socket.inet_aton("0.0.0.0"), ifindex))
start = time.monotonic()
sent = 0
while sent < count:
    target = int((time.monotonic() - start) * rate) + 1
    while sent < min(target, count):
        s.sendto(msg, ("224.0.0.251", 5353))
        sent += 1
    time.sleep(0.0005)
print(sent, round(time.monotonic() - start, 3), flush=True)
