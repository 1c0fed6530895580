"""Helper for bench/imagefolder_load.sh.

make DIR N: writes an ImageNet-like folder (train/ and val/, 4 classes, N JPEGs of 500x375 at
quality 90, smooth content plus noise: ~60-110 KB each, like ImageNet's).
load DIR SIZE WORKERS: times the PyTorch users' loading of train/ (PIL open + convert("RGB") +
torchvision's Resize(SIZE) + CenterCrop(SIZE) as PIL does them, to a uint8 array), in WORKERS
processes; prints images/s.
rrc DIR SIZE WORKERS: the same with torchvision's ImageNet training views instead:
RandomResizedCrop(SIZE) (get_params: scale (0.08, 1), ratio (3/4, 4/3), 10 tries, centred
fallback) + RandomHorizontalFlip, as PIL calls (crop, resize BILINEAR, transpose).
"""
import math
import random
import os
import sys
import time
from multiprocessing import Pool

import numpy as np
from PIL import Image


def make(root, n):
    rng = np.random.default_rng(0)
    for split, count in (("train", n), ("val", max(4, n // 10))):
        for i in range(count):
            cls = f"class{i % 4}"
            os.makedirs(os.path.join(root, split, cls), exist_ok=True)
            small = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
            img = Image.fromarray(small).resize((500, 375), Image.BICUBIC)
            arr = np.asarray(img).astype(np.int16) + rng.integers(-12, 13, (375, 500, 3))
            Image.fromarray(arr.clip(0, 255).astype(np.uint8)).save(
                os.path.join(root, split, cls, f"img{i:05d}.JPEG"), quality=90)


def decode(args):
    path, size = args
    with Image.open(path) as im:
        im = im.convert("RGB")
        w, h = im.size
        s = size / min(w, h)
        im = im.resize((max(size, round(w * s)), max(size, round(h * s))), Image.BILINEAR)
        w, h = im.size
        left, top = (w - size) // 2, (h - size) // 2
        return np.asarray(im.crop((left, top, left + size, top + size))).shape


def random_resized_crop(img, size):
    """torchvision's RandomResizedCrop(size) on a PIL image: get_params, then crop + resize."""
    width, height = img.size
    area = width * height
    box = (0, 0, width, height)  # the fallback (this folder's 4:3 images are within the ratio range)
    for _ in range(10):
        target = area * random.uniform(0.08, 1.0)
        aspect = math.exp(random.uniform(math.log(3 / 4), math.log(4 / 3)))
        w, h = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top, left = random.randint(0, height - h), random.randint(0, width - w)
            box = (left, top, left + w, top + h)
            break
    return img.crop(box).resize((size, size), Image.BILINEAR)


def random_view(args):
    path, size = args
    with Image.open(path) as im:
        im = random_resized_crop(im.convert("RGB"), size)
        if random.random() < 0.5:
            im = im.transpose(Image.FLIP_LEFT_RIGHT)
        return np.asarray(im).shape


def load(root, size, workers, fn=decode):
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(os.path.join(root, "train")) for f in fs)
    jobs = [(f, size) for f in files]
    start = time.perf_counter()
    if workers == 1:
        for j in jobs:
            fn(j)
    else:
        with Pool(workers) as p:
            p.map(fn, jobs, chunksize=16)
    print(f"{len(files) / (time.perf_counter() - start):.1f}")


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]))
    else:
        load(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), random_view if sys.argv[1] == "rrc" else decode)
