#!/usr/bin/env bash
# Renders an sp-report HTML page in headless Chromium and checks that every <img> loaded.
#   render_check.sh REPORT.html [PYTHON]
# Exit 0: all images loaded (prints "Chromium: K of K images loaded"); 1: some did not;
# 77: no Chromium (apt-get install chromium).
set -euo pipefail
report=$1
python=${2:-${SP_PYTHON:-/usr/bin/python3}}
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[[ -n $chromium && -x $chromium ]] || { echo "SKIP: chromium not found"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
probe='<script>window.addEventListener("load",function(){var im=document.images,ok=0;for(var i=0;i<im.length;i++){if(im[i].complete\&\&im[i].naturalWidth>0\&\&im[i].naturalHeight>0)ok++;}document.body.setAttribute("data-images",im.length);document.body.setAttribute("data-images-ok",ok);});</script></body>'
sed "s#</body>#$probe#" "$report" > "$tmp/probe.html"
timeout 180 "$chromium" --headless --disable-gpu --no-sandbox --no-first-run \
    --user-data-dir="$tmp/profile" --virtual-time-budget=20000 \
    --dump-dom "file://$tmp/probe.html" > "$tmp/dom.html" 2> "$tmp/chromium.log" \
    || { tail -20 "$tmp/chromium.log"; exit 1; }
"$python" - "$tmp/dom.html" <<'PY'
import re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<body[^>]*data-images="(\d+)"[^>]*data-images-ok="(\d+)"', dom)
assert m, "the probe did not run (no data-images on <body>)"
n, ok = int(m.group(1)), int(m.group(2))
assert n >= 1 and ok == n, f"Chromium loaded {ok} of {n} images"
print(f"Chromium: {ok} of {n} images loaded")
PY
