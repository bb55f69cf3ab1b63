#!/usr/bin/env python3
"""Plots a `pnmvp` sweep: reads SWEEP_DIR/summary.csv, writes four figures, each as PNG
and PDF (--format png,pdf,svg chooses):

  tokens_per_s           decode tokens/s vs context length, with each point's link limit
                         (the link's bandwidth over the point's link bytes per token), and
                         a speed-up panel: tokens/s over the baseline's (--baseline,
                         default host-fetch) at the same configuration and context
  energy_breakdown       energy per token by class, stacked, per series and context, in
                         J, mJ (or µJ for sub-millijoule data), the unit from the data
  bandwidth_utilization  DRAM bandwidth utilisation vs context, with the refresh ceiling
                         (1 - tRFC/tREFI of the memspec)
  link_bytes             link bytes per token, and the link bandwidth they use (GB/s)
                         against the link's bandwidth

One line per kernel; system, platform, model, batch and top-k join the series name when
they vary among a kernel's runs, so a line never mixes configurations. Every series has
its own colour-blind-safe colour, marker and line style; y axes are logarithmic where the
values span more than a decade; a caption under each figure names the configuration.
The reference lines come from the summary's link_gbps and dram_refresh_ceiling columns
(pnmvp reports them); an older summary.csv without them plots without those lines (a
note says so). Existing figures are replaced only with --force. Needs only numpy and
matplotlib (Debian: python3-numpy python3-matplotlib). Errors exit with status 2.
"""
import argparse
import csv
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot_style as ps  # noqa: E402

# Columns the plots read; the rest of summary.csv (step_latency_us, wall_s, report, ...) is ignored.
KEY_COLUMNS = ["platform", "model", "kernel", "context", "batch", "topk"]
# Read when present (sweeps since system files): the system each point ran on.
OPTIONAL_KEY_COLUMNS = ["system"]
VALUE_COLUMNS = ["tokens_per_s", "link_bytes_per_token", "dram_bandwidth_utilization"]
# Reference figures the reports give (since pnmvp reported them); optional, may be empty.
REFERENCE_COLUMNS = {
    "link_gbps": "the link-limit lines",
    "dram_refresh_ceiling": "the DRAM refresh ceiling",
}
ENERGY_PREFIX, ENERGY_SUFFIX, ENERGY_TOTAL = "energy_", "_uj", "energy_per_token_uj"
# Beyond this many bars the energy plot shows only the largest context: unreadable otherwise.
MAX_ENERGY_BARS = 48
FIG_SIZE_IN = (8.0, 5.0)
OUTPUTS = ["tokens_per_s", "energy_breakdown", "bandwidth_utilization", "link_bytes"]
# Kernels in this order get the first colours, so a kernel keeps its colour across sweeps.
KERNEL_ORDER = ["host-fetch", "pnm-dense", "pnm-topk", "pnm-select"]
InputError = ps.PlotError


def parse_args(argv):
    p = argparse.ArgumentParser(description="Plot a pnmvp sweep (SWEEP_DIR/summary.csv).")
    p.add_argument("sweep_dir", metavar="SWEEP_DIR", help="sweep folder holding summary.csv")
    p.add_argument("--out", metavar="DIR", help="folder for the figures (default: SWEEP_DIR); must exist")
    p.add_argument("--format", default="png,pdf", metavar="LIST",
                   help="comma-separated: png, pdf, svg (default png,pdf)")
    p.add_argument("--baseline", default="host-fetch", metavar="KERNEL",
                   help="kernel the speed-up panel divides by (default host-fetch)")
    p.add_argument("--force", action="store_true", help="replace figures that exist")
    return p.parse_args(argv)


def note(msg):
    print(f"plot_sweep: note: {msg}", file=sys.stderr)


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
    """Rows as dicts with typed values, the energy class columns found, and the reference
    columns present."""
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
        refs = [c for c in REFERENCE_COLUMNS if c in header]
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
            # A reference a report did not give is empty: that point has no line.
            for c in refs:
                text = (rec.get(c) or "").strip()
                row[c] = number(path, line, c, text) if text else None
                if row[c] is not None and row[c] <= 0:
                    raise InputError(f"{path}:{line}: column '{c}': '{text}' is not positive")
            for c in REFERENCE_COLUMNS:
                row.setdefault(c, None)
            # A class a platform does not have (no link on a local-DRAM baseline) may be empty.
            row["energy"] = {}
            for c in classes:
                text = (rec.get(c) or "").strip()
                row["energy"][c] = number(path, line, c, text) if text else 0.0
            rows.append(row)
    if not rows:
        raise InputError(f"{path}: no data rows")
    for c, what in REFERENCE_COLUMNS.items():
        if c not in refs:
            note(f"{path} has no '{c}' column (a sweep from before pnmvp reported it): "
                 f"figures drawn without {what}")
        elif all(r[c] is None for r in rows):
            note(f"{path}: column '{c}' is empty: figures drawn without {what}")
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
    """{label: {context: [rows]}} in first-seen order (repeated runs of a point are averaged),
    and the configuration columns that name series."""
    cols = series_key_columns(rows)
    series = {}
    for r in rows:
        series.setdefault(series_label(r, cols), {}).setdefault(r["context"], []).append(r)
    return series, cols


def context_label(n):
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20}M"
    if n >= 1 << 10 and n % (1 << 10) == 0:
        return f"{n >> 10}K"
    return str(n)


def mean_of(points, column):
    vals = [p[column] for p in points if p[column] is not None]
    return sum(vals) / len(vals) if vals else None


def kernel_of(by_ctx):
    return next(iter(by_ctx.values()))[0]["kernel"]


def line_styles(series):
    """Per series its own marker and line style (two series on the same points both show);
    the colour follows the kernel, so a kernel keeps its colour in every figure, unless
    that would give two series the same colour, marker and style."""
    kernels = [k for k in KERNEL_ORDER if any(kernel_of(s) == k for s in series.values())]
    kernels += [k for k in dict.fromkeys(kernel_of(s) for s in series.values()) if k not in kernels]
    return {label: ps.series_style(i, kernels.index(kernel_of(by_ctx)))
            for i, (label, by_ctx) in enumerate(series.items())}


def caption_text(rows, cols, source, extra=""):
    """What every point shares, and what varies."""
    fixed, varies = [], ["kernel", "context (x axis)"]
    names = {"system": "system", "platform": "platform", "model": "model", "batch": "batch"}
    for c, name in names.items():
        vals = list(dict.fromkeys(r[c] for r in rows if r.get(c)))
        if not vals:
            continue
        if len(vals) == 1:
            fixed.append(f"{name} {vals[0]}")
        else:
            varies.append(name)
    topk = {r["kernel"]: r["topk"] for r in rows if r["topk"] not in ("", "0")}
    if topk:
        vals = set(topk.values())
        if len(vals) == 1 and "topk" not in cols:
            fixed.append(f"top-k {vals.pop()} ({', '.join(topk)})")
        else:
            varies.append("top-k")
    text = "; ".join(fixed) + ". Varies: " + ", ".join(varies) + "."
    if extra:
        text += " " + extra
    return text + f" Data: {source}."


def set_context_axis(ax, contexts):
    ax.set_xscale("log", base=2)
    ax.set_xticks(contexts)
    ax.set_xticklabels([context_label(c) for c in contexts], rotation=45 if len(contexts) > 8 else 0)
    ax.minorticks_off()
    ax.set_xlabel("context length (tokens)")


def draw_lines(ax, np, series, styles, value, log_y):
    """One line per series of value(points) at each context (None: no point); returns the
    values drawn. Log axes cannot show zero: such points are left out, not faked."""
    drawn = []
    for label, by_ctx in series.items():
        pts = [(c, value(by_ctx[c])) for c in sorted(by_ctx)]
        pts = [(c, v) for c, v in pts if v is not None and (v > 0 or not log_y)]
        if pts:
            xs, ys = zip(*pts)
            ax.plot(xs, ys, label=label, **styles[label])
            drawn += ys
    if log_y and drawn:
        ax.set_yscale("log")
    ax.grid(True, which="major", alpha=0.3)
    return drawn


def limit_lines(ax, series, styles, limit, drawn):
    """Per series a thin line of limit(points) in the series' colour; the axis keeps to the
    data unless a limit is within 3x of it (a far limit would flatten the data)."""
    lo, hi = ax.get_ylim()
    top = max(drawn) if drawn else hi
    any_drawn = False
    for label, by_ctx in series.items():
        pts = [(c, limit(by_ctx[c])) for c in sorted(by_ctx)]
        pts = [(c, v) for c, v in pts if v is not None and v > 0]
        if not pts:
            continue
        xs, ys = zip(*pts)
        ax.plot(xs, ys, color=styles[label]["color"], linestyle=(0, (1, 1.5)), linewidth=1.0, alpha=0.8,
                marker="_", markersize=8)
        any_drawn = True
        near = [v for v in ys if v <= 3 * top]
        if near:
            hi = max(hi, max(near) * (1.3 if ax.get_yscale() == "log" else 1.05))
    ax.set_ylim(lo, hi)
    return any_drawn


def reference_handle(plt):
    from matplotlib.lines import Line2D
    return Line2D([], [], color=ps.REFERENCE_COLOR, linestyle=(0, (1, 1.5)), linewidth=1.0, marker="_")


def legend(ax, extra=()):
    handles, labels = ax.get_legend_handles_labels()
    for h, l in extra:
        handles.append(h)
        labels.append(l)
    if handles:
        ax.legend(handles, labels, fontsize="small")


def link_limit(points):
    """Tokens/s at which the link's bandwidth carries the point's link bytes per token."""
    gbps, per_tok = mean_of(points, "link_gbps"), mean_of(points, "link_bytes_per_token")
    return gbps * 1e9 / per_tok if gbps and per_tok else None


def baseline_of(series, baseline):
    """{label: baseline series label with the same configuration}; the baseline is a kernel
    (the rest of the label must match) or a whole series label."""
    if baseline in series:
        return {l: baseline for l in series}
    out = {}
    for label, by_ctx in series.items():
        rest = label[len(kernel_of(by_ctx)):]
        cand = baseline + rest
        if cand in series and kernel_of(series[cand]) == baseline:
            out[label] = cand
    return out


def throughput_plot(plt, np, series, styles, rows, cols, args, source, paths):
    base = baseline_of(series, args.baseline)
    has_speedup = any(b != l for l, b in base.items())
    if not has_speedup:
        note(f"no series of the baseline '{args.baseline}' in {source} (--baseline names a kernel): "
             f"tokens_per_s has no speed-up panel")
    fig, axes = plt.subplots(1, 2 if has_speedup else 1, squeeze=False,
                             figsize=(13.0, 5.2) if has_speedup else (FIG_SIZE_IN[0], 5.2))
    ax = axes[0, 0]
    contexts = sorted({c for s in series.values() for c in s})
    log_y = ps.spans_decades([r["tokens_per_s"] for r in rows])
    drawn = draw_lines(ax, np, series, styles, lambda p: mean_of(p, "tokens_per_s"), log_y)
    limited = limit_lines(ax, series, styles, link_limit, drawn)
    set_context_axis(ax, contexts)
    ax.set_ylabel("decode tokens/s" + (" (log)" if log_y else ""))
    ax.set_title("Decode throughput")
    legend(ax, [(reference_handle(plt), "link limit (series colour)")] if limited else [])
    extra = ""
    if limited:
        gb = sorted({round(r["link_gbps"], 2) for r in rows if r["link_gbps"]})
        extra = (f"Link limit: {', '.join(f'{g:g}' for g in gb)} GB/s of link bandwidth over each point's "
                 f"link bytes per token (limits beyond 3x the data are off the axis).")
    if has_speedup:
        sx = axes[0, 1]
        ratios = {}
        for label, by_ctx in series.items():
            if label not in base or base[label] == label:
                continue
            b = series[base[label]]
            ratios[label] = {c: mean_of(by_ctx[c], "tokens_per_s") / mean_of(b[c], "tokens_per_s")
                             for c in by_ctx if c in b and mean_of(b[c], "tokens_per_s")}
        vals = [v for r in ratios.values() for v in r.values()]
        log_s = ps.spans_decades(vals + [1.0])
        for label, by_c in ratios.items():
            if by_c:
                xs = sorted(by_c)
                sx.plot(xs, [by_c[c] for c in xs], label=label, **styles[label])
        sx.axhline(1.0, color=ps.REFERENCE_COLOR, linewidth=0.9, linestyle="-")
        if log_s:
            sx.set_yscale("log")
        set_context_axis(sx, contexts)
        sx.grid(True, which="major", alpha=0.3)
        sx.set_ylabel(f"speed-up over {args.baseline} (tokens/s ratio{', log' if log_s else ''})")
        sx.set_title(f"Speed-up over {args.baseline}")
        legend(sx)
    bottom = ps.caption(fig, caption_text(rows, cols, source, extra))
    ps.save(fig, paths, rect_bottom=bottom)
    plt.close(fig)


def stacked_bars(ax, np, xs, per_class, names, width):
    bottom = np.zeros(len(xs))
    for i, (vals, name) in enumerate(zip(per_class, names)):
        ax.bar(xs, vals, width, bottom=bottom, label=name, **ps.class_style(i))
        bottom += vals


def energy_plot(plt, np, series, classes, rows, cols, source, paths):
    """One panel per series, a stacked bar per context; or, when that would be too many
    bars to read, one panel with a bar per series at the largest context. The unit follows
    the largest bar; panels share their y axis unless their largest bars differ by more than a
    decade."""
    names = [c[len(ENERGY_PREFIX):-len(ENERGY_SUFFIX)] for c in classes]
    contexts = sorted({c for s in series.values() for c in s})

    def mean_energy(points, cls):
        return sum(p["energy"][cls] for p in points) / len(points)

    totals = [sum(mean_energy(pts, c) for c in classes) for s in series.values() for pts in s.values()]
    unit, scale = ps.energy_unit(max(totals) if totals else 0.0)
    ylabel = f"energy per token ({unit})"
    if len(contexts) * len(series) <= MAX_ENERGY_BARS:
        n = len(series)
        ncols = 2 if n == 4 else min(n, 3)
        nrows = math.ceil(n / ncols)
        # Panels share a y axis unless their largest bars differ by more than a decade.
        share = not ps.spans_decades([max(sum(mean_energy(pts, c) for c in classes) for pts in s.values())
                                      for s in series.values()])
        fig, axes = plt.subplots(nrows, ncols, sharey=share, squeeze=False,
                                 figsize=(max(FIG_SIZE_IN[0], 3.4 * ncols + 2.2), 3.3 * nrows + 1.4))
        for ax, (label, by_ctx) in zip(axes.flat, series.items()):
            ctxs = sorted(by_ctx)
            per_class = [np.array([mean_energy(by_ctx[c], cls) / scale for c in ctxs]) for cls in classes]
            xs = np.arange(len(ctxs))
            stacked_bars(ax, np, xs, per_class, names, 0.7)
            ax.set_xticks(xs)
            ax.set_xticklabels([context_label(c) for c in ctxs], rotation=45 if len(ctxs) > 6 else 0)
            ax.set_title(label, fontsize="small")
            ax.set_xlabel("context (tokens)")
            ax.grid(True, axis="y", alpha=0.3)
            if not share:
                ax.set_ylabel(ylabel, fontsize="small")
        for ax in axes.flat[n:]:
            ax.set_visible(False)
        if share:
            for ax in axes[:, 0]:
                ax.set_ylabel(ylabel)
        title = "Energy per token by class" + ("" if share else " (own y scale per panel)")
    else:
        largest = contexts[-1]
        labels = list(series)
        fig, ax = plt.subplots(figsize=(max(FIG_SIZE_IN[0], 2.0 + 0.5 * len(labels)), FIG_SIZE_IN[1] + 1.0))
        # A series without a run at the largest context shows an empty slot, named as such.
        per_class = [np.array([mean_energy(series[l][largest], cls) / scale if largest in series[l] else 0.0
                               for l in labels]) for cls in classes]
        xs = np.arange(len(labels))
        stacked_bars(ax, np, xs, per_class, names, 0.7)
        ax.set_xticks(xs)
        ax.set_xticklabels([l if largest in series[l] else f"{l} (no run)" for l in labels],
                           rotation=60, ha="right", fontsize="small")
        ax.set_ylabel(ylabel)
        ax.grid(True, axis="y", alpha=0.3)
        axes = np.array([[ax]])
        title = (f"Energy per token by class at context {context_label(largest)} "
                 f"(largest of {len(contexts)} contexts)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(0.81, 0.5), fontsize="small",
               title="class")
    fig.suptitle(title)
    bottom = ps.caption(fig, caption_text(rows, cols, source))
    ps.save(fig, paths, rect_bottom=bottom, rect_right=0.8)
    plt.close(fig)


def utilization_plot(plt, np, series, styles, rows, cols, source, paths):
    from matplotlib.ticker import PercentFormatter
    fig, ax = plt.subplots(figsize=FIG_SIZE_IN)
    contexts = sorted({c for s in series.values() for c in s})
    util = [r["dram_bandwidth_utilization"] for r in rows]
    # Utilisation as a fraction of peak (the usual form) gets a percent axis; other scales plot as is.
    fraction = max(util) <= 1.0 and min(util) >= 0.0
    draw_lines(ax, np, series, styles, lambda p: mean_of(p, "dram_bandwidth_utilization"), False)
    ceilings = {}
    for r in rows:
        if r["dram_refresh_ceiling"] is not None:
            ceilings.setdefault(round(r["dram_refresh_ceiling"], 4), set()).add(r["platform"])
    extra = []
    for i, (ceil, platforms) in enumerate(sorted(ceilings.items())):
        who = f" ({', '.join(sorted(platforms))})" if len(ceilings) > 1 else ""
        ax.axhline(ceil, color=ps.REFERENCE_COLOR, linewidth=1.0, linestyle=["--", ":", "-."][i % 3],
                   label=f"refresh ceiling {ceil:.1%}{who}")
        extra.append(f"{ceil:.1%}{who}")
    if fraction:
        ax.set_ylim(0, 1.05)
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    set_context_axis(ax, contexts)
    ax.set_ylabel("DRAM bandwidth utilisation (of peak)")
    ax.set_title("DRAM bandwidth utilisation")
    legend(ax)
    note_text = (f"Refresh ceiling (1 - tRFC/tREFI of the memspec): {', '.join(extra)}." if extra else "")
    bottom = ps.caption(fig, caption_text(rows, cols, source, note_text))
    ps.save(fig, paths, rect_bottom=bottom)
    plt.close(fig)


def link_plot(plt, np, series, styles, rows, cols, source, paths):
    fig, axes = plt.subplots(1, 2, figsize=(13.0, 5.2))
    contexts = sorted({c for s in series.values() for c in s})
    ax, bx = axes
    per_tok = [r["link_bytes_per_token"] for r in rows]
    log_b = ps.spans_decades(per_tok)
    draw_lines(ax, np, series, styles, lambda p: mean_of(p, "link_bytes_per_token"), log_b)
    set_context_axis(ax, contexts)
    ax.set_ylabel("link bytes per token" + (" (log)" if log_b else ""))
    ax.set_title("Link traffic per token")
    legend(ax)

    def used_gbps(points):
        return sum(p["link_bytes_per_token"] * p["tokens_per_s"] for p in points) / len(points) / 1e9

    used = [r["link_bytes_per_token"] * r["tokens_per_s"] / 1e9 for r in rows]
    log_u = ps.spans_decades(used)
    draw_lines(bx, np, series, styles, used_gbps, log_u)
    links = {}
    for r in rows:
        if r["link_gbps"] is not None:
            links.setdefault(round(r["link_gbps"], 3), set()).add(r["platform"])
    for i, (g, platforms) in enumerate(sorted(links.items())):
        who = f" ({', '.join(sorted(platforms))})" if len(links) > 1 else ""
        bx.axhline(g, color=ps.REFERENCE_COLOR, linewidth=1.0, linestyle=["--", ":", "-."][i % 3],
                   label=f"link bandwidth {g:g} GB/s{who}")
    set_context_axis(bx, contexts)
    bx.set_ylabel("link bandwidth used (GB/s" + (", log)" if log_u else ")"))
    bx.set_title("Link bandwidth used against the link's")
    legend(bx)
    extra = ("Link bandwidth: the CXL link's read payload rate after flit packing, from the reports."
             if links else "")
    bottom = ps.caption(fig, caption_text(rows, cols, source, extra))
    ps.save(fig, paths, rect_bottom=bottom)
    plt.close(fig)


def main(argv):
    args = parse_args(argv)
    formats = ps.parse_formats(args.format)
    if not os.path.isdir(args.sweep_dir):
        raise InputError(f"{args.sweep_dir}: sweep directory does not exist")
    out_dir = args.out if args.out is not None else args.sweep_dir
    if not os.path.isdir(out_dir):
        raise InputError(f"{out_dir}: output directory does not exist")
    source = os.path.join(args.sweep_dir, "summary.csv")
    # Input first: a bad summary.csv is reported even where the plotting libraries are missing.
    rows, classes = read_summary(source)
    paths = {name: ps.output_paths(os.path.join(out_dir, name), formats) for name in OUTPUTS}
    ps.check_outputs([p for ps_ in paths.values() for p in ps_], args.force, inputs=[source])
    try:
        import numpy as np
        import matplotlib
        matplotlib.use("Agg")  # no display needed, and none is wanted in CI
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise InputError(f"needs numpy and matplotlib ({e}); on Debian: apt install python3-numpy "
                         f"python3-matplotlib, and run with that python3 (/usr/bin/python3)") from None
    plt.rcParams["svg.hashsalt"] = "pnmvp"  # the same figure gives the same SVG
    series, cols = group_series(rows)
    styles = line_styles(series)
    throughput_plot(plt, np, series, styles, rows, cols, args, source, paths["tokens_per_s"])
    energy_plot(plt, np, series, classes, rows, cols, source, paths["energy_breakdown"])
    utilization_plot(plt, np, series, styles, rows, cols, source, paths["bandwidth_utilization"])
    link_plot(plt, np, series, styles, rows, cols, source, paths["link_bytes"])
    for name in OUTPUTS:
        for p in paths[name]:
            print(p)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except InputError as e:
        print(f"plot_sweep: error: {e}", file=sys.stderr)
        sys.exit(2)
