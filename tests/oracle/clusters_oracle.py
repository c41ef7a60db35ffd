"""Oracle for sp's cluster metrics: scikit-learn's silhouette and Davies-Bouldin scores.

usage: clusters_oracle.py IN OUT
IN:  int64 n, int64 d, float32 x[n*d] (row-major), int64 labels[n]
OUT: float64 silhouette_score euclidean, cosine, davies_bouldin_score,
     silhouette_samples euclidean[n], cosine[n]
"""
import sys

import numpy as np
from sklearn.metrics import davies_bouldin_score, silhouette_samples, silhouette_score

raw = open(sys.argv[1], "rb").read()
n, d = np.frombuffer(raw[:16], dtype=np.int64)
x = np.frombuffer(raw[16 : 16 + 4 * n * d], dtype=np.float32).reshape(n, d).astype(np.float64)
labels = np.frombuffer(raw[16 + 4 * n * d :], dtype=np.int64)
assert labels.shape == (n,)
out = [
    np.array(
        [
            silhouette_score(x, labels, metric="euclidean"),
            silhouette_score(x, labels, metric="cosine"),
            davies_bouldin_score(x, labels),
        ]
    ),
    silhouette_samples(x, labels, metric="euclidean"),
    silhouette_samples(x, labels, metric="cosine"),
]
np.concatenate(out).astype(np.float64).tofile(sys.argv[2])
