"""Are two replicate result files the same, bit for bit, except for wall times?

usage: same_result.py REFERENCE.h5 OTHER.h5   (Debian's /usr/bin/python3: h5py, NumPy)

Walks both files: the same groups, datasets and attributes everywhere, every dataset equal in
dtype, shape and bytes (NaN equals NaN only bit for bit), every attribute equal. Left out: wall
times (datasets and attributes whose name says "seconds", the provenance's start_time and
end_time) and the output folder in the provenance's resolved configuration (`dir = "..."`), the
only things a resumed run may change. Prints each difference; exit 1 if any.
"""
import re
import sys

import h5py
import numpy as np

TIMES = {"seconds", "images_per_second", "start_time", "end_time"}


def same_value(a, b):
    a = np.asarray(a)
    b = np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind == "O":
        return a.tolist() == b.tolist()
    return a.tobytes() == b.tobytes()


def attributes(obj):
    out = {}
    for name, value in obj.attrs.items():
        if name in TIMES:
            continue
        if obj.name == "/provenance" and name == "config_toml":
            text = value.decode() if isinstance(value, bytes) else str(value)
            value = re.sub(r'(?m)^dir = ".*"$', 'dir = "-"', text)
        out[name] = value
    return out


def main():
    ref, other = (h5py.File(p, "r") for p in sys.argv[1:3])
    diffs = []

    def objects(f):
        names = {}

        def keep(name, obj):
            names[name] = obj  # returns None: visititems stops at the first non-None return

        f.visititems(keep)
        return names

    a, b = objects(ref), objects(other)
    for name in sorted(set(a) | set(b)):
        if name not in a or name not in b:
            diffs.append(f"/{name}: only in {'the reference' if name in a else sys.argv[2]}")
            continue
        x, y = a[name], b[name]
        if type(x) is not type(y):
            diffs.append(f"/{name}: a {type(x).__name__} here, a {type(y).__name__} there")
            continue
        if isinstance(x, h5py.Dataset) and name.split("/")[-1] not in TIMES:
            if not same_value(x[()], y[()]):
                diffs.append(f"/{name}: values differ")
        ax, ay = attributes(x), attributes(y)
        for k in sorted(set(ax) | set(ay)):
            if k not in ax or k not in ay or not same_value(ax[k], ay[k]):
                diffs.append(f"/{name}@{k}: differs")
    ax, ay = attributes(ref), attributes(other)
    for k in sorted(set(ax) | set(ay)):
        if k not in ax or k not in ay or not same_value(ax[k], ay[k]):
            diffs.append(f"/@{k}: differs")
    for d in diffs:
        print(f"{sys.argv[2]}: {d}")
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
