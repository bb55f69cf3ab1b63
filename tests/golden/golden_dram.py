#!/usr/bin/env python3
"""Golden DRAM results: rerun `pnmvp dram` cases and compare with the files in
tests/golden/dram/expected/, or write those files on purpose.

  golden_dram.py check --pnmvp BIN [--keep DIR] CASE...   exit 1 on any mismatch
  golden_dram.py regen --pnmvp BIN [REGEX...]             rewrite, print what changed
  golden_dram.py files                                    expected/ holds exactly the cases

The command trace must match byte for byte: it is where a changed scheduling
decision shows first. The report is compared key by key, except the keys that
describe the host rather than the model (VOLATILE); paths in it are reduced to
their file names, since the checkout can live anywhere.
"""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = os.path.join(HERE, "dram")
EXPECTED = os.path.join(DIR, "expected")
VOLATILE = ("wall_s", "requests_per_wall_s", "peak_rss_mib", "provenance")
# Floats are the model's own arithmetic on exact integer counts; a compiler may
# round the last bit differently, a model change moves them much further.
REL_TOL = 1e-9


def read_cases():
    cases = {}
    with open(os.path.join(DIR, "cases.txt")) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, *args = shlex.split(line)
            if name in cases:
                sys.exit(f"cases.txt:{n}: case '{name}' listed twice")
            cases[name] = args
    return cases


def normalise(report):
    r = {k: v for k, v in report.items() if k not in VOLATILE}
    r["platform"] = os.path.basename(r["platform"])
    if r["workload"].startswith("trace "):
        r["workload"] = "trace " + os.path.basename(r["workload"][6:])
    return r


def run_case(pnmvp, name, args, outdir):
    """Runs one case; returns (command trace bytes, normalised report)."""
    csv, rep = os.path.join(outdir, name + ".csv"), os.path.join(outdir, name + ".json")
    for p in (csv, rep):  # pnmvp refuses to overwrite a command trace
        if os.path.exists(p):
            os.remove(p)
    env = {k: v for k, v in os.environ.items() if k != "PNMVP_PLATFORMS"}
    cmd = [os.path.abspath(pnmvp), "dram", *args, "--report", rep, "--command-trace", csv]
    p = subprocess.run(cmd, cwd=DIR, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{name}: pnmvp exited {p.returncode}: {shlex.join(cmd)}\n{p.stderr}")
    with open(csv, "rb") as f:
        trace = f.read()
    with open(rep) as f:
        report = normalise(json.load(f))
    return trace, report


def trace_diff(expected, actual):
    """The first differing line of two command traces, or None."""
    if expected == actual:
        return None
    e, a = expected.decode().split("\n"), actual.decode().split("\n")
    for i in range(max(len(e), len(a))):
        el = e[i] if i < len(e) else "<end of file>"
        al = a[i] if i < len(a) else "<end of file>"
        if el != al:
            return (f"command trace differs at line {i + 1} "
                    f"(expected {len(e) - 1} lines, got {len(a) - 1}):\n"
                    f"    expected: {el}\n    actual:   {al}")
    return "command trace differs (line endings)"


def same_value(e, a):
    if isinstance(e, bool) or isinstance(a, bool) or not isinstance(e, (int, float)) \
            or not isinstance(a, (int, float)):
        return e == a
    if isinstance(e, int) and isinstance(a, int):
        return e == a
    return abs(e - a) <= REL_TOL * max(abs(e), abs(a))


def report_diffs(expected, actual, path=""):
    """Every differing key of two reports, as (key path, expected, actual)."""
    out = []
    if isinstance(expected, dict) and isinstance(actual, dict):
        for k in list(expected) + [k for k in actual if k not in expected]:
            sub = f"{path}.{k}" if path else k
            if k not in actual:
                out.append((sub, expected[k], "<missing>"))
            elif k not in expected:
                out.append((sub, "<missing>", actual[k]))
            else:
                out += report_diffs(expected[k], actual[k], sub)
    elif isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for i, (e, a) in enumerate(zip(expected, actual)):
            out += report_diffs(e, a, f"{path}[{i}]")
    elif not same_value(expected, actual):
        out.append((path, expected, actual))
    return out


def load_expected(name):
    with open(os.path.join(EXPECTED, name + ".csv"), "rb") as f:
        trace = f.read()
    with open(os.path.join(EXPECTED, name + ".json")) as f:
        return trace, json.load(f)


def differences(name, expected, actual):
    """Human-readable mismatches of one case, [] if it matches."""
    msgs = []
    t = trace_diff(expected[0], actual[0])
    if t:
        msgs.append(t)
    d = report_diffs(expected[1], actual[1])
    if d:
        key, e, a = d[0]
        more = f" (and {len(d) - 1} more: {', '.join(k for k, _, _ in d[1:6])}" \
               f"{', ...' if len(d) > 6 else ''})" if len(d) > 1 else ""
        msgs.append(f"report differs at key '{key}': expected {json.dumps(e)}, "
                    f"actual {json.dumps(a)}{more}")
    return msgs


def check(args):
    cases = read_cases()
    failed = 0
    keep = args.keep or tempfile.mkdtemp(prefix="golden_dram_")
    os.makedirs(keep, exist_ok=True)
    for name in args.cases:
        if name not in cases:
            sys.exit(f"unknown case '{name}' (see tests/golden/dram/cases.txt)")
        try:
            expected = load_expected(name)
        except FileNotFoundError as e:
            print(f"FAIL {name}: no golden file ({e.filename}); run scripts/regen_golden.sh")
            failed += 1
            continue
        try:
            msgs = differences(name, expected, run_case(args.pnmvp, name, cases[name], keep))
        except RuntimeError as e:
            msgs = [str(e)]
        if msgs:
            failed += 1
            print(f"FAIL golden case {name}: " + "\n  ".join(msgs))
            print(f"  (actual outputs kept in {keep}; if the change is intended, run "
                  f"scripts/regen_golden.sh and explain it in the commit)")
        else:
            print(f"ok {name}")
    return 1 if failed else 0


def write_expected(name, trace, report):
    with open(os.path.join(EXPECTED, name + ".csv"), "wb") as f:
        f.write(trace)
    with open(os.path.join(EXPECTED, name + ".json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")


def regen(args):
    cases = read_cases()
    pick = [n for n in cases if not args.regex or any(re.search(r, n) for r in args.regex)]
    os.makedirs(EXPECTED, exist_ok=True)
    changed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in pick:
            actual = run_case(args.pnmvp, name, cases[name], tmp)
            try:
                msgs = differences(name, load_expected(name), actual)
                status = "changed" if msgs else "unchanged"
            except FileNotFoundError:
                msgs, status = [], "new"
            changed += status != "unchanged"
            print(f"{status:9} {name}" + "".join("\n    " + m.replace("\n", "\n    ") for m in msgs))
            write_expected(name, *actual)
    if not args.regex:
        for f in sorted(os.listdir(EXPECTED)):
            if os.path.splitext(f)[0] not in cases:
                os.remove(os.path.join(EXPECTED, f))
                print(f"removed   {f} (no longer a case)")
                changed += 1
    print(f"{len(pick)} case(s) written, {changed} changed; review with git diff "
          f"and say why in the commit")
    return 0


def files(_args):
    cases = read_cases()
    have = set(os.listdir(EXPECTED))
    want = {n + ext for n in cases for ext in (".csv", ".json")}
    bad = [f"missing {f}" for f in sorted(want - have)] + \
          [f"stray {f} (not a case in cases.txt)" for f in sorted(have - want)]
    for b in bad:
        print(f"FAIL expected/: {b}")
    if not bad:
        print(f"ok: {len(cases)} cases, {len(want)} files")
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("--pnmvp", required=True)
    c.add_argument("--keep", help="keep the actual outputs here")
    c.add_argument("cases", nargs="+")
    r = sub.add_parser("regen")
    r.add_argument("--pnmvp", required=True)
    r.add_argument("regex", nargs="*", help="only cases whose name matches")
    sub.add_parser("files")
    sub.add_parser("list")
    args = ap.parse_args()
    if args.cmd == "list":
        print("\n".join(read_cases()))
        return 0
    return {"check": check, "regen": regen, "files": files}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
