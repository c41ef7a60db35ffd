#!/bin/sh
# scripts/convert_weights.py checks torchvision's naming convention before converting: the file's
# SHA-256 starts with the hex digits in its name (resnet18-f37072fd.pth). The check runs before
# torch is used, so a stub `torch` module stands in for it; sha256sum (coreutils) is the oracle.
set -eu
script="$1/scripts/convert_weights.py"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/stub"
: >"$dir/stub/torch.py"
printf 'not the published weights' >"$dir/resnet18-f37072fd.pth"
found=$(sha256sum "$dir/resnet18-f37072fd.pth" | cut -c1-64)

set +e
PYTHONPATH="$dir/stub" /usr/bin/python3 "$script" "$dir/resnet18-f37072fd.pth" "$dir/out.pt" \
    >"$dir/out" 2>"$dir/err"
rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "FAIL: a mismatch exited $rc, expected 2"; cat "$dir/err"; exit 1; }
grep -qF "$dir/resnet18-f37072fd.pth: SHA-256 mismatch: the name says it starts with f37072fd, found $found" "$dir/err" ||
    { echo "FAIL: message does not name file, expected and found hash:"; cat "$dir/err"; exit 1; }
[ ! -e "$dir/out.pt" ] || { echo "FAIL: an output was written"; exit 1; }

# A file whose name carries its own prefix passes the check (and then fails in the stub torch).
prefix=$(printf '%s' "$found" | cut -c1-8)
cp "$dir/resnet18-f37072fd.pth" "$dir/resnet18-$prefix.pth"
PYTHONPATH="$dir/stub" /usr/bin/python3 "$script" "$dir/resnet18-$prefix.pth" "$dir/out.pt" \
    >"$dir/out" 2>"$dir/err" || true
grep -qF "starts with $prefix, as its name says" "$dir/out" ||
    { echo "FAIL: a matching prefix was not accepted:"; cat "$dir/out" "$dir/err"; exit 1; }

# --allow-unverified: converted anyway, with a warning naming both.
PYTHONPATH="$dir/stub" /usr/bin/python3 "$script" --allow-unverified "$dir/resnet18-f37072fd.pth" \
    "$dir/out.pt" >"$dir/out" 2>"$dir/err" || true
grep -qF "warning: $dir/resnet18-f37072fd.pth: SHA-256 mismatch" "$dir/err" ||
    { echo "FAIL: --allow-unverified did not warn:"; cat "$dir/err"; exit 1; }
echo "convert_weights hash check: ok"
