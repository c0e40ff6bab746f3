#!/usr/bin/python3
"""Publish one DNS-SD service with python3-zeroconf (Debian's package) for
bonjourctl's lab tests. Prints "registered" when done (and "updated" after a
TXT update), then waits for SIGTERM (unregisters: goodbye packets) or --lifetime (60 s).

usage: zc_publish.py NAME TYPE PORT ADDRESS TXT_HEX [--update-after S --update-hex HEX] [--ttl T]
       TXT_HEX may be "props:" followed by a JSON object, passed to the
       library as a properties dict (null: boolean key; "hex:..": bytes)
"""
import argparse
import json
import signal
import socket
import threading

from zeroconf import IPVersion, ServiceInfo, Zeroconf

ap = argparse.ArgumentParser()
ap.add_argument("name")
ap.add_argument("type")
ap.add_argument("port", type=int)
ap.add_argument("address")
ap.add_argument("txt_hex")
ap.add_argument("--update-after", type=float, default=0)
ap.add_argument("--update-hex", default="")
ap.add_argument("--ttl", type=int, default=0, help="TTL for every record (default: the library's)")
ap.add_argument("--lifetime", type=float, default=60, help="seconds to stay registered without SIGTERM")
a = ap.parse_args()

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())

zc = Zeroconf(interfaces=[a.address], ip_version=IPVersion.V4Only)
kw = {}
if a.ttl:
    kw = {"host_ttl": a.ttl, "other_ttl": a.ttl}


def props(txt):
    if not txt.startswith("props:"):
        return bytes.fromhex(txt)
    out = {}
    for k, v in json.loads(txt[len("props:"):]).items():
        if isinstance(v, str) and v.startswith("hex:"):
            v = bytes.fromhex(v[4:])
        out[k] = v
    return out


def info(txt_hex):
    return ServiceInfo(
        a.type,
        f"{a.name}.{a.type}",
        addresses=[socket.inet_aton(a.address)],
        port=a.port,
        properties=props(txt_hex),
        server=f"{a.name.lower().replace(' ', '-')}-zc.local.",
        **kw,
    )


current = info(a.txt_hex)
zc.register_service(current)
print("registered", flush=True)
if a.update_after and not stop.wait(a.update_after):
    current = info(a.update_hex)
    zc.update_service(current)
    print("updated", flush=True)
stop.wait(a.lifetime)
zc.unregister_service(current)
zc.close()
