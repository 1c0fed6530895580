"""The PyTorch users' ImageNet training loop, for bench/imagenet_train.sh: ImageFolder order,
torchvision's RandomResizedCrop(224) + RandomHorizontalFlip + ToTensor + Normalize in DataLoader
worker processes (pin_memory, drop_last), torchvision's ResNet-18/50 (an identical definition here
when torchvision is not installed), SGD lr 0.1, momentum 0.9, weight decay 5e-4, cross-entropy.
Prints the images/s of the last of EPOCHS epochs, timed whole, from the start of its iteration to
its last step's end on the device (data waits included): as kdprune reports an epoch. (Timing a few
steps after a warm-up instead measured batches the workers had decoded during the warm-up: with
WORKERS x prefetch_factor 2 batches in flight, that is the GPU without its loader.)
usage: imagenet_train.py ROOT ARCH BATCH WORKERS EPOCHS DEVICE [bf16+CL]"""
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

from imagefolder_load import random_resized_crop  # bench/imagefolder_load.py, beside this file

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def listing(root):
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir())
    files = []
    for label, c in enumerate(classes):
        for folder, _, names in sorted(os.walk(os.path.join(root, c))):
            files += [(os.path.join(folder, n), label) for n in sorted(names) if n.lower().endswith((".jpg", ".jpeg", ".png"))]
    return files, len(classes)


class Folder(torch.utils.data.Dataset):
    def __init__(self, root):
        self.files, self.classes = listing(root)
        try:
            import torchvision.transforms as T
            self.t = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(),
                                T.Normalize(MEAN.flatten().tolist(), STD.flatten().tolist())])
        except ImportError:
            self.t = None

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        path, label = self.files[i]
        img = Image.open(path).convert("RGB")
        if self.t is not None:
            return self.t(img), label
        img = random_resized_crop(img, 224)
        if random.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        x = torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float().div_(255)
        return (x - MEAN) / STD, label


class Basic(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.down = None
        if stride != 1 or cin != planes:
            self.down = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(y + (self.down(x) if self.down is not None else x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.down = None
        if stride != 1 or cin != planes * 4:
            self.down = nn.Sequential(nn.Conv2d(cin, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return torch.relu(y + (self.down(x) if self.down is not None else x))


def resnet(arch, classes):
    try:
        import torchvision
        return getattr(torchvision.models, arch)(num_classes=classes)
    except ImportError:
        pass
    block, layers = {"resnet18": (Basic, [2, 2, 2, 2]), "resnet50": (Bottleneck, [3, 4, 6, 3])}[arch]
    mods, cin = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)], 64
    for i, (n, planes) in enumerate(zip(layers, [64, 128, 256, 512])):
        for j in range(n):
            mods.append(block(cin, planes, 2 if i > 0 and j == 0 else 1))
            cin = planes * block.expansion
    return nn.Sequential(*mods, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes))


def main():
    root, arch, batch, workers, epochs, device = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
    fast = len(sys.argv) > 7 and sys.argv[7] == "bf16+CL"
    if epochs < 1:
        sys.exit("imagenet_train.py: EPOCHS must be at least 1")
    data = Folder(os.path.join(root, "train"))
    loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=True, num_workers=workers, drop_last=True,
                                         pin_memory=device == "cuda", persistent_workers=workers > 0)
    model = resnet(arch, data.classes).to(device)
    if fast:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    for _ in range(epochs):
        if device == "cuda":
            torch.cuda.synchronize()
        start, images = time.perf_counter(), 0
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            if fast:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=fast):
                loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            images += x.size(0)
        if device == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    print(f"{images / seconds:.1f}")


if __name__ == "__main__":
    main()
