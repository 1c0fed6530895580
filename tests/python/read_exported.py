"""Reads a model.pth that kdprune exported, as a PyTorch user would (weights_only=True, strict
load_state_dict into RepDistiller's layout), and writes the logits for the given inputs.
usage: read_exported.py MODEL_PTH INPUTS_PTH OUT_PTH   (INPUTS_PTH: {"state_dict": {"x": tensor}})"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_models import CifarResNet  # noqa: E402

ckpt = torch.load(sys.argv[1], weights_only=True)
assert ckpt["arch"] == "resnet8", ckpt["arch"]
for key in ("classes", "in_channels", "image_size"):
    assert isinstance(ckpt[key], int), key
assert len(ckpt["mean"]) == ckpt["in_channels"] and len(ckpt["std"]) == ckpt["in_channels"]
model = CifarResNet(8, ckpt["classes"], in_channels=ckpt["in_channels"])
model.load_state_dict(ckpt["state_dict"], strict=True)
model.eval()
x = torch.load(sys.argv[2], weights_only=True)["state_dict"]["x"]
with torch.no_grad():
    torch.save({"logits": model(x)}, sys.argv[3])
print("ok", ckpt["dataset"], len(ckpt["state_dict"]))
