#!/usr/bin/env python3
"""Checks that every import of the given PE drivers is exported by ntos.

Reads each driver's import table with (x86_64-w64-mingw32-)objdump -p and the
export lists src/ldr/exports/*.exports (one source of truth for the loader:
a header line `module <dll>` and then one line per export,
`<ExportName> [<internal C symbol>] [DATA]`, `#` comments). Prints each
driver's imports per DLL and fails listing every import that ntos does not
export, so a test driver can never silently depend on something missing.

--expect-missing DRIVER=DLL!NAME (repeatable) names an import that must be
absent (the driver that tests the loader's refusal); it is an error if it is
exported after all, or if that driver misses anything else.

Exit status: 0 all good, 1 a check failed, 2 bad usage or unreadable input.
"""
import argparse
import glob
import os
import re
import subprocess
import sys


def read_exports(directory):
    """Returns {dll_lower: set(names)} from every *.exports file in directory."""
    files = sorted(glob.glob(os.path.join(directory, "*.exports")))
    if not files:
        raise RuntimeError(f"no *.exports files in {directory}: the export list is missing")
    exports = {}
    for path in files:
        module = None
        with open(path, encoding="utf-8") as f:
            for number, raw in enumerate(f, 1):
                line = raw.split("#", 1)[0].strip()
                if not line:
                    continue
                words = line.split()
                if words[0] == "module":
                    if len(words) != 2:
                        raise RuntimeError(f"{path}:{number}: expected `module <dll>`")
                    module = words[1].lower()
                    exports.setdefault(module, set())
                    continue
                if module is None:
                    raise RuntimeError(f"{path}:{number}: export before any `module` line")
                exports[module].add(words[0])
    return exports


IMPORT_ROW = re.compile(r"^\s*([0-9a-fA-F]+)\s+(\d+)\s+(\S+)\s*$")
ORDINAL_ROW = re.compile(r"^\s*([0-9a-fA-F]+)\s+<none>\s+([0-9a-fA-F]+)\s*$|ordinal", re.IGNORECASE)


def read_imports(objdump, image):
    """Returns [(dll, name or '#ordinal')] from objdump -p's import tables."""
    out = subprocess.run([objdump, "-p", image], check=True, capture_output=True, text=True).stdout
    imports = []
    dll = None
    in_table = False
    for line in out.splitlines():
        if line.startswith("The Import Tables"):
            in_table = True
            continue
        if not in_table:
            continue
        if line and not line[0].isspace():
            # The next top-level section (export tables, relocations, ...).
            if not line.startswith(" vma:"):
                in_table = False
            continue
        stripped = line.strip()
        m = re.match(r"DLL Name:\s*(\S+)", stripped)
        if m:
            dll = m.group(1)
            continue
        if dll is None or stripped.startswith("vma:") or not stripped:
            continue
        m = IMPORT_ROW.match(line)
        if m:
            imports.append((dll, m.group(3)))
        elif ORDINAL_ROW.search(line):
            imports.append((dll, "#" + stripped.split()[-1]))
    return imports


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objdump", default="x86_64-w64-mingw32-objdump")
    ap.add_argument("--exports-dir", required=True)
    ap.add_argument("--expect-missing", action="append", default=[], metavar="DRIVER=DLL!NAME")
    ap.add_argument("drivers", nargs="+")
    args = ap.parse_args()

    expected = {}
    for item in args.expect_missing:
        try:
            driver, rest = item.split("=", 1)
            dll, name = rest.split("!", 1)
        except ValueError:
            print(f"check_driver_imports: bad --expect-missing {item!r}", file=sys.stderr)
            return 2
        expected.setdefault(driver, set()).add((dll.lower(), name))

    try:
        exports = read_exports(args.exports_dir)
    except (OSError, RuntimeError) as e:
        print(f"check_driver_imports: {e}", file=sys.stderr)
        return 2

    failures = []
    total = 0
    for image in args.drivers:
        base = os.path.basename(image)
        try:
            imports = read_imports(args.objdump, image)
        except (OSError, subprocess.CalledProcessError) as e:
            print(f"check_driver_imports: cannot read {image}: {e}", file=sys.stderr)
            return 2
        if not imports:
            failures.append(f"{base}: no imports found (objdump output not understood?)")
        total += len(imports)
        by_dll = {}
        for dll, name in imports:
            by_dll.setdefault(dll, []).append(name)
        print(f"{base}: {len(imports)} imports: " +
              "; ".join(f"{dll} ({len(names)}): {' '.join(names)}" for dll, names in by_dll.items()))
        want_missing = expected.get(base, set())
        missing = set()
        for dll, name in imports:
            if name.startswith("#"):
                failures.append(f"{base}: imports {dll} by ordinal {name[1:]}: ntos binds by name only")
                continue
            if name not in exports.get(dll.lower(), set()):
                missing.add((dll.lower(), name))
        for dll, name in sorted(missing - want_missing):
            failures.append(f"{base}: imports {dll}!{name}, which ntos does not export")
        for dll, name in sorted(want_missing - missing):
            if (dll, name) in {(d.lower(), n) for d, n in imports}:
                failures.append(f"{base}: {dll}!{name} is expected to be missing but ntos exports it: "
                                f"pick another unexported routine for this driver")
            else:
                failures.append(f"{base}: expected to import the unexported {dll}!{name}, but does not")
        if want_missing and want_missing == missing:
            print(f"{base}: missing as intended: " + " ".join(f"{d}!{n}" for d, n in sorted(missing)))

    print(f"{len(args.drivers)} drivers, {total} imports, "
          f"{sum(len(v) for v in exports.values())} exports in {len(exports)} modules")
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
