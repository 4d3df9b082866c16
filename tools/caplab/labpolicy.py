#!/usr/bin/env python3
"""caplab helper: turn a user's policy into the lab's policy.

Fills in, for every host without them, an overlay address pair, the
underlay endpoint caplab gives it, and the public keys its keygen wrote;
prints one line per host for the shell: NAME BIT UNDERLAY4 UNDERLAY6
OVERLAY4 OVERLAY6.
"""
import base64
import json
import os
import sys

KEY_FILE_LEN = 132          # struct wire_key_file (policy/wire.h)
TUNNEL_PK_OFF, SIGN_PK_OFF = 68, 100


def host_pub(path):
    """The two public keys of an armored host.pub written by capctl keygen."""
    with open(path) as f:
        lines = [l.strip() for l in f if l.strip() and not l.startswith("-----")]
    raw = base64.b64decode("".join(lines))
    if len(raw) != KEY_FILE_LEN or raw[0] != 1 or raw[1] != 4:
        sys.exit("%s: not a captun host public key file" % path)
    enc = lambda b: base64.b64encode(b).decode()
    return enc(raw[TUNNEL_PK_OFF:TUNNEL_PK_OFF + 32]), enc(raw[SIGN_PK_OFF:SIGN_PK_OFF + 32])


def underlay(bit):
    return "10.99.%d.%d" % (bit // 250, bit % 250 + 1), "fd99::%x" % (bit + 1)


def overlay(bit):
    return "10.77.%d.%d" % (bit // 250, bit % 250 + 1), "fd77::%x" % (bit + 1)


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("plan", "fill"):
        sys.exit("usage: labpolicy.py plan|fill IN OUT KEYDIR")
    mode, src, dst, keydir = sys.argv[1:]
    with open(src) as f:
        pol = json.load(f)
    hosts = pol.get("hosts", {})
    for name, h in hosts.items():
        bit = h["bit"]
        u4, u6 = underlay(bit)
        o = h.get("overlay") or list(overlay(bit))
        if os.environ.get("CAPLAB_V4_ONLY"):  # a mesh without IPv6 (Nebula 1.6)
            o = [a for a in o if ":" not in a]
        h["overlay"] = o
        h["endpoint"] = "%s:51900" % u4
        if mode == "fill":
            h["tunnel_key"], h["sign_key"] = host_pub("%s/%s/host.pub" % (keydir, name))
        o4 = next((a for a in o if ":" not in a), "-")
        o6 = next((a for a in o if ":" in a), "-")
        print(name, bit, u4, u6, o4, o6)
    with open(dst, "w") as f:
        json.dump(pol, f, indent=2)
        f.write("\n")


main()
