#!/usr/bin/python3
"""Oracle for sp's superposition measures (tests/oracle/test_superposition.cpp).

usage: superposition_oracle.py JOB [:: JOB ...]
JOB:   measures X.bin LABELS.bin N D CLASSES FRACTION
       dimensionality W.bin FEATURES D
X.bin: N x D little-endian float32, row-major; LABELS.bin: N little-endian int64; W.bin: FEATURES x
D float32. Everything is computed in float64 from the float32 values, straight from the formulas
in results-schema/measures.md, with NumPy's own routines where one exists (np.cov(bias=True),
np.linalg.eigvalsh, np.linalg.eigh, np.linalg.pinv). Prints one line per value: `JOBINDEX:name v1 v2 ...` (jobs numbered from 0),
floats in repr (round-trip) form, `nan` for undefined values. Several jobs share one interpreter.
"""
import os
import sys

# One BLAS thread: the matrices are small, and OpenBLAS's spinning threads make eigvalsh on a
# loaded 2-core machine take half a second. Must be set before NumPy loads OpenBLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

PINV_RTOL = 1e-12


JOB = 0


def emit(name, values):
    print(f"{JOB}:{name}", " ".join(repr(float(v)) for v in np.atleast_1d(values)))


def measures(xp, lp, n, d, classes, fraction):
    x = np.fromfile(xp, dtype="<f4").reshape(n, d).astype(np.float64)
    lab = np.fromfile(lp, dtype="<i8")
    assert lab.shape == (n,)
    present = [c for c in range(classes) if np.any(lab == c)]
    k = len(present)
    emit("classes_present", [k])

    # Effective dimensionality.
    cov = np.atleast_2d(np.cov(x, rowvar=False, bias=True))
    tr = np.trace(cov)
    emit("participation_ratio", [tr * tr / np.sum(cov * cov) if tr > 0 else 0.0])
    emit("covariance_spectrum", np.linalg.eigvalsh(cov)[::-1])

    # Neural collapse (Papyan et al. 2020): Sigma_W averaged over all rows, Sigma_B over classes.
    mu_g = x.mean(axis=0)
    means = np.array([x[lab == c].mean(axis=0) for c in present])
    sw = np.zeros((d, d))
    for i, c in enumerate(present):
        z = x[lab == c] - means[i]
        sw += z.T @ z
    sw /= n
    delta = means - mu_g
    sb = delta.T @ delta / k
    if k >= 2 and np.trace(sb) > 0:
        emit("within_between_ratio", [np.trace(sw) / np.trace(sb)])
        lam, vec = np.linalg.eigh(sb)
        lam, vec = lam[::-1], vec[:, ::-1]
        keep = min(k - 1, d)
        sel = [i for i in range(keep) if lam[i] > PINV_RTOL * lam[0]]
        pinv = vec[:, sel] @ np.diag(1.0 / lam[sel]) @ vec[:, sel].T
        emit("nc1", [np.trace(sw @ pinv) / k])
        # The same with NumPy's pseudo-inverse (a cutoff well inside the spectral gap).
        emit("nc1_pinv", [np.trace(sw @ np.linalg.pinv(sb, rcond=1e-10, hermitian=True)) / k])
    else:
        emit("within_between_ratio", [np.nan])
        emit("nc1", [np.nan])
        emit("nc1_pinv", [np.nan])

    # Selectivity (Morcos et al. 2018) and responsive classes, unit by unit.
    sel = np.full(d, np.nan)
    cls = np.zeros(d, dtype=np.int64)
    live = np.zeros(d, dtype=bool)
    for j in range(d):
        col = means[:, j]
        best = int(np.argmax(col))  # first maximal class
        mu_max = col[best]
        if not mu_max > 0:
            continue
        live[j] = True
        cls[j] = int(np.sum((col > 0) & (col >= fraction * mu_max)))
        if k >= 2:
            mu_rest = np.delete(col, best).mean()
            sel[j] = (mu_max - mu_rest) / (abs(mu_max) + abs(mu_rest))
    emit("unit_selectivity", sel)
    emit("unit_classes", cls)
    emit("dead_units", [d - int(live.sum())])
    emit("selectivity_mean", [sel[live].mean() if live.any() and k >= 2 else np.nan])
    emit("classes_per_unit_mean", [cls[live].mean() if live.any() else np.nan])


def dimensionality(wp, features, d):
    w = np.fromfile(wp, dtype="<f4").reshape(features, d).astype(np.float64)
    norm = np.linalg.norm(w, axis=1)
    per = np.zeros(features)
    for i in range(features):
        if norm[i] > 0:
            per[i] = norm[i] ** 2 / np.sum((w @ (w[i] / norm[i])) ** 2)
    emit("per_feature", per)
    emit("total", [per.sum()])
    frob = np.sum(w * w)
    emit("dimensions_per_feature", [d / frob if frob > 0 else np.nan])


def run(job):
    if job[0] == "measures":
        measures(job[1], job[2], int(job[3]), int(job[4]), int(job[5]), float(job[6]))
    elif job[0] == "dimensionality":
        dimensionality(job[1], int(job[2]), int(job[3]))
    else:
        sys.exit("unknown job " + job[0])


def main():
    global JOB
    job = []
    for arg in sys.argv[1:] + ["::"]:
        if arg != "::":
            job.append(arg)
            continue
        run(job)
        JOB += 1
        job = []

if __name__ == "__main__":
    main()
