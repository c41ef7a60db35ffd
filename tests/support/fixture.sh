# Sourced by the shell tests that run a sweep: sets `fixtures`, the folder of the shared sweep
# files (tests/fixtures/, see its README.md), and `tmp`, a scratch folder removed when the script
# exits (a script with more to clean up sets its own EXIT trap, which must remove "$tmp" too).
# shellcheck shell=bash disable=SC2034 # used by the scripts that source this
fixtures=$(cd "$(dirname "${BASH_SOURCE[0]}")/../fixtures" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
