"""Placement that keeps a figure readable and every text where it belongs: panels in a grid, the
sideways offsets error bars need (and only they), labels at a point inside their axes and off the
markers, legends off the data (else beside the axes). The checks read the drawn figure back, so
they hold whatever the data: tests/scripts/figure_layout.py checks the result independently."""
import math

import matplotlib.pyplot as plt
import matplotlib.transforms as mtransforms
from matplotlib.collections import LineCollection

PAD = 2.0  # pixels kept free around a label or legend

# Inside positions tried in turn for a legend; beside the axes when every one covers data.
INSIDE = ["upper left", "upper right", "lower right", "lower left", "center right", "center left", "upper center",
          "lower center"]


def panels(n, width=3.6, height=3.0, ncols=3, sharex=True, sharey=True):
    """A figure of n panels, rows of up to ncols, laid out by matplotlib's constrained layout (which
    keeps titles, labels and a legend beside an axes inside the figure). One panel: 6 x 4 in."""
    if n == 1:
        fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
        return fig, [ax]
    ncols = max(1, min(n, ncols))
    nrows = math.ceil(n / ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows + 0.8), squeeze=False,
                             sharex=sharex, sharey=sharey, layout="constrained")
    axes = list(grid.ravel())
    for ax in axes[n:]:
        ax.remove()
    for ax in axes[:n]:  # shared axes hide the inner tick labels: each panel shows its own x ticks
        ax.tick_params(labelbottom=True)
    return fig, axes[:n]


def offsets(k, error_bars):
    """Sideways shifts in points for k series sharing their x values. None without error bars: each
    point sits over its x. With error bars, at most a marker's radius (3 pt) either way, so every
    marker still covers its x while the bars at one x stand apart."""
    if k < 2 or not error_bars:
        return [0.0] * k
    step = min(3.0, 6.0 / (k - 1))
    return [(i - (k - 1) / 2) * step for i in range(k)]


def yerr(s):
    """One standard deviation where a point has two seeds or more; none where it has one (a std of
    0 would draw caps through the marker as if measured)."""
    e = s["std"].where(s["count"] > 1)
    return None if e.isna().all() else e


def errorbar(ax, xs, s, transform, **kw):
    """Means with one-standard-deviation bars (s: stats rows) at xs, drawn through transform (a
    sideways shift). The data limits are updated here: matplotlib skips a shifted line that has no
    error bars when it autoscales."""
    c = ax.errorbar(xs, s["mean"], yerr=yerr(s), capsize=3, elinewidth=1, transform=transform, **kw)
    ax.update_datalim(list(zip(xs, s["mean"])))
    ax.autoscale_view()
    return c


def category_offsets(k):
    """Shifts in axis units for k series on a categorical axis: side by side within a category."""
    if k < 2:
        return [0.0] * k
    step = min(0.15, 0.6 / (k - 1))
    return [(i - (k - 1) / 2) * step for i in range(k)]


def shifted(ax, dx):
    return mtransforms.offset_copy(ax.transData, fig=ax.figure, x=dx, y=0, units="points")


def renderer(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _markers(ax):
    """(x, y, radius) in pixels of the markers and error-bar points drawn in ax."""
    out = []
    for line in ax.get_lines():
        m = line.get_marker()
        if not line.get_visible() or m in (None, "None", "none", "", " "):
            continue
        r = line.get_markersize() * ax.figure.dpi / 72.0 / 2.0
        for x, y in line.get_transform().transform(line.get_xydata()):
            if x == x and y == y:
                out.append((x, y, r))
    for c in ax.collections:
        if isinstance(c, LineCollection) and c.get_visible():
            for seg in c.get_segments():
                if len(seg) >= 2:
                    (x0, y0), (x1, y1) = c.get_transform().transform(seg[0]), c.get_transform().transform(seg[-1])
                    out += [(x0 + (x1 - x0) * i / 10, y0 + (y1 - y0) * i / 10, 1.0) for i in range(11)]
    return out


def _line_points(ax, step=4.0):
    """Points every few pixels along the drawn lines of ax (the curves and reference lines)."""
    out = []
    for line in ax.get_lines():
        if not line.get_visible() or line.get_linestyle() in ("None", "none", "", " "):
            continue
        xy = line.get_transform().transform(line.get_xydata())
        for (x0, y0), (x1, y1) in zip(xy[:-1], xy[1:]):
            if not (x0 == x0 and y0 == y0 and x1 == x1 and y1 == y1):
                continue
            n = max(1, int(math.hypot(x1 - x0, y1 - y0) / step))
            out += [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n, 1.0) for i in range(n + 1)]
    return out


def _hits(box, points):
    return any(box.x0 - r - PAD < x < box.x1 + r + PAD and box.y0 - r - PAD < y < box.y1 + r + PAD for x, y, r in points)


def _inside(box, frame):
    return box.x0 >= frame.x0 + PAD and box.x1 <= frame.x1 - PAD and box.y0 >= frame.y0 + PAD and box.y1 <= frame.y1 - PAD


# Where a label may sit around its point: (dx, dy) in points, horizontal and vertical alignment.
AROUND = [((0, 7), "center", "bottom"), ((0, -7), "center", "top"), ((7, 0), "left", "center"),
          ((-7, 0), "right", "center"), ((6, 6), "left", "bottom"), ((-6, 6), "right", "bottom"),
          ((6, -6), "left", "top"), ((-6, -6), "right", "top")]


def place_labels(ax, labels):
    """Puts each label (an annotation made with xytext in offset points; its base shift kept) where
    it stays inside the axes and covers no marker and no label placed before it, off the lines too
    where it can be. Returns whether every label found such a place (else the first place is kept
    and keep_inside() makes room)."""
    if not labels:
        return True
    r = renderer(ax.figure)
    frame = ax.get_window_extent(r)
    points, lines = _markers(ax), _line_points(ax)
    taken, ok = [], True

    def put(a, i):
        (dx, dy), ha, va = AROUND[i]
        a.xyann = (getattr(a, "_base_dx", 0.0) + dx, dy)
        a.set_ha(ha)
        a.set_va(va)
        return a.get_window_extent(r)

    for a in labels:
        free = lambda box, strict: (_inside(box, frame) and not _hits(box, points) and not any(box.overlaps(t) for t in taken)
                                    and not (strict and _hits(box, lines)))
        choice = next((i for strict in (True, False) for i in range(len(AROUND)) if free(put(a, i), strict)), None)
        ok &= choice is not None
        taken.append(put(a, choice or 0).padded(PAD))
    return ok


def keep_inside(fig, rounds=6):
    """Widens the y (and x) limits of each axes until every text drawn in it lies inside its frame."""
    for _ in range(rounds):
        r = renderer(fig)
        moved = False
        for ax in fig.axes:
            if not ax.texts:
                continue
            frame = ax.get_window_extent(r)
            need = [0.0, 0.0, 0.0, 0.0]  # pixels missing below, above, left, right
            for t in ax.texts:
                if not t.get_visible() or not t.get_text():
                    continue
                b = t.get_window_extent(r)
                if b.width <= 1 and b.height <= 1:
                    continue  # an annotation whose point is out of view: not drawn
                need[0] = max(need[0], frame.y0 + PAD - b.y0)
                need[1] = max(need[1], b.y1 - (frame.y1 - PAD))
                need[2] = max(need[2], frame.x0 + PAD - b.x0)
                need[3] = max(need[3], b.x1 - (frame.x1 - PAD))
            for get, set_, size, lo, hi in ((ax.get_ylim, ax.set_ylim, frame.height, need[0], need[1]),
                                            (ax.get_xlim, ax.set_xlim, frame.width, need[2], need[3])):
                if lo > 0 or hi > 0:  # linear axes: pixels to data units, a little more (the scale shrinks)
                    a, b = get()
                    per_px = (b - a) / max(size, 1.0)
                    set_(a - max(lo, 0) * per_px * 1.15, b + max(hi, 0) * per_px * 1.15)
                    moved = True
        if not moved:
            return


def place_legend(ax, handles=None, labels=None, outside=False, fontsize=8, title=None, ncol=1):
    """A legend on ax where it covers no marker, error bar, line or label of any panel; beside the
    axes (right, the figure widened by the legend's width so the panels keep their size) when no
    inside position is free, or when outside is asked for (a legend shared by several panels)."""
    fig = ax.figure
    kw = dict(fontsize=fontsize, title=title, title_fontsize=fontsize, ncol=ncol)
    if handles is not None:
        kw.update(handles=handles, labels=labels)
    if not outside:
        r = renderer(fig)
        points = []
        for a in fig.axes:
            points += _markers(a) + _line_points(a)
            points += [(b.x0 + (b.x1 - b.x0) * i / 6, b.y0 + (b.y1 - b.y0) * j / 2, 0.0)
                       for t in a.texts for b in [t.get_window_extent(r)] for i in range(7) for j in range(3)]
        for loc in INSIDE:
            leg = ax.legend(loc=loc, **kw)
            box = leg.get_window_extent(r)
            if not _hits(box, points):
                return leg
            leg.remove()
    leg = ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kw)
    width = leg.get_window_extent(renderer(fig)).width / fig.dpi
    fig.set_figwidth(fig.get_figwidth() + width + 0.1)
    return leg
