"""The Python reference training loop (PyTorch eager, as users run today), for side-by-side
comparison with kdprune's trainer. CIFAR ResNet (RepDistiller layout), SGD momentum 0.9, CE loss,
random crop (pad 4) + flip + normalise. Data handling is the *faster* of the two Python variants
in ../shared/docs/performance.md (one uint8 tensor, batched tensor ops; the PIL/DataLoader loop
measured 0.94x of it), so ratios against it understate kdprune's advantage.

usage: python reference_train.py --arch resnet20 --batch 64 --images 1024 --repeats 3 [--threads 2]
prints one line: images/s (median of repeats, warm-up excluded)
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, inp, out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out)
        self.conv2 = nn.Conv2d(out, out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out)
        self.downsample = None
        if stride != 1 or inp != out:
            self.downsample = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class CifarResNet(nn.Module):
    def __init__(self, depth, classes, widths=(16, 16, 32, 64)):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        layers, inp = [], widths[0]
        for s, w in enumerate(widths[1:]):
            blocks = []
            for b in range(n):
                blocks.append(BasicBlock(inp, w, 2 if (b == 0 and s > 0) else 1))
                inp = w
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.fc = nn.Linear(inp, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def augment(x_u8, mean, std):
    b = x_u8.shape[0]
    padded = F.pad(x_u8, (4, 4, 4, 4))
    oy = torch.randint(0, 9, (b,))
    ox = torch.randint(0, 9, (b,))
    crops = torch.stack([padded[i, :, oy[i]:oy[i] + 32, ox[i]:ox[i] + 32] for i in range(b)])
    flip = torch.rand(b) < 0.5
    crops = torch.where(flip.view(b, 1, 1, 1), crops.flip(3), crops)
    return (crops.float() / 255.0 - mean) / std


def epoch(model, opt, images, labels, batch, mean, std):
    perm = torch.randperm(images.shape[0])
    start = time.perf_counter()
    for s in range(0, images.shape[0], batch):
        idx = perm[s:s + batch]
        x = augment(images[idx], mean, std)
        loss = F.cross_entropy(model(x), labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return images.shape[0] / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arch", default="resnet20")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--images", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    images = torch.randint(0, 256, (a.images, 3, 32, 32), dtype=torch.uint8)
    labels = torch.randint(0, 100, (a.images,))
    mean = torch.tensor([0.5071, 0.4867, 0.4408]).view(1, 3, 1, 1)
    std = torch.tensor([0.2675, 0.2565, 0.2761]).view(1, 3, 1, 1)
    depth = int(a.arch.replace("resnet", ""))
    runs = []
    for r in range(a.repeats + 1):  # the first epoch is the warm-up
        model = CifarResNet(depth, 100)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
        ips = epoch(model, opt, images, labels, a.batch, mean, std)
        if r:
            runs.append(ips)
    print(f"{statistics.median(runs):.1f}")


if __name__ == "__main__":
    main()
