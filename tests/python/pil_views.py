"""torchvision's ImageNet transforms on PIL images, written out with PIL's own calls, for
kdprune's streamed imagefolder views (tests/base/test_image_stream.cpp).
usage: pil_views.py REQUESTS OUT
REQUESTS: one line per view, tab-separated:
  crop PATH TOP LEFT H W SIZE FLIP   F.resized_crop (img.crop(box).resize((SIZE, SIZE), BILINEAR)), then
                                      F.hflip (transpose(FLIP_LEFT_RIGHT)) if FLIP is 1
  eval PATH RESIZE CROP              Resize(RESIZE) + CenterCrop(CROP)
OUT: the views' bytes, 3 x S x S uint8 each, in request order."""
import sys

import numpy as np
from PIL import Image

out = []
for line in open(sys.argv[1]).read().splitlines():
    f = line.split("\t")
    img = Image.open(f[1]).convert("RGB")
    if f[0] == "crop":
        top, left, h, w, size, flip = map(int, f[2:])
        img = img.crop((left, top, left + w, top + h)).resize((size, size), Image.BILINEAR)
        if flip:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
    else:
        resize, crop = int(f[2]), int(f[3])
        w, h = img.size
        short, long = (w, h) if w <= h else (h, w)
        new_long = int(resize * long / short)
        img = img.resize((resize, new_long) if w <= h else (new_long, resize), Image.BILINEAR)
        nw, nh = img.size
        top, left = int(round((nh - crop) / 2.0)), int(round((nw - crop) / 2.0))
        img = img.crop((left, top, left + crop, top + crop))
    out.append(np.asarray(img).transpose(2, 0, 1))
with open(sys.argv[2], "wb") as f:
    f.write(b"".join(np.ascontiguousarray(v, dtype=np.uint8).tobytes() for v in out))
