"""A tiny ImageFolder tree for kdprune's imagefolder dataset, and what torchvision's pipeline makes
of it: PIL's Image.open(path).convert("RGB") (torchvision's default loader), Resize(SIZE) and
CenterCrop(SIZE) written out with PIL's own calls (torchvision's F.resize on a PIL image is
img.resize((w, h), BILINEAR) with the shorter side SIZE and the longer int(SIZE*long/short);
CenterCrop's offsets are int(round((H - SIZE) / 2))).
usage: make_image_folder.py DIR SIZE
writes DIR/{train,val}/<class>/..., DIR/expected_{train,val}.bin (N x 3 x SIZE x SIZE uint8, in
ImageFolder order, undecodable files left out) and DIR/expected_{train,val}.txt (path<TAB>label)."""
import os
import sys

import numpy as np
from PIL import Image

root, size = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(7)


def noise(h, w, c):
    # smooth gradients plus noise: resampling must get neighbouring pixels right
    y, x = np.mgrid[0:h, 0:w]
    base = (x * 255 // max(w - 1, 1) + y * 128 // max(h - 1, 1))[..., None] % 256
    return np.clip(base + rng.integers(-40, 40, (h, w, c)), 0, 255).astype(np.uint8)


def save(path, img, **kw):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img.save(path, **kw)


# Classes "b_bird", "a_cat" and "c_dog": sorted order a_cat, b_bird, c_dog (labels 0, 1, 2).
for split in ("train", "val"):
    d = os.path.join(root, split)
    save(f"{d}/b_bird/z.jpg", Image.fromarray(noise(37, 53, 3)), quality=90)           # wide RGB JPEG
    save(f"{d}/b_bird/a.PNG", Image.fromarray(noise(60, 41, 4), "RGBA"))               # tall RGBA PNG
    save(f"{d}/a_cat/m.jpeg", Image.fromarray(noise(48, 48, 1)[..., 0], "L"))          # grayscale JPEG
    save(f"{d}/a_cat/sub/b.jpg", Image.fromarray(noise(20, 30, 3)), quality=75)        # in a subfolder: after a_cat's own files
    save(f"{d}/a_cat/p.png", Image.fromarray(noise(33, 33, 3)).convert("P"))           # palette PNG
    save(f"{d}/c_dog/k.jpg", Image.fromarray(noise(40, 50, 4), "CMYK"), quality=95)    # CMYK JPEG (Adobe marker)
    save(f"{d}/c_dog/up.png", Image.fromarray(noise(9, 12, 3)))                       # upsampled
    if split == "train":
        # a truncated JPEG and a file that is no image at all; a .txt and a .bmp that are not read
        with open(f"{d}/b_bird/z.jpg", "rb") as f:
            data = f.read()
        with open(f"{d}/c_dog/broken.jpg", "wb") as f:
            f.write(data[: len(data) // 2])
        with open(f"{d}/c_dog/notes.txt", "w") as f:
            f.write("not an image\n")
        save(f"{d}/c_dog/other.bmp", Image.fromarray(noise(8, 8, 3)))


def expected(split):
    d = os.path.join(root, split)
    classes = sorted(e.name for e in os.scandir(d) if e.is_dir())
    images, lines = [], []
    for label, c in enumerate(classes):
        for folder, _, names in sorted(os.walk(os.path.join(d, c), followlinks=True)):
            for name in sorted(names):
                if not name.lower().endswith((".jpg", ".jpeg", ".png")):
                    continue
                path = os.path.join(folder, name)
                try:
                    img = Image.open(path).convert("RGB")
                except OSError:
                    continue  # the undecodable file: kdprune skips it too (max_bad)
                w, h = img.size
                short, long = (w, h) if w <= h else (h, w)
                new_long = int(size * long / short)
                new_w, new_h = (size, new_long) if w <= h else (new_long, size)
                img = img.resize((new_w, new_h), Image.BILINEAR)
                top, left = int(round((new_h - size) / 2.0)), int(round((new_w - size) / 2.0))
                img = img.crop((left, top, left + size, top + size))
                images.append(np.asarray(img).transpose(2, 0, 1))
                lines.append(f"{path}\t{label}")
    np.stack(images).astype(np.uint8).tofile(os.path.join(root, f"expected_{split}.bin"))
    with open(os.path.join(root, f"expected_{split}.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


expected("train")
expected("val")
