#!/usr/bin/env python3
"""CTest check of scripts/plot_serve.py: the load, energy and cdf figures from generated
CSVs (PNG and PDF by default, SVG on request, each valid), the refusal to replace an
output without --force and an input ever, an old summary.csv without link_gbps, and bad
input exiting with status 2 and a message naming the file and the column.

usage: plot_serve_check.py PATH/TO/plot_serve.py
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot_check import check_figure, expect_error, interpreter, run  # noqa: E402

POLICIES = ["hbm", "cxl-recall", "pnm", "pnm-select", "rdma-pool"]
SCALES = [0.05, 0.1, 0.2, 0.4, 0.8]
HEADER = ("system,model,policy,rate_scale,offered_requests_per_s,requests,completed,output_tokens_per_s,"
          "requests_per_s,goodput_requests_per_s,ttft_p50_ms,ttft_p99_ms,tbt_p50_ms,tbt_p99_ms,e2e_p50_ms,"
          "energy_per_output_token_mj,link_bytes_per_output_token,nic_bytes_per_output_token,link_gbps,"
          "dram_refresh_ceiling,topk,wall_s,report").split(",")
OLD_DROPPED = {"link_gbps", "dram_refresh_ceiling", "topk"}


def write_summary(path, old=False):
    header = [h for h in HEADER if not (old and h in OLD_DROPPED)]
    lines = [",".join(header)]
    for i, p in enumerate(POLICIES):
        for s in SCALES:
            offered = 2.99 * s
            v = {"system": "pnm-ref-system", "model": "llama-3.1-8b", "policy": p, "rate_scale": s,
                 "offered_requests_per_s": offered, "requests": 100, "completed": 100,
                 "output_tokens_per_s": min(350 * offered, [450, 50, 120, 44, 530][i]),
                 "requests_per_s": offered, "goodput_requests_per_s": offered * [0.9, 0.2, 0.3, 0, 0.95][i],
                 "ttft_p50_ms": 10, "ttft_p99_ms": 20, "tbt_p50_ms": 5, "tbt_p99_ms": 9, "e2e_p50_ms": 100,
                 "energy_per_output_token_mj": [300, 900, 500, 2000, 290][i],
                 "link_bytes_per_output_token": [0, 2e9, 1e7, 5e6, 0][i], "nic_bytes_per_output_token": 0,
                 "link_gbps": 52.72, "dram_refresh_ceiling": 0.9244, "topk": 2048, "wall_s": 1,
                 "report": f"{p}-{s}.json"}
            lines.append(",".join(str(v[h]) for h in header))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def write_requests(path, scale):
    lines = ["id,arrival_ms,input_tokens,output_tokens,cached_tokens,completed,ttft_ms,tbt_mean_ms,tbt_max_ms,"
             "e2e_ms,preemptions,slo_met"]
    for i in range(40):
        lines.append(f"{i},{i * 10},100,10,0,1,{scale * (1 + i) ** 1.5:.3f},{scale * (1 + i % 7):.3f},9,99,0,1")
    lines.append("40,400,100,10,0,0,,,,,0,0")  # not completed: left out
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    script = sys.argv[1]
    exe = interpreter()
    tmp = tempfile.mkdtemp(prefix="pnm_plot_serve_")
    try:
        summary = os.path.join(tmp, "summary.csv")
        write_summary(summary)
        a, b = os.path.join(tmp, "hbm.csv"), os.path.join(tmp, "pnm.csv")
        write_requests(a, 1.0)
        write_requests(b, 7.0)

        out = os.path.join(tmp, "load.png")
        r = run(exe, script, "load", summary, "--out", out)
        assert r.returncode == 0, f"load failed: {r.stderr}"
        check_figure(out)
        check_figure(os.path.join(tmp, "load.pdf"))
        assert not os.path.exists(os.path.join(tmp, "load.svg")), "svg written though not asked for"
        # Kept without --force (the message names the file and --force), replaced with it.
        expect_error(run(exe, script, "load", summary, "--out", out), out, "--force")
        r = run(exe, script, "load", summary, "--out", out, "--force", "--format", "svg", "--baseline", "pnm")
        assert r.returncode == 0, f"load --force failed: {r.stderr}"
        check_figure(os.path.join(tmp, "load.svg"))

        r = run(exe, script, "energy", summary, "--out", os.path.join(tmp, "energy"), "--format", "png,svg",
                "--rate-scale", "0.2")
        assert r.returncode == 0, f"energy failed: {r.stderr}"
        for ext in ("png", "svg"):
            check_figure(os.path.join(tmp, f"energy.{ext}"))

        r = run(exe, script, "cdf", a, b, "--out", os.path.join(tmp, "cdf.pdf"))
        assert r.returncode == 0, f"cdf failed: {r.stderr}"
        for ext in ("pdf", "png"):
            check_figure(os.path.join(tmp, f"cdf.{ext}"))

        # An input is never an output, even with --force.
        odd = os.path.join(tmp, "requests.png")  # a CSV under a figure's name
        shutil.copy(a, odd)
        keep = open(odd).read()
        expect_error(run(exe, script, "cdf", odd, "--out", odd, "--force"), odd, "is an input")
        assert open(odd).read() == keep, "an input was replaced"
        r = run(exe, script, "cdf", b, "--out", a, "--force")  # a.csv: the figures are a.csv.png, .pdf
        assert r.returncode == 0 and open(a).read() == keep, f"input changed: {r.stderr}"

        # An old summary.csv without link_gbps still plots, with a note.
        old = os.path.join(tmp, "old.csv")
        write_summary(old, old=True)
        r = run(exe, script, "load", old, "--out", os.path.join(tmp, "old_load.png"))
        assert r.returncode == 0, f"old summary failed: {r.stderr}"
        assert "link_gbps" in r.stderr, f"no note about link_gbps: {r.stderr}"
        check_figure(os.path.join(tmp, "old_load.png"))

        # Bad input: exit 2 naming the file and the column.
        bad = os.path.join(tmp, "bad.csv")
        with open(bad, "w") as f:
            f.write("policy,rate_scale\nhbm,1\n")
        expect_error(run(exe, script, "load", bad, "--out", os.path.join(tmp, "b1")), bad,
                     "offered_requests_per_s")
        with open(summary) as f:
            text = f.read().replace(",52.72,", ",fast,", 1)
        with open(bad, "w") as f:
            f.write(text)
        expect_error(run(exe, script, "load", bad, "--out", os.path.join(tmp, "b2")), bad + ":2", "link_gbps",
                     "fast")
        expect_error(run(exe, script, "energy", summary, "--out", os.path.join(tmp, "b3"), "--rate-scale", "9"),
                     summary, "rate scale 9")
        expect_error(run(exe, script, "cdf", os.path.join(tmp, "missing.csv"), "--out", os.path.join(tmp, "b4")),
                     "missing.csv")
        expect_error(run(exe, script, "load", summary, "--out", os.path.join(tmp, "b5"), "--format", "jpg"),
                     "--format")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("plot_serve_check: ok")


if __name__ == "__main__":
    main()
