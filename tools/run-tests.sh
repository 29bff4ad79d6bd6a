#!/bin/sh
# run-tests.sh BIN... — run each Check test binary, print one summary line.
# CK_FORK stays on: a crashing test fails alone and names itself.
set -u
pass=0; fail=0; failed=""
for t in "$@"; do
    if "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); failed="$failed $t"; fi
done
echo "test binaries: $pass passed, $fail failed"
[ "$fail" -eq 0 ] || { echo "FAILED:$failed" >&2; exit 1; }
