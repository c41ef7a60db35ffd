"""Independent check of an active-learning replicate's queries (tests/e2e/test_al.cpp).

usage: al_oracle.py RESULT.h5 STRATEGY
Reads what each query saw (al.save_pool_outputs: pool indices, logits, embeddings, MC dropout
probabilities) and recomputes the picks: least confidence, margin and entropy from the stored
logits (softmax by PyTorch in float32, as sp does, then scores in float64 NumPy), BALD from the
stored MC probabilities, core-set by a brute-force greedy k-center over the full distance
matrix. The picked scores must be the top scores (ties within 1e-9 may go either way) and
equal the stored scores; core-set picks must be identical. random and badge: distinct pool
members only (their draws are checked in tests/oracle/test_al_strategies.cpp). Exit 1 on any
difference, naming the round.
"""
import sys

import h5py
import numpy as np
import torch


def fail(msg):
    print(msg)
    sys.exit(1)


def scores_for(strategy, g):
    logits = torch.from_numpy(g["pool_logits"][()])
    p = torch.softmax(logits, 1).numpy().astype(np.float64)
    if strategy == "least_confidence":
        return 1.0 - p.max(axis=1)
    if strategy == "margin":
        s = np.sort(p, axis=1)
        return -(s[:, -1] - s[:, -2])
    if strategy == "entropy":
        with np.errstate(divide="ignore", invalid="ignore"):
            return -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
    if strategy == "bald":
        mc = g["mc_probs"][()].astype(np.float64)  # T x n x K

        def h(q):
            with np.errstate(divide="ignore", invalid="ignore"):
                return -np.where(q > 0, q * np.log(q), 0.0).sum(axis=-1)

        return h(mc.mean(axis=0)) - h(mc).mean(axis=0)
    return None


def kcenter(pool, labelled, count):
    pool = pool.astype(np.float64)
    labelled = labelled.astype(np.float64)
    d = np.sqrt(((pool[:, None, :] - labelled[None, :, :]) ** 2).sum(-1)).min(axis=1)
    picks = []
    for _ in range(count):
        d_masked = d.copy()
        d_masked[picks] = -1
        j = int(np.argmax(d_masked))  # the first (lowest index) maximum
        picks.append(j)
        d = np.minimum(d, np.sqrt(((pool - pool[j]) ** 2).sum(-1)))
    return picks


def main():
    path, strategy = sys.argv[1], sys.argv[2]
    with h5py.File(path, "r") as f:
        al = f["al"]
        if al.attrs["strategy"] != strategy:
            fail(f"strategy is {al.attrs['strategy']}, expected {strategy}")
        rounds = sorted(k for k in al if k.startswith("round_"))
        checked = 0
        for name in rounds:
            g = al[name]
            queried = g["queried_indices"][()]
            if len(queried) == 0:
                continue
            pool = g["pool_indices"][()]
            pos = {int(v): i for i, v in enumerate(pool)}
            if any(int(q) not in pos for q in queried) or len(set(queried.tolist())) != len(queried):
                fail(f"{name}: picks are not distinct members of the unlabelled pool")
            picked = np.array([pos[int(q)] for q in queried])
            s = scores_for(strategy, g)
            if s is not None:
                stored = g["queried_scores"][()]
                if not np.allclose(stored, s[picked], rtol=0, atol=1e-9):
                    fail(f"{name}: stored scores differ from recomputed: {stored} vs {s[picked]}")
                kth = np.sort(s)[::-1][len(picked) - 1]
                if np.any(s[picked] < kth - 1e-9):
                    fail(f"{name}: a pick scores below the top {len(picked)}")
                if not np.all(np.diff(s[picked]) <= 1e-9):
                    fail(f"{name}: picks not in descending score order")
            elif strategy == "coreset":
                want = kcenter(g["pool_embeddings"][()], g["labelled_embeddings"][()], len(picked))
                if list(picked) != want:
                    fail(f"{name}: core-set picks {list(picked)} != brute force {want}")
            checked += 1
        if checked == 0:
            fail("no round had a query")
    print(f"{strategy}: {checked} rounds checked")


if __name__ == "__main__":
    main()
