#!/usr/bin/env python3
"""Figures of `pnmvp serve` results (docs/SERVING.md).

  plot_serve.py cdf  A.csv B.csv ... --out cdf.png
      TTFT and per-request mean TBT CDFs, one line per --requests-csv file
      (the label is the file's stem, e.g. pnm.csv -> pnm).
  plot_serve.py load SUMMARY.csv --out load.png [--baseline hbm]
      output tokens/s (with each policy's link limit: the links' bandwidth over
      its link bytes per output token), goodput against offered load, and the
      speed-up over the baseline policy at the same load, from
      `pnmvp sweep --serve` (summary.csv).
  plot_serve.py energy SUMMARY.csv --out energy.png [--rate-scale X]
      energy per output token by policy at one rate scale (default: the
      lowest in the file), in mJ or J as the data's magnitude asks.

Each figure is written in every --format (default png,pdf) beside --out's
name (load.png -> load.png and load.pdf); a caption under it names the
configuration and the inputs. Every series has its own colour-blind-safe
colour, marker and line style; axes are logarithmic where the values span
more than a decade. An existing output is replaced only with --force, an
input never. Errors exit with status 2.
"""
import argparse
import csv
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot_style as ps  # noqa: E402

POLICY_ORDER = ["hbm", "cxl-recall", "pnm", "pnm-select", "rdma-pool"]


def fail(msg):
    print(f"plot_serve.py: {msg}", file=sys.stderr)
    sys.exit(2)


def note(msg):
    print(f"plot_serve.py: note: {msg}", file=sys.stderr)


def read_csv(path, need):
    """Rows as dicts, each with its line number under '_line'."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            rows = []
            for rec in reader:
                rec["_line"] = reader.line_num
                rows.append(rec)
            header = reader.fieldnames or []
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}")
    missing = [k for k in need if k not in header]
    if missing:
        fail(f"{path} lacks the column(s) {', '.join(missing)}: is it the right kind of CSV?")
    if not rows:
        fail(f"{path} has no rows")
    return rows


def num(path, row, column, optional=False):
    """row[column] as a finite number; None for an empty optional field."""
    text = (row.get(column) or "").strip()
    if optional and not text:
        return None
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        fail(f"{path}:{row['_line']}: column '{column}': '{text}' is not a number")
    return v


def import_pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        fail(f"needs matplotlib ({e}); on Debian: apt install python3-matplotlib, and run with "
             f"/usr/bin/python3")
    plt.rcParams["svg.hashsalt"] = "pnmvp"
    return plt


def save(plt, fig, paths, bottom):
    ps.save(fig, paths, rect_bottom=bottom)
    plt.close(fig)
    print("wrote " + ", ".join(paths))


def policy_series(path, rows):
    """{label: [rows]}: one series per policy, system and model joining the label when they
    vary; policies in their usual order, so a policy keeps its colour."""
    vary = [c for c in ("system", "model") if len({r.get(c, "") for r in rows}) > 1]
    series = {}
    order = {p: i for i, p in enumerate(POLICY_ORDER)}
    for r in sorted(rows, key=lambda r: (order.get(r["policy"], len(order)), r["policy"])):
        label = ", ".join([r["policy"]] + [r.get(c, "") for c in vary])
        series.setdefault(label, []).append(r)
    return series, vary


def serve_caption(path, rows, vary, what_varies, extra=""):
    fixed = []
    for c, name in (("system", "system"), ("model", "model"), ("topk", "top-k")):
        vals = list(dict.fromkeys((r.get(c) or "").strip() for r in rows if (r.get(c) or "").strip()))
        if len(vals) == 1:
            fixed.append(f"{name} {vals[0]}")
    scales = sorted({float(r["rate_scale"]) for r in rows if (r.get("rate_scale") or "").strip()})
    if "rate_scale" not in what_varies and scales:
        fixed.append("rate scale x" + ", x".join(f"{s:g}" for s in scales))
    varies = ["policy"] + vary + what_varies
    text = "; ".join(fixed) + ". Varies: " + ", ".join(varies) + "."
    if extra:
        text += " " + extra
    return text + f" Data: {path}."


def cdf(args, paths):
    plt = import_pyplot()
    data = []
    for path in args.inputs:
        rows = read_csv(path, ["ttft_ms", "tbt_mean_ms", "completed"])
        done = [r for r in rows if (r["completed"] or "").strip() == "1"]
        if not done:
            fail(f"{path}: no completed request")
        label = os.path.splitext(os.path.basename(path))[0]
        data.append((label, {k: sorted(num(path, r, k) for r in done) for k in ("ttft_ms", "tbt_mean_ms")}))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    for i, (label, vals) in enumerate(data):
        style = ps.series_style(i)
        for ax, key in zip(axes, ["ttft_ms", "tbt_mean_ms"]):
            v = vals[key]
            y = [(k + 1) / len(v) for k in range(len(v))]
            ax.plot(v, y, markevery=max(1, len(v) // 8), label=label, **style)
    for ax, key, name in zip(axes, ["ttft_ms", "tbt_mean_ms"], ["TTFT (ms)", "mean TBT per request (ms)"]):
        log_x = ps.spans_decades([x for _, vals in data for x in vals[key]])
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel(name + (", log" if log_x else ""))
        ax.set_ylabel("fraction of requests")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle("pnmvp serve: request latency CDFs")
    bottom = ps.caption(fig, f"{len(data)} request CSV(s) of pnmvp serve --requests-csv, completed requests "
                             f"only; one line per file: " + ", ".join(args.inputs) + ".")
    save(plt, fig, paths, bottom)


def load(args, paths):
    path = args.inputs[0]
    rows = read_csv(path, ["policy", "offered_requests_per_s", "output_tokens_per_s", "goodput_requests_per_s"])
    has_link = "link_gbps" in rows[0] and "link_bytes_per_output_token" in rows[0]
    if not has_link:
        note(f"{path} has no 'link_gbps' column (a sweep from before pnmvp reported it): "
             f"drawn without the link-limit lines")
    series, vary = policy_series(path, rows)
    plt = import_pyplot()
    pts = {label: sorted(((num(path, r, "offered_requests_per_s"), r) for r in rs), key=lambda t: t[0])
           for label, rs in series.items()}
    base_label = next((l for l, rs in series.items() if rs[0]["policy"] == args.baseline), None)
    if base_label is None:
        note(f"no policy '{args.baseline}' in {path} (--baseline): no speed-up panel")
    panels = 3 if base_label is not None and len(series) > 1 else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.4 * panels, 4.8))
    styles = {label: ps.series_style(i) for i, label in enumerate(series)}
    x_all = [x for p in pts.values() for x, _ in p]
    log_x = ps.spans_decades(x_all)
    tok = [num(path, r, "output_tokens_per_s") for r in rows]
    good = [num(path, r, "goodput_requests_per_s") for r in rows]
    log_t, log_g = ps.spans_decades(tok), ps.spans_decades(good)
    limited, gbps_seen = False, set()
    top = max(tok) if tok else 1.0
    for label, p in pts.items():
        xs = [x for x, _ in p]
        t = [num(path, r, "output_tokens_per_s") for _, r in p]
        g = [num(path, r, "goodput_requests_per_s") for _, r in p]
        keep_t = [(x, v) for x, v in zip(xs, t) if v > 0 or not log_t]
        keep_g = [(x, v) for x, v in zip(xs, g) if v > 0 or not log_g]
        if keep_t:
            axes[0].plot(*zip(*keep_t), label=label, **styles[label])
        if keep_g:
            axes[1].plot(*zip(*keep_g), label=label, **styles[label])
        if has_link:
            lim = []
            for x, r in p:
                gbps = num(path, r, "link_gbps", optional=True)
                per_tok = num(path, r, "link_bytes_per_output_token")
                if gbps and per_tok > 0:
                    lim.append((x, gbps * 1e9 / per_tok))
                    gbps_seen.add(round(gbps, 2))
            lim = [(x, v) for x, v in lim if v <= 3 * top]  # far limits would flatten the data
            if lim:
                axes[0].plot(*zip(*lim), color=styles[label]["color"], linestyle=(0, (1, 1.5)), linewidth=1.0,
                             marker="_", markersize=8)
                limited = True
    if x_all:
        lo, hi = min(x_all), max(x_all)
        axes[1].plot([lo, hi], [lo, hi], color=ps.REFERENCE_COLOR, lw=0.9, label="offered load")
    axes[0].set_ylabel("output tokens/s" + (" (log)" if log_t else ""))
    axes[1].set_ylabel("goodput (requests/s within SLO" + (", log)" if log_g else ")"))
    axes[0].set_title("Throughput")
    axes[1].set_title("Goodput")
    if log_t:
        axes[0].set_yscale("log")
    if log_g:
        axes[1].set_yscale("log")
    extra = ""
    if limited:
        from matplotlib.lines import Line2D
        h, l = axes[0].get_legend_handles_labels()
        h.append(Line2D([], [], color=ps.REFERENCE_COLOR, linestyle=(0, (1, 1.5)), marker="_"))
        l.append("link limit (series colour)")
        axes[0].legend(h, l, fontsize="small")
        extra = (f"Link limit: the devices' CXL links ({', '.join(f'{g:g}' for g in sorted(gbps_seen))} GB/s of "
                 f"read payload) over each point's link bytes per output token; limits beyond 3x the data "
                 f"are off the axis.")
    else:
        axes[0].legend(fontsize="small")
    axes[1].legend(fontsize="small")
    if panels == 3:
        sx = axes[2]
        # The baseline at the same system, model and rate scale.
        def key(r):
            return (r.get("system"), r.get("model"), r.get("rate_scale"))
        base = {key(r): num(path, r, "output_tokens_per_s") for r in rows if r["policy"] == args.baseline}
        ratios = {}
        for label, p in pts.items():
            if p and p[0][1]["policy"] == args.baseline:
                continue
            ratios[label] = [(x, num(path, r, "output_tokens_per_s") / base[key(r)])
                             for x, r in p if base.get(key(r))]
        vals = [v for rr in ratios.values() for _, v in rr]
        log_s = ps.spans_decades(vals + [1.0])
        for label, rr in ratios.items():
            rr = [(x, v) for x, v in rr if v > 0 or not log_s]
            if rr:
                sx.plot(*zip(*rr), label=label, **styles[label])
        sx.axhline(1.0, color=ps.REFERENCE_COLOR, lw=0.9)
        if log_s:
            sx.set_yscale("log")
        sx.set_ylabel(f"output tokens/s over {args.baseline}'s" + (" (log)" if log_s else ""))
        sx.set_title(f"Speed-up over {args.baseline}")
        sx.legend(fontsize="small")
    for ax in axes:
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel("offered load (requests/s" + (", log)" if log_x else ")"))
        ax.grid(True, which="major", alpha=0.3)
    fig.suptitle("pnmvp serve: throughput against offered load")
    bottom = ps.caption(fig, serve_caption(path, rows, vary, ["offered load (x axis)"], extra))
    save(plt, fig, paths, bottom)


def energy(args, paths):
    path = args.inputs[0]
    rows = read_csv(path, ["policy", "rate_scale", "energy_per_output_token_mj"])
    scales = sorted({num(path, r, "rate_scale") for r in rows})
    scale = args.rate_scale if args.rate_scale is not None else scales[0]
    sel = [r for r in rows if abs(num(path, r, "rate_scale") - scale) < 1e-9]
    if not sel:
        fail(f"{path}: no rows at rate scale {scale} (have {', '.join(f'{s:g}' for s in scales)})")
    series, vary = policy_series(path, sel)
    plt = import_pyplot()
    names = list(series)
    vals_mj = [sum(num(path, r, "energy_per_output_token_mj") for r in series[n]) / len(series[n]) for n in names]
    unit, per_unit_uj = ps.energy_unit(max(vals_mj) * 1e3 if vals_mj else 0.0)
    vals = [v * 1e3 / per_unit_uj for v in vals_mj]
    fig, ax = plt.subplots(figsize=(max(6.5, 1.3 * len(names) + 2), 4.8))
    bars = ax.bar(names, vals, color=[ps.series_style(i)["color"] for i in range(len(names))],
                  hatch=None, edgecolor="white")
    for i, b in enumerate(bars):
        b.set_hatch(ps.CLASS_HATCHES[i % len(ps.CLASS_HATCHES)])
    ax.bar_label(bars, fmt="%.3g", fontsize=8)
    ax.set_ylabel(f"energy per output token ({unit})")
    # Linear from zero unless the policies differ by more than a decade (a log
    # axis on a narrow range makes small differences look large).
    if ps.spans_decades(vals):
        ax.set_yscale("log")
        ax.set_ylabel(f"energy per output token ({unit}, log)")
    else:
        ax.set_ylim(0, max(vals) * 1.12 if vals and max(vals) > 0 else 1)
    ax.grid(True, axis="y", which="major", alpha=0.3)
    ax.tick_params(axis="x", labelrotation=20 if len(names) > 4 else 0)
    fig.suptitle(f"pnmvp serve: energy per output token at rate x{scale:g}")
    bottom = ps.caption(fig, serve_caption(path, sel, vary, [], f"Rate scale x{scale:g} of "
                                           f"x{', x'.join(f'{s:g}' for s in scales)} in the file."))
    save(plt, fig, paths, bottom)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["cdf", "load", "energy"])
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--out", required=True, help="figure name; its extension (if any) joins --format")
    ap.add_argument("--format", default="png,pdf", help="comma-separated: png, pdf, svg (default png,pdf)")
    ap.add_argument("--rate-scale", type=float, help="energy: the rate scale shown (default the lowest)")
    ap.add_argument("--baseline", default="hbm", help="load: policy the speed-up panel divides by (default hbm)")
    ap.add_argument("--force", action="store_true", help="replace existing outputs (never an input)")
    a = ap.parse_args()
    try:
        formats = ps.parse_formats(a.format)
        root, ext = os.path.splitext(a.out)
        if ext.lower().lstrip(".") in ps.FORMATS:
            formats = list(dict.fromkeys([ext.lower().lstrip(".")] + formats))
        else:
            root = a.out
        paths = ps.output_paths(root, formats)
        ps.check_outputs(paths, a.force, inputs=a.inputs)
    except ps.PlotError as e:
        fail(str(e))
    if a.kind != "cdf" and len(a.inputs) != 1:
        fail(f"{a.kind} takes one summary.csv")
    {"cdf": cdf, "load": load, "energy": energy}[a.kind](a, paths)


if __name__ == "__main__":
    main()
