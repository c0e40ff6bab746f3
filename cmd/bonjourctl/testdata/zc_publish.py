#!/usr/bin/python3
"""Publish one DNS-SD service with python3-zeroconf (Debian's package) for
bonjourctl's lab tests. Prints "registered" when done, then waits for
SIGTERM (unregisters: goodbye) or --run-for seconds.

usage: zc_publish.py NAME TYPE PORT ADDRESS TXT_HEX
"""
import signal
import socket
import sys
import threading

from zeroconf import IPVersion, ServiceInfo, Zeroconf

name, typ, port, addr, txt_hex = sys.argv[1:6]
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())

zc = Zeroconf(interfaces=[addr], ip_version=IPVersion.V4Only)
info = ServiceInfo(
    typ,
    f"{name}.{typ}",
    addresses=[socket.inet_aton(addr)],
    port=int(port),
    properties=bytes.fromhex(txt_hex),
    server=f"{name.lower().replace(' ', '-')}-zc.local.",
)
zc.register_service(info)
print("registered", flush=True)
stop.wait(30)
zc.unregister_service(info)
zc.close()
