#!/usr/bin/python3
"""Bit-for-bit comparison of two HDF5 files written by sp (bench/same_results.sh).

    h5_same.py A.h5 B.h5 [DIR_A DIR_B]

Every group, dataset and attribute must exist in both, with the same dtype, shape and bytes
(-0.0 and NaN payloads included). Only what records the clock, the machine or the build may
differ: the attributes and datasets named in VOLATILE. Text that names the run's own output
directory (DIR_A in A, DIR_B in B: the resolved output.dir) is compared with it replaced.
Exit 0 when the same, 1 with the differences.
"""
import sys

import h5py
import numpy as np

# Wall-clock and host facts: they differ between any two runs of the same build.
VOLATILE = {"start_time", "end_time", "seconds", "hostname", "images_per_second", "created",
            "reduced_at", "started",
            # how sp_sweep was invoked (the path of the binary differs between two builds)
            "command_line",
            # the build's own revision: before and after a change it differs by design
            "git_revision"}


def normalised(value, root):
    """A value as an array; in text, the run's own directory replaced by <out>."""
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return np.array(value.replace(root.encode(), b"<out>") if root else value, dtype=object)
    array = np.asarray(value)
    if array.dtype.kind in "SUO":
        flat = [x.encode() if isinstance(x, str) else bytes(x) for x in array.ravel()]
        flat = [x.replace(root.encode(), b"<out>") if root else x for x in flat]
        return np.array(flat, dtype=object).reshape(array.shape)
    return array


def same_value(a, b, roots=("", "")):
    a, b = normalised(a, roots[0]), normalised(b, roots[1])
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind == "O":
        return list(a.ravel()) == list(b.ravel())
    return a.tobytes() == b.tobytes()  # bit for bit: -0.0 and NaN payloads too


def is_text(dtype):
    return dtype.kind in "SUO" or h5py.check_string_dtype(dtype) is not None


def objects(f):
    out = {"/": f}
    f.visititems(lambda name, obj: out.__setitem__("/" + name, obj))
    return out


def compare(path_a, path_b, roots=("", "")):
    problems = []
    with h5py.File(path_a, "r") as fa, h5py.File(path_b, "r") as fb:
        oa, ob = objects(fa), objects(fb)
        for name in sorted(set(oa) ^ set(ob)):
            problems.append(f"{name}: only in {'A' if name in oa else 'B'}")
        for name in sorted(set(oa) & set(ob)):
            a, b = oa[name], ob[name]
            leaf = name.rsplit("/", 1)[-1]
            if type(a) is not type(b):
                problems.append(f"{name}: a {type(a).__name__} in A, a {type(b).__name__} in B")
                continue
            for key in sorted(set(a.attrs) ^ set(b.attrs)):
                problems.append(f"{name}@{key}: only in {'A' if key in a.attrs else 'B'}")
            for key in sorted(set(a.attrs) & set(b.attrs)):
                if key not in VOLATILE and not same_value(a.attrs[key], b.attrs[key], roots):
                    problems.append(f"{name}@{key}: {a.attrs[key]!r} != {b.attrs[key]!r}")
            if isinstance(a, h5py.Dataset) and leaf not in VOLATILE:
                if a.shape != b.shape or (a.dtype != b.dtype and not
                                          (is_text(a.dtype) and is_text(b.dtype))):
                    problems.append(f"{name}: {a.dtype}{a.shape} != {b.dtype}{b.shape}")
                elif not same_value(a[()], b[()], roots):
                    problems.append(f"{name}: values differ")
    return problems


def main():
    if len(sys.argv) not in (3, 5):
        sys.exit(__doc__)
    roots = tuple(sys.argv[3:5]) if len(sys.argv) == 5 else ("", "")
    problems = compare(sys.argv[1], sys.argv[2], roots)
    for p in problems:
        print(f"{sys.argv[2]}: {p}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
