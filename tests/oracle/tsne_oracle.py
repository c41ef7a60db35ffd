"""Oracle for sp's t-SNE (metrics/tsne): scikit-learn 1.2's TSNE and its affinity code.

usage: tsne_oracle.py MODE IN OUT, all integers int64, all arrays row-major, little-endian.

knn: IN  n, d, k, x f32[n*d], perplexity f64, knn_index i64[n*k], knn_sqdist f32[n*k]
     OUT sklearn's k nearest squared euclidean distances, ascending, f64[n*k];
         P from sklearn.manifold._t_sne._joint_probabilities_nn on sp's kNN graph, dense
         f64[n*n]
fit: IN  n, d, x f32[n*d], labels i64[n]
     OUT f64: kl_divergence_ of TSNE(perplexity=30, init='pca', learning_rate='auto',
         random_state=0) with method='barnes_hut' and 'exact', then the silhouette of each map
kl:  IN  n, nnz, row_offsets i64[n+1], columns i64[nnz], values f64[nnz], y f32[n*2],
         labels i64[n]
     OUT f64: KL(P || Q) of map y (Q over all pairs i != j, as Student-t with 1 degree of
         freedom), silhouette_score(y, labels)
sklp: IN  n, d, x f32[n*d], perplexity f64
      OUT f64: the neighbour count TSNE.fit uses (nnz / n of the kNN graph it hands to
          _joint_probabilities_nn), then that function's P, dense f64[n*n]: scikit-learn's own
          pipeline (its kNN search included), stopped before the optimisation
stop: IN  n, d, x f32[n*d], perplexity f64, cases, then per case min_grad_norm f64 and
          n_iter_without_progress i64
      OUT f64 per case: n_iter_ of TSNE(perplexity, init='pca', learning_rate='auto',
          random_state=0, n_jobs=1) with those two parameters (barnes_hut, n_iter 1000)
"""
import sys

import numpy as np


class Reader:
    def __init__(self, path):
        self.raw = open(path, "rb").read()
        self.pos = 0

    def take(self, dtype, count):
        out = np.frombuffer(self.raw, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out

    def int(self):
        return int(self.take(np.int64, 1)[0])


def knn(r):
    from scipy.sparse import csr_matrix
    from sklearn.manifold._t_sne import _joint_probabilities_nn
    from sklearn.neighbors import NearestNeighbors

    n, d, k = r.int(), r.int(), r.int()
    x = r.take(np.float32, n * d).reshape(n, d)
    perplexity = float(r.take(np.float64, 1)[0])
    index = r.take(np.int64, n * k).reshape(n, k)
    sqdist = r.take(np.float32, n * k).reshape(n, k)
    # Exact distances for the reference: float64 input, brute force.
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(x.astype(np.float64))
    dist, _ = nn.kneighbors(None)
    ref = np.sort(dist**2, axis=1)
    graph = csr_matrix(
        (sqdist.ravel().astype(np.float64), index.ravel(), np.arange(0, n * k + 1, k)),
        shape=(n, n),
    )
    p = _joint_probabilities_nn(graph, perplexity, 0)
    return [ref.ravel(), p.toarray().ravel()]


def silhouette(y, labels):
    from sklearn.metrics import silhouette_score

    return silhouette_score(np.asarray(y, dtype=np.float64), labels)


def fit(r):
    from sklearn.manifold import TSNE

    n, d = r.int(), r.int()
    x = r.take(np.float32, n * d).reshape(n, d)
    labels = r.take(np.int64, n)
    kls, sils = [], []
    for method in ("barnes_hut", "exact"):
        t = TSNE(
            n_components=2,
            perplexity=30.0,
            init="pca",
            learning_rate="auto",
            method=method,
            random_state=0,
        )
        y = t.fit_transform(x)
        kls.append(t.kl_divergence_)
        sils.append(silhouette(y, labels))
    return [np.array(kls + sils)]


def kl(r):
    n, nnz = r.int(), r.int()
    offsets = r.take(np.int64, n + 1)
    columns = r.take(np.int64, nnz)
    values = r.take(np.float64, nnz)
    y = r.take(np.float32, n * 2).reshape(n, 2).astype(np.float64)
    labels = r.take(np.int64, n)
    w = 1.0 / (1.0 + ((y[:, None, :] - y[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(w, 0.0)
    q = w / w.sum()
    rows = np.repeat(np.arange(n), np.diff(offsets))
    p = values
    keep = p > 0
    value = np.sum(p[keep] * np.log(p[keep] / q[rows[keep], columns[keep]]))
    return [np.array([value, silhouette(y, labels)])]


class _Captured(Exception):
    pass


def sklp(r):
    import sklearn.manifold._t_sne as t_sne
    from sklearn.manifold import TSNE

    n, d = r.int(), r.int()
    x = r.take(np.float32, n * d).reshape(n, d)
    perplexity = float(r.take(np.float64, 1)[0])
    original = t_sne._joint_probabilities_nn
    seen = {}

    def capture(distances, desired_perplexity, verbose):
        seen["k"] = distances.nnz // distances.shape[0]
        seen["p"] = original(distances, desired_perplexity, verbose)
        raise _Captured()

    t_sne._joint_probabilities_nn = capture
    try:
        TSNE(perplexity=perplexity, init="pca", learning_rate="auto", random_state=0).fit(x)
    except _Captured:
        pass
    finally:
        t_sne._joint_probabilities_nn = original
    return [np.array([float(seen["k"])]), seen["p"].toarray().ravel()]


def stop(r):
    from sklearn.manifold import TSNE

    n, d = r.int(), r.int()
    x = r.take(np.float32, n * d).reshape(n, d)
    perplexity = float(r.take(np.float64, 1)[0])
    out = []
    for _ in range(r.int()):
        min_grad_norm = float(r.take(np.float64, 1)[0])
        patience = r.int()
        t = TSNE(
            perplexity=perplexity,
            init="pca",
            learning_rate="auto",
            random_state=0,
            n_jobs=1,
            min_grad_norm=min_grad_norm,
            n_iter_without_progress=patience,
        ).fit(x)
        out.append(float(t.n_iter_))
    return [np.array(out)]


def main():
    mode, src, dst = sys.argv[1:4]
    modes = {"knn": knn, "fit": fit, "kl": kl, "sklp": sklp, "stop": stop}
    out = modes[mode](Reader(src))
    np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in out]).tofile(dst)


if __name__ == "__main__":
    main()
