#!/bin/sh
# run-tests.sh BIN... — run each Check test binary (CK_FORK stays on: a
# crashing test fails alone and names itself), then print one summary line
# adding up the checks of all binaries:
#     checks: N passed, N failed
# A binary that exits non-zero although its Check summary shows no failure
# (a crash or a sanitizer report at exit) counts as one more failed check.
set -u
pass=0; fail=0; failed=""
out=$(mktemp) || exit 70
trap 'rm -f "$out"' EXIT
for t in "$@"; do
    "$t" >"$out" 2>&1
    rc=$?
    cat "$out"
    line=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$out" | tail -n 1)
    n=0; bad=0
    if [ -n "$line" ]; then
        n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+),.*/\1/')
        f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+),.*/\1/')
        e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
        bad=$((f + e))
    fi
    [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && { bad=1; n=$((n + 1)); }
    pass=$((pass + n - bad)); fail=$((fail + bad))
    [ "$bad" -eq 0 ] || failed="$failed $t"
done
echo "checks: $pass passed, $fail failed"
[ "$fail" -eq 0 ] || { echo "FAILED:$failed" >&2; exit 1; }
