#!/usr/bin/python3
"""The peer of sp_bench_data_pipeline: a torchvision DataLoader doing the same work.

Fashion-MNIST training images as a uint8 tensor (as torchvision.datasets.FashionMNIST holds them),
each item turned into a PIL image like that dataset's __getitem__ does, then
RandomCrop(28, padding=4), RandomHorizontalFlip(), ToTensor(), Normalize((0.2860,), (0.3530,));
batch 128, shuffle, one full epoch per repetition, median images/s. --path tensor applies the
same transforms to uint8 tensors instead (ConvertImageDtype replaces ToTensor), skipping PIL.

usage: data_peer.py [--data DIR] [--threads N] [--reps R] [--workers 0 2] [--path pil|tensor]
Prints "RESULT torchvision path=P workers=W threads=N images_per_s=X" per worker count.
Needs Debian's /usr/bin/python3 with python3-torch and python3-torchvision.
"""
import argparse
import gzip
import os
import statistics
import time

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image


class U8Images(torch.utils.data.Dataset):
    """Items of a N x H x W uint8 tensor, as PIL images (torchvision's MNIST) or 1 x H x W."""

    def __init__(self, images, labels, transform, path):
        self.images, self.labels, self.transform, self.path = images, labels, transform, path

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        img = self.images[i]
        img = Image.fromarray(img.numpy(), mode="L") if self.path == "pil" else img[None]
        return self.transform(img), int(self.labels[i])


def load(data):
    """Fashion-MNIST training split from IDX files, or random images of its shape."""
    images = os.path.join(data, "train-images-idx3-ubyte.gz")
    labels = os.path.join(data, "train-labels-idx1-ubyte.gz")
    if os.path.exists(images) and os.path.exists(labels):
        with gzip.open(images) as f:
            x = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 28, 28)
        with gzip.open(labels) as f:
            y = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
        return torch.from_numpy(x.copy()), torch.from_numpy(y.astype(np.int64)), \
            "Fashion-MNIST train from " + data
    g = torch.Generator().manual_seed(1)
    return (torch.randint(0, 256, (60000, 28, 28), dtype=torch.uint8, generator=g),
            torch.arange(60000) % 10, "synthetic 60000x1x28x28 (files not found in " + data + ")")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--reps", type=int, default=3, help="timed epochs per worker count")
    p.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--path", choices=["pil", "tensor"], default="pil")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    images, labels, source = load(a.data)
    to_float = T.ToTensor() if a.path == "pil" else T.ConvertImageDtype(torch.float32)
    transform = T.Compose([T.RandomCrop(28, padding=4), T.RandomHorizontalFlip(), to_float,
                           T.Normalize((0.2860,), (0.3530,))])
    ds = U8Images(images, labels, transform, a.path)
    print(f"torchvision {__import__('torchvision').__version__} (torch {torch.__version__}) "
          f"DataLoader: {source}\n  path {a.path}, batch {a.batch}, shuffle, "
          f"torch threads {torch.get_num_threads()}")
    for w in a.workers:
        loader = torch.utils.data.DataLoader(ds, batch_size=a.batch, shuffle=True, num_workers=w,
                                             generator=torch.Generator().manual_seed(1))
        rates = []
        for r in range(a.reps):
            n = 0
            t0 = time.perf_counter()
            for x, _ in loader:
                n += x.shape[0]
            s = time.perf_counter() - t0
            rates.append(n / s)
            print(f"  workers {w} epoch {r + 1}: {n} images in {s:.3f} s = {n / s:.0f} images/s")
        med = statistics.median(rates)
        print(f"  workers {w} median of {a.reps}: {med:.0f} images/s")
        print(f"RESULT torchvision path={a.path} workers={w} threads={a.threads} "
              f"images_per_s={med:.0f}")


if __name__ == "__main__":
    main()
