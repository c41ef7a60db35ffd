#!/usr/bin/env bash
# The analysis report end to end: a tiny real sweep (baseline, least confidence, random; 4 seeds;
# per-round metrics) -> sp-report -> a self-contained HTML page whose every <img> loads in
# headless Chromium; with summary.h5 schema version 3 the page leads with the primary table
# (one row per declared endpoint and comparison) and the exploratory secondary metrics; the tidy
# tables agree exactly with summary.h5 and the replicate files; bad input exits 2 naming the file.
#   test_report.sh SP_SWEEP [PYTHON] [CHROMIUM]
# Exit 77 (skipped) when Chromium is absent (Debian: apt-get install chromium), after every other
# check has passed.
set -euo pipefail
sp_sweep=$1
python=${2:-${SP_PYTHON:-/usr/bin/python3}}
chromium=${3:-${CHROMIUM:-}}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export PYTHONPATH="$root/analysis${PYTHONPATH:+:$PYTHONPATH}"
export SP_PYTHON="$python"
export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1}
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}
"$python" -c 'import h5py, numpy, matplotlib' 2>/dev/null || {
    echo "SKIP: $python lacks h5py, numpy or matplotlib (apt-get install python3-matplotlib)"
    exit 77
}
# shellcheck source=../support/fixture.sh
source "$root/tests/support/fixture.sh"
fail() { echo "FAIL: $*"; exit 1; }

# The sweep of tests/e2e/reduce.sh, with every round's metrics recorded.
cp "$fixtures/reduce.toml" "$tmp/an.toml"
"$sp_sweep" "$tmp/an.toml" --threads 1 --set sweep.name=analysis-e2e --set al.round_metrics=true \
    --set output.dir="$tmp/res" > "$tmp/sweep.log" 2>&1 \
    || { cat "$tmp/sweep.log"; fail "sp_sweep"; }
[[ -f $tmp/res/summary.h5 ]] || fail "no summary.h5"

# The report, through the wrapper script.
"$root/analysis/sp-report" "$tmp/res" -o "$tmp/report.html" -q || fail "sp-report exit $?"
[[ -s $tmp/report.html && ! -e $tmp/report.html.tmp ]] || fail "no report, or a .tmp left"
"$root/analysis/sp-report" "$tmp/res" -q && [[ -s $tmp/res/report.html ]] \
    || fail "default output RESULTS_DIR/report.html"
"$python" - "$tmp/report.html" "$tmp/res/summary.h5" <<'PY'
import re, sys
import h5py
text = open(sys.argv[1], encoding="utf-8").read()
with h5py.File(sys.argv[2], "r") as f:
    version = int(f.attrs["schema_version"])
    if version >= 3:
        metrics = list(f["metrics"].asstr()[()])
        role = f["comparisons/role"][()]
        primary = sorted({metrics[m] for p, m in zip(*(role == 2).nonzero())})
        traj = list(f["trajectories/metrics"].asstr()[()]) if "trajectories" in f else []
srcs = re.findall(r'<img [^>]*src="([^"]*)"', text)
assert len(srcs) == 5, f"{len(srcs)} figures, want 5 (t-SNE, cosine, metrics, AL, queried)"
assert all(s.startswith("data:image/png;base64,") for s in srcs), "an image is not a data: URI"
for bad in ("<script", "<link", "<iframe", "src=\"http", "href=\"http", "url(", "@import"):
    assert bad not in text, f"external or active content: {bad}"
want = ["least_confidence", "strategy_vs_baseline", "strategy_vs_random", "Hedges", "d_z",
        "Provenance", "git revision", "config", "[train]", "t interval"]
if version >= 3:
    # The page leads with the declared endpoints, then the exploratory ones, then the rest.
    heads = ["<h2 id=primary>Primary endpoints",
             "<h2 id=secondary>Secondary endpoints (exploratory)", "<h2 id=conditions>",
             "<h2 id=figures>", "<h2 id=summary>", "<h2 id=provenance>"]
    at = [text.find(h) for h in heads]
    assert -1 not in at and at == sorted(at), f"sections out of order: {list(zip(heads, at))}"
    lead = text[at[0]:at[1]]
    for col in ("difference [95% t]", "BCa 95%", "p (sign-flip)", "p (Holm)", "equivalence",
                "MDD (80%)", "seeds for effect"):
        assert f"<th>{col}</th>" in lead, f"primary table lacks column {col!r}"
    rows = re.findall(r"<tr><td>.*?</tr>", lead)
    assert primary and all(f"<td>{m}</td>" in lead for m in primary), (primary, "not all shown")
    assert len(rows) == int((role == 2).sum()), (len(rows), (role == 2).sum())
    assert "q (BH)" in text[at[1]:at[2]] and "<b>Exploratory</b>" in text[at[1]:at[2]]
    assert traj and "Active-learning trajectories" in text, "no trajectory figure"
    want += ["Hedges&#x27; g_z", "median [IQR]", "analysis table"]
else:
    want += ["p (t, Holm)"]
for w in want:
    assert w in text, f"report lacks {w!r}"
print(f"report (summary schema_version {version}) self-contained: {len(srcs)} embedded PNGs, "
      f"{len(text)} bytes")
PY

# Bad input: exit 2 and a message naming the file.
expect2() {  # expect2 WHAT PATTERN ARGS...
    local what=$1 pattern=$2 rc=0
    shift 2
    "$root/analysis/sp-report" "$@" > "$tmp/err.log" 2>&1 || rc=$?
    [[ $rc == 2 ]] || { cat "$tmp/err.log"; fail "$what: exit $rc, want 2"; }
    grep -qF -- "$pattern" "$tmp/err.log" || { cat "$tmp/err.log"; fail "$what: no '$pattern'"; }
}
expect2 "missing directory" "$tmp/nope: no such results directory" "$tmp/nope" -o "$tmp/x.html"
mkdir "$tmp/empty"
expect2 "empty directory" "$tmp/empty: empty" "$tmp/empty"
[[ ! -e $tmp/empty/report.html && ! -e $tmp/x.html ]] || fail "a report written for bad input"
mkdir "$tmp/v2"
cp "$tmp/res"/*.h5 "$tmp/v2/"
one=$(ls "$tmp/v2" | grep -v summary | head -n 1)
"$python" -c 'import h5py, numpy, sys
with h5py.File(sys.argv[1], "r+") as f: f.attrs["schema_version"] = numpy.int32(99)' "$tmp/v2/$one"
expect2 "schema_version 99" "$tmp/v2/$one: replicate schema_version is 99" "$tmp/v2" -o "$tmp/x.html"
[[ ! -e $tmp/x.html && ! -e $tmp/x.html.tmp ]] || fail "a report written for a bad file"

# The tidy tables against the files, value for value.
"$python" "$here/check_tables.py" "$tmp/res"

# Every <img> renders in a real browser.
if [[ -z $chromium ]]; then
    chromium=$(command -v chromium || command -v chromium-browser || true)
fi
if [[ -z $chromium || ! -x $chromium ]]; then
    echo "SKIP: chromium not found (apt-get install chromium); every other check passed"
    exit 77
fi
probe='<script>window.addEventListener("load",function(){var im=document.images,ok=0;for(var i=0;i<im.length;i++){var g=im[i].complete\&\&im[i].naturalWidth>0\&\&im[i].naturalHeight>0;im[i].setAttribute("data-loaded",g?"yes":"no");if(g)ok++;}document.body.setAttribute("data-images",im.length);document.body.setAttribute("data-images-ok",ok);});</script></body>'
sed "s#</body>#$probe#" "$tmp/report.html" > "$tmp/probe.html"
# A negative control: the same page with the first image's data broken must show one failure.
"$python" - "$tmp/probe.html" "$tmp/broken.html" <<'PY'
import sys
text = open(sys.argv[1], encoding="utf-8").read()
i = text.index("base64,") + len("base64,")
open(sys.argv[2], "w", encoding="utf-8").write(text[:i] + "AAAA" + text[i + 40:])
PY
render() {  # render HTML -> DOM on stdout
    timeout 120 "$chromium" --headless --disable-gpu --no-sandbox --no-first-run \
        --user-data-dir="$tmp/chrome-profile" --virtual-time-budget=15000 \
        --dump-dom "file://$1" 2> "$tmp/chromium.log"
}
render "$tmp/probe.html" > "$tmp/dom.html" || { tail -20 "$tmp/chromium.log"; fail "chromium"; }
render "$tmp/broken.html" > "$tmp/dom-broken.html" || { tail -20 "$tmp/chromium.log"; fail "chromium"; }
"$python" - "$tmp/dom.html" "$tmp/dom-broken.html" <<'PY'
import re, sys
def counts(path):
    dom = open(path, encoding="utf-8").read()
    m = re.search(r'<body[^>]*data-images="(\d+)"[^>]*data-images-ok="(\d+)"', dom)
    assert m, f"{path}: the probe did not run (no data-images on <body>)"
    return int(m.group(1)), int(m.group(2)), dom.count('data-loaded="yes"')
n, ok, yes = counts(sys.argv[1])
assert n == 5 and ok == n and yes == n, f"Chromium loaded {ok} of {n} images"
bn, bok, _ = counts(sys.argv[2])
assert bn == 5 and bok == 4, f"negative control: {bok} of {bn} loaded, want 4 (probe blind?)"
print(f"Chromium: {ok} of {n} images loaded (broken-image control: {bok} of {bn})")
PY
echo "analysis report e2e: report written, self-contained, rendered; tables exact"
