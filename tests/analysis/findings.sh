#!/bin/sh
# The findings documents state what their study's files hold: each docs/findings/<study>.md's
# generated section equals what docs/findings/tables.py makes of the committed summary
# (docs/findings/<study>/summary.h5), and that summary is a valid summary file.
#   findings.sh SP_VALIDATE SOURCE_DIR
set -eu
sp_validate=$1
src=$2
for doc in "$src"/docs/findings/*.md; do
    study=${doc%.md}
    [ -f "$study/summary.h5" ] || { echo "FAIL: $doc has no $study/summary.h5" >&2; exit 1; }
    "$sp_validate" "$study/summary.h5"
    /usr/bin/python3 "$src/docs/findings/tables.py" "$study/summary.h5" --check "$doc"
done
