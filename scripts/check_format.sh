#!/usr/bin/env bash
# Fails listing every C++ file that clang-format (.clang-format) would change.
#   scripts/check_format.sh          # check
#   scripts/check_format.sh --fix    # rewrite in place
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- \
    'src/*.cpp' 'src/*.hpp' 'src/*.in' 'tests/*.cpp' 'tests/*.hpp' 'bench/*.cpp' | grep -v '\.in$' || true)
if [[ ${#files[@]} -eq 0 ]]; then
    echo "check_format: no C++ files found" >&2
    exit 1
fi
if [[ "${1:-}" == "--fix" ]]; then
    clang-format -i "${files[@]}"
    exit 0
fi
bad=()
for f in "${files[@]}"; do
    [[ -f "$f" ]] || continue
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
done
if [[ ${#bad[@]} -gt 0 ]]; then
    printf 'not clang-formatted (run scripts/check_format.sh --fix):\n' >&2
    printf '  %s\n' "${bad[@]}" >&2
    exit 1
fi
echo "check_format: ${#files[@]} files formatted"
