#!/usr/bin/python3
"""PyTorch eager peer of bench/train_step.cpp: torchvision's resnet18 (10 classes), Adam 1e-3,
the same batch, threads and step count. Prints "torch compute <images/s>" and
"torch epoch <images/s>" (a torchvision DataLoader with RandomCrop(28, padding=4),
RandomHorizontalFlip, ToTensor, Normalize and 1 -> 3 channels, num_workers 0)."""
import argparse
import gzip
import statistics
import time

import numpy as np
import torch
import torchvision
import torchvision.transforms as T


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class Images(torch.utils.data.Dataset):
    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        img = torchvision.transforms.functional.to_pil_image(self.images[i])
        return self.transform(img), int(self.labels[i])


def step(model, opt, x, y):
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--image", type=int, default=32)
    p.add_argument("--subset", type=int, default=4096)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    x = torch.randn(a.batch, 3, a.image, a.image)
    y = torch.randint(10, (a.batch,))
    step(model, opt, x, y)
    rates = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        for _ in range(a.steps):
            step(model, opt, x, y)
        rates.append(a.steps * a.batch / (time.perf_counter() - t0))
    print(f"torch compute {statistics.median(rates):.1f}")

    images = read_idx(f"{a.data}/train-images-idx3-ubyte.gz")[: a.subset]
    labels = read_idx(f"{a.data}/train-labels-idx1-ubyte.gz")[: a.subset]
    transform = T.Compose([T.RandomCrop(28, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                           T.Normalize((0.2860,), (0.3530,)), T.Lambda(lambda t: t.expand(3, -1, -1))])
    loader = torch.utils.data.DataLoader(Images(images, labels, transform), batch_size=a.batch,
                                         shuffle=True, num_workers=0)
    rates = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        seen = 0
        for xb, yb in loader:
            step(model, opt, xb, yb)
            seen += len(yb)
        rates.append(seen / (time.perf_counter() - t0))
    print(f"torch epoch {statistics.median(rates):.1f}")


if __name__ == "__main__":
    main()
