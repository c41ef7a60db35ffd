#!/usr/bin/python3
"""The reference for sp's image transforms: torchvision.transforms.functional and
torch.nn.functional.interpolate applied with the crop offsets and flips sp was given.

usage: transforms_oracle.py DIR
DIR/cases.txt holds one case a line:
    name C H W OC OH OW padding top left flip mean_1..mean_OC std_1..std_OC
with DIR/<name>.in.bin (C*H*W uint8, channel-planar). For each case this writes
DIR/<name>.tensor.bin (float32 OC*OH*OW, planar) computed from a uint8 tensor, and, when there is no
resize and C is 1 or 3, DIR/<name>.pil.bin from a PIL image (torchvision's dataset path).
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF
from PIL import Image


def finish(x, oc, oh, ow, mean, std):
    """x: float C x H x W in [0, 1] after crop and flip: resize, replicate, normalize."""
    if (oh, ow) != tuple(x.shape[1:]):
        x = F.interpolate(x[None], size=(oh, ow), mode="bilinear", align_corners=False,
                          antialias=False)[0]
    if oc != x.shape[0]:
        x = x.expand(oc, -1, -1)
    return TF.normalize(x.contiguous(), mean, std)


def main():
    d = sys.argv[1]
    with open(f"{d}/cases.txt") as f:
        lines = [l.split() for l in f if l.strip()]
    for fields in lines:
        name = fields[0]
        c, h, w, oc, oh, ow, pad, top, left, flip = map(int, fields[1:11])
        mean = [float(v) for v in fields[11:11 + oc]]
        std = [float(v) for v in fields[11 + oc:11 + 2 * oc]]
        raw = np.fromfile(f"{d}/{name}.in.bin", dtype=np.uint8).reshape(c, h, w)

        # Tensor path: pad with pixel value 0, crop the original size, flip, to_tensor.
        t = TF.pad(torch.from_numpy(raw.copy()), [pad, pad, pad, pad], fill=0)
        t = TF.crop(t, top, left, h, w)
        if flip:
            t = TF.hflip(t)
        x = TF.to_tensor(t.permute(1, 2, 0).numpy())
        out = finish(x, oc, oh, ow, mean, std)
        out.numpy().astype(np.float32).tofile(f"{d}/{name}.tensor.bin")

        # PIL path, as torchvision's MNIST/CIFAR datasets feed RandomCrop(size, padding).
        if (oh, ow) == (h, w) and c in (1, 3):
            img = Image.fromarray(raw[0] if c == 1 else raw.transpose(1, 2, 0),
                                  mode="L" if c == 1 else "RGB")
            img = TF.pad(img, [pad, pad, pad, pad], fill=0)
            img = TF.crop(img, top, left, h, w)
            if flip:
                img = TF.hflip(img)
            out = finish(TF.to_tensor(img), oc, oh, ow, mean, std)
            out.numpy().astype(np.float32).tofile(f"{d}/{name}.pil.bin")


if __name__ == "__main__":
    main()
