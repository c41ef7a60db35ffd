"""sp's t-SNE maps against scikit-learn's TSNE on the same embeddings: map metrics, paired.

usage: /usr/bin/python3 bench/tsne_sklearn_maps.py SP_ANALYZE WORKDIR FILE.h5 [FILE.h5 ...]
           [--threads 2] [--angle 0.5] [--sp-set KEY=VALUE ...] [--modes sp sklearn]

Each FILE is a replicate result (or any HDF5 file) with /eval/embeddings (N x d float32) and
/eval/labels. For each file this runs
  - scikit-learn's TSNE(perplexity=30, init="pca", learning_rate="auto", random_state=0, angle)
    (the defaults: barnes_hut, n_iter 1000, n_iter_without_progress 300, min_grad_norm 1e-7);
  - sp_analyze on a copy, once per metrics.tsne.compat mode (--modes), t-SNE enabled;
and scores every map with the same code (sklearn.metrics silhouette_score, euclidean, and
davies_bouldin_score, as sp's silhouette_euclidean_tsne / davies_bouldin_tsne), plus the exact
KL(P || Q) of each map under scikit-learn's P (k = 91, its _joint_probabilities_nn).

Prints one row per file and, per sp mode, the paired difference sp - sklearn over the files:
mean, standard error, t and two-sided p (scipy.stats.ttest_rel), and the standard deviation of
the differences (the seed noise of one pair). bench/tsne_sklearn_maps.sh makes the embeddings.
"""
import argparse
import os
import subprocess
import sys
import time

import h5py
import numpy as np
from scipy import stats
from sklearn.manifold import TSNE
from sklearn.manifold._t_sne import _joint_probabilities_nn
from sklearn.metrics import davies_bouldin_score, silhouette_score
from sklearn.neighbors import NearestNeighbors


def exact_kl(p, y):
    """KL(P || Q) over all pairs, Q Student-t with one degree of freedom; P sparse."""
    y = np.asarray(y, dtype=np.float64)
    z = 0.0
    for s in range(0, len(y), 512):  # O(n) memory per block
        d2 = ((y[s : s + 512, None, :] - y[None, :, :]) ** 2).sum(-1)
        z += (1.0 / (1.0 + d2)).sum() - min(512, len(y) - s)  # minus the diagonal
    c = p.tocoo()
    w = 1.0 / (1.0 + ((y[c.row] - y[c.col]) ** 2).sum(1))
    keep = c.data > 0
    return float(np.sum(c.data[keep] * np.log(c.data[keep] / (w[keep] / z))))


def scores(y, labels, p):
    y = np.asarray(y, dtype=np.float64)
    return {
        "sil": silhouette_score(y, labels, metric="euclidean"),
        "db": davies_bouldin_score(y, labels),
        "kl": exact_kl(p, y),
    }


def sklearn_map(x, angle, threads):
    t = TSNE(
        n_components=2,
        perplexity=30.0,
        init="pca",
        learning_rate="auto",
        random_state=0,
        angle=angle,
        n_jobs=threads,
    )
    y = t.fit_transform(x)
    return y, t.n_iter_ + 1


def sp_map(sp_analyze, src, dst, mode, threads, extra):
    cmd = [sp_analyze, src, "--output", dst, "--threads", str(threads), "--quiet",
           "--set", "metrics.tsne.enabled=true", "--set", f"metrics.tsne.compat={mode}"]
    for kv in extra:
        cmd += ["--set", kv]
    subprocess.run(cmd, check=True)
    with h5py.File(dst, "r") as f:
        g = f["metrics/tsne"]
        return g["embedding"][()], int(g.attrs["iterations"]), int(g.attrs["neighbours"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sp_analyze")
    ap.add_argument("workdir")
    ap.add_argument("files", nargs="+")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--angle", type=float, default=0.5)
    ap.add_argument("--sp-set", nargs="*", default=[])
    ap.add_argument("--modes", nargs="+", default=["sp", "sklearn"])
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    rows = []
    for path in a.files:
        with h5py.File(path, "r") as f:
            x = f["eval/embeddings"][()].astype(np.float32)
            labels = f["eval/labels"][()]
        nn = NearestNeighbors(n_neighbors=min(len(x) - 1, 91)).fit(x)
        graph = nn.kneighbors_graph(mode="distance")
        graph.data **= 2
        p = _joint_probabilities_nn(graph, 30.0, 0)
        t0 = time.time()
        y, iters = sklearn_map(x, a.angle, a.threads)
        ref = scores(y, labels, p)
        ref.update(iters=iters, s=time.time() - t0)
        row = {"file": os.path.basename(path), "ref": ref, "sp": {}}
        for mode in a.modes:
            t0 = time.time()
            dst = os.path.join(a.workdir, f"{mode}_{os.path.basename(path)}")
            ym, iters, k = sp_map(a.sp_analyze, path, dst, mode, a.threads, a.sp_set)
            os.remove(dst)
            row["sp"][mode] = scores(ym, labels, p)
            row["sp"][mode].update(iters=iters, k=k, s=time.time() - t0)
        rows.append(row)
        line = f"{row['file']}: sklearn sil {ref['sil']:.4f} db {ref['db']:.4f}"
        line += f" kl {ref['kl']:.4f} it {ref['iters']}"
        for mode in a.modes:
            r = row["sp"][mode]
            line += f" | sp[{mode}] k {r['k']} sil {r['sil']:.4f} db {r['db']:.4f}"
            line += f" kl {r['kl']:.4f} it {r['iters']}"
        print(line, flush=True)
    print(f"\n{len(rows)} embeddings; sklearn angle {a.angle}; sp --set {a.sp_set or '-'}")
    print("paired difference sp - sklearn: mean, SE, t, p (ttest_rel), SD of one pair")
    for mode in a.modes:
        for m in ("sil", "db", "kl"):
            mine = np.array([r["sp"][mode][m] for r in rows])
            d = mine - np.array([r["ref"][m] for r in rows])
            if len(d) > 1:
                t = stats.ttest_rel(mine, mine - d)
                se = d.std(ddof=1) / np.sqrt(len(d))
                print(f"  {mode:8s} {m:4s} {d.mean():+.4f} +- {se:.4f}  t {t.statistic:+.2f}"
                      f"  p {t.pvalue:.3f}  sd {d.std(ddof=1):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
