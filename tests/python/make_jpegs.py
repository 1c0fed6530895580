"""JPEGs of every layout the partial decode must handle, for tests/base/test_image_region.cpp:
chroma 4:2:0, 4:2:2 and 4:4:4, progressive, grayscale, CMYK, sizes
that are not multiples of the 16-pixel iMCU, and one smaller than an iMCU.
usage: make_jpegs.py DIR"""
import os
import sys

import numpy as np
from PIL import Image


def smooth_noise(h, w, c, seed):
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, (max(2, h // 8), max(2, w // 8), 3), dtype=np.uint8))
    arr = np.asarray(small.resize((w, h), Image.BICUBIC)).astype(np.int16) + rng.integers(-30, 31, (h, w, 3))
    arr = arr.clip(0, 255).astype(np.uint8)
    return arr if c == 3 else np.concatenate([arr, arr[..., :1]], axis=2)


def main(d):
    os.makedirs(d, exist_ok=True)
    rgb = lambda h, w, s: Image.fromarray(smooth_noise(h, w, 3, s))
    rgb(77, 113, 1).save(f"{d}/s420.jpg", quality=90, subsampling=2)
    rgb(90, 64, 2).save(f"{d}/s422.jpg", quality=85, subsampling=1)
    rgb(61, 83, 3).save(f"{d}/s444.jpg", quality=95, subsampling=0)
    rgb(120, 97, 4).save(f"{d}/progressive.jpg", quality=90, subsampling=2, progressive=True)
    rgb(70, 50, 5).convert("L").save(f"{d}/gray.jpg", quality=90)
    Image.fromarray(smooth_noise(45, 66, 4, 6), "CMYK").save(f"{d}/cmyk.jpg", quality=90)
    rgb(11, 13, 7).save(f"{d}/tiny.jpg", quality=90, subsampling=2)


if __name__ == "__main__":
    main(sys.argv[1])
