#!/usr/bin/env python3
"""Checks the layout of every figure a plotting script saves, from what matplotlib's renderer draws.

    figure_layout.py SCRIPT [ARGS...]

Runs SCRIPT (scripts/plot_figures.py, scripts/plot_curves.py) with ARGS in this process, with
Figure.savefig wrapped: before a figure's first save it is drawn and checked, independently of the
script's own placement code:
  - every drawn text (titles, axis labels, the tick labels in view, annotations, legend entries,
    table cells) lies inside the figure (its own area, before any bbox_inches="tight" cropping);
  - a text drawn in an axes' data area (an annotation, a label at a point) lies inside that axes'
    frame, and covers no plotted marker;
  - no legend covers a plotted marker or error bar of any axes;
  - the tick labels of one axis do not overlap one another.
Prints one line per problem ("figure_layout: <file>: <problem>") and exits 1 when there is any;
the script's own exit status is passed on otherwise. Nothing here is specific to one figure.
"""
import os
import runpy
import sys

import matplotlib

matplotlib.use("Agg")
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402

TOL = 1.0  # pixels: rounding of the renderer's extents
PROBLEMS = []
CHECKED = set()
COUNT = [0]


def has_marker(line):
    m = line.get_marker()
    return m not in (None, "None", "none", "", " ") and line.get_markersize() > 0


def markers(ax, renderer):
    """(x, y, radius, shape) in pixels of every marker drawn in ax, inside its frame; shape "-" or
    "|" for the thin caps of error bars (a segment), "o" for the rest (a disc)."""
    out = []
    box = ax.get_window_extent(renderer)
    for line in ax.get_lines():
        if not line.get_visible() or not has_marker(line) or line.get_gid() == "legend-handle":
            continue
        xy = line.get_xydata()
        if len(xy) == 0:
            continue
        r = line.get_markersize() * ax.figure.dpi / 72.0 / 2.0
        shape = {"_": "-", "|": "|"}.get(line.get_marker(), "o")
        for x, y in line.get_transform().transform(xy):
            if x == x and y == y and box.x0 - TOL <= x <= box.x1 + TOL and box.y0 - TOL <= y <= box.y1 + TOL:
                out.append((x, y, r, shape))
    return out


def error_bar_points(ax):
    """Points along every error bar (the vertical segments errorbar() draws), in pixels."""
    out = []
    for c in ax.collections:
        if not isinstance(c, LineCollection) or not c.get_visible():
            continue
        t = c.get_transform()
        for seg in c.get_segments():
            if len(seg) < 2:
                continue
            (x0, y0), (x1, y1) = t.transform(seg[0]), t.transform(seg[-1])
            for i in range(11):
                out.append((x0 + (x1 - x0) * i / 10, y0 + (y1 - y0) * i / 10, 0.5, "o"))
    return out


def hits(bbox, x, y, r, shape):
    """Whether a marker at (x, y) reaches into bbox (shrunk by the tolerance): a disc of radius r,
    or a cap, a segment of half-length r."""
    if shape == "-":
        return bbox.x0 + TOL < x + r and x - r < bbox.x1 - TOL and bbox.y0 + TOL < y < bbox.y1 - TOL
    if shape == "|":
        return bbox.y0 + TOL < y + r and y - r < bbox.y1 - TOL and bbox.x0 + TOL < x < bbox.x1 - TOL
    cx = min(max(x, bbox.x0 + TOL), bbox.x1 - TOL)
    cy = min(max(y, bbox.y0 + TOL), bbox.y1 - TOL)
    return (cx - x) ** 2 + (cy - y) ** 2 < r * r


def inside(inner, outer):
    return (inner.x0 >= outer.x0 - TOL and inner.y0 >= outer.y0 - TOL and inner.x1 <= outer.x1 + TOL
            and inner.y1 <= outer.y1 + TOL)


def where(b):
    return f"[{b.x0:.0f}, {b.y0:.0f}, {b.x1:.0f}, {b.y1:.0f}] px"


def drawn_tick_labels(axis):
    """The tick labels the axis draws: those of ticks inside the view interval."""
    lo, hi = sorted(axis.get_view_interval())
    out = []
    for ticks in (axis.get_major_ticks(), axis.get_minor_ticks()):
        for tick in ticks:
            loc = tick.get_loc()
            if loc is None or not (lo - 1e-9 * max(1.0, abs(hi)) <= loc <= hi + 1e-9 * max(1.0, abs(hi))):
                continue
            for label in (tick.label1, tick.label2):
                if label.get_visible() and label.get_text():
                    out.append(label)
    return out


def check(fig, name):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    page = fig.bbox
    problems = []
    axes = [ax for ax in fig.axes if ax.get_visible()]
    tick_texts = set()  # every tick label: checked above, those in view only
    for ax in axes:
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                tick_texts.update((id(tick.label1), id(tick.label2)))
    for ax in axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = drawn_tick_labels(axis) if axis.get_visible() and ax.axison else []
            boxes = sorted(((t.get_window_extent(renderer), t.get_text()) for t in labels), key=lambda b: (b[0].x0, b[0].y0))
            for i, (b, s) in enumerate(boxes):
                if not inside(b, page):
                    problems.append(f"tick label {s!r} outside the figure at {where(b)}")
                for b2, s2 in boxes[i + 1:]:
                    if b.overlaps(b2) and min(b.x1, b2.x1) - max(b.x0, b2.x0) > TOL and min(b.y1, b2.y1) - max(b.y0, b2.y0) > TOL:
                        problems.append(f"tick labels {s!r} and {s2!r} overlap")
    # Every other drawn text: titles, labels, annotations, legend entries, table cells, suptitle.
    in_axes = {}
    for ax in axes:
        for t in ax.texts:
            in_axes[id(t)] = ax
    in_axes_texts = [t for ax in axes for t in ax.texts]
    for t in fig.findobj(lambda a: isinstance(a, Text)):
        if id(t) in tick_texts or not t.get_text().strip() or not t.get_visible():
            continue
        b = t.get_window_extent(renderer)
        if b.width <= 1 and b.height <= 1:  # matplotlib's unit box: an annotation it does not draw
            if t in in_axes_texts:
                problems.append(f"label {t.get_text()!r} not drawn (its point lies outside the axes)")
            continue
        if not inside(b, page):
            problems.append(f"text {t.get_text()!r} outside the figure at {where(b)} (figure {where(page)})")
        ax = in_axes.get(id(t))
        if ax is not None:
            frame = ax.get_window_extent(renderer)
            if not inside(b, frame):
                problems.append(f"label {t.get_text()!r} crosses its axes' frame at {where(b)} (frame {where(frame)})")
            for x, y, r, shape in markers(ax, renderer):
                if hits(b, x, y, r, shape):
                    problems.append(f"label {t.get_text()!r} covers a marker at ({x:.0f}, {y:.0f}) px")
                    break
    # Legends: never over a marker or an error bar, of any axes.
    legends = [ax.get_legend() for ax in axes if ax.get_legend() is not None] + list(fig.legends)
    for leg in legends:
        if not leg.get_visible():
            continue
        b = leg.get_window_extent(renderer)
        if not inside(b, page):
            problems.append(f"legend outside the figure at {where(b)} (figure {where(page)})")
        for ax in axes:
            if ax.get_legend() is leg and not ax.axison and not ax.get_lines():
                continue  # a legend-only axes
            points = markers(ax, renderer) + error_bar_points(ax)
            covered = [(x, y) for x, y, r, shape in points if hits(b, x, y, max(r, 0.5), shape)]
            if covered:
                x, y = covered[0]
                problems.append(f"legend at {where(b)} covers {len(covered)} marker/error-bar point(s), e.g. ({x:.0f}, {y:.0f}) px")
    for p in problems:
        PROBLEMS.append(f"{name}: {p}")


_savefig = Figure.savefig


def savefig(self, fname, *args, **kwargs):
    if id(self) not in CHECKED:
        CHECKED.add(id(self))
        COUNT[0] += 1
        name = os.path.basename(str(fname))  # a script's temporary name: .NAME.png.tmp
        check(self, name[1:-4] if name.startswith(".") and name.endswith(".tmp") else name)
    return _savefig(self, fname, *args, **kwargs)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: figure_layout.py SCRIPT [ARGS...]")
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    Figure.savefig = savefig
    code = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if not isinstance(e.code, int) and e.code is not None:
            print(e.code, file=sys.stderr)
    for p in PROBLEMS:
        print("figure_layout: " + p)
    print(f"figure_layout: {COUNT[0]} figure(s) checked, {len(PROBLEMS)} problem(s)", file=sys.stderr)
    sys.exit(1 if PROBLEMS else code)


if __name__ == "__main__":
    main()
