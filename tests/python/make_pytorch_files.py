"""Writes the PyTorch files the interop tests load, as researchers' own code writes them, and the
logits PyTorch computes for fixed inputs (outputs.pth, a dict of tensors).
usage: make_pytorch_files.py OUTDIR"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_models import CifarResNet, TorchvisionResNet18, randomise_bn  # noqa: E402

out = sys.argv[1]
gen = torch.Generator().manual_seed(0)
torch.manual_seed(0)

r8 = randomise_bn(CifarResNet(8, 10), gen)
r8_sd = {k: v.clone() for k, v in r8.state_dict().items()}  # a copy: the optimizer step below changes r8
torch.save(r8_sd, f"{out}/resnet8_state_dict.pth")
# RepDistiller's train_teacher.py: {'epoch', 'model', 'best_acc', 'optimizer'}; best_acc a numpy
# scalar (numpy 2 pickles it as numpy._core.multiarray.scalar), plus an argparse Namespace.
opt = torch.optim.SGD(r8.parameters(), lr=0.05, momentum=0.9)
r8.train()
r8(torch.randn(2, 3, 32, 32)).sum().backward()
opt.step()
r8.load_state_dict(r8_sd)  # back to the saved weights and statistics
r8.eval()
torch.save({"epoch": 240, "model": r8_sd, "best_acc": np.float64(71.25), "optimizer": opt.state_dict(),
            "opt": argparse.Namespace(lr=0.05, model="resnet8")}, f"{out}/resnet8_repdistiller.pth")
torch.save(r8_sd, f"{out}/resnet8_legacy.pth", _use_new_zipfile_serialization=False)
torch.save({"state_dict": {"module." + k: v for k, v in r8_sd.items()}}, f"{out}/resnet8_dataparallel.pth")
r8_100 = CifarResNet(8, 100)
torch.save(r8_100.state_dict(), f"{out}/resnet8_100classes.pth")
torch.save({"epoch": 3, "note": "no weights"}, f"{out}/no_state_dict.pth")

r18 = randomise_bn(TorchvisionResNet18(10), gen)
torch.save({"model": r18.state_dict()}, f"{out}/resnet18_torchvision.pth")

# A teacher for the tiny synthetic dataset of the CLI test (1 channel, 4 classes, 8x8).
tiny = randomise_bn(CifarResNet(8, 4, in_channels=1), gen)
torch.save(tiny.state_dict(), f"{out}/tiny_teacher.pth")

x32 = torch.randn(4, 3, 32, 32, generator=gen)
x64 = torch.randn(2, 3, 64, 64, generator=gen)
with torch.no_grad():
    torch.save({"x32": x32, "x64": x64, "resnet8": r8(x32), "resnet18": r18(x64)}, f"{out}/outputs.pth")
