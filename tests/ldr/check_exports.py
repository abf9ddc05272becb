#!/usr/bin/env python3
"""CTest ldr_exports_are_windows_exports: every name in src/ldr/exports/*.exports
must be a real export of the module it is listed under. The reference is the
symbol list of mingw-w64's import libraries (libntoskrnl.a, libhal.a: their
__imp_<name> symbols), plus tests/ldr/exports_allowlist.txt for real exports
those libraries lack. HAL.dll names may also be confirmed by libntoskrnl.a
(modern Windows exports the HAL's routines from the kernel).

Usage: check_exports.py NM MINGW_LIB_DIR SOURCE_DIR
"""
import glob
import os
import re
import subprocess
import sys


def imports(nm, lib):
    out = subprocess.check_output([nm, lib], text=True, stderr=subprocess.DEVNULL)
    return set(re.findall(r"__imp_([A-Za-z0-9_@]+)", out))


def main():
    nm, libdir, src = sys.argv[1:4]
    ntos = imports(nm, os.path.join(libdir, "libntoskrnl.a"))
    hal = imports(nm, os.path.join(libdir, "libhal.a"))
    allow = set()
    with open(os.path.join(src, "tests/ldr/exports_allowlist.txt")) as f:
        for line in f:
            name = line.split("#", 1)[0].strip()
            if name:
                allow.add(name)
    files = sorted(glob.glob(os.path.join(src, "src/ldr/exports/*.exports")))
    listing = subprocess.check_output([sys.executable, os.path.join(src, "tools/gen_exports.py"), "--list"] + files,
                                      text=True)
    bad, count, used = [], 0, set()
    for line in listing.splitlines():
        module, name = line.split()[:2]
        count += 1
        known = ntos if module == "ntoskrnl.exe" else hal | ntos
        if name in known:
            continue
        if name in allow:
            used.add(name)
            continue
        bad.append(f"{module}!{name}")
    stale = sorted(allow - used)
    if bad:
        print("not Windows exports (or missing from the allow-list):", " ".join(bad))
    if stale:
        print("allow-list entries no longer needed:", " ".join(stale))
    print(f"{count} exports checked, {len(used)} through the allow-list")
    sys.exit(1 if bad or stale else 0)


if __name__ == "__main__":
    main()
