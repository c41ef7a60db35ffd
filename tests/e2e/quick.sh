#!/usr/bin/env bash
# The embedded default sweep (sweeps/quick.toml), exactly as `scripts/run.sh` runs it: Fashion-MNIST
# from the Debian package, baseline, least confidence and random, 3 seeds. Every replicate
# completes and learns (test accuracy >= 0.75), the AL replicates grow 2000 -> 8000 labelled
# images, every file is valid, the summary compares each strategy with baseline and random, and
# the analysis report (analysis/sp-report) is made from the output, its tables equal to the files.
#   quick.sh SP_SWEEP SP_VALIDATE
set -euo pipefail
sp_sweep=$1 sp_validate=$2
if [[ ! -d /usr/share/datasets/fashion-mnist ]]; then
    echo "dataset-fashion-mnist is not installed (scripts/setup.sh installs it)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$sp_sweep" --set output.dir="$tmp/quick" > "$tmp/log" 2>&1 || { tail -40 "$tmp/log"; exit 1; }
complete=$(grep -cE '^[0-9]+ +[0-9a-f]{16} .* complete ' "$tmp/log")
[[ $complete -eq 9 ]] || { echo "$complete of 9 replicates complete"; tail -40 "$tmp/log"; exit 1; }
awk '$0 ~ /^[0-9]+ +[0-9a-f]{16} .* complete / && $6 < 0.75 {bad = 1; print "low accuracy:", $0}
     END {exit bad}' "$tmp/log"
"$sp_validate" --quiet "$tmp/quick"/*.h5
/usr/bin/python3 - "$tmp/quick" <<'PY'
import glob, sys
import h5py
sizes = set()
for path in glob.glob(sys.argv[1] + "/*.h5"):
    with h5py.File(path, "r") as f:
        if f.attrs["file_kind"] != "replicate" or "al" not in f:
            continue
        sizes.add(tuple(f["al/labelled_size"][()]))
assert sizes == {(2000, 4000, 6000, 8000)}, sizes
PY
# Every result file says what explains a difference (issue 14): threads, ranks, CPU model, BLAS.
/usr/bin/python3 - "$tmp/quick" <<'PY'
import glob, os, sys
import h5py
files = 0
for path in glob.glob(sys.argv[1] + "/*.h5"):
    with h5py.File(path, "r") as f:
        if f.attrs["file_kind"] != "replicate":
            continue
        files += 1
        assert f.attrs["schema_version"] == 2, (path, f.attrs["schema_version"])
        p = f["provenance"].attrs
        text = lambda k: p[k].decode() if isinstance(p[k], bytes) else str(p[k])
        assert p["threads"] >= 1 and p["ranks"] >= 1, (path, p["threads"], p["ranks"])
        assert text("cpu_model") and text("cpu_model") != "cpu", (path, text("cpu_model"))
        assert text("device_name") == text("cpu_model"), (path, "a CPU run names its CPU")
        if not text("blas").startswith("BLAS_INFO="):  # else linked into LibTorch
            for blas in text("blas").split("; "):
                name = os.path.basename(blas)
                assert os.path.isfile(blas) and any(b in name for b in ("blas", "mkl", "blis")), (path, blas)
        for key in ("cpu_capability", "compiler", "compiler_flags", "libtorch_version"):
            assert text(key), (path, key)
        assert "CUBLAS_WORKSPACE_CONFIG=" in text("environment"), (path, text("environment"))
assert files == 9, files
PY
grep -q 'vs  al.strategy="random"' "$tmp/quick/summary.md"
grep -q 'vs  al.strategy="baseline"' "$tmp/quick/summary.md"
grep -E '^[0-9]+ +[0-9a-f]{16} ' "$tmp/log"
# The analysis on the quick sweep's output: the report, and tidy tables equal to the files.
here=$(cd "$(dirname "$0")/../.." && pwd)
if /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    "$here/analysis/sp-report" "$tmp/quick" -o "$tmp/report.html" -q
    [[ -s $tmp/report.html ]] || { echo "no report"; exit 1; }
    PYTHONPATH="$here/analysis" /usr/bin/python3 "$here/tests/analysis/check_tables.py" "$tmp/quick"
    set +e
    "$here/tests/analysis/render_check.sh" "$tmp/report.html"
    rc=$?
    set -e
    [[ $rc -eq 0 || $rc -eq 77 ]] || { echo "the quick sweep's report does not render"; exit 1; }
fi
echo "quick sweep: 9 replicates complete, AL 2000 -> 8000, summary and report written"
