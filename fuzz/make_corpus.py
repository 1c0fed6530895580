#!/usr/bin/python3
"""Writes the seed corpora under fuzz/corpus/<harness>/ and the dictionaries under fuzz/dicts/.

Small valid files of each real format, framed the way each harness reads its input (see the
comment at the top of fuzz/fuzz_<harness>.cpp). Needs numpy and scipy (Debian: python3-numpy,
python3-scipy). The model_file and checkpoint seeds come from a run of the kdprune binary:
    fuzz/make_corpus.py [--kdprune build/kdprune]
They are only rewritten when that binary exists; the pickle and torch_save seeds come from the
project virtualenv's Python (numpy, torch). Re-running rewrites every seed in place.
"""
import argparse
import gzip
import io
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CORPUS = os.path.join(HERE, "corpus")
DICTS = os.path.join(HERE, "dicts")


def put(harness, name, data):
    d = os.path.join(CORPUS, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def join_u16(parts):
    """fuzz_common.h's split_u16 inverse: u16 LE length before every part but the last."""
    out = b""
    for i, p in enumerate(parts):
        if i + 1 < len(parts):
            assert len(p) < 65536
            out += struct.pack("<H", len(p))
        out += p
    return out


def gz(b):
    return gzip.compress(b, mtime=0)


# ---------------------------------------------------------------- IDX
def idx_images(n, h, w, seed=0):
    rng = np.random.default_rng(seed)
    return struct.pack(">BBBBIII", 0, 0, 8, 3, n, h, w) + rng.integers(0, 256, n * h * w, dtype=np.uint8).tobytes()


def idx_labels(labels):
    return struct.pack(">BBBBI", 0, 0, 8, 1, len(labels)) + bytes(labels)


def make_idx():
    put("idx", "pair-plain", b"\x0a" + join_u16([idx_images(3, 4, 5), idx_labels([0, 9, 3])]))
    put("idx", "pair-gz", b"\x0a" + join_u16([gz(idx_images(3, 4, 5, 1)), gz(idx_labels([1, 2, 7]))]))
    put("idx", "pair-2classes", b"\x02" + join_u16([idx_images(4, 2, 3, 2), idx_labels([0, 1, 1, 0])]))
    put("idx", "pair-empty", b"\x0a" + join_u16([idx_images(0, 4, 5), idx_labels([])]))
    four = [idx_images(4, 6, 6, 3), idx_labels([0, 1, 2, 9]), idx_images(2, 6, 6, 4), idx_labels([5, 3])]
    put("idx", "dataset-fashion-plain", b"\x80" + join_u16(four))
    put("idx", "dataset-mnist-gz", b"\x83" + join_u16([gz(p) for p in four]))


# ---------------------------------------------------------------- CIFAR
def cifar_records(labels, label_bytes, seed=0):
    rng = np.random.default_rng(seed)
    out = b""
    for lab in labels:
        head = bytes([lab]) if label_bytes == 1 else bytes([lab // 5, lab])  # coarse, fine
        out += head + rng.integers(0, 256, 3072, dtype=np.uint8).tobytes()
    return out


def make_cifar():
    put("cifar", "c10-one-file", b"\x00" + cifar_records([3, 9], 1))
    put("cifar", "c10-two-files", b"\x04" + join_u16([cifar_records([1], 1, 1), cifar_records([0], 1, 2)]))
    put("cifar", "c100-one-file", b"\x01" + cifar_records([42, 99], 2, 3))
    names10 = b"airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n"
    parts = [cifar_records([i], 1, 10 + i) for i in range(5)] + [cifar_records([7], 1, 20), names10]
    put("cifar", "c10-dataset", b"\x02" + join_u16(parts))
    names100 = "".join(f"class{i}\r\n" for i in range(100)).encode()
    put("cifar", "c100-dataset", b"\x03" + join_u16([cifar_records([0, 57], 2, 30), cifar_records([99], 2, 31), names100]))


# ---------------------------------------------------------------- SVHN (.mat)
def make_svhn():
    from scipy.io import savemat

    rng = np.random.default_rng(5)

    def mat(n, y, compress):
        bio = io.BytesIO()
        x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        savemat(bio, {"X": x, "y": y}, do_compression=compress, format="5")
        return bio.getvalue()

    put("svhn", "n1-plain.mat", mat(1, np.array([[10.0]]), False))
    put("svhn", "n2-zlib.mat", mat(2, np.array([[1.0], [7.0]]), True))
    put("svhn", "n2-y-uint8.mat", mat(2, np.array([[3], [10]], dtype=np.uint8), False))
    put("svhn", "n2-y-row.mat", mat(2, np.array([[4.0, 5.0]]), True))


# ---------------------------------------------------------------- .npy
def npy(arr, version=None):
    bio = io.BytesIO()
    if version is None:
        np.save(bio, arr)
    else:
        np.lib.format.write_array(bio, arr, version=version)
    return bio.getvalue()


def make_npy():
    put("npy", "f4.npy", npy(np.array([0.5, -1.25, 3.0], dtype="<f4")))
    put("npy", "f8.npy", npy(np.array([1.0, 2.0, 1e300], dtype="<f8")))
    put("npy", "i4.npy", npy(np.array([0, 7, -3], dtype="<i4")))
    put("npy", "i8.npy", npy(np.array([5, 2**40, -1], dtype="<i8")))
    put("npy", "f4-integral.npy", npy(np.array([0.0, 12.0, 3.0], dtype="<f4")))
    put("npy", "i8-empty.npy", npy(np.array([], dtype="<i8")))
    put("npy", "f8-v2.npy", npy(np.array([4.0, 8.0], dtype="<f8"), version=(2, 0)))
    put("npy", "i8-v3.npy", npy(np.array([1, 2], dtype="<i8"), version=(3, 0)))
    put("npy", "refused-2d.npy", npy(np.zeros((2, 2), dtype="<f4")))
    put("npy", "refused-big-endian.npy", npy(np.array([1.0], dtype=">f8")))
    put("npy", "refused-fortran.npy", npy(np.asfortranarray(np.zeros((2, 3), dtype="<f4"))))
    put("npy", "refused-u1.npy", npy(np.array([1, 2], dtype="u1")))


# ---------------------------------------------------------------- config
OVERRIDES = [
    ["train.epochs=3", "train.milestones=[1,2]", "model.arch=resnet20"],
    ["kd.alpha={schedule: linear, at_f: [0.1, 0.7], value: [1.0, 0.5]}", "prune.fraction=0.3"],
    ["kd.alpha={schedule: table, points: [[0.1, 1.0], [0.3, 0.9], [0.7, 0.5]]}", "data.name=synthetic",
     "data.synthetic.classes=3"],
    ["score.shard=1/4", "prune.method=ccs", "prune.cutoff=0.1", "run.device=cuda:0"],
]


def make_config():
    files = []
    for dirpath, _, names in os.walk(os.path.join(ROOT, "configs")):
        files += [os.path.join(dirpath, n) for n in names if n.endswith((".yaml", ".yml"))]
    files.sort()
    for i, path in enumerate(files):
        text = open(path, "rb").read()
        if len(text) > 20000:
            continue
        name = os.path.relpath(path, os.path.join(ROOT, "configs")).replace(os.sep, "-")
        extra = OVERRIDES[i % len(OVERRIDES)] if i % 2 else []
        put("config", name, b"\0".join([text] + [o.encode() for o in extra]))
    put("config", "empty", b"")
    put("config", "overrides-only", b"\0" + b"\0".join(o.encode() for o in OVERRIDES[2]))
    put("config", "sections",
        b"run: {name: x, seed: 3, threads: 1}\ndata:\n  name: cifar10\n  fraction: 0.5\n  augment: false\n"
        b"train:\n  epochs: 10\n  schedule: cosine\n  amp: bf16\nkd:\n  teacher: runs/t/model.pt\n  tau: 2\n"
        b"\0train.lr=0.1")


def make_dicts():
    os.makedirs(DICTS, exist_ok=True)
    schema = open(os.path.join(ROOT, "src", "config", "schema.h")).read()
    words = set(re.findall(r'(?:field|section)\("([a-z0-9_]+)"', schema))
    words |= set(re.findall(r'"([a-z0-9_:]+)"', " ".join(re.findall(r"one_of\(\{([^}]*)\}", schema))))
    words |= {"run", "data", "model", "train", "kd", "prune", "score", "synthetic", "schedule", "at_f", "value",
              "points", "experiment", "stages", "constant", "linear", "table", "true", "false", "null", "~", ".inf", ".nan", "0x", "1e999",
              "-1", "9223372036854775808", "[", "]", "{", "}", ": ", "=", ".", "- ", "&a", "*a", "!!str", "<<"}
    with open(os.path.join(DICTS, "config.dict"), "w") as f:
        for w in sorted(words):
            f.write('"%s"\n' % w.replace("\\", "\\\\").replace('"', '\\"'))
    with open(os.path.join(DICTS, "npy.dict"), "w") as f:
        for w in ["\\x93NUMPY", "'descr'", "'<f4'", "'<f8'", "'<i4'", "'<i8'", "'fortran_order'", "True", "False",
                  "'shape'", "(", ",)", "99999999999999999999", "4611686018427387904"]:
            f.write('"%s"\n' % w)
    archs = re.findall(r'\{"([a-z0-9_]+)", "', open(os.path.join(ROOT, "src", "models", "registry.cpp")).read())
    with open(os.path.join(DICTS, "torch.dict"), "w") as f:
        for w in archs + ["kdprune_arch", "kdprune_in_channels", "kdprune_classes", "kdprune_image_size",
                          "kdprune_dataset", "epochs_done", "best_top1", "best_epoch", "rng_cpu", "scaler",
                          "model", "optimizer", "PK\\x03\\x04", "PK\\x01\\x02", "PK\\x05\\x06"]:
            f.write('"%s"\n' % w)


# ---------------------------------------------------------------- model.pt / checkpoint.pt
def make_torch(kdprune):
    if not kdprune or not os.path.exists(kdprune):
        print(f"make_corpus: no kdprune binary at {kdprune}; model_file/checkpoint seeds left as they are")
        return
    tmp = tempfile.mkdtemp(prefix="kdprune-corpus-")
    try:
        # momentum 0: the optimizer holds no momentum buffers, which halves checkpoint.pt
        subprocess.run([kdprune, "train-teacher", f"run.root={tmp}", "run.name=t", "data.name=synthetic",
                        "data.synthetic.train_size=64", "data.synthetic.test_size=32", "data.synthetic.channels=1",
                        "data.synthetic.height=8", "data.synthetic.width=8", "data.synthetic.classes=4",
                        "model.arch=resnet8", "train.epochs=1", "train.batch_size=16", "train.momentum=0",
                        "run.threads=1"], check=True, stdout=subprocess.DEVNULL)
        for harness, name in [("model_file", "model.pt"), ("checkpoint", "checkpoint.pt")]:
            put(harness, "resnet8-1ch-4cls-" + name, open(os.path.join(tmp, "t", name), "rb").read())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- pickles and torch.save files
VENV_PYTHON = os.path.expanduser(os.environ.get("KDPRUNE_VENV", "~/.cache/kdprune/venv")) + "/bin/python"


def make_pickle():
    """CIFAR python-version batches as the interop tests write them (Python 2 and 3 layouts)."""
    tmp = tempfile.mkdtemp(prefix="kdprune-corpus-")
    try:
        subprocess.run([VENV_PYTHON, os.path.join(ROOT, "tests", "python", "make_cifar_python.py"), tmp], check=True)
        py10 = os.path.join(tmp, "py10", "cifar-10-batches-py")
        put("pickle", "c10-py2-batch", b"\x00" + open(os.path.join(py10, "data_batch_4"), "rb").read())
        put("pickle", "c10-py2-meta", b"\x01" + open(os.path.join(py10, "batches.meta"), "rb").read())
        put("pickle", "c100-py3-proto5", b"\x02" + open(os.path.join(tmp, "py100", "cifar-100-python", "test"), "rb").read())
        put("pickle", "c100-py3-proto2", b"\x02" + open(os.path.join(tmp, "py100", "cifar-100-python", "train"), "rb").read())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def make_torch_save():
    """Small state_dicts in torch.save's zip and legacy formats, one wrapped with a numpy scalar."""
    code = """
import sys, torch, numpy as np
from collections import OrderedDict
sd = OrderedDict(w=torch.randn(3, 2), b=torch.arange(4, dtype=torch.int64), h=torch.ones(2, dtype=torch.float16),
                 v=torch.arange(10.0)[2:6], t=torch.randn(2, 3).t())
torch.save(sd, sys.argv[1] + '/zip.pth')
torch.save(sd, sys.argv[1] + '/legacy.pth', _use_new_zipfile_serialization=False)
torch.save({'epoch': 3, 'model': sd, 'best_acc': np.float64(1.5)}, sys.argv[1] + '/wrapped.pth')
"""
    tmp = tempfile.mkdtemp(prefix="kdprune-corpus-")
    try:
        subprocess.run([VENV_PYTHON, "-c", code, tmp], check=True)
        for name in ("zip", "legacy", "wrapped"):
            put("torch_save", name + ".pth", open(os.path.join(tmp, name + ".pth"), "rb").read())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def make_image(kdprune):
    """The image harness: the files of the imagefolder test (JPEG: RGB, grayscale, CMYK; PNG: RGBA,
    palette; a truncated JPEG), made by its script with the virtualenv's Pillow, and the decoded-set
    cache kdprune writes for that folder at 8 px (when the binary exists)."""
    tmp = tempfile.mkdtemp(prefix="kdprune-corpus-")
    try:
        subprocess.run([VENV_PYTHON, os.path.join(ROOT, "tests", "python", "make_image_folder.py"), tmp, "8"], check=True)
        d = os.path.join(tmp, "train")
        for rel in ("b_bird/z.jpg", "b_bird/a.PNG", "a_cat/m.jpeg", "a_cat/p.png", "c_dog/k.jpg", "c_dog/broken.jpg"):
            put("image", rel.replace("/", "-"), b"\x00" + open(os.path.join(d, rel), "rb").read())
        if os.path.exists(kdprune):
            subprocess.run([kdprune, "info", "--dataset", "imagefolder", "data.root=" + tmp, "data.imagefolder.size=8",
                            "data.imagefolder.max_bad=1"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            put("image", "cache-8px.bin", b"\x01" + open(os.path.join(tmp, ".kdprune-cache", "imagefolder-8px.bin"), "rb").read())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kdprune", default=os.path.join(ROOT, "build", "kdprune"), help="kdprune binary for the .pt seeds")
    args = ap.parse_args()
    make_idx()
    make_cifar()
    make_svhn()
    make_npy()
    make_config()
    make_dicts()
    make_torch(args.kdprune)
    if os.path.exists(VENV_PYTHON):
        make_pickle()
        make_torch_save()
        make_image(args.kdprune)
    else:
        print(f"make_corpus: no {VENV_PYTHON}; pickle/torch_save seeds left as they are")
    total = 0
    for dirpath, _, names in os.walk(CORPUS):
        total += sum(os.path.getsize(os.path.join(dirpath, n)) for n in names)
    print(f"make_corpus: corpus under {CORPUS}: {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
