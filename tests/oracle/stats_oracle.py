#!/usr/bin/python3
"""Oracle for sp::stats (tests/oracle/test_stats.cpp), with SciPy 1.10 / NumPy 1.24 (Debian 12).

usage: stats_oracle.py CASES.txt
CASES.txt: one case a line, numbers in round-trip form ("nan" for missing):
    summary ID CONFIDENCE B SEED N x1 .. xN
    paired ID N a1 .. aN b1 .. bN
    holm ID M p1 .. pM
Prints `ID:name v1 v2 ...` lines, floats in repr (round-trip) form, computed from SciPy where
SciPy defines the statistic (mean, std, median, ttest_rel, wilcoxon) and from direct
re-implementations of sp's documented rules elsewhere (the SplitMix64 bootstrap, Holm, Hedges' g).
The t interval is mean + sem * ppf with a Newton-refined ppf (`stats`), because SciPy 1.10's own
t.ppf is only good to ~5e-9 relative; SciPy's t.interval is printed too (`scipy_interval`).
"""
import math
import sys
import warnings

import numpy as np
import scipy
import scipy.stats as st

warnings.simplefilter("ignore")  # SciPy warns on zero differences, small n, 0/0

MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15
NAN = float("nan")


def emit(case, name, *values):
    print(f"{case}:{name}", " ".join(repr(float(v)) for v in values))


def splitmix_stream(seed, count):
    """Outputs 0 .. count-1 of SplitMix64 seeded with `seed` (sp::SplitMixRng), vectorized:
    output k is the finalizer of seed + (k + 1) * GAMMA (mod 2^64)."""
    with np.errstate(over="ignore"):
        z = np.arange(1, count + 1, dtype=np.uint64) * np.uint64(GAMMA) + np.uint64(seed)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def bootstrap_indices(seed, n, b):
    """B x n indices from SplitMixRng.below(n): reject r < 2^64 mod n, then r mod n."""
    threshold = ((1 << 64) - n) % n
    r = splitmix_stream(seed, n * b)
    if threshold and (r < np.uint64(threshold)).any():  # astronomically rare: the scalar rule
        out, k, state = [], 0, seed
        while len(out) < n * b:
            state = (state + GAMMA) & MASK
            z = state
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            z ^= z >> 31
            if z >= threshold:
                out.append(z % n)
            k += 1
        return np.array(out, dtype=np.int64).reshape(b, n)
    return (r % np.uint64(n)).astype(np.int64).reshape(b, n)


def t_ppf(q, df):
    """Student t quantile to ~1e-15: SciPy 1.10's t.ppf (Cephes stdtrit, off by up to ~5e-9
    relative) refined by Newton steps on t.cdf (stdtr, accurate to ~1e-16)."""
    x = st.t.ppf(q, df)
    for _ in range(3):
        x -= (st.t.cdf(x, df) - q) / st.t.pdf(x, df)
    return x


def summary(case, conf, b, seed, x):
    v = x[~np.isnan(x)]
    n = len(v)
    emit(case, "n", n)
    if n == 0:
        emit(case, "stats", *[NAN] * 9)
        emit(case, "scipy_interval", NAN, NAN)
        return
    mean, median = np.mean(v), np.median(v)
    std = np.std(v, ddof=1) if n >= 2 else NAN
    t_low = t_high = boot_low = boot_high = scipy_low = scipy_high = NAN
    if n >= 2:
        sem = st.sem(v)
        q_low, q_high = (1 - conf) / 2, (1 + conf) / 2
        if sem == 0:  # SciPy gives NaN for scale 0; sp gives the point (documented)
            t_low = t_high = scipy_low = scipy_high = mean
        else:
            t_low, t_high = mean + sem * t_ppf(q_low, n - 1), mean + sem * t_ppf(q_high, n - 1)
            scipy_low, scipy_high = st.t.interval(conf, n - 1, loc=mean, scale=sem)
        idx = bootstrap_indices(seed, n, b)
        # cumsum adds left to right, as sp does: the last column is the sum in draw order.
        means = np.cumsum(v[idx], axis=1)[:, -1] / n
        boot_low, boot_high = np.quantile(np.sort(means), [q_low, q_high])
    emit(case, "stats", mean, std, median, v.min(), v.max(), t_low, t_high, boot_low, boot_high)
    emit(case, "scipy_interval", scipy_low, scipy_high)


def paired(case, a, b):
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    n = len(a)
    d = a - b
    emit(case, "n", n)
    if n == 0:
        emit(case, "tests", *[NAN] * 7)
        return
    mean = np.mean(d)
    t = tp = dz = g = NAN
    if n >= 2:
        res = st.ttest_rel(a, b)
        t, tp = res.statistic, res.pvalue
        with np.errstate(divide="ignore", invalid="ignore"):
            dz = np.float64(mean) / np.std(d, ddof=1)
        g = dz * (1 - 3 / (4 * (n - 1) - 1))
    try:
        res = st.wilcoxon(a, b)
        w, wp = res.statistic, res.pvalue
    except ValueError:  # all differences zero
        w = wp = NAN
    emit(case, "tests", mean, t, tp, w, wp, dz, g)


def holm(case, p):
    """Holm from its definition: step-down multipliers m, m-1, ..., running max, cap 1."""
    out = [NAN] * len(p)
    idx = sorted((i for i in range(len(p)) if not math.isnan(p[i])), key=lambda i: p[i])
    m, running = len(idx), 0.0
    for k, i in enumerate(idx):
        running = max(running, p[i] * (m - k))
        out[i] = min(running, 1.0)
    emit(case, "holm", *out)


def main():
    assert scipy.__version__.startswith("1.10."), scipy.__version__
    with open(sys.argv[1]) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            kind, case = w[0], w[1]
            if kind == "summary":
                conf, b, seed, n = float(w[2]), int(w[3]), int(w[4]), int(w[5])
                summary(case, conf, b, seed, np.array([float(s) for s in w[6:6 + n]]))
            elif kind == "paired":
                n = int(w[2])
                vals = np.array([float(s) for s in w[3:3 + 2 * n]])
                paired(case, vals[:n], vals[n:])
            elif kind == "holm":
                m = int(w[2])
                holm(case, [float(s) for s in w[3:3 + m]])
            else:
                sys.exit(f"unknown case kind {kind}")


if __name__ == "__main__":
    main()
