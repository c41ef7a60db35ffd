#!/usr/bin/env bash
# Fuzzes the dataset readers (CIFAR-10 batches, IDX, gzip, JPEG) with libFuzzer under ASan and
# UBSan, from a seed corpus of small valid files.
#   tests/fault/fuzz.sh [seconds]        # default 180; SP_FUZZ_BUILD overrides build/fuzz
# Exits non-zero on a crash, leaving the input in <build>/crashes/ (crash-<sha1>): copy it to
# tests/fault/regressions/ (test_data_fuzz_regressions.cpp feeds every file there to every parser),
# add a case that names the rule it broke, and fix the reader.
set -euo pipefail
seconds="${1:-180}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${SP_FUZZ_BUILD:-$root/build/fuzz}"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DSP_FUZZ=ON -DSP_WITH_TORCH=OFF -DSP_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" --target fuzz_readers -j "${SP_JOBS:-2}"

seeds="$build/fuzz-seeds"
corpus="$build/fuzz-corpus"
crashes="$build/crashes"
mkdir -p "$seeds" "$corpus" "$crashes"
cp "$root"/tests/fault/corpus/* "$seeds"/
# Small valid inputs in each format (python3's standard library only).
python3 - "$seeds" <<'PY'
import gzip, os, struct, sys
out = sys.argv[1]
def write(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
cifar = b"".join(bytes([k % 10]) + bytes((i * 7 + k) % 256 for i in range(3072)) for k in range(2))
write("cifar_2_records.bin", cifar)
images = struct.pack(">IIII", 0x803, 3, 4, 5) + bytes(range(60))
labels = struct.pack(">II", 0x801, 3) + bytes([0, 9, 4])
write("idx_images", images)
write("idx_labels", labels)
write("idx_images.gz", gzip.compress(images, mtime=0))
write("idx_labels.gz", gzip.compress(labels, mtime=0))
write("idx_images_then_labels", struct.pack(">H", len(images)) + images + labels)
write("two_members.gz", gzip.compress(images[:20], mtime=0) + gzip.compress(images[20:], mtime=0))
PY

echo "fuzz_readers: fuzzing for ${seconds} s (corpus $corpus, crashes go to $crashes/)"
if ! "$build/tests/fault/fuzz_readers" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -max_len=16384 -artifact_prefix="$crashes/" -print_final_stats=1 \
        "$corpus" "$seeds"; then
    echo "fuzz_readers: FOUND A CRASH; inputs in $crashes/:" >&2
    ls -l "$crashes" >&2
    exit 1
fi
echo "fuzz_readers: no crash in ${seconds} s"
