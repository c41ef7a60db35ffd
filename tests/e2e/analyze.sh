#!/usr/bin/env bash
# sp_analyze end to end on embeddings made elsewhere (h5py), as results-schema/README.md shows:
# the metrics land in /metrics, agree with scikit-learn, and bad input exits 2 leaving the file
# untouched and no .tmp behind.
#   analyze.sh SP_ANALYZE [PYTHON]
set -euo pipefail
sp_analyze=$1
python=${2:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$python" - <<'PY'
import h5py, numpy as np
rng = np.random.default_rng(0)
centres = rng.normal(size=(4, 24)) * 3
y = rng.integers(0, 4, size=240)
x = (centres[y] + rng.normal(size=(240, 24))).astype(np.float32)
with h5py.File("foreign.h5", "w") as f:
    f["eval/embeddings"] = x
    f["eval/labels"] = y.astype(np.int64)
with h5py.File("no_labels.h5", "w") as f:
    f["eval/embeddings"] = x
with h5py.File("bad_label.h5", "w") as f:
    f["eval/embeddings"] = x
    f["eval/labels"] = np.where(np.arange(240) == 7, -3, y).astype(np.int64)
PY
"$sp_analyze" foreign.h5 --threads 2 --set metrics.tsne.perplexity=10 --quiet
"$sp_analyze" foreign.h5 --output copy.h5 --set metrics.tsne.enabled=false --quiet
"$python" - <<'PY'
import h5py, numpy as np
from sklearn.metrics import davies_bouldin_score, silhouette_score
with h5py.File("foreign.h5", "r") as f:
    x = f["eval/embeddings"][()].astype(np.float64)
    y = f["eval/labels"][()]
    s = dict(f["metrics/scalars"].attrs)
    tsne = f["metrics/tsne/embedding"][()]
    assert tsne.shape == (240, 2), tsne.shape
    assert abs(s["silhouette_euclidean_tsne"] - silhouette_score(tsne.astype(np.float64), y)) < 1e-5
    assert len(f["metrics/undefined"].attrs) == 0, dict(f["metrics/undefined"].attrs)
assert abs(s["silhouette_euclidean_raw"] - silhouette_score(x, y)) < 1e-6, s
assert abs(s["silhouette_cosine_raw"] - silhouette_score(x, y, metric="cosine")) < 1e-9, s
assert abs(s["davies_bouldin_raw"] - davies_bouldin_score(x, y)) < 1e-9, s
with h5py.File("copy.h5", "r") as f:
    u = dict(f["metrics/undefined"].attrs)
    assert "tsne" not in f["metrics"], list(f["metrics"])
    assert np.isnan(f["metrics/scalars"].attrs["silhouette_cosine_tsne"])
    assert "enabled is false" in u["silhouette_cosine_tsne"], u
PY
# metrics.tsne.init: with PCA initialisation the map does not depend on the t-SNE seed; with
# random initialisation it does, and the same seed gives the same map (analysis/tsne-sensitivity).
for run in "pca 1" "pca 2" "random 1" "random 2" "random 1"; do
    set -- $run
    "$sp_analyze" foreign.h5 --output "init-$1-$2.h5" --set metrics.tsne.init="$1" \
        --set metrics.tsne.seed="$2" --set metrics.tsne.perplexity=10 --quiet
done
"$python" - <<'PY'
import h5py, numpy as np
def m(name):
    with h5py.File(name, "r") as f:
        return f["metrics/tsne/embedding"][()]
assert np.array_equal(m("init-pca-1.h5"), m("init-pca-2.h5")), "PCA maps differ between seeds"
assert not np.array_equal(m("init-random-1.h5"), m("init-random-2.h5")), "random init ignores the seed"
assert not np.array_equal(m("init-random-1.h5"), m("init-pca-1.h5")), "random init gave the PCA map"
PY
# A replicate-like file with an extra layer (model.extra_layers in its resolved configuration):
# sp_analyze rewrites /metrics whole, so the layer's cosine statistics must be recomputed too.
"$python" - <<'PY'
import h5py, numpy as np
rng = np.random.default_rng(1)
with h5py.File("foreign.h5", "r") as f:
    x, y = f["eval/embeddings"][()], f["eval/labels"][()]
z = rng.normal(size=(240, 12)).astype(np.float32) + 0.5
with h5py.File("extra.h5", "w") as f:
    f["eval/embeddings"] = x
    f["eval/labels"] = y
    f["eval/extra/layer4.1.conv2:flatten"] = z
    f.create_group("provenance").attrs["config_toml"] = (
        '[model]\nextra_layers = ["layer4.1.conv2:flatten"]\n')
PY
"$sp_analyze" extra.h5 --set metrics.tsne.enabled=false --quiet
"$python" - <<'PY'
import h5py, numpy as np
with h5py.File("extra.h5", "r") as f:
    z = f["eval/extra/layer4.1.conv2:flatten"][()].astype(np.float64)
    s = dict(f["metrics/scalars"].attrs)
    assert "layer4.1.conv2:flatten" in f["metrics/features"], list(f["metrics"])
u = z / np.linalg.norm(z, axis=1, keepdims=True)
c = u @ u.T
pairs = c[np.triu_indices(len(z), 1)]
got = s["layer4_1_conv2_flatten_cosine_all_mean"]
assert abs(got - pairs.mean()) < 1e-6, (got, pairs.mean())
PY
for bad in no_labels.h5 bad_label.h5; do
    before=$(sha256sum "$bad")
    set +e
    "$sp_analyze" "$bad" 2> err.txt
    rc=$?
    set -e
    [[ $rc -eq 2 ]] || { echo "$bad: exit $rc, expected 2"; cat err.txt; exit 1; }
    grep -q "$bad" err.txt || { echo "$bad: the error does not name the file"; cat err.txt; exit 1; }
    [[ $(sha256sum "$bad") == "$before" ]] || { echo "$bad was modified"; exit 1; }
done
[[ -z $(ls ./*.tmp ./*.tmp.* 2>/dev/null) ]] || { echo "left a temporary behind"; exit 1; }
echo "sp_analyze e2e: metrics agree with scikit-learn; bad input exits 2 and changes nothing"
