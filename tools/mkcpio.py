#!/usr/bin/env python3
"""Builds a newc cpio archive (the format boot/cpio.c reads) from files.

    tools/mkcpio.py -o OUT.cpio FILE[=NAME] ...

Each FILE becomes one regular member named NAME (default: the file's base
name), in command-line order, followed by the TRAILER!!! member. The bare-metal
kernel turns each member into one boot module (QEMU -initrd; see README
"Boot modules"). No directories, no links: the kernel does not need them.
"""
import argparse
import os
import sys

MAGIC = b"070701"


def header(ino, mode, size, name):
    fields = [ino, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, len(name) + 1, 0]
    return MAGIC + b"".join(b"%08x" % f for f in fields)


def pad4(buf):
    return b"\0" * (-len(buf) % 4)


def member(ino, mode, name, data):
    out = bytearray(header(ino, mode, len(data), name))
    out += name + b"\0"
    out += pad4(out)
    out += data
    out += pad4(out)
    return bytes(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("files", nargs="+", metavar="FILE[=NAME]")
    args = ap.parse_args()
    out = bytearray()
    names = set()
    for ino, spec in enumerate(args.files, 1):
        path, _, name = spec.partition("=")
        name = name or os.path.basename(path)
        if not name or "/" in name or name == "TRAILER!!!":
            sys.exit(f"mkcpio: bad member name {name!r}")
        if name in names:
            sys.exit(f"mkcpio: two members named {name!r}")
        names.add(name)
        with open(path, "rb") as f:
            data = f.read()
        if len(data) > 0xFFFFFFFF:
            sys.exit(f"mkcpio: {path} is larger than a newc member can be (4 GB)")
        out += member(ino, 0o100644, name.encode(), data)
    out += member(0, 0, b"TRAILER!!!", b"")
    with open(args.output, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
