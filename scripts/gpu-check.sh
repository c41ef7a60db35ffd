#!/usr/bin/env bash
# The one-shot GPU check of sp (issue 19), for a machine with an NVIDIA GPU, a CUDA toolkit,
# CMake/ninja and a Python with a CUDA PyTorch, but none of sp's other dependencies: those come
# from the private prefix made by scripts/gpu-prefix.sh (.gpu-prefix/, carried with the tree).
#
#   scripts/gpu-check.sh [OUTDIR] [--dry-run] [--skip-build] [--build-dir DIR] [--budget SECONDS]
#                        [--only STAGE,STAGE...]
#
# OUTDIR defaults to $OUT, else ./gpu-check-out. Writes OUTDIR/gpu-check.log (everything) and
# OUTDIR/gpu-check.json (one entry per stage: status, seconds, numbers). Stages, each timed:
#   env        GPU model, driver, CUDA/cuDNN of PyTorch, cores
#   build      Release, the cluster preset against the wheel's LibTorch and the prefix; only
#              the programs the next stages need
#   paper      a paper-shaped CIFAR-10 baseline on synthetic data: 50,000 + 10,000 images
#              32x32x3, ResNet18 ImageNet stem, Adam, batch 128, fp16, 20 epochs, then the
#              metrics on the 10,000 embeddings (goal: training under 15 s on an H100-class GPU)
#   identity   one replicate twice with train.deterministic = true (identical embeddings?) and
#              twice with false (what differs)
#   scaler     sp::GradScaler against torch.amp.GradScaler on the same fp16 steps
#   ranks      replicates per minute with 1, 2, 4, 8 ranks sharing the GPU (--ranks-per-gpu)
#   gpu_tests  ctest -L gpu: replicates and an active-learning replicate on cuda:0 (tests/gpu)
#   unit       the rest of the build, then ctest -L unit with the GPU hidden (the CPU path of
#              the CUDA build); last, as it needs the whole build
#   provenance GPU model and CUDA/cuDNN/driver as recorded in a CUDA result file
# A stage that could end past the budget (default 470 s of the 8 minutes) is skipped, as is one
# not named by --only; a second call with --skip-build --only ... runs what the first skipped
# (a warm GPU machine keeps build/cluster between calls).
# --dry-run runs everything on the CPU at toy sizes (no GPU needed): a check of this script.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${OUT:-$PWD/gpu-check-out}"
dry=0
skip_build=0
build_dir="$root/build/cluster"
budget=470
only=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --dry-run) dry=1 ;;
        --skip-build) skip_build=1 ;;
        --build-dir) build_dir="$2"; shift ;;
        --budget) budget="$2"; shift ;;
        --only) only=",$2,"; shift ;;
        -h | --help) sed -n '2,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "gpu-check: unknown option $1" >&2; exit 2 ;;
        *) out="$1" ;;
    esac
    shift
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"
log="$out/gpu-check.log"
results="$out/.stages.tsv" # stage \t status \t seconds \t json-object of numbers
work="$(mktemp -d "${TMPDIR:-/tmp}/sp-gpu-check.XXXXXX")"
: >"$results"
exec > >(tee -a "$log") 2>&1
start=$(date +%s)
PY="${SP_GPU_PYTHON:-python3}"
cores=$(nproc)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

say() { echo "[gpu-check $(($(date +%s) - start))s] $*"; }
elapsed() { echo $(($(date +%s) - start)); }

# record STAGE STATUS SECONDS [JSON-OBJECT]
record() {
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-{\}}" >>"$results"
    say "stage $1: $2 (${3}s)"
}

# The JSON report from the stage lines: written after every stage, so a run cut short leaves one.
write_json() {
    "$PY" - "$results" "$out/gpu-check.json" "$dry" <<'EOF'
import json, sys
stages = {}
for line in open(sys.argv[1]):
    name, status, seconds, extra = line.rstrip("\n").split("\t", 3)
    try:
        numbers = json.loads(extra)
    except ValueError:
        numbers = {"unparsed": extra}
    stages[name] = {**numbers, "status": status, "seconds": float(seconds)}
report = {"dry_run": sys.argv[3] == "1", "stages": stages,
          "passed": all(s["status"] in ("ok", "skipped") for s in stages.values())}
with open(sys.argv[2], "w") as f:
    json.dump(report, f, indent=1, sort_keys=True)
    f.write("\n")
EOF
}

# stage NAME MAX_SECONDS: true when NAME may start (enough budget left), else records "skipped".
stage() {
    if [[ -n "$only" && "$only" != *",$1,"* ]]; then
        record "$1" skipped 0 '{"why": "not in --only"}'
        write_json
        return 1
    fi
    local left=$((budget - $(elapsed)))
    if [[ "$left" -lt "$2" ]]; then
        record "$1" skipped 0 "{\"why\": \"budget: ${left}s left, the stage needs up to ${2}s\"}"
        write_json
        return 1
    fi
    say "== $1 (up to $2 s)"
    return 0
}

# h5 FILE PYTHON-EXPRESSION-OVER-f: evaluates with h5py (present beside PyTorch).
h5() {
    "$PY" -c "import h5py, json, numpy as np, sys; f = h5py.File(sys.argv[1], 'r'); print($2)" "$1"
}

say "sp gpu-check: out=$out work=$work dry=$dry cores=$cores budget=${budget}s"
[[ $dry -eq 1 ]] && device=cpu || device=cuda

# ---- env ---------------------------------------------------------------------------------------
t0=$(elapsed)
gpu="none"
driver=""
if command -v nvidia-smi >/dev/null; then
    nvidia-smi || true
    gpu="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
    driver="$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)"
fi
torch_facts="$("$PY" -c '
import json, torch
c = torch.cuda.is_available()
print(json.dumps({"torch": torch.__version__, "torch_cuda": torch.version.cuda,
  "torch_cudnn": torch.backends.cudnn.version() if c else None, "cuda_available": c,
  "cmake_prefix": torch.utils.cmake_prefix_path}))' 2>/dev/null || echo '{}')"
say "PyTorch: $torch_facts"
record env ok $(($(elapsed) - t0)) "{\"gpu\": \"$gpu\", \"driver\": \"$driver\", \"cores\": $cores, \"pytorch\": $torch_facts}"
write_json
if [[ $dry -eq 0 && "$gpu" == "none" ]]; then
    say "no nvidia-smi: not a GPU machine (use --dry-run to check this script on a CPU)"
fi

# ---- prefix and build ----------------------------------------------------------------------------
if [[ -f "$root/.gpu-prefix/env.sh" ]]; then
    # shellcheck source=/dev/null
    source "$root/.gpu-prefix/env.sh"
    export OMPI_MCA_rmaps_base_oversubscribe=1
    say "dependencies from the prefix $SP_DEPS_PREFIX"
else
    say "no .gpu-prefix/env.sh: using the system's packages (scripts/gpu-prefix.sh makes one)"
fi
if [[ -z "${SP_TORCH_PREFIX:-}" ]]; then
    SP_TORCH_PREFIX="$("$PY" -c 'import torch;print(torch.utils.cmake_prefix_path)')"
fi
export SP_TORCH_PREFIX
torch_minor="$("$PY" -c 'import torch;v=torch.__version__.split(".");print(int(v[0])*100+int(v[1]))' 2>/dev/null || echo 0)"
apps="$build_dir/src/apps"

if [[ $skip_build -eq 1 ]]; then
    record build skipped 0 '{"why": "--skip-build"}'
elif stage build 300; then
    t0=$(elapsed)
    extra=()
    # LibTorch 2.13 and later refuse C++17 (#error in ATen.h): sp is then compiled as C++20.
    [[ "$torch_minor" -ge 213 ]] && extra+=(-DCMAKE_CXX_STANDARD=20)
    if [[ -x /usr/local/cuda/bin/nvcc ]]; then
        export CUDACXX=/usr/local/cuda/bin/nvcc CUDA_HOME=/usr/local/cuda
        export PATH="/usr/local/cuda/bin:$PATH"
    fi
    # LibTorch's CMake files otherwise probe the GPU for its architecture list.
    export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
    if cmake --preset cluster -B "$build_dir" -DSP_BUILD_BENCH=OFF "${extra[@]}" >"$work/configure.log" 2>&1 &&
        targets=(sp_sweep sp_validate)
        for t in test_cuda_replicate sp_scaler_compare; do
            ninja -C "$build_dir" -t targets all 2>/dev/null | grep -q "^$t:" && targets+=("$t")
        done
        cmake --build "$build_dir" -j "$cores" --target "${targets[@]}" >"$work/build.log" 2>&1; then
        record build ok $(($(elapsed) - t0)) "{\"torch_prefix\": \"$SP_TORCH_PREFIX\", \"targets\": \"${targets[*]}\", \"cxx_standard\": \"${extra[*]:-17}\"}"
    else
        tail -60 "$work/configure.log" "$work/build.log"
        record build failed $(($(elapsed) - t0))
        write_json
        say "the build failed: nothing else can run"
        exit 1
    fi
    ldd "$apps/sp_sweep" | grep -E 'torch|c10|cuda|hdf5|mpi|toml|turbojpeg|libz' || true
fi
write_json

# ---- sweeps --------------------------------------------------------------------------------------
# sweep_file PATH NAME TRAIN EVAL EPOCHS PRECISION DETERMINISTIC SEEDS TSNE OUTDIR
sweep_file() {
    cat >"$1" <<EOF
[sweep]
name = "$2"
seed = 7
seeds = $8
[dataset]
name = "synthetic"
[dataset.synthetic]
classes = 10
train_size = $3
eval_size = $4
image_size = 32
channels = 3
[model]
arch = "resnet18"
stem = "imagenet"
[train]
device = "$device"
optimizer = "adam"
lr = 0.001
batch_size = 128
eval_batch_size = 1024
epochs = $5
precision = "$6"
deterministic = $7
checkpoint_every = 0
[metrics]
tsne.enabled = $9
[output]
dir = "${10}"
EOF
}

# The paper-shaped baseline (dry run: toy sizes on the CPU).
if [[ $dry -eq 1 ]]; then sizes=(512 256 1); else sizes=(50000 10000 20); fi
paper_h5=""
if stage paper 200; then
    t0=$(elapsed)
    sweep_file "$work/paper.toml" paper-shaped "${sizes[0]}" "${sizes[1]}" "${sizes[2]}" fp16 false 1 true "$work/paper"
    if timeout 190 "$apps/sp_sweep" "$work/paper.toml" --threads "$cores" >"$work/paper.log" 2>&1; then st=ok; else st=failed; fi
    tail -25 "$work/paper.log"
    paper_h5="$(find "$work/paper" -maxdepth 1 -name '*.h5' ! -name summary.h5 2>/dev/null | head -1)"
    numbers='{}'
    if [[ -n "$paper_h5" ]]; then
        numbers="$(h5 "$paper_h5" 'json.dumps({
            "train_seconds": float(np.sum(f["/history/seconds"][:])),
            "epoch_seconds": [round(float(s), 3) for s in f["/history/seconds"][:]],
            "images_per_second_last": float(f["/history/images_per_second"][-1]),
            "eval_accuracy": float(f["/history/eval_accuracy"][-1]),
            "metrics_seconds": float(f["/metrics"].attrs["seconds"]) if "/metrics" in f else None,
            "embeddings": list(f["/eval/embeddings"].shape)})' 2>>"$log" || echo '{}')"
    fi
    wall=$(($(elapsed) - t0))
    say "paper-shaped replicate: $numbers"
    record paper "$st" "$wall" "$numbers"
    write_json
fi

# Bit-identity: the same replicate twice, deterministic and not (dry run: CPU, toy sizes).
if [[ $dry -eq 1 ]]; then isz=(256 128 1); else isz=(5000 2000 2); fi
if stage identity 100; then
    t0=$(elapsed)
    st=ok
    for det in true false; do
        for run in a b; do
            sweep_file "$work/id-$det-$run.toml" identity "${isz[0]}" "${isz[1]}" "${isz[2]}" fp16 "$det" 1 false "$work/id-$det-$run"
            timeout 25 "$apps/sp_sweep" "$work/id-$det-$run.toml" --threads "$cores" >"$work/id-$det-$run.log" 2>&1 || st=failed
        done
    done
    numbers="$("$PY" - "$work" <<'EOF' 2>>"$log" || echo '{}'
import glob, json, sys
import h5py, numpy as np
w = sys.argv[1]
out = {}
for det in ("true", "false"):
    a, b = (h5py.File([p for p in glob.glob(f"{w}/id-{det}-{r}/*.h5") if not p.endswith("summary.h5")][0], "r") for r in ("a", "b"))
    ea, eb = a["/eval/embeddings"][:], b["/eval/embeddings"][:]
    la, lb = a["/history/loss"][:], b["/history/loss"][:]
    out[f"deterministic_{det}"] = {
        "embeddings_identical": bool(np.array_equal(ea, eb)),
        "max_abs_embedding_diff": float(np.max(np.abs(ea - eb))),
        "loss_identical": bool(np.array_equal(la, lb)),
        "logits_identical": bool(np.array_equal(a["/eval/logits"][:], b["/eval/logits"][:])),
        "first_differing_epoch": next((int(i) for i in range(len(la)) if la[i] != lb[i]), None)}
print(json.dumps(out))
EOF
)"
    say "bit-identity: $numbers"
    if ! grep -q '"deterministic_true": {"embeddings_identical": true' <<<"$numbers"; then st=failed; fi
    record identity "$st" $(($(elapsed) - t0)) "$numbers"
    write_json
fi

# fp16 loss scaling: sp::GradScaler against torch.amp.GradScaler.
if stage scaler 45; then
    t0=$(elapsed)
    mkdir -p "$work/scaler"
    if [[ -x "$build_dir/tests/gpu/sp_scaler_compare" ]]; then
        timeout 30 "$build_dir/tests/gpu/sp_scaler_compare" "$work/scaler" --device "$device" --steps 60
        numbers="$("$PY" "$root/tests/gpu/scaler_compare.py" "$work/scaler")"
        rc=$?
        case $rc in 0) st=ok ;; 77) st=skipped ;; *) st=failed ;; esac
        say "scaler: $numbers"
        record scaler "$st" $(($(elapsed) - t0)) "${numbers:-{\}}"
    else
        record scaler skipped 0 '{"why": "sp_scaler_compare not built (tests/gpu: no CUDA LibTorch)"}'
    fi
    write_json
fi

# Ranks sharing the GPU: replicates per minute at 1, 2, 4, 8 ranks (8 small replicates each).
if [[ $dry -eq 1 ]]; then rsz=(128 64 1); else rsz=(5000 1000 2); fi
mpirun_bin="$(command -v mpirun || true)"
if [[ -z "$mpirun_bin" ]]; then
    record ranks skipped 0 '{"why": "no mpirun"}'
elif stage ranks 130; then
    t0=$(elapsed)
    st=ok
    rates="{"
    for n in 1 2 4 8; do
        [[ $((budget - $(elapsed))) -lt 30 ]] && { rates+="\"$n\": null, "; continue; }
        sweep_file "$work/ranks-$n.toml" "ranks$n" "${rsz[0]}" "${rsz[1]}" "${rsz[2]}" fp16 false 8 false "$work/ranks-$n"
        s=$(date +%s.%N)
        if ! timeout 45 "$mpirun_bin" -n "$n" --bind-to none "$apps/sp_sweep" "$work/ranks-$n.toml" \
            --ranks-per-gpu "$n" --threads $((cores / n > 0 ? cores / n : 1)) >"$work/ranks-$n.log" 2>&1; then
            st=failed
            tail -20 "$work/ranks-$n.log"
        fi
        e=$(date +%s.%N)
        done_n=$(find "$work/ranks-$n" -maxdepth 1 -name '*.h5' ! -name summary.h5 | wc -l)
        rate=$("$PY" -c "print(round($done_n * 60 / ($e - $s), 2))")
        say "$n rank(s) on one GPU: $done_n replicates in $("$PY" -c "print(round($e - $s, 1))") s: $rate per minute"
        rates+="\"$n\": $rate, "
    done
    rates="${rates%, }}"
    record ranks "$st" $(($(elapsed) - t0)) "{\"replicates_per_minute\": $rates, \"replicate\": \"${rsz[0]}+${rsz[1]} images, ${rsz[2]} epochs, fp16, no t-SNE\"}"
    write_json
fi

# ---- the CUDA tests (tests/gpu) ----------------------------------------------------------------
if [[ $dry -eq 1 ]]; then
    record gpu_tests skipped 0 '{"why": "dry run: tests/gpu need a GPU"}'
elif stage gpu_tests 120; then
    t0=$(elapsed)
    if (cd "$build_dir" && timeout 120 ctest -L gpu --timeout 110 --output-on-failure >"$work/gpu.log" 2>&1); then st=ok; else st=failed; fi
    tail -30 "$work/gpu.log"
    summary="$(grep -E 'tests passed' "$work/gpu.log" | tail -1)"
    record gpu_tests "$st" $(($(elapsed) - t0)) "{\"summary\": \"$summary\"}"
fi
write_json

# The unit tests, last (they need the whole build), with the GPU hidden: the CPU path of the
# CUDA build.
if stage unit 150; then
    t0=$(elapsed)
    # --skip-build: only the tests already built (the others are "_NOT_BUILT" placeholders).
    not_built=()
    if [[ $skip_build -eq 1 ]]; then
        not_built=(-E _NOT_BUILT)
    else
        timeout $((budget - $(elapsed) - 40)) cmake --build "$build_dir" -j "$cores" >"$work/build-all.log" 2>&1 ||
            tail -30 "$work/build-all.log"
    fi
    if (cd "$build_dir" && CUDA_VISIBLE_DEVICES="" timeout 40 ctest -L unit "${not_built[@]}" -j "$cores" \
        --timeout 35 --output-on-failure >"$work/unit.log" 2>&1); then st=ok; else st=failed; fi
    tail -5 "$work/unit.log"
    [[ $st == failed ]] && grep -E '\(Failed|\(Timeout|Exception' "$work/unit.log" | head -20
    summary="$(grep -E 'tests passed' "$work/unit.log" | tail -1)"
    record unit "$st" $(($(elapsed) - t0)) "{\"summary\": \"$summary\"}"
    write_json
fi
# Provenance of a CUDA result file.
t0=$(elapsed)
prov_file="$paper_h5"
[[ -z "$prov_file" ]] && prov_file="$(find "$work/id-true-a" -maxdepth 1 -name '*.h5' ! -name summary.h5 2>/dev/null | head -1)"
if [[ -n "$prov_file" ]]; then
    numbers="$(h5 "$prov_file" 'json.dumps({k: (v.decode() if isinstance(v, bytes) else (v.item() if hasattr(v, "item") else v)) for k, v in f["/provenance"].attrs.items() if k in ("device", "device_name", "gpu_model", "cuda_version", "cudnn_version", "cuda_driver", "libtorch_version", "cpu_model", "deterministic", "blas")})' 2>>"$log" || echo '{}')"
    st=ok
    [[ $dry -eq 0 ]] && ! grep -q '"device": "cuda' <<<"$numbers" && st=failed
    record provenance "$st" $(($(elapsed) - t0)) "$numbers"
else
    record provenance skipped 0 '{"why": "no result file"}'
fi
write_json
cp "$results" "$out/gpu-check.tsv"
rm -f "$results"
say "done in $(elapsed) s: $out/gpu-check.json"
"$PY" -c "import json,sys; r=json.load(open(sys.argv[1])); print('passed' if r['passed'] else 'FAILED: ' + ', '.join(k for k,v in r['stages'].items() if v['status'] not in ('ok','skipped')))" "$out/gpu-check.json"
rm -rf "$work"
