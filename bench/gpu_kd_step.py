"""The Python side of bench/gpu_kd_step.sh: one KD training step (ResNet student, ResNet teacher in
eval mode, loss (1-a)*CE + a*tau^2*KL at tau 4, SGD momentum 0.9, wd 5e-4) on synthetic CIFAR-size
data, three ways PyTorch users run it:

  loop       RepDistiller's way: uint8 images -> PIL transforms (RandomCrop(32, 4), flip, ToTensor,
             Normalize) in a DataLoader with worker processes, pinned memory
  gpu-eager  the images on the GPU, crop/flip as batched tensor ops, eager step
  gpu-graph  the same step captured once with torch.cuda.graph and replayed

usage: python gpu_kd_step.py --mode loop|gpu-eager|gpu-graph [--amp off|bf16] [--student resnet32]
       [--teacher resnet32] [--images 20000] [--batch 64] [--workers 8] [--repeats 3]
prints one line: images/s (median of repeated epochs, a warm-up epoch excluded)
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_train import CifarResNet  # noqa: E402  (RepDistiller's CIFAR ResNet layout)

MEAN = (0.5071, 0.4865, 0.4409)
STD = (0.2673, 0.2564, 0.2762)


def arch(name, classes):
    return CifarResNet(int(name.replace("resnet", "")), classes)


def kd_loss(s, t, y, alpha, tau=4.0):
    ce = F.cross_entropy(s.float(), y)
    kl = F.kl_div(F.log_softmax(s.float() / tau, 1), F.softmax(t.float() / tau, 1), reduction="batchmean") * tau * tau
    return (1 - alpha) * ce + alpha * kl


class Setup:
    def __init__(self, a):
        torch.manual_seed(0)
        g = torch.Generator().manual_seed(0)
        self.images = torch.randint(0, 256, (a.images, 3, 32, 32), dtype=torch.uint8, generator=g)
        self.labels = torch.randint(0, a.classes, (a.images,), generator=g)
        self.student = arch(a.student, a.classes).cuda()
        self.teacher = arch(a.teacher, a.classes).cuda().eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.opt = torch.optim.SGD(self.student.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
        self.amp = torch.bfloat16 if a.amp == "bf16" else None

    def step(self, x, y, alpha):
        with torch.autocast("cuda", dtype=self.amp, enabled=self.amp is not None, cache_enabled=False):
            with torch.no_grad():
                t = self.teacher(x)
            s = self.student(x)
        loss = kd_loss(s, t, y, alpha)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return loss


def gpu_augment(u8, mean, std, pad=4):
    b, c, h, w = u8.shape
    padded = F.pad(u8, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (b, 1), device=u8.device)
    ox = torch.randint(0, 2 * pad + 1, (b, 1), device=u8.device)
    rows = oy + torch.arange(h, device=u8.device)
    cols = ox + torch.arange(w, device=u8.device)
    idx = (rows.view(b, h, 1) * (w + 2 * pad) + cols.view(b, 1, w)).view(b, 1, h * w).expand(b, c, h * w)
    x = padded.reshape(b, c, -1).gather(2, idx).view(b, c, h, w)
    flip = torch.rand(b, device=u8.device) < 0.5
    x = torch.where(flip.view(b, 1, 1, 1), x.flip(3), x)
    return (x.float() / 255.0 - mean) / std


def run_loop(a, st):
    import torchvision.transforms as T
    from PIL import Image

    class Data(torch.utils.data.Dataset):
        def __init__(self, images, labels):
            self.images = images.permute(0, 2, 3, 1).numpy()
            self.labels = labels.numpy()
            self.tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)])

        def __len__(self):
            return len(self.labels)

        def __getitem__(self, i):
            return self.tf(Image.fromarray(self.images[i])), int(self.labels[i])

    loader = torch.utils.data.DataLoader(Data(st.images, st.labels), batch_size=a.batch, shuffle=True,
                                         num_workers=a.workers, pin_memory=True, drop_last=True,
                                         persistent_workers=a.workers > 0)
    st.student.train()
    rates = []
    for epoch in range(a.repeats + 1):
        torch.cuda.synchronize()
        t0, n = time.perf_counter(), 0
        for x, y in loader:
            x, y = x.cuda(non_blocking=True), y.cuda(non_blocking=True)
            st.step(x, y, a.alpha)
            n += x.shape[0]
        torch.cuda.synchronize()
        if epoch > 0:
            rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates)


def run_gpu(a, st, graph):
    images, labels = st.images.cuda(), st.labels.cuda()
    n = (images.shape[0] // a.batch) * a.batch
    st.student.train()
    static_idx = torch.zeros(a.batch, dtype=torch.long, device="cuda")
    mean = torch.tensor(MEAN, device="cuda").view(1, 3, 1, 1)  # made before capture (no host copies inside)
    std = torch.tensor(STD, device="cuda").view(1, 3, 1, 1)

    def body():
        x = gpu_augment(images.index_select(0, static_idx), mean, std)
        return st.step(x, labels.index_select(0, static_idx), a.alpha)

    if graph:
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):  # warm-up on a side stream, as torch.cuda.graph asks
                body()
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        st.opt.zero_grad(set_to_none=True)
        with torch.cuda.graph(g):
            body()
    rates = []
    for epoch in range(a.repeats + 1):
        perm = torch.randperm(images.shape[0], device="cuda")
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for s0 in range(0, n, a.batch):
            static_idx.copy_(perm[s0:s0 + a.batch])
            if graph:
                g.replay()
            else:
                body()
        torch.cuda.synchronize()
        if epoch > 0:
            rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", required=True, choices=["loop", "gpu-eager", "gpu-graph"])
    p.add_argument("--amp", default="off", choices=["off", "bf16"])
    p.add_argument("--student", default="resnet32")
    p.add_argument("--teacher", default="resnet32")
    p.add_argument("--images", type=int, default=20000)
    p.add_argument("--classes", type=int, default=100)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--alpha", type=float, default=0.9)
    a = p.parse_args()
    torch.backends.cudnn.benchmark = True
    st = Setup(a)
    r = run_loop(a, st) if a.mode == "loop" else run_gpu(a, st, a.mode == "gpu-graph")
    print(f"{r:.1f}")


if __name__ == "__main__":
    main()
