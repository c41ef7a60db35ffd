#!/usr/bin/env bash
# The sweep record (issue 14): a small sweep run with --set overrides writes
# <output.dir>/sweeps/*.toml; with one replicate file deleted and one marked failed, sp_reduce
# lists them as missing and failed, and the others as complete with the sp version and revision of their files, and
# summary.h5 keeps the sweep file's text, the command line and the overrides. A directory
# without a record still reduces and says "no sweep record".
#   sweep_record.sh SP_SWEEP SP_REDUCE SP_VALIDATE [PYTHON]
set -euo pipefail
sp_sweep=$1 sp_reduce=$2 sp_validate=$3
python=${4:-/usr/bin/python3}
# shellcheck source=../support/fixture.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/fixture.sh"
cp "$fixtures/reduce.toml" "$tmp/red.toml"
out="$tmp/out dir" # a space: the command line is recorded shell-quoted
"$sp_sweep" "$tmp/red.toml" --threads 1 --set sweep.seeds=2 --set train.batch_size=15 \
    --set output.dir="$out" > "$tmp/sweep.log" 2>&1 \
    || { echo "sweep failed"; cat "$tmp/sweep.log"; exit 1; }
records=("$out"/sweeps/*.toml)
[[ ${#records[@]} == 1 && -f ${records[0]} ]] || { echo "no single sweep record"; ls -R "$out"; exit 1; }
[[ -z $(ls "${records[0]}".tmp* 2>/dev/null) ]] || { echo "a temporary record was left behind"; exit 1; }
# The replicate of strategy random, seed 1, by its coordinates in the dry-run plan.
deleted=$("$sp_sweep" "$tmp/red.toml" --threads 1 --set sweep.seeds=2 --set train.batch_size=15 \
    --set output.dir="$out" --dry-run --format tsv \
    | awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
                  $col["strategy"] == "random" && $col["seed"] == 1 { print $col["id"] }')
[[ -n $deleted && -f "$out/$deleted.h5" ]] || { echo "no result file for random, seed 1"; exit 1; }
rm "$out/$deleted.h5"
# And one marked failed, as a replicate that threw leaves its file (status, error).
failed=$("$python" - "$out" <<'PY'
import glob, sys
import h5py
path = sorted(p for p in glob.glob(sys.argv[1] + "/*.h5") if not p.endswith("summary.h5"))[0]
with h5py.File(path, "r+") as f:
    f.attrs["status"] = "failed"
    f.attrs["error"] = "injected by the test"
    print(f.attrs["replicate_id"])
PY
)
"$sp_reduce" "$out" --quiet
"$sp_validate" "$out/summary.h5"
grep -q "4 complete, 1 failed, 1 missing" "$out/summary.md" && grep -q "missing: $deleted" "$out/summary.md" \
    && grep -q "failed: $failed" "$out/summary.md" \
    || { echo "summary.md does not list $deleted as missing"; cat "$out/summary.md"; exit 1; }
grep -qF -- "--set 'output.dir=$out'" "$out/summary.md" \
    || { echo "summary.md lacks the command line"; cat "$out/summary.md"; exit 1; }
"$python" - "$out" "$tmp/red.toml" "$deleted" "$failed" "$sp_sweep" <<'PY'
import glob, os, sys
import h5py
out, sweep_file, deleted, failed, sp_sweep = sys.argv[1:]
files = {}
for path in glob.glob(out + "/*.h5"):
    with h5py.File(path, "r") as f:
        if f.attrs.get("file_kind") == "replicate":
            files[f.attrs["replicate_id"]] = (f.attrs["sp_version"], f.attrs["git_revision"])
assert len(files) == 5 and deleted not in files, (len(files), deleted)
with h5py.File(out + "/summary.h5", "r") as s:
    assert int(s.attrs["sweep_records"]) == 1
    sw = {k: s["sweeps/" + k].asstr()[()] for k in
          ("sweep_name", "sweep_file", "sweep_toml", "command_line", "overrides", "record_file")}
    offsets = list(s["sweeps/override_offsets"][()])
    seed = s["sweeps/sweep_seed"][()]
    planned = {k: list(s["planned/" + k].asstr()[()]) for k in
               ("replicate_id", "status", "sp_version", "git_revision", "coordinates")}
    rows = list(s["planned/sweep"][()])
assert list(sw["sweep_name"]) == ["reduce-e2e"] and list(seed) == [9], (sw["sweep_name"], seed)
assert sw["sweep_file"][0] == sweep_file, sw["sweep_file"]
assert sw["sweep_toml"][0] == open(sweep_file).read(), "sweep text differs from the file"
assert os.path.isfile(os.path.join(out, sw["record_file"][0])), sw["record_file"]
want = ["sweep.seeds=2", "train.batch_size=15", "output.dir=" + out]
assert offsets == [0, 3] and list(sw["overrides"]) == want, (offsets, list(sw["overrides"]))
assert sw["command_line"][0] == (f"{sp_sweep} {sweep_file} --threads 1 --set sweep.seeds=2 "
                                 f"--set train.batch_size=15 --set 'output.dir={out}'"), sw["command_line"][0]
assert rows == [0] * 6, rows
assert sorted(planned["replicate_id"]) == sorted(list(files) + [deleted]), planned["replicate_id"]
for i, rid in enumerate(planned["replicate_id"]):
    if rid == deleted:
        assert planned["status"][i] == "missing", planned["status"][i]
        assert planned["sp_version"][i] == "" and planned["git_revision"][i] == ""
        assert "al.strategy=random" in planned["coordinates"][i], planned["coordinates"][i]
    else:
        want_status = "failed" if rid == failed else "complete"
        assert planned["status"][i] == want_status, (rid, planned["status"][i])
        assert (planned["sp_version"][i], planned["git_revision"][i]) == files[rid], rid
print("sweep record: text, command line, overrides; 4 complete, 1 failed, 1 missing")
PY
# Files copied without their record: still reduced, and summary.md says so.
mkdir "$tmp/copied"
cp "$out"/*.h5 "$tmp/copied/"
rm "$tmp/copied/summary.h5"
"$sp_reduce" "$tmp/copied" --quiet
"$sp_validate" "$tmp/copied/summary.h5"
grep -q "no sweep record" "$tmp/copied/summary.md" \
    || { echo "summary.md does not say there is no sweep record"; cat "$tmp/copied/summary.md"; exit 1; }
"$python" - "$tmp/copied/summary.h5" <<'PY'
import sys
import h5py
with h5py.File(sys.argv[1], "r") as s:
    assert int(s.attrs["sweep_records"]) == 0 and "sweeps" not in s and "planned" not in s
    assert int(s.attrs["replicates"]) == 4
PY
echo "sweep record e2e: planned replicates complete and missing, the command line and overrides kept"
