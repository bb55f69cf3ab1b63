#!/usr/bin/env python3
"""Plots a `pnmvp` sweep: reads SWEEP_DIR/summary.csv, writes four PNGs.

  tokens_per_s.png           decode tokens/s vs context length (log x)
  energy_breakdown.png       energy per token by class, stacked, per kernel and context
  bandwidth_utilization.png  DRAM bandwidth utilisation vs context length
  link_bytes.png             link bytes per token vs context length (log y)

One line per kernel; platform, model, batch and top-k join the series name when they vary
among a kernel's runs, so a line never mixes configurations. Needs only numpy and
matplotlib (Debian: python3-numpy python3-matplotlib). Errors exit with status 2.
"""
import argparse
import csv
import math
import os
import sys

# Columns the plots read; the rest of summary.csv (step_latency_us, wall_s, report, ...) is ignored.
KEY_COLUMNS = ["platform", "model", "kernel", "context", "batch", "topk"]
# Read when present (sweeps since system files): the system each point ran on.
OPTIONAL_KEY_COLUMNS = ["system"]
VALUE_COLUMNS = ["tokens_per_s", "link_bytes_per_token", "dram_bandwidth_utilization"]
ENERGY_PREFIX, ENERGY_SUFFIX, ENERGY_TOTAL = "energy_", "_uj", "energy_per_token_uj"
# Beyond this many bars the energy plot shows only the largest context: unreadable otherwise.
MAX_ENERGY_BARS = 48
FIG_SIZE_IN = (8.0, 5.0)
DPI = 120
OUTPUTS = ["tokens_per_s.png", "energy_breakdown.png", "bandwidth_utilization.png", "link_bytes.png"]


class InputError(Exception):
    pass


def parse_args(argv):
    p = argparse.ArgumentParser(description="Plot a pnmvp sweep (SWEEP_DIR/summary.csv).")
    p.add_argument("sweep_dir", metavar="SWEEP_DIR", help="sweep folder holding summary.csv")
    p.add_argument("--out", metavar="DIR", help="folder for the PNGs (default: SWEEP_DIR); must exist")
    return p.parse_args(argv)


def number(path, line, column, text, integer=False):
    try:
        v = float(text)
    except ValueError:
        raise InputError(f"{path}:{line}: column '{column}': '{text}' is not a number") from None
    if not math.isfinite(v):
        raise InputError(f"{path}:{line}: column '{column}': '{text}' is not a finite number")
    if integer and (v != int(v) or v <= 0):
        raise InputError(f"{path}:{line}: column '{column}': '{text}' is not a positive integer")
    return int(v) if integer else v


def read_summary(path):
    """Rows as dicts with typed values, and the energy class columns found."""
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such file (expected the sweep's summary.csv)")
    with open(path, newline="", encoding="utf-8-sig") as f:  # -sig: a spreadsheet's BOM is no column
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        missing = [c for c in KEY_COLUMNS + VALUE_COLUMNS if c not in header]
        if missing:
            raise InputError(f"{path}: missing column{'s' if len(missing) > 1 else ''} "
                             f"{', '.join(missing)} (header: {','.join(header) or 'empty'})")
        classes = [h for h in header if h.startswith(ENERGY_PREFIX) and h.endswith(ENERGY_SUFFIX)
                   and h != ENERGY_TOTAL and len(h) > len(ENERGY_PREFIX) + len(ENERGY_SUFFIX)]
        if not classes:
            raise InputError(f"{path}: no energy breakdown columns (energy_<class>_uj, "
                             f"e.g. energy_dram_act_uj)")
        rows = []
        for rec in reader:
            line = reader.line_num
            if None in rec:  # DictReader's key for fields beyond the header
                raise InputError(f"{path}:{line}: more fields than the header's {len(header)}")
            if all(not (v or "").strip() for v in rec.values()):
                continue  # blank line
            row = {c: (rec.get(c) or "").strip() for c in KEY_COLUMNS + OPTIONAL_KEY_COLUMNS}
            row["context"] = number(path, line, "context", row["context"], integer=True)
            for c in VALUE_COLUMNS:
                row[c] = number(path, line, c, (rec.get(c) or "").strip())
            # A class a platform does not have (no link on a local-DRAM baseline) may be empty.
            row["energy"] = {}
            for c in classes:
                text = (rec.get(c) or "").strip()
                row["energy"][c] = number(path, line, c, text) if text else 0.0
            rows.append(row)
    if not rows:
        raise InputError(f"{path}: no data rows")
    return rows, classes


def series_key_columns(rows):
    """kernel, plus every configuration column that varies for some kernel (top-k differing
    only between kernels, e.g. 0 for dense, names nothing new)."""
    def varies(c):
        seen = {}
        return any(seen.setdefault(r["kernel"], r[c]) != r[c] for r in rows)
    return ["kernel"] + [c for c in ("system", "platform", "model", "batch", "topk") if varies(c)]


def series_label(row, cols):
    parts = [row["kernel"]]
    for c in cols[1:]:
        parts.append(f"{c} {row[c]}" if c in ("batch", "topk") else row[c])
    return ", ".join(parts)


def group_series(rows):
    """{label: {context: [rows]}} in first-seen order (repeated runs of a point are averaged)."""
    cols = series_key_columns(rows)
    series = {}
    for r in rows:
        series.setdefault(series_label(r, cols), {}).setdefault(r["context"], []).append(r)
    return series


def context_label(n):
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20}M"
    if n >= 1 << 10 and n % (1 << 10) == 0:
        return f"{n >> 10}K"
    return str(n)


def mean_of(points, column):
    return sum(p[column] for p in points) / len(points)


LINE_STYLES = ["-", "--", ":", "-."]
MARKERS = ["o", "s", "^", "D", "v", "P"]


def line_styles(series):
    """Colour per kernel, line style and marker per the rest of the series name (platform, ...),
    so a kernel keeps its colour across platforms."""
    kernels, rests, styles = [], [], {}
    for label, by_ctx in series.items():
        kernel = next(iter(by_ctx.values()))[0]["kernel"]
        rest = label[len(kernel):]
        kernels += [kernel] if kernel not in kernels else []
        rests += [rest] if rest not in rests else []
        k, r = kernels.index(kernel), rests.index(rest)
        styles[label] = dict(color=f"C{k % 10}", linestyle=LINE_STYLES[r % len(LINE_STYLES)],
                             marker=MARKERS[r % len(MARKERS)])
    return styles


def line_plot(plt, np, series, column, ylabel, title, out, log_y=False, fraction=False):
    fig, ax = plt.subplots(figsize=FIG_SIZE_IN)
    contexts = sorted({c for s in series.values() for c in s})
    styles = line_styles(series)
    for label, by_ctx in series.items():
        xs = np.array(sorted(by_ctx), dtype=float)
        ys = np.array([mean_of(by_ctx[int(x)], column) for x in xs])
        if log_y:
            keep = ys > 0  # log scale cannot show zero; such points are left out, not faked
            xs, ys = xs[keep], ys[keep]
        if len(xs):
            ax.plot(xs, ys, label=label, **styles[label])
    ax.set_xscale("log", base=2)
    ax.set_xticks(contexts)
    ax.set_xticklabels([context_label(c) for c in contexts], rotation=45 if len(contexts) > 8 else 0)
    ax.minorticks_off()
    if log_y and ax.has_data():
        ax.set_yscale("log")
    if fraction:
        from matplotlib.ticker import PercentFormatter
        ax.set_ylim(0, 1.05)
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.set_xlabel("context length (tokens)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)
    plt.close(fig)


def class_colors(plt, np, n):
    if n <= 20:
        return list(plt.get_cmap("tab20")(np.arange(n)))
    return list(plt.get_cmap("turbo")(np.linspace(0, 1, n)))


def stacked_bars(ax, np, xs, per_class, colors, names, width):
    bottom = np.zeros(len(xs))
    for vals, color, name in zip(per_class, colors, names):
        ax.bar(xs, vals, width, bottom=bottom, color=color, label=name)
        bottom += vals


def energy_plot(plt, np, series, classes, out):
    """One panel per series, a stacked bar per context; or, when that would be too many
    bars to read, one panel with a bar per series at the largest context."""
    names = [c[len(ENERGY_PREFIX):-len(ENERGY_SUFFIX)] for c in classes]
    colors = class_colors(plt, np, len(classes))
    contexts = sorted({c for s in series.values() for c in s})

    def mean_energy(points, cls):
        return sum(p["energy"][cls] for p in points) / len(points)

    if len(contexts) * len(series) <= MAX_ENERGY_BARS:
        n = len(series)
        ncols = min(n, 3)
        nrows = math.ceil(n / ncols)
        fig, axes = plt.subplots(nrows, ncols, sharey=True, squeeze=False,
                                 figsize=(max(FIG_SIZE_IN[0], 3.2 * ncols + 2.0), 3.2 * nrows + 0.8))
        for ax, (label, by_ctx) in zip(axes.flat, series.items()):
            ctxs = sorted(by_ctx)
            per_class = [np.array([mean_energy(by_ctx[c], cls) for c in ctxs]) for cls in classes]
            xs = np.arange(len(ctxs))
            stacked_bars(ax, np, xs, per_class, colors, names, 0.7)
            ax.set_xticks(xs)
            ax.set_xticklabels([context_label(c) for c in ctxs], rotation=45 if len(ctxs) > 6 else 0)
            ax.set_title(label, fontsize="small")
            ax.set_xlabel("context (tokens)")
            ax.grid(True, axis="y", alpha=0.3)
        for ax in axes.flat[n:]:
            ax.set_visible(False)
        for ax in axes[:, 0]:
            ax.set_ylabel("energy per token (µJ)")
        title = "Energy per token by class"
    else:
        largest = contexts[-1]
        labels = list(series)
        fig, ax = plt.subplots(figsize=(max(FIG_SIZE_IN[0], 2.0 + 0.5 * len(labels)), FIG_SIZE_IN[1]))
        # A series without a run at the largest context shows an empty slot, named as such.
        per_class = [np.array([mean_energy(series[l][largest], cls) if largest in series[l] else 0.0
                               for l in labels]) for cls in classes]
        xs = np.arange(len(labels))
        stacked_bars(ax, np, xs, per_class, colors, names, 0.7)
        ax.set_xticks(xs)
        ax.set_xticklabels([l if largest in series[l] else f"{l} (no run)" for l in labels],
                           rotation=60, ha="right", fontsize="small")
        ax.set_ylabel("energy per token (µJ)")
        ax.grid(True, axis="y", alpha=0.3)
        axes = np.array([[ax]])
        title = (f"Energy per token by class at context {context_label(largest)} "
                 f"(largest of {len(contexts)} contexts)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(0.81, 0.5), fontsize="small",
               title="class")
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 0.8, 1))
    fig.savefig(out, dpi=DPI)
    plt.close(fig)


def main(argv):
    args = parse_args(argv)
    if not os.path.isdir(args.sweep_dir):
        raise InputError(f"{args.sweep_dir}: sweep directory does not exist")
    out_dir = args.out if args.out is not None else args.sweep_dir
    if not os.path.isdir(out_dir):
        raise InputError(f"{out_dir}: output directory does not exist")
    # Input first: a bad summary.csv is reported even where the plotting libraries are missing.
    rows, classes = read_summary(os.path.join(args.sweep_dir, "summary.csv"))
    try:
        import numpy as np
        import matplotlib
        matplotlib.use("Agg")  # no display needed, and none is wanted in CI
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise InputError(f"needs numpy and matplotlib ({e}); on Debian: apt install python3-numpy "
                         f"python3-matplotlib, and run with that python3 (/usr/bin/python3)") from None

    series = group_series(rows)
    paths = [os.path.join(out_dir, name) for name in OUTPUTS]
    line_plot(plt, np, series, "tokens_per_s", "decode tokens/s", "Decode throughput", paths[0])
    energy_plot(plt, np, series, classes, paths[1])
    util = [r["dram_bandwidth_utilization"] for r in rows]
    # Utilisation as a fraction of peak (the usual form) gets a percent axis; other scales plot as is.
    line_plot(plt, np, series, "dram_bandwidth_utilization", "DRAM bandwidth utilisation",
              "DRAM bandwidth utilisation", paths[2], fraction=max(util) <= 1.0 and min(util) >= 0.0)
    line_plot(plt, np, series, "link_bytes_per_token", "link bytes per token", "Link traffic per token",
              paths[3], log_y=True)
    for p in paths:
        print(p)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except InputError as e:
        print(f"plot_sweep: error: {e}", file=sys.stderr)
        sys.exit(2)
