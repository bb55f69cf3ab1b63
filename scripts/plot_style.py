"""Shared figure conventions of scripts/plot_sweep.py and scripts/plot_serve.py.

Colour-blind-safe colours (Okabe & Ito, 2008, for series; Paul Tol's "muted"
scheme plus hatching for stacked classes), a distinct marker AND line style
per series, units and log axes chosen from the data, a caption naming the
configuration, and output in several formats that never replaces an existing
file without --force.
"""
import os

# Okabe-Ito without yellow (too pale on white) and with black last.
SERIES_COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
# Coprime cycle lengths (4 styles, 7 markers): 28 series before a combination repeats.
LINE_STYLES = ["-", "--", ":", "-."]
MARKERS = ["o", "s", "^", "D", "v", "P", "X"]
# Stacked classes: Tol's muted scheme, then the same colours hatched.
CLASS_COLORS = ["#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677",
                "#882255", "#AA4499", "#DDDDDD"]
CLASS_HATCHES = ["", "//", "..", "xx"]
REFERENCE_COLOR = "#555555"
FORMATS = ("png", "pdf", "svg")
DPI = 150


class PlotError(Exception):
    """Bad input or a refused output: the scripts exit with status 2."""


def parse_formats(text):
    fmts = [f.strip().lower().lstrip(".") for f in text.split(",") if f.strip()]
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise PlotError(f"--format {text}: give one or more of {', '.join(FORMATS)} (comma-separated)")
    return list(dict.fromkeys(fmts))


def series_style(index, color_index=None):
    """Colour, line style and marker of the index-th series; every other series has hollow
    markers, so two series on the same points stay visible."""
    c = SERIES_COLORS[(index if color_index is None else color_index) % len(SERIES_COLORS)]
    style = dict(color=c, linestyle=LINE_STYLES[index % len(LINE_STYLES)],
                 marker=MARKERS[index % len(MARKERS)], markersize=6, linewidth=1.6)
    if index % 2:
        style.update(markerfacecolor="none", markeredgewidth=1.4)
    return style


def class_style(index):
    return dict(color=CLASS_COLORS[index % len(CLASS_COLORS)],
                hatch=CLASS_HATCHES[(index // len(CLASS_COLORS)) % len(CLASS_HATCHES)],
                edgecolor="white", linewidth=0.3)


def spans_decades(values, decades=1.0):
    """True when the positive values span more than `decades` decades (a log axis is
    then easier to read)."""
    pos = [v for v in values if v > 0]
    return len(pos) >= 2 and max(pos) / min(pos) > 10.0 ** decades


ENERGY_UNITS = [("J", 1e6), ("mJ", 1e3), ("µJ", 1.0)]  # name, µJ per unit


def energy_unit(max_uj):
    """The unit (name, µJ per unit) that shows the largest value as 1 to 1000: J from 1 J,
    mJ from 1 mJ; µJ only for sub-millijoule data (the tiny test models)."""
    for name, scale in ENERGY_UNITS:
        if max_uj >= scale:
            return name, scale
    return ENERGY_UNITS[-1]


def caption(fig, text, fontsize=7.5):
    """The configuration under the figure; returns the bottom margin (figure fraction) the
    caption needs, for tight_layout(rect=...)."""
    import textwrap
    width = max(60, int(fig.get_figwidth() * 15))
    lines = textwrap.wrap(text, width)
    fig.text(0.01, 0.005, "\n".join(lines), ha="left", va="bottom", fontsize=fontsize, color="#333333")
    return min(0.4, (len(lines) * fontsize * 1.35 + 6) / 72.0 / fig.get_figheight())


def output_paths(root, formats):
    return [f"{root}.{f}" for f in formats]


def check_outputs(paths, force, inputs=()):
    """Refuses before anything is drawn: an input is never an output (even with --force), an
    existing file is replaced only with --force."""
    real_inputs = {os.path.realpath(p) for p in inputs}
    for p in paths:
        if os.path.realpath(p) in real_inputs:
            raise PlotError(f"{p} is an input: choose another --out")
        if os.path.exists(p) and not force:
            raise PlotError(f"{p} exists: pass --force to replace it")
        folder = os.path.dirname(p) or "."
        if not os.path.isdir(folder):
            raise PlotError(f"{folder}: output directory does not exist")


def save(fig, paths, rect_bottom=0.0, rect_right=1.0):
    fig.tight_layout(rect=(0, rect_bottom, rect_right, 1))
    for p in paths:
        fig.savefig(p, dpi=DPI)
