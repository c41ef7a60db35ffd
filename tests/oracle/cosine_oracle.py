#!/usr/bin/python3
"""Oracle for sp's cosine statistics (tests/oracle/test_cosine.cpp).

usage: cosine_oracle.py X.bin LABELS.bin N D K BINS
X.bin: N x D little-endian float32, row-major; LABELS.bin: N little-endian int64.
Everything is computed in float64 from the float32 inputs with scikit-learn's cosine_similarity,
clipped into [-1, 1], then numpy.histogram(bins=BINS, range=(-1, 1)). Prints one line per value:
`name v1 v2 ...` with floats in repr (round-trip) form.
"""
import sys

import numpy as np
from sklearn.metrics.pairwise import cosine_similarity


def emit(name, values):
    print(name, " ".join(repr(float(v)) if isinstance(v, (float, np.floating)) else str(int(v))
                         for v in values))


def stats(name, v, bins):
    emit(name + "_count", [v.size])
    hist, _ = np.histogram(v, bins=bins, range=(-1.0, 1.0))
    emit(name + "_hist", hist)
    if v.size > 0:
        emit(name + "_moments", [np.mean(v), np.std(v), np.min(v), np.max(v)])
        emit(name + "_quantiles", np.quantile(v, [0.25, 0.5, 0.75]))


def main():
    xp, lp = sys.argv[1], sys.argv[2]
    n, d, k, bins = (int(a) for a in sys.argv[3:7])
    x = np.fromfile(xp, dtype="<f4").reshape(n, d).astype(np.float64)
    lab = np.fromfile(lp, dtype="<i8")
    assert lab.shape == (n,)
    s = np.clip(cosine_similarity(x), -1.0, 1.0)
    iu = np.triu_indices(n, 1)
    v = s[iu]
    same = lab[iu[0]] == lab[iu[1]]
    stats("all", v, bins)
    stats("within", v[same], bins)
    stats("between", v[~same], bins)
    stats("full", s.ravel(), bins)
    means = np.zeros((k, d))
    for c in range(k):
        if np.any(lab == c):
            means[c] = x[lab == c].mean(axis=0)
    emit("class_means", cosine_similarity(means).ravel())


if __name__ == "__main__":
    main()
