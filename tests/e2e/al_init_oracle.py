#!/usr/bin/python3
"""Checks the result files of an al.init = "baseline" sweep with h5py and hashlib, from the rules
in results-schema/README.md (/model/state) and sweeps/README.md ("Starting from the baseline"):
the baseline's /model/state hashes to its weights_sha256, its fc.weight is the
/model/class_vectors the result file stores separately, and every active-learning replicate
records that baseline's ID and the same digest for the weights it started from.

usage: al_init_oracle.py RESULTS_DIR EXPECTED_DEPENDENTS
"""
import hashlib
import sys
from pathlib import Path

import h5py
import numpy as np


def state_sha256(group):
    h = hashlib.sha256()
    for kind in ("parameters", "buffers"):
        for name in sorted(group[kind].keys(), key=lambda n: n.encode()):
            d = group[kind][name]
            h.update(f"{kind}/{name} {','.join(str(x) for x in d.shape)}\n".encode())
            dtype = "<f4" if d.dtype.kind == "f" else "<i8"
            h.update(np.ascontiguousarray(d[()], dtype=dtype).tobytes())
    return h.hexdigest()


def main():
    out, expected = Path(sys.argv[1]), int(sys.argv[2])
    files = {}
    for p in sorted(out.glob("*.h5")):
        if p.name == "summary.h5":
            continue
        f = h5py.File(p, "r")
        files[f.attrs["replicate_id"]] = f
    baselines = {i: f for i, f in files.items() if "baseline_id" not in f["provenance"].attrs}
    failures = []
    digests = {}
    for i, f in baselines.items():
        state = f["model/state"]
        digest = state_sha256(state)
        digests[i] = digest
        if digest != state.attrs["weights_sha256"]:
            failures.append(f"{i}: /model/state hashes to {digest}, the file says "
                            f"{state.attrs['weights_sha256']}")
        if not np.array_equal(state["parameters/fc.weight"][()], f["model/class_vectors"][()]):
            failures.append(f"{i}: /model/state fc.weight is not /model/class_vectors")
    dependents = 0
    for i, f in files.items():
        prov = f["provenance"].attrs
        if "baseline_id" not in prov:
            continue
        dependents += 1
        b = prov["baseline_id"]
        if b not in digests:
            failures.append(f"{i}: starts from {b}, which is no complete baseline here")
            continue
        if prov["baseline_weights_sha256"] != digests[b]:
            failures.append(f"{i}: started from weights {prov['baseline_weights_sha256']}, the "
                            f"baseline's final weights are {digests[b]}")
        if "model/state" in f:
            failures.append(f"{i}: an active-learning replicate stores /model/state")
    if dependents != expected:
        failures.append(f"{dependents} replicates started from a baseline, expected {expected}")
    for m in failures:
        print("FAIL:", m)
    print(f"al.init oracle: {len(baselines)} baseline(s), {dependents} dependent(s), "
          f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
