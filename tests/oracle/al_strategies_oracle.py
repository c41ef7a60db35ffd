#!/usr/bin/python3
"""Oracle for sp's active-learning query strategies (tests/oracle/test_al_strategies.cpp).

usage: al_strategies_oracle.py JOB [:: JOB ...]
JOB:   scores PROBS.bin N K COUNT           least confidence, margin, entropy and their top-COUNT
       bald MC.bin T N K COUNT              BALD scores and their top-COUNT
       coreset POOL.bin NPOOL LAB.bin NLAB D COUNT    brute-force k-center greedy
       badge PROBS.bin EMB.bin N K D COUNT SEED       materialised gradient embeddings, k-means++
       random N COUNT SEED                  partial Fisher-Yates with SplitMix64
       subset POOL.bin N SUBSET SEED        al.pool_subset's candidates (POOL.bin: N pool values)
*.bin: little-endian float32, row-major (MC.bin is T x N x K). Everything is recomputed in float64
from the float32 values, straight from the definitions in src/sp/al/strategies.hpp, without sp's
shortcuts: full distance matrices for the core-set, the N x (K*D) gradient embeddings for BADGE.
Prints one line per value: `JOBINDEX:name v1 v2 ...` (jobs numbered from 0), floats in repr
(round-trip) form. Several jobs share one interpreter.
"""
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

JOB = 0
MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def emit(name, values):
    print(f"{JOB}:{name}", " ".join(repr(float(v)) for v in np.atleast_1d(values)))


class SplitMix64:
    """The reference SplitMix64 stream, as sp::SplitMixRng (src/sp/util/rng.hpp)."""

    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        z = (self.state + GAMMA) & MASK
        self.state = z
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        if n <= 1:
            return 0
        threshold = ((1 << 64) - n) % n
        while True:
            r = self.next()
            if r >= threshold:
                return r % n

    def uniform(self):
        return (self.next() >> 11) * 2.0**-53


def load(path, shape):
    """The first prod(shape) values of the file (the first rows of a matrix)."""
    x = np.fromfile(path, dtype="<f4")
    size = int(np.prod(shape))
    assert x.size >= size, (path, x.size, shape)
    return x[:size].reshape(shape).astype(np.float64)


def top(scores, count):
    return np.lexsort((np.arange(scores.size), -scores))[:count]


def entropy(p):
    logp = np.log(np.where(p > 0, p, 1.0))
    return -np.sum(np.where(p > 0, p * logp, 0.0), axis=-1)


def scores(pp, n, k, count):
    p = load(pp, (n, k))
    s = np.sort(p, axis=1)
    lc = 1.0 - s[:, -1]
    margin = -(s[:, -1] - s[:, -2])
    ent = entropy(p)
    for name, v in (("least_confidence", lc), ("margin", margin), ("entropy", ent)):
        emit(name, v)
        emit(name + "_top", top(v, count))


def bald(mp, t, n, k, count):
    p = load(mp, (t, n, k))
    b = entropy(p.mean(axis=0)) - entropy(p).mean(axis=0)
    emit("bald", b)
    emit("bald_top", top(b, count))


def coreset(pp, n_pool, lp, n_lab, d, count):
    x = load(pp, (n_pool, d))
    lab = load(lp, (n_lab, d))
    # Brute force: every distance, the minimum recomputed from scratch for each pick.
    to_lab = ((x[:, None, :] - lab[None, :, :]) ** 2).sum(-1)  # squared, as sp compares them
    to_pool = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    picks, dist = [], []
    for _ in range(count):
        centres = np.concatenate([to_lab, to_pool[:, picks]], axis=1)
        mind = centres.min(axis=1) if centres.shape[1] > 0 else np.full(n_pool, np.inf)
        mind[picks] = -np.inf
        i = int(np.argmax(mind))  # the first maximum: ties to the lower index
        picks.append(i)
        dist.append(np.sqrt(mind[i]))
    emit("picks", picks)
    emit("distances", dist)


def badge(pp, ep, n, k, d, count, seed):
    p = load(pp, (n, k))
    h = load(ep, (n, d))
    a = p - np.eye(k)[np.argmax(p, axis=1)]
    g = (a[:, :, None] * h[:, None, :]).reshape(n, k * d)
    rng = SplitMix64(seed)
    picks = [int(np.argmax((g * g).sum(axis=1)))]
    d2 = np.full(n, np.inf)
    while len(picks) < count:
        d2 = np.minimum(d2, ((g - g[picks[-1]]) ** 2).sum(axis=1))
        d2[picks] = 0.0
        u = rng.uniform()
        running = np.cumsum(d2)  # sequential, in index order
        hits = np.nonzero(running > u * running[-1])[0] if running[-1] > 0 else []
        if len(hits) > 0:
            picks.append(int(hits[0]))
        else:
            picks.append(int(next(i for i in range(n) if i not in picks)))
    emit("picks", picks)


def random_select(n, count, seed):
    perm = list(range(n))
    rng = SplitMix64(seed)
    for i in range(count):
        j = i + rng.below(n - i)
        perm[i], perm[j] = perm[j], perm[i]
    emit("picks", perm[:count] if count > 0 else [])


def pool_subset(pp, n, subset, seed):
    """select_pool_subset (src/sp/al/query.hpp): SUBSET of the N pool values (float32 file of
    integers), chosen by positions of a partial Fisher-Yates shuffle, sorted; all of them for
    SUBSET 0 or >= N."""
    pool = [int(v) for v in load(pp, (n,))] if n > 0 else []
    if subset == 0 or subset >= n:
        chosen = pool
    else:
        perm = list(range(n))
        rng = SplitMix64(seed)
        for i in range(subset):
            j = i + rng.below(n - i)
            perm[i], perm[j] = perm[j], perm[i]
        chosen = [pool[p] for p in perm[:subset]]
    emit("subset", sorted(chosen) if chosen else [])


def main(argv):
    global JOB
    jobs, cur = [], []
    for a in argv:
        if a == "::":
            jobs.append(cur)
            cur = []
        else:
            cur.append(a)
    jobs.append(cur)
    for JOB, job in enumerate(jobs):
        kind, args = job[0], job[1:]
        if kind == "scores":
            scores(args[0], int(args[1]), int(args[2]), int(args[3]))
        elif kind == "bald":
            bald(args[0], int(args[1]), int(args[2]), int(args[3]), int(args[4]))
        elif kind == "coreset":
            coreset(args[0], int(args[1]), args[2], int(args[3]), int(args[4]), int(args[5]))
        elif kind == "badge":
            badge(args[0], args[1], int(args[2]), int(args[3]), int(args[4]), int(args[5]),
                  int(args[6]))
        elif kind == "subset":
            pool_subset(args[0], int(args[1]), int(args[2]), int(args[3]))
        elif kind == "random":
            random_select(int(args[0]), int(args[1]), int(args[2]))
        else:
            sys.exit(f"unknown job {kind}")


if __name__ == "__main__":
    main(sys.argv[1:])
