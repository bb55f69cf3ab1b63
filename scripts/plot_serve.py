#!/usr/bin/env python3
"""Figures of `pnmvp serve` results (docs/SERVING.md).

  plot_serve.py cdf  A.csv B.csv ... --out cdf.png
      TTFT and per-request mean TBT CDFs, one line per --requests-csv file
      (the label is the file's stem, e.g. pnm.csv -> pnm).
  plot_serve.py load SUMMARY.csv --out load.png
      output tokens/s and goodput against offered load, one line per policy,
      from `pnmvp sweep --serve` (summary.csv).
  plot_serve.py energy SUMMARY.csv --out energy.png [--rate-scale X]
      energy per output token by policy at one rate scale (default: the
      lowest in the file).

Each figure is written as the given file and as a PDF beside it; the caption
(title) names the inputs.
"""
import argparse
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLES = [("o", "-"), ("s", "--"), ("^", "-."), ("D", ":"), ("v", "-"), ("P", "--"), ("X", "-.")]


def fail(msg):
    print(f"plot_serve.py: {msg}", file=sys.stderr)
    sys.exit(2)


def read_csv(path, need):
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}")
    if not rows:
        fail(f"{path} has no rows")
    missing = [k for k in need if k not in rows[0]]
    if missing:
        fail(f"{path} lacks the column(s) {', '.join(missing)}: is it the right kind of CSV?")
    return rows


def save(fig, out):
    fig.tight_layout()
    fig.savefig(out, dpi=150)
    root, _ = os.path.splitext(out)
    fig.savefig(root + ".pdf")
    print(f"wrote {out} and {root}.pdf")


def cdf(args):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for i, path in enumerate(args.inputs):
        rows = read_csv(path, ["ttft_ms", "tbt_mean_ms", "completed"])
        done = [r for r in rows if r["completed"] == "1"]
        if not done:
            fail(f"{path}: no completed request")
        label = os.path.splitext(os.path.basename(path))[0]
        marker, ls = STYLES[i % len(STYLES)]
        for ax, key in zip(axes, ["ttft_ms", "tbt_mean_ms"]):
            v = sorted(float(r[key]) for r in done)
            y = [(k + 1) / len(v) for k in range(len(v))]
            ax.plot(v, y, ls, marker=marker, markevery=max(1, len(v) // 8), label=label)
    for ax, name in zip(axes, ["TTFT (ms)", "mean TBT per request (ms)"]):
        ax.set_xscale("log")
        ax.set_xlabel(name)
        ax.set_ylabel("fraction of requests")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("pnmvp serve: " + ", ".join(os.path.basename(p) for p in args.inputs), fontsize=9)
    save(fig, args.out)


def load(args):
    rows = read_csv(args.inputs[0], ["policy", "offered_requests_per_s", "output_tokens_per_s", "goodput_requests_per_s"])
    policies = sorted({r["policy"] for r in rows})
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for i, p in enumerate(policies):
        pts = sorted((float(r["offered_requests_per_s"]), r) for r in rows if r["policy"] == p)
        x = [a for a, _ in pts]
        marker, ls = STYLES[i % len(STYLES)]
        axes[0].plot(x, [float(r["output_tokens_per_s"]) for _, r in pts], ls, marker=marker, label=p)
        axes[1].plot(x, [float(r["goodput_requests_per_s"]) for _, r in pts], ls, marker=marker, label=p)
    if rows:
        lo = min(float(r["offered_requests_per_s"]) for r in rows)
        hi = max(float(r["offered_requests_per_s"]) for r in rows)
        axes[1].plot([lo, hi], [lo, hi], color="grey", lw=0.8, label="offered load")
    axes[0].set_ylabel("output tokens/s")
    axes[1].set_ylabel("goodput (requests/s within SLO)")
    for ax in axes:
        ax.set_xlabel("offered load (requests/s)")
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.suptitle(f"pnmvp serve: {rows[0].get('model', '')} on {rows[0].get('system', '')} ({args.inputs[0]})", fontsize=9)
    save(fig, args.out)


def energy(args):
    rows = read_csv(args.inputs[0], ["policy", "rate_scale", "energy_per_output_token_mj"])
    scales = sorted({float(r["rate_scale"]) for r in rows})
    scale = args.rate_scale if args.rate_scale is not None else scales[0]
    sel = [r for r in rows if abs(float(r["rate_scale"]) - scale) < 1e-9]
    if not sel:
        fail(f"no rows at rate scale {scale} (have {scales})")
    fig, ax = plt.subplots(figsize=(6, 4))
    names = [r["policy"] for r in sel]
    vals = [float(r["energy_per_output_token_mj"]) for r in sel]
    bars = ax.bar(names, vals, color="#4477aa")
    ax.bar_label(bars, fmt="%.0f", fontsize=8)
    ax.set_ylabel("energy per output token (mJ)")
    # Linear from zero unless the policies differ by more than 20x (a log
    # axis on a narrow range makes small differences look large).
    if min(vals) > 0 and max(vals) / min(vals) > 20:
        ax.set_yscale("log")
    else:
        ax.set_ylim(0, max(vals) * 1.12)
    ax.grid(True, axis="y", which="both", alpha=0.3)
    fig.suptitle(f"pnmvp serve: energy per output token at rate x{scale} ({args.inputs[0]})", fontsize=9)
    save(fig, args.out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["cdf", "load", "energy"])
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--rate-scale", type=float)
    ap.add_argument("--force", action="store_true", help="replace an existing --out")
    a = ap.parse_args()
    if os.path.exists(a.out) and not a.force:
        fail(f"{a.out} exists: pass --force to replace it")
    if a.kind != "cdf" and len(a.inputs) != 1:
        fail(f"{a.kind} takes one summary.csv")
    {"cdf": cdf, "load": load, "energy": energy}[a.kind](a)


if __name__ == "__main__":
    main()
