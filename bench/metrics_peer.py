"""The peer of sp_bench_metrics: scikit-learn 1.2 and NumPy (with OpenBLAS) on the same file.

usage: metrics_peer.py FILE --metric NAME [--threads T]
Prints: peer METRIC n=N seconds=S value=V peak_rss_mib=M
"""
import argparse
import os
import resource
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--metric", required=True,
                    choices=["silhouette_euclidean", "silhouette_cosine", "cosine_histogram",
                             "davies_bouldin"])
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    import h5py
    import numpy as np
    from sklearn.metrics import davies_bouldin_score, silhouette_score
    from threadpoolctl import threadpool_limits

    with h5py.File(a.file, "r") as f:
        x = f["embeddings"][()]
        y = f["labels"][()]
    with threadpool_limits(a.threads):
        t0 = time.perf_counter()
        if a.metric == "silhouette_euclidean":
            value = silhouette_score(x, y, metric="euclidean")
        elif a.metric == "silhouette_cosine":
            value = silhouette_score(x, y, metric="cosine")
        elif a.metric == "davies_bouldin":
            value = davies_bouldin_score(x, y)
        else:
            # The cosine histogram as one would write it in NumPy: unit rows, the Gram matrix,
            # the unique pairs, numpy.histogram.
            u = x.astype(np.float64)
            norms = np.linalg.norm(u, axis=1, keepdims=True)
            u = u / np.where(norms == 0, 1, norms)
            c = np.clip(u @ u.T, -1, 1)
            iu = np.triu_indices(len(u), k=1)
            vals = c[iu]
            np.histogram(vals, bins=50, range=(-1, 1))
            value = vals.mean()
        seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peer {a.metric} n={len(x)} seconds={seconds:.4f} value={value:.12g} "
          f"peak_rss_mib={rss:.0f}")


if __name__ == "__main__":
    sys.exit(main())
