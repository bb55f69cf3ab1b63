#!/usr/bin/env python3
"""CTest check of scripts/plot_sweep.py: plots a generated summary.csv and checks the
four figures (PNG and PDF by default, SVG on request: each valid), the refusal to replace
them without --force, an old summary.csv without the reference columns, then checks that
bad input exits with status 2 and a message naming the file and the column.

usage: plot_check.py PATH/TO/plot_sweep.py
"""
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
OUTPUTS = ["tokens_per_s", "energy_breakdown", "bandwidth_utilization", "link_bytes"]
COLUMNS = ["platform", "model", "kernel", "context", "batch", "topk", "tokens_per_s", "step_latency_us",
           "energy_per_token_uj", "link_bytes_per_token", "dram_bandwidth_utilization", "wall_s", "report"]
# Since pnmvp reports them: the link's bandwidth and the refresh ceiling.
REFERENCE_COLUMNS = ["dram_peak_gbps", "dram_refresh_ceiling", "link_gbps"]
CLASSES = ["dram_act", "dram_rdwr", "dram_background", "dram_refresh", "dram_io", "link", "engine",
           "sram", "controller", "host"]


def interpreter():
    """A python3 that has numpy and matplotlib: this one, else Debian's (a pyenv or venv
    python3 earlier on PATH often lacks the Debian packages scripts/setup.sh installs)."""
    probe = "import numpy, matplotlib"
    for exe in (sys.executable, "/usr/bin/python3"):
        if exe and os.path.exists(exe):
            if subprocess.run([exe, "-c", probe], capture_output=True).returncode == 0:
                return exe
    sys.exit("plot_check: no python3 with numpy and matplotlib (run scripts/setup.sh)")


def write_csv(path, kernels, contexts, platforms=("pnm-ref",), columns=COLUMNS, classes=CLASSES):
    header = list(columns) + [f"energy_{c}_uj" for c in classes]
    lines = [",".join(header)]
    for platform in platforms:
        for ki, kernel in enumerate(kernels):
            for ctx in contexts:
                values = {
                    "platform": platform, "model": "llama-3.1-8b", "kernel": kernel, "context": ctx,
                    "batch": 1, "topk": 0 if kernel in ("dense", "pnm-dense", "host-fetch") else 256,
                    "tokens_per_s": 1e6 / (ctx * (1 + ki)), "step_latency_us": ctx * (1 + ki) / 1e3,
                    "energy_per_token_uj": 0.0,
                    # 0 at the first context: the log-y plot must cope with it.
                    "link_bytes_per_token": 0 if ctx == contexts[0] else 64 * ctx / (1 + ki),
                    "dram_bandwidth_utilization": min(0.95, 0.1 + ctx / 2.0**18), "wall_s": 0.5,
                    "report": f"runs/{platform}-{kernel}-{ctx}.json",
                    "dram_peak_gbps": 153.6, "dram_refresh_ceiling": 0.9244, "link_gbps": 52.72,
                }
                row = [str(values[c]) for c in columns]
                row += [str(0.01 * (i + 1) * ctx / 1024) for i in range(len(classes))]
                lines.append(",".join(row))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def run(exe, script, *args):
    return subprocess.run([exe, script, *args], capture_output=True, text=True)


def check_figure(p):
    """A valid PNG (magic, non-empty size), PDF (magic, trailer) or SVG (parses as XML, an
    <svg> root)."""
    assert os.path.isfile(p), f"{p} was not written"
    with open(p, "rb") as f:
        data = f.read()
    if p.endswith(".png"):
        assert data[:8] == PNG_MAGIC, f"{p} is not a PNG"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert width > 0 and height > 0, f"{p} is empty"
    elif p.endswith(".pdf"):
        assert data[:5] == b"%PDF-", f"{p} is not a PDF"
        assert b"%%EOF" in data[-64:], f"{p} has no PDF trailer"
    elif p.endswith(".svg"):
        root = ET.fromstring(data)
        assert root.tag.endswith("svg"), f"{p}: root element {root.tag}, not svg"
    else:
        raise AssertionError(f"{p}: unexpected figure format")


def check_figures(out_dir, formats=("png", "pdf"), absent=()):
    for name in OUTPUTS:
        for fmt in formats:
            check_figure(os.path.join(out_dir, f"{name}.{fmt}"))
        for fmt in absent:
            p = os.path.join(out_dir, f"{name}.{fmt}")
            assert not os.path.exists(p), f"{p} was written though not asked for"


def expect_error(result, *parts):
    assert result.returncode == 2, f"exit {result.returncode}, expected 2; stderr: {result.stderr}"
    for part in parts:
        assert part in result.stderr, f"'{part}' not in stderr: {result.stderr}"


def main():
    script = sys.argv[1]
    exe = interpreter()
    tmp = tempfile.mkdtemp(prefix="pnm_plot_")
    try:
        # A normal sweep: two kernels, six contexts.
        sweep = os.path.join(tmp, "sweep")
        os.mkdir(sweep)
        write_csv(os.path.join(sweep, "summary.csv"), ["host-fetch", "pnm-dense", "pnm-topk"],
                  [2**k for k in range(10, 16)], columns=COLUMNS + REFERENCE_COLUMNS)
        r = run(exe, script, sweep)
        assert r.returncode == 0, f"plot_sweep failed: {r.stderr}"
        check_figures(sweep, absent=("svg",))
        assert "note" not in r.stderr, f"unexpected note with every column present: {r.stderr}"
        # Existing figures are kept unless --force; the refusal names the file and --force.
        before = os.path.getmtime(os.path.join(sweep, "tokens_per_s.png"))
        expect_error(run(exe, script, sweep), os.path.join(sweep, "tokens_per_s.png"), "--force")
        assert os.path.getmtime(os.path.join(sweep, "tokens_per_s.png")) == before, "replaced without --force"
        r = run(exe, script, sweep, "--force", "--format", "svg,png", "--baseline", "pnm-dense")
        assert r.returncode == 0, f"--force run failed: {r.stderr}"
        check_figures(sweep, formats=("png", "svg"))
        expect_error(run(exe, script, sweep, "--force", "--format", "png,gif"), "--format", "gif")

        # A summary.csv from before the reference columns still plots, with a note; a baseline
        # that is not there only loses the speed-up panel.
        old = os.path.join(tmp, "old")
        os.mkdir(old)
        write_csv(os.path.join(old, "summary.csv"), ["dense", "topk"], [2**k for k in range(10, 16)])
        r = run(exe, script, old, "--baseline", "no-such-kernel")
        assert r.returncode == 0, f"old summary failed: {r.stderr}"
        check_figures(old)
        for part in ("link_gbps", "dram_refresh_ceiling", "no-such-kernel"):
            assert part in r.stderr, f"no note naming {part}: {r.stderr}"

        # Many series and contexts (energy plot falls back to the largest context), two platforms,
        # into a separate --out folder.
        big, out = os.path.join(tmp, "big"), os.path.join(tmp, "plots")
        os.mkdir(big)
        os.mkdir(out)
        write_csv(os.path.join(big, "summary.csv"), ["dense", "topk", "page", "select"],
                  [2**k for k in range(8, 18)], platforms=("pnm-ref", "ddr5-4800-8ch"))
        r = run(exe, script, big, "--out", out)
        assert r.returncode == 0, f"plot_sweep --out failed: {r.stderr}"
        check_figures(out)

        missing_out = os.path.join(tmp, "no_such_dir")
        expect_error(run(exe, script, sweep, "--out", missing_out), missing_out)
        assert not os.path.exists(missing_out), "--out folder must not be created"

        bad = os.path.join(tmp, "bad")
        os.mkdir(bad)
        expect_error(run(exe, script, bad), os.path.join(bad, "summary.csv"))  # missing file

        write_csv(os.path.join(bad, "summary.csv"), ["dense"], [1024],
                  columns=[c for c in COLUMNS if c != "dram_bandwidth_utilization"])
        expect_error(run(exe, script, bad), "summary.csv", "dram_bandwidth_utilization")

        write_csv(os.path.join(bad, "summary.csv"), ["dense"], [])  # header only
        expect_error(run(exe, script, bad), "summary.csv", "no data rows")

        write_csv(os.path.join(bad, "summary.csv"), ["dense"], [1024], classes=[])
        expect_error(run(exe, script, bad), "energy_<class>_uj")

        write_csv(os.path.join(bad, "summary.csv"), ["dense"], [1024])
        with open(os.path.join(bad, "summary.csv"), "a") as f:
            f.write("pnm-ref,tiny,dense,2048,1,0,fast,1,1,1,0.5,1,r.json" + ",1" * len(CLASSES) + "\n")
        expect_error(run(exe, script, bad), "summary.csv:3", "tokens_per_s", "fast")

        # A reference column that is there must hold numbers; an empty field only drops the line.
        write_csv(os.path.join(bad, "summary.csv"), ["dense"], [1024, 2048], columns=COLUMNS + REFERENCE_COLUMNS)
        with open(os.path.join(bad, "summary.csv")) as f:
            text = f.read().replace(",52.72", ",fast", 1)
        with open(os.path.join(bad, "summary.csv"), "w") as f:
            f.write(text)
        expect_error(run(exe, script, bad), os.path.join(bad, "summary.csv") + ":2", "link_gbps", "fast")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("plot_check: ok")


if __name__ == "__main__":
    main()
