#!/usr/bin/env bash
# A failing replicate (a bad data path) does not stop the others: they complete, the sweep exits
# 3, the final table names the failure, its result file says why, and the summary lists it.
#   failure.sh SP_SWEEP SP_VALIDATE
set -euo pipefail
sp_sweep=$1 sp_validate=$2
# shellcheck source=../support/fixture.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/fixture.sh"
# The bad variant's root must exist to pass sp_sweep's input preflight; empty, it fails at run time.
mkdir "$tmp/nonexistent-cifar"
sed "s|/nonexistent/cifar-10-batches-bin|$tmp/nonexistent-cifar|" "$fixtures/failure.toml" > "$tmp/f.toml"
set +e
"$sp_sweep" "$tmp/f.toml" --threads 1 --set output.dir="$tmp/out" > "$tmp/log" 2>&1
rc=$?
set -e
[[ $rc -eq 3 ]] || { echo "exit $rc, expected 3"; cat "$tmp/log"; exit 1; }
[[ $(grep -cE '^[0-9]+ +[0-9a-f]{16} .* complete ' "$tmp/log") -eq 2 ]] || { echo "the good replicates did not complete"; cat "$tmp/log"; exit 1; }
[[ $(grep -cE '^[0-9]+ +[0-9a-f]{16} .* failed ' "$tmp/log") -eq 2 ]] || { echo "the table does not name both failures"; cat "$tmp/log"; exit 1; }
grep -q "nonexistent" "$tmp/log" || { echo "the failure's reason is not shown"; exit 1; }
"$sp_validate" --quiet "$tmp/out"/*.h5
grep -q "## Failed replicates" "$tmp/out/summary.md" || { echo "summary.md does not list failures"; exit 1; }
echo "failure e2e: 2 complete, 2 failed with their reason, exit 3"
