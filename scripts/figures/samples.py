"""Fig. 2: the highest- (and lowest-) scoring samples of a score file as an image grid, each image
with its class name and score under it, from the gallery `kdprune samples` writes (a .json naming
the samples and a .npy of their pixels, uint8 N×C×H×W, as the dataset holds them). make_gallery
runs that command (the dataset readers are kdprune's, so every dataset it reads can be drawn);
plot_samples.py and plot_figures.py (an experiment's score stages) call it."""
import json
import math
import os
import shutil
import subprocess
import textwrap

import matplotlib.pyplot as plt
import numpy as np

GROUPS = (("top", "highest"), ("bottom", "lowest"))
FIELDS = ("dataset", "images_file", "image_shape", "samples", "pool_size")


class BadInput(Exception):
    pass


def find_kdprune(root):
    """The kdprune binary, found as scripts/lib/locate.sh's find_kdprune does: $KDPRUNE, the build
    beside the scripts ($KDPRUNE_BUILD_DIR, default <root>/build), an installed copy's
    <prefix>/bin, PATH. None when there is none."""
    env = os.environ.get("KDPRUNE")
    if env:
        return shutil.which(env) if os.sep not in env else (env if os.access(env, os.X_OK) else None)
    for b in (os.path.join(os.environ.get("KDPRUNE_BUILD_DIR", os.path.join(root, "build")), "kdprune"),
              os.path.join(root, "..", "..", "bin", "kdprune")):
        if os.path.isfile(b) and os.access(b, os.X_OK):
            return os.path.abspath(b)
    return shutil.which("kdprune")


def make_gallery(kdprune, scores, out_json, top, bottom, config=None, overrides=()):
    """Runs `kdprune samples`; BadInput with its one-line error when it fails."""
    cmd = [kdprune, "samples", "--scores", scores, "--top", str(top), "--bottom", str(bottom), "--out", out_json]
    if config:
        cmd += ["--config", config]
    r = subprocess.run(cmd + list(overrides), capture_output=True, text=True)
    if r.returncode != 0:
        lines = [ln for ln in (r.stderr + r.stdout).splitlines() if "error" in ln] or (r.stderr + r.stdout).splitlines()
        raise BadInput(lines[-1].strip() if lines else f"{' '.join(cmd)} failed ({r.returncode})")
    return out_json


def read(path):
    """(the gallery's JSON, its images as N×C×H×W uint8); BadInput names what is wrong."""
    try:
        with open(path) as fh:
            info = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadInput(f"{path}: cannot read as JSON ({e})")
    missing = [f for f in FIELDS if not isinstance(info, dict) or f not in info]
    if missing:
        raise BadInput(f"{path}: not a `kdprune samples` gallery (missing: {', '.join(missing)})")
    npy = os.path.join(os.path.dirname(os.path.abspath(path)), info["images_file"])
    try:
        images = np.load(npy, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise BadInput(f"{npy}: cannot read the gallery's images ({e})")
    want = (len(info["samples"]), *info["image_shape"])
    if images.dtype != np.uint8 or images.shape != want:
        raise BadInput(f"{npy}: expected uint8 images of shape {want}, got {images.dtype} {images.shape}")
    return info, images


def picture(image):
    """C×H×W bytes as imshow takes them: H×W (grey) or H×W×3."""
    return image[0] if image.shape[0] == 1 else np.transpose(image, (1, 2, 0))


def label(sample):
    name = textwrap.shorten(str(sample.get("class", sample["label"])), width=16, placeholder="…")
    return f"{name}\n{sample['score']:.5g}"


def draw(info, images, cols=10):
    """The grid: a block per group (the highest scores first, then the lowest), ranked left to
    right, row by row; class name and score under each image."""
    picks = [(g, word, [(s, images[i]) for i, s in enumerate(info["samples"]) if s["group"] == g]) for g, word in GROUPS]
    picks = [p for p in picks if p[2]]
    cols = max(1, min(cols, max(len(p[2]) for p in picks)))
    rows = [math.ceil(len(p[2]) / cols) for p in picks]
    fig = plt.figure(figsize=(1.1 * cols + 0.3, 1.5 * sum(rows) + 0.35 * len(picks) + 0.45), layout="constrained")
    subs = fig.subfigures(len(picks), 1, height_ratios=rows) if len(picks) > 1 else [fig]
    method = info.get("method") or ""
    for sub, (group, word, items), n_rows in zip(subs, picks, rows):
        axes = np.atleast_1d(sub.subplots(n_rows, cols, squeeze=False).ravel())
        for ax, (sample, image) in zip(axes, items):
            grey = image.shape[0] == 1
            ax.imshow(picture(image), cmap="gray" if grey else None, vmin=0, vmax=255, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel(label(sample), fontsize=7, linespacing=1.1)
            ax.set_gid(f"sample:{group}:{sample['rank']}:{sample['index']}")
        for ax in axes[len(items):]:
            ax.remove()
        heading = f"the {len(items)} {word} {method + ' ' if method else ''}scores" + (" (highest first)" if group == "top" else " (lowest first)")
        if sub is not fig:
            sub.suptitle(wrap(fig, heading, 9), fontsize=9)
    part = f" (data.part {info['part']})" if info.get("part", "all") != "all" else ""
    title = f"{info['dataset']}: {method or 'the'} scores of {info['pool_size']} samples{part}"
    fig.suptitle(wrap(fig, title + ("" if len(picks) > 1 else f"; {heading}"), 10), fontsize=10)
    return fig


def wrap(fig, text, fontsize):
    """Lines that fit the figure's width (about 0.55 em per character)."""
    return textwrap.fill(text, width=max(20, int(fig.get_figwidth() * 72 / (fontsize * 0.55))))


def all_axes(fig):
    """The axes of a figure and of its subfigures, in drawing order, each once (a figure's .axes
    holds its subfigures' axes in some matplotlib versions and not in others)."""
    return list(dict.fromkeys(list(fig.axes) + [ax for sub in getattr(fig, "subfigs", []) for ax in all_axes(sub)]))


def describe(fig, name):
    """For plot_figures.py --describe: the title, the group headings and each image's sample."""
    heads = [sub._suptitle.get_text() for sub in getattr(fig, "subfigs", []) if sub._suptitle is not None]
    return {"figure": name, "title": fig._suptitle.get_text() if fig._suptitle is not None else "", "groups": heads,
            "samples": [ax.get_gid() for ax in all_axes(fig) if ax.get_gid()],
            "labels": [ax.get_xlabel() for ax in all_axes(fig) if ax.get_gid()]}


def score_stages(experiment_dir):
    """The score stages of a `kdprune run` experiment: (pruner, its scores.npy), by name."""
    try:
        names = sorted(os.listdir(experiment_dir))
    except OSError:
        return []
    out = []
    for d in names:
        stage = os.path.join(experiment_dir, d)
        if d.startswith("score-") and all(os.path.isfile(os.path.join(stage, f)) for f in ("scores.npy", "scores.json")):
            out.append((d[len("score-"):], os.path.join(stage, "scores.npy")))
    return out
