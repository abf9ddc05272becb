#!/usr/bin/env python3
"""ntos_bench JSON lines: check, summarise and compare.

  tools/bench.py check FILE [--expect=N]   every line a well-formed record
                                           (used by the bench.smoke test; no
                                           timing is asserted)
  tools/bench.py median FILE...            one table of the median ns/op and
                                           ratio per case over several runs
                                           (repeat runs on a noisy machine)
  tools/bench.py compare OLD NEW [--threshold=PCT]
                                           per case, the change of the ratio
                                           to the peer (ratios survive machine
                                           load better than raw ns); flags
                                           regressions beyond PCT (default 10)
                                           and exits 1 if there are any
  tools/bench.py smoke BENCH_EXE           run BENCH_EXE at a tiny scale into a
                                           fresh file, then check it
  tools/bench.py kbench SERIAL_LOG [--json=FILE] [--preset=P]
                                           the in-kernel cases' serial lines
                                           (kbench: name=...) as a table and
                                           JSON records (no peer)
  tools/bench.py selftest SELFTEST_EXE [--json=FILE] [--cpus=N] [--preset=P]
                                           test-suite throughput: runs the
                                           hosted in-kernel runner (every test
                                           source of the suite, once, in one
                                           process) and reports tests per
                                           second; no Linux peer (peer and
                                           ratio are null)
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

FIELDS = {
    "name": str,
    "description": str,
    "ntos_ns_per_op": (int, float),
    "peer_ns_per_op": (int, float),
    "ratio": (int, float),
    "iterations": int,
    "threads": int,
    "cpus": int,
    "preset": str,
    "repetitions": int,
    "peer": str,
}


def load(path):
    records = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}:{number}: not JSON: {e}")
    return records


def check(path, expect=None):
    records = load(path)
    errors = []
    names = set()
    for i, r in enumerate(records, 1):
        for field, kind in FIELDS.items():
            if field in ("peer_ns_per_op", "ratio") and r.get("peer") == "none" and r.get(field) is None:
                continue  # a case without a Linux peer
            if field not in r:
                errors.append(f"record {i}: no {field}")
            elif not isinstance(r[field], kind) or isinstance(r[field], bool):
                errors.append(f"record {i}: {field} has type {type(r[field]).__name__}")
        if isinstance(r.get("name"), str):
            # One run names each case once (files of several runs repeat them).
            if expect is not None and r["name"] in names:
                errors.append(f"record {i}: {r['name']} twice")
            names.add(r["name"])
        for field in ("ntos_ns_per_op", "peer_ns_per_op", "ratio"):
            v = r.get(field)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and not v >= 0:
                errors.append(f"record {i}: {field} = {v}")
        if isinstance(r.get("iterations"), int) and r["iterations"] < 1:
            errors.append(f"record {i}: iterations = {r['iterations']}")
    if expect is not None and len(records) != expect:
        errors.append(f"{len(records)} records, expected {expect}")
    if not records:
        errors.append("no records")
    for e in errors:
        print(f"{path}: {e}", file=sys.stderr)
    if not errors:
        print(f"{path}: {len(records)} well-formed records")
    return not errors


def by_name(records):
    out = {}
    for r in records:
        out.setdefault(r["name"], []).append(r)
    return out


def median_table(paths):
    groups = {}
    order = []
    for p in paths:
        for r in load(p):
            if r["name"] not in groups:
                order.append(r["name"])
            groups.setdefault(r["name"], []).append(r)
    print(f"median of {len(paths)} run(s)")
    print(f"{'case':<36} {'thr':>3} {'ntos ns/op':>11} {'peer ns/op':>11} {'ratio':>7} {'ratio min-max':>15}  peer")
    for name in order:
        rs = groups[name]
        if rs[0].get("ratio") is None:
            print(f"{name:<36} {rs[0]['threads']:>3} {statistics.median(r['ntos_ns_per_op'] for r in rs):>11.1f} "
                  f"{'-':>11} {'-':>7} {'':>15}  (no peer)")
            continue
        ratios = [r["ratio"] for r in rs]
        print(f"{name:<36} {rs[0]['threads']:>3} {statistics.median(r['ntos_ns_per_op'] for r in rs):>11.1f} "
              f"{statistics.median(r['peer_ns_per_op'] for r in rs):>11.1f} {statistics.median(ratios):>7.2f} "
              f"{min(ratios):>7.2f}-{max(ratios):<7.2f}  {rs[0]['peer']}")


def compare(old_path, new_path, threshold):
    old = by_name(load(old_path))
    new = by_name(load(new_path))
    regressions = 0
    print(f"{'case':<36} {'old ratio':>9} {'new ratio':>9} {'change':>8}")
    for name, rs in new.items():
        if rs[0].get("ratio") is None or (name in old and old[name][0].get("ratio") is None):
            a = statistics.median(r["ntos_ns_per_op"] for r in old[name]) if name in old else None
            b = statistics.median(r["ntos_ns_per_op"] for r in rs)
            print(f"{name:<36} no peer: ns/op {a if a is None else round(a, 1)} -> {b:.1f}")
            continue
        if name not in old:
            print(f"{name:<36} {'-':>9} {statistics.median(r['ratio'] for r in rs):>9.2f}      new")
            continue
        a = statistics.median(r["ratio"] for r in old[name])
        b = statistics.median(r["ratio"] for r in rs)
        change = (b - a) / a * 100 if a > 0 else 0.0
        flag = ""
        if change > threshold:
            flag = "  REGRESSION"
            regressions += 1
        print(f"{name:<36} {a:>9.2f} {b:>9.2f} {change:>+7.1f}%{flag}")
    for name in old:
        if name not in new:
            print(f"{name:<36} missing from {new_path}")
    return regressions == 0


def smoke(exe):
    # Every case, a tiny operation count: checks that each runs and writes a
    # well-formed record. Asserts nothing about time.
    listing = subprocess.run([exe, "--list"], check=True, capture_output=True, text=True).stdout.split()
    fd, path = tempfile.mkstemp(suffix=".jsonl")
    os.close(fd)
    try:
        subprocess.run([exe, "--scale=0.00002", "--repetitions=1", f"--json={path}"], check=True, timeout=600)
        ok = check(path, expect=len(listing))
    finally:
        os.unlink(path)
    # The in-kernel cases (the code the QEMU image runs), hosted, tiny counts.
    run = subprocess.run([exe, "--kbench=0"], capture_output=True, text=True, timeout=600)
    records = parse_kbench(run.stdout + run.stderr, "smoke")
    failed = [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("kbench:") and "failed" in line]
    print(f"kbench: {len(records)} cases, {len(failed)} failed, exit {run.returncode}")
    for line in failed:
        print(line, file=sys.stderr)
    sanitizer = [line for line in (run.stdout + run.stderr).splitlines()
                 if "Sanitizer" in line or "runtime error:" in line]
    for line in sanitizer:
        print(line, file=sys.stderr)
    return not sanitizer and ok and run.returncode == 0 and not failed and len(records) >= 14 and "kbench: done" in run.stdout + run.stderr


def parse_kbench(text, preset):
    """kbench: name=X cycles_per_op=C ns_per_op=N ops=O cpus=K -> records (no peer)."""
    records = []
    for line in text.splitlines():
        i = line.find("kbench: name=")
        if i < 0 or " failed" in line:
            continue
        fields = dict(kv.split("=", 1) for kv in line[i + len("kbench: "):].split() if "=" in kv)
        records.append({
            "name": fields["name"],
            "description": "in-kernel, cycle counter",
            "ntos_ns_per_op": float(fields["ns_per_op"]),
            "ntos_cycles_per_op": float(fields["cycles_per_op"]),
            "peer_ns_per_op": None,
            "ratio": None,
            "iterations": int(fields["ops"]),
            "threads": 1,
            "cpus": int(fields["cpus"]),
            "preset": preset,
            "repetitions": 5,
            "peer": "none",
        })
    return records


def kbench_file(text_path, json_path, preset):
    with open(text_path, errors="replace") as f:
        records = parse_kbench(f.read(), preset)
    print(f"{'case':<28} {'cycles/op':>10} {'ns/op':>9}")
    for r in records:
        print(f"{r['name']:<28} {r['ntos_cycles_per_op']:>10.1f} {r['ntos_ns_per_op']:>9.1f}")
    if json_path:
        with open(json_path, "a") as f:
            for r in records:
                f.write(json.dumps(r) + "\n")
    return bool(records)


def selftest(exe, json_path, cpus, preset):
    import time
    env = dict(os.environ, NTOS_CPUS=str(cpus))
    t0 = time.monotonic()
    run = subprocess.run([exe], env=env, capture_output=True, text=True, timeout=1800)
    seconds = time.monotonic() - t0
    lines = (run.stdout + run.stderr).splitlines()  # ktest prints on stderr on the host
    ok = sum(1 for line in lines if line.startswith("[ OK ]"))
    failed = sum(1 for line in lines if line.startswith("[FAIL]"))
    skipped = sum(1 for line in lines if line.startswith("[SKIP]"))
    tests = ok + failed + skipped
    print(f"selftest_throughput: {tests} tests ({ok} ok, {failed} failed, {skipped} skipped) in {seconds:.2f} s "
          f"on {cpus} CPU(s): {tests / seconds:.0f} tests/s, exit {run.returncode}")
    if json_path and tests:
        record = {
            "name": "selftest_throughput",
            "description": "every test of the suite once through the hosted in-kernel runner (wall, boot included)",
            "ntos_ns_per_op": seconds * 1e9 / tests,
            "peer_ns_per_op": None,
            "ratio": None,
            "iterations": tests,
            "threads": 1,
            "cpus": cpus,
            "preset": preset,
            "repetitions": 1,
            "tests_per_second": tests / seconds,
            "tests_failed": failed,
            "peer": "none",
        }
        with open(json_path, "a") as f:
            f.write(json.dumps(record) + "\n")
    for line in lines:
        if line.startswith("[FAIL]"):
            print(line)
    return tests > 0  # a throughput figure even if some test failed (printed above)


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd, args = argv[1], argv[2:]
    opts = {a.split("=", 1)[0]: a.split("=", 1)[1] for a in args if a.startswith("--") and "=" in a}
    files = [a for a in args if not a.startswith("--")]
    if cmd == "check" and len(files) == 1:
        return 0 if check(files[0], int(opts["--expect"]) if "--expect" in opts else None) else 1
    if cmd == "median" and files:
        median_table(files)
        return 0
    if cmd == "compare" and len(files) == 2:
        return 0 if compare(files[0], files[1], float(opts.get("--threshold", "10"))) else 1
    if cmd == "selftest" and len(files) == 1:
        ok = selftest(files[0], opts.get("--json"), int(opts.get("--cpus", "2")), opts.get("--preset", "host-release"))
        return 0 if ok else 1
    if cmd == "kbench" and len(files) == 1:
        return 0 if kbench_file(files[0], opts.get("--json"), opts.get("--preset", "kernel-release")) else 1
    if cmd == "smoke" and len(files) == 1:
        return 0 if smoke(files[0]) else 1
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
