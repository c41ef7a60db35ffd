#!/bin/sh
# Replicate IDs once published stay valid: keys added to sp later (al.init, metrics.tsne.compat,
# model.extra_layers' new forms, sweep rules) must not change the ID of a replicate that does
# not use them. tests/fixtures/published_ids_paper.toml is sweeps/paper.toml as of commit
# 2d9ab79; README.md then published its first replicate's ID, 49ca5ede82258562 (computed by that
# commit's sp_sweep). Usage: published_ids.sh SP_SWEEP SOURCE_DIR
set -eu
sp_sweep=$1
src=$2
plan=$("$sp_sweep" "$src/tests/fixtures/published_ids_paper.toml" --dry-run --format tsv)
first=$(printf '%s\n' "$plan" | awk -F'\t' 'NR == 2 {print $2}')
if [ "$first" != 49ca5ede82258562 ]; then
    echo "FAIL: the first replicate of the frozen paper sweep is $first, published as 49ca5ede82258562" >&2
    exit 1
fi
echo "ok: published ID 49ca5ede82258562 unchanged"
