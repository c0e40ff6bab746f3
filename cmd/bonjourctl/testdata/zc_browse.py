#!/usr/bin/python3
"""Browse one service type with python3-zeroconf (Debian's package) for
bonjourctl's lab tests. Prints "resolved NAME TXT_HEX" once an instance has
SRV, TXT and an address, then "properties NAME REPR" (the repr of the
properties dict python-zeroconf hands an app), and "removed NAME" when it goes.

usage: zc_browse.py TYPE ADDRESS
"""
import sys
import threading

from zeroconf import IPVersion, ServiceBrowser, ServiceStateChange, Zeroconf

typ, addr = sys.argv[1], sys.argv[2]
zc = Zeroconf(interfaces=[addr], ip_version=IPVersion.V4Only)
lock = threading.Lock()


def say(*words):
    with lock:
        print(*words, flush=True)


def on_change(zeroconf, service_type, name, state_change):
    if state_change is ServiceStateChange.Removed:
        say("removed", name)
        return
    if state_change is ServiceStateChange.Added:
        def resolve():
            info = zeroconf.get_service_info(service_type, name, timeout=3000)
            if info and info.addresses and info.text is not None:
                say("resolved", name, info.text.hex())
                say("properties", name, repr(info.properties))
        threading.Thread(target=resolve, daemon=True).start()


ServiceBrowser(zc, typ, handlers=[on_change])
print("ready", flush=True)
threading.Event().wait(120)
