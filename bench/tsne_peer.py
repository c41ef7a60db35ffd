"""scikit-learn's TSNE on the file sp_bench_tsne reads, for bench/tsne_notes.md.

usage: tsne_peer.py FILE [--method barnes_hut|exact] [--threads T]
       tsne_peer.py --make FILE [--n N] [--d D] [--k K] [--seed S]

FILE is HDF5 with /embeddings (N x d float32) and /labels (N int64). Prints one line:
  tsne method=sklearn-<m> n=<N> seconds=<wall s of fit> kl=<kl_divergence_> peak_rss_mib=<MiB>
--make writes K Gaussian clusters (centres N(0, 0.5^2 I), unit noise) instead.
Run with Debian's /usr/bin/python3 (scikit-learn 1.2, h5py).
"""
import argparse
import resource
import sys
import time

import h5py
import numpy as np


def make(path, n, d, k, seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 0.5, size=(k, d))
    labels = rng.integers(0, k, size=n).astype(np.int64)
    x = (centres[labels] + rng.normal(0.0, 1.0, size=(n, d))).astype(np.float32)
    with h5py.File(path, "w") as f:
        f.create_dataset("/embeddings", data=x)
        f.create_dataset("/labels", data=labels)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--make", action="store_true")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--method", default="barnes_hut", choices=["barnes_hut", "exact"])
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    if a.make:
        make(a.file, a.n, a.d, a.k, a.seed)
        return 0
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    with h5py.File(a.file, "r") as f:
        x = f["/embeddings"][...]
    with threadpool_limits(limits=a.threads):
        tsne = TSNE(
            n_components=2,
            perplexity=30.0,
            init="pca",
            learning_rate="auto",
            method=a.method,
            random_state=0,
            n_jobs=a.threads,
        )
        t0 = time.perf_counter()
        tsne.fit(x)
        seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(
        f"tsne method=sklearn-{a.method} n={x.shape[0]} seconds={seconds:.3f} "
        f"kl={tsne.kl_divergence_:.6f} peak_rss_mib={rss:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
