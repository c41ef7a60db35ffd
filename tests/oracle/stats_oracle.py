#!/usr/bin/python3
"""Oracle for sp::stats (tests/oracle/test_stats.cpp): SciPy 1.10, NumPy 1.24, statsmodels 0.13
(Debian 12's python3-scipy, python3-numpy, python3-statsmodels).

usage: stats_oracle.py CASES.txt
CASES.txt: one case a line, numbers in round-trip form ("nan" for missing):
    summary ID CONFIDENCE B SEED N x1 .. xN
    paired ID CONFIDENCE B SEED EXACT_MAX_N PERM_RESAMPLES MARGIN PUBLIC_B N a1 .. aN b1 .. bN
    pvalues ID M p1 .. pM
    power ID EFFECT N ALPHA
    mde ID N ALPHA POWER SP_ROOT
    needed ID EFFECT ALPHA POWER SP_ROOT
    aubc ID N x1 .. xN y1 .. yN
Prints `ID:name v1 v2 ...` lines, floats in repr (round-trip) form.

Where each value comes from:
- summary: NumPy (mean, std, median, percentile, min, max); the t interval as mean + sem * ppf
  with a Newton-refined ppf (`stats`, SciPy 1.10's own t.ppf is only good to ~5e-9 relative) and
  SciPy's t.interval (`scipy_interval`); the percentile bootstrap from sp's documented SplitMix64
  resampling rule (bootstrap_indices) and np.quantile.
- paired: scipy.stats.ttest_rel; the sign-flip p from scipy.stats.permutation_test (exact,
  n <= SCIPY_EXACT_MAX_N; slower above) and from an independent NumPy enumeration of all 2^n sign
  vectors (every n <= 30; `signflip_enum`), and sp's documented Monte Carlo rule reproduced with
  NumPy (`signflip_mc`); the BCa interval from scipy.stats._resampling._bca_interval fed with
  sp's resampled means, and the public scipy.stats.bootstrap(method="BCa") with its own
  resamples (`bca_public`, when PUBLIC_B > 0); TOST from statsmodels ttost_paired.
- pvalues: Holm (definition and statsmodels), Benjamini-Hochberg (statsmodels fdr_bh).
- power / mde / needed: statsmodels TTestPower; `power_refined` evaluates statsmodels' formula
  with SciPy's (Boost) nct and a Newton-refined critical value.
- aubc: numpy.trapz(y, x) / (x[-1] - x[0]).
"""
import math
import sys
import warnings

import numpy as np
import scipy
import scipy.stats as st
from scipy.stats import _resampling
import statsmodels
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower
from statsmodels.stats.weightstats import ttost_paired

warnings.simplefilter("ignore")  # SciPy warns on zero differences, small n, 0/0

MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15
NAN = float("nan")
SCIPY_EXACT_MAX_N = 16  # scipy's exact permutation_test takes ~0.4 s at 16, ~7 s at 20


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
        out, state = [], seed
        while len(out) < n * b:
            state = (state + GAMMA) & MASK
            z = state
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            z ^= z >> 31
            if z >= threshold:
                out.append(z % n)
        return np.array(out, dtype=np.int64).reshape(b, n)
    return (r % np.uint64(n)).astype(np.int64).reshape(b, n)


def bootstrap_means(v, seed, b):
    """sp's resampled means: values summed in draw order (cumsum adds left to right) / n."""
    n = len(v)
    return np.cumsum(v[bootstrap_indices(seed, n, b)], axis=1)[:, -1] / n


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
        emit(case, "stats", *[NAN] * 11)
        emit(case, "scipy_interval", NAN, NAN)
        return
    mean, median = np.mean(v), np.median(v)
    q25, q75 = np.percentile(v, 25), np.percentile(v, 75)
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
        means = bootstrap_means(v, seed, b)
        boot_low, boot_high = np.quantile(np.sort(means), [q_low, q_high])
    emit(case, "stats", mean, std, median, q25, q75, v.min(), v.max(), t_low, t_high, boot_low,
         boot_high)
    emit(case, "scipy_interval", scipy_low, scipy_high)


def mean_diff(x, y, axis):
    return np.mean(x - y, axis=axis)


def signflip_scipy(a, b):
    """SciPy's exact two-sided sign-flip p (all 2^n assignments)."""
    res = st.permutation_test((a, b), mean_diff, permutation_type="samples", vectorized=True,
                              n_resamples=np.inf, batch=1 << 14, alternative="two-sided")
    return res.pvalue


def signflip_enum(d):
    """Exact two-sided p by enumerating the 2^n signed sums as 2^(n/2) x 2^(n - n/2) half sums,
    with permutation_test's rule: gamma = max(1e-14, |1e-14 observed|), p = min(1, 2 min(
    #{null <= obs + gamma}, #{null >= obs - gamma}) / 2^n). Compares sums (S <= n (obs + gamma))
    via searchsorted, which equals the comparison of means on dyadic data and up to rounding
    (far below gamma) elsewhere."""
    n = len(d)
    h = n // 2

    def half(v):
        s = np.zeros(1)
        for x in v:
            s = np.concatenate([s + x, s - x])
        return s

    left, right = half(d[:h]), np.sort(half(d[h:]))
    obs = np.mean(d)
    gamma = max(1e-14, abs(1e-14 * obs))
    less = np.searchsorted(right, n * (obs + gamma) - left, side="right").sum()
    greater = (len(right) - np.searchsorted(right, n * (obs - gamma) - left, side="left")).sum()
    total = 2.0 ** n
    return min(1.0, 2 * min(less / total, greater / total))


def signflip_mc(d, seed, resamples):
    """sp's documented Monte Carlo rule (n <= 64: one SplitMix64 draw per resample, bit k set
    negates d[k]; sums left to right / n) with permutation_test's Monte Carlo p:
    (count + 1) / (N + 1)."""
    n = len(d)
    bits = splitmix_stream(seed, resamples)
    neg = ((bits[:, None] >> np.arange(n, dtype=np.uint64)) & np.uint64(1)).astype(bool)
    null = np.cumsum(np.where(neg, -d, d), axis=1)[:, -1] / n
    obs = np.cumsum(d)[-1] / n
    gamma = max(1e-14, abs(1e-14 * obs))
    less = ((null <= obs + gamma).sum() + 1) / (resamples + 1)
    greater = ((null >= obs - gamma).sum() + 1) / (resamples + 1)
    return min(1.0, 2 * min(less, greater))


def sum_in_order(x, axis=-1):
    """sp's mean: values added left to right, divided by their count."""
    return np.cumsum(x, axis=axis)[..., -1] / x.shape[axis]


def bca_same_resamples(d, conf, b, seed):
    """SciPy's BCa on sp's resampled means: _bca_interval (z0, jackknife acceleration, alpha_1,2)
    with the statistic computed as sp computes it (sum in order / n), then np.percentile as
    scipy.stats.bootstrap does. Returns low, high and the acceleration."""
    means = bootstrap_means(d, seed, b)
    alpha = (1 - conf) / 2
    a1, a2, a_hat = _resampling._bca_interval((d,), sum_in_order, axis=-1, alpha=alpha,
                                               theta_hat_b=means, batch=None)
    low = NAN if np.isnan(a1) else np.percentile(means, a1 * 100)
    high = NAN if np.isnan(a2) else np.percentile(means, a2 * 100)
    return low, high


def paired(case, conf, b, seed, exact_max_n, perm_resamples, margin, public_b, a, bb):
    keep = ~(np.isnan(a) | np.isnan(bb))
    a, bb = a[keep], bb[keep]
    n = len(a)
    d = a - bb
    emit(case, "n", n)
    if n == 0:
        emit(case, "basic", *[NAN] * 9)
        emit(case, "signflip", NAN, NAN, NAN)
        return
    mean = np.mean(d)
    sd = t_low = t_high = t = tp = dz = gz = dav = NAN
    sc_low = sc_high = bca_low = bca_high = NAN
    tost = [NAN] * 3
    if n >= 2:
        sd = np.std(d, ddof=1)
        res = st.ttest_rel(a, bb)
        t, tp = res.statistic, res.pvalue
        sem = st.sem(d)
        if sem == 0:  # sp: the point (documented)
            t_low = t_high = sc_low = sc_high = mean
        else:
            t_low = mean + sem * t_ppf((1 - conf) / 2, n - 1)
            t_high = mean + sem * t_ppf((1 + conf) / 2, n - 1)
            sc_low, sc_high = st.t.interval(conf, n - 1, loc=mean, scale=sem)
        with np.errstate(divide="ignore", invalid="ignore"):
            dz = np.float64(mean) / np.std(d, ddof=1)
            spread = (np.std(a, ddof=1) + np.std(bb, ddof=1)) / 2
            dav = np.float64(mean) / spread if spread > 0 else NAN
        gz = dz * (1 - 3 / (4 * (n - 1) - 1))
        bca_low, bca_high = bca_same_resamples(d, conf, b, seed)
        if not math.isnan(margin):
            p, (_, p_low, _), (_, p_high, _) = ttost_paired(a, bb, -margin, margin)
            tost = [p, p_low, p_high]
        if public_b > 0:
            res = st.bootstrap((d,), np.mean, method="BCa", confidence_level=conf,
                               n_resamples=public_b, random_state=np.random.default_rng(seed))
            # The bootstrap distribution's sd: the Monte Carlo error scale of both intervals.
            emit(case, "bca_public", res.confidence_interval.low, res.confidence_interval.high,
                 np.std(res.bootstrap_distribution, ddof=1))
    emit(case, "basic", mean, sd, t_low, t_high, t, tp, dz, gz, dav)
    emit(case, "scipy_interval", sc_low, sc_high)
    emit(case, "bca", bca_low, bca_high)
    emit(case, "tost", *tost)
    scipy_p = signflip_scipy(a, bb) if 2 <= n <= SCIPY_EXACT_MAX_N else NAN
    enum_p = signflip_enum(d) if n <= 30 else NAN
    mc_p = signflip_mc(d, seed, perm_resamples) if n > exact_max_n else NAN
    emit(case, "signflip", scipy_p, enum_p, mc_p)


def pvalues(case, p):
    """Holm from its definition (step-down multipliers m, m-1, ..., running max, cap 1) and from
    statsmodels; Benjamini-Hochberg from statsmodels, NaN entries left out of both."""
    out = [NAN] * len(p)
    idx = sorted((i for i in range(len(p)) if not math.isnan(p[i])), key=lambda i: p[i])
    m, running = len(idx), 0.0
    for k, i in enumerate(idx):
        running = max(running, p[i] * (m - k))
        out[i] = min(running, 1.0)
    emit(case, "holm", *out)
    arr = np.array(p)
    keep = ~np.isnan(arr)
    sm_holm, sm_bh = np.full(len(p), NAN), np.full(len(p), NAN)
    if keep.any():
        sm_holm[keep] = multipletests(arr[keep], method="holm")[1]
        sm_bh[keep] = multipletests(arr[keep], method="fdr_bh")[1]
    emit(case, "holm_sm", *sm_holm)
    emit(case, "bh", *sm_bh)


def power_refined(effect, n, alpha):
    """statsmodels' ttest_power formula with a Newton-refined critical value."""
    df = n - 1
    c = -t_ppf(alpha / 2, df)
    nc = effect * np.sqrt(n)
    return st.nct._sf(c, df, nc) + st.nct._cdf(-c, df, nc)


def main():
    assert scipy.__version__.startswith("1.10."), scipy.__version__
    assert statsmodels.__version__.startswith("0.13."), statsmodels.__version__
    tt = TTestPower()
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
                conf, b, seed = float(w[2]), int(w[3]), int(w[4])
                exact_max_n, perm, margin, public_b = int(w[5]), int(w[6]), float(w[7]), int(w[8])
                n = int(w[9])
                vals = np.array([float(s) for s in w[10:10 + 2 * n]])
                paired(case, conf, b, seed, exact_max_n, perm, margin, public_b, vals[:n],
                       vals[n:])
            elif kind == "pvalues":
                m = int(w[2])
                pvalues(case, [float(s) for s in w[3:3 + m]])
            elif kind == "power":
                e, n, alpha = float(w[2]), float(w[3]), float(w[4])
                emit(case, "power", tt.power(e, n, alpha, alternative="two-sided"),
                     power_refined(e, n, alpha))
            elif kind == "mde":
                n, alpha, power, root = (float(s) for s in w[2:6])
                solved = tt.solve_power(effect_size=None, nobs=n, alpha=alpha, power=power)
                emit(case, "mde", solved, tt.power(root, n, alpha), power_refined(root, n, alpha))
            elif kind == "needed":
                e, alpha, power, root = (float(s) for s in w[2:6])
                solved = tt.solve_power(effect_size=e, nobs=None, alpha=alpha, power=power)
                emit(case, "needed", solved, tt.power(e, root, alpha),
                     power_refined(e, root, alpha))
            elif kind == "aubc":
                n = int(w[2])
                vals = np.array([float(s) for s in w[3:3 + 2 * n]])
                x, y = vals[:n], vals[n:]
                emit(case, "aubc", np.trapz(y, x) / (x[-1] - x[0]))
            else:
                sys.exit(f"unknown case kind {kind}")


if __name__ == "__main__":
    main()
