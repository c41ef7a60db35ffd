#!/usr/bin/python3
"""Writes a small Tiny ImageNet tree with PIL, the way the real one is laid out, and PIL's own
decode of every JPEG, for the oracle test of sp's reader (tests/unit/test_data_readers_oracle.cpp).

    /usr/bin/python3 tiny_imagenet.py OUT_DIR

OUT_DIR gets wnids.txt, words.txt, train/<wnid>/images/<wnid>_<k>.JPEG, val/images/val_<k>.JPEG,
val/val_annotations.txt and pil_decoded.bin: every image as PIL decodes it, 3 x 64 x 64 bytes
channel-planar, training images by class (wnids.txt order) then file name, then val images by
file name: the order sp documents. Images are 4:2:0 at quality 75 (PIL's defaults, like the real
files), a few grayscale, with noise and edges so that upsampling and IDCT choices would show.
"""
import os
import random
import sys

import numpy as np
from PIL import Image

WNIDS = ["n04000004", "n01000001", "n03000003"]
TRAIN_PER_CLASS = [0, 1, 2, 10, 11]
VAL = 9


def picture(rng, gray):
    y, x = np.mgrid[0:64, 0:64]
    base = np.stack([(x * rng.randint(1, 4) + rng.randint(0, 60)),
                     (y * rng.randint(1, 4) + rng.randint(0, 60)),
                     ((x // 8 + y // 8) % 2) * 120 + rng.randint(0, 100)], axis=-1)
    noise = np.array(rng.choices(range(-20, 21), k=64 * 64 * 3)).reshape(64, 64, 3)
    rgb = np.clip(base + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(rgb[:, :, 0], "L") if gray else Image.fromarray(rgb, "RGB")


def main(out):
    rng = random.Random(20240611)
    decoded = {}

    def save(rel, gray=False):
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        picture(rng, gray).save(path, "JPEG", quality=75)
        with Image.open(path) as im:
            planar = np.asarray(im.convert("RGB")).transpose(2, 0, 1)
        decoded[rel] = np.ascontiguousarray(planar).tobytes()

    with open(os.path.join(out, "wnids.txt"), "w") as f:
        f.write("".join(w + "\n" for w in WNIDS))
    with open(os.path.join(out, "words.txt"), "w") as f:
        f.write("".join(w + "\tthing\n" for w in sorted(WNIDS)))
    order = []
    for w in WNIDS:
        names = sorted(f"{w}_{k}.JPEG" for k in TRAIN_PER_CLASS)
        for i, name in enumerate(names):
            rel = f"train/{w}/images/{name}"
            save(rel, gray=(i == 1))
            order.append(rel)
    lines = []
    for k in range(VAL):
        name = f"val_{k}.JPEG"
        save(f"val/images/{name}", gray=(k == 4))
        lines.append(f"{name}\t{WNIDS[k % len(WNIDS)]}\t0\t0\t63\t63\n")
    with open(os.path.join(out, "val", "val_annotations.txt"), "w") as f:
        f.write("".join(lines))
    order += [f"val/images/{n}" for n in sorted(f"val_{k}.JPEG" for k in range(VAL))]
    with open(os.path.join(out, "pil_decoded.bin"), "wb") as f:
        for rel in order:
            f.write(decoded[rel])


if __name__ == "__main__":
    main(sys.argv[1])
