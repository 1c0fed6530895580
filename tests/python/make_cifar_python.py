"""Writes tiny CIFAR-10/100 "python version" folders as torchvision downloads them, plus the
binary versions of the same images, so the tests can check both readers give identical data.
CIFAR-10 is written as the real files are: Python 2 pickles (byte-string keys and data, numpy's
numpy.core.multiarray names). CIFAR-100 uses Python 3 pickles, protocol 2 for train and 5 for test.
Each file is read back here with pickle.load(..., encoding='latin1'), as torchvision does.
usage: make_cifar_python.py OUTDIR"""
import os
import pickle
import struct
import sys

import numpy as np


class Py2Pickler(pickle._Pickler):
    """Python 2's cPickle protocol 2: a bytes object is a str (BINSTRING), not _codecs.encode."""
    dispatch = pickle._Pickler.dispatch.copy()

    def save_bytes(self, obj):
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes


def py2_dump(obj, path):
    import io
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    with open(path, "wb") as f:  # the real files name numpy 1's module
        f.write(buf.getvalue().replace(b"numpy._core.", b"numpy.core."))


out = sys.argv[1]
rng = np.random.default_rng(0)
c10_py, c10_bin = f"{out}/py10/cifar-10-batches-py", f"{out}/bin10/cifar-10-batches-bin"
c100_py, c100_bin = f"{out}/py100/cifar-100-python", f"{out}/bin100/cifar-100-binary"
for d in (c10_py, c10_bin, c100_py, c100_bin):
    os.makedirs(d)

names10 = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
for i, n in enumerate([3, 2, 4, 1, 3, 2]):
    name = f"data_batch_{i + 1}" if i < 5 else "test_batch"
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = [int(x) for x in rng.integers(0, 10, n)]
    py2_dump({b"batch_label": b"batch", b"labels": labels, b"data": data,
              b"filenames": [b"f%d.png" % k for k in range(n)]}, f"{c10_py}/{name}")
    with open(f"{c10_bin}/{name}.bin", "wb") as f:
        for k in range(n):
            f.write(bytes([labels[k]]) + data[k].tobytes())
    back = pickle.load(open(f"{c10_py}/{name}", "rb"), encoding="latin1")
    assert back["labels"] == labels and np.array_equal(back["data"], data)
py2_dump({b"label_names": names10, b"num_cases_per_batch": 10000, b"num_vis": 3072}, f"{c10_py}/batches.meta")

for name, n, protocol in (("train", 5, 2), ("test", 3, 5)):
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    fine = [int(x) for x in rng.integers(0, 100, n)]
    coarse = [int(x) for x in rng.integers(0, 20, n)]
    with open(f"{c100_py}/{name}", "wb") as f:
        pickle.dump({"filenames": ["x"] * n, "batch_label": name, "fine_labels": fine, "coarse_labels": coarse,
                     "data": data}, f, protocol=protocol)
    with open(f"{c100_bin}/{name}.bin", "wb") as f:
        for k in range(n):
            f.write(bytes([coarse[k], fine[k]]) + data[k].tobytes())
    back = pickle.load(open(f"{c100_py}/{name}", "rb"), encoding="latin1")
    assert back["fine_labels"] == fine and np.array_equal(back["data"], data)
with open(f"{c100_py}/meta", "wb") as f:
    pickle.dump({"fine_label_names": [f"class{k}" for k in range(100)], "coarse_label_names": []}, f, protocol=2)

# The same CIFAR-100 files re-pickled with protocol 0 (text opcodes; numpy's bytes as
# raw-unicode-escape text through _codecs.encode), as some re-saved copies are.
c100_p0 = f"{out}/py100p0/cifar-100-python"
os.makedirs(c100_p0, exist_ok=True)
for name in ("train", "test", "meta"):
    obj = pickle.load(open(f"{c100_py}/{name}", "rb"), encoding="latin1")
    with open(f"{c100_p0}/{name}", "wb") as f:
        pickle.dump(obj, f, protocol=0)
    back = pickle.load(open(f"{c100_p0}/{name}", "rb"), encoding="latin1")
    assert back.keys() == obj.keys()
