#!/bin/sh
# run.sh HEADER OUTDIR — compile (and run) the example at the top of
# include/tick/HEADER.h, as tests/examples/HEADER.c wraps it.
#
# Extraction: the code blocks of the header's first comment block, as in
# Markdown: after a blank comment line, lines indented by four spaces after
# " * " (" *     code"), up to the next prose line; a block of shell
# commands (its first line "cc ..." or "$ ...") is skipped. A code line
# starting with "..." splits the example into
# parts: @PART0@ is what comes before the first "...", @PART1@ what comes
# after, and so on; the wrapper places each part (top level, or inside a
# function body) and adds what the fragment needs to compile and run.
# Wrapper kinds (first line): "kind: plugin" builds a .so against include/
# alone, checks it with `tickd -t` and starts it for 300 ms with the
# config in the wrapper's "config:" lines; "kind: engine" builds a program
# linked with build/libtick.a and runs it (exit status 0 expected).
# Environment: TICK_SRC, TICKD (and its build directory's libtick.a).
set -eu
h=$1; out=$2
src=${TICK_SRC:-.}
tickd=${TICKD:-$src/build/tickd}
build=$(dirname "$tickd")
wrap="$src/tests/examples/$h.c"
mkdir -p "$out"
awk '
    /\*\// { exit }
    /^ \*$/ { blank = 1; next }
    /^ \*     / && (code || blank) {
        line = substr($0, 8)
        if (!code && line ~ /^(cc|\$) /) { blank = 0; next }   # a shell command block
        code = 1; blank = 0
        if (line ~ /^\.\.\./) { part++; next }
        print (part + 0) "\t" line; next }
    { code = 0; blank = 0 }    # prose ends a code block
' "$src/include/tick/$h.h" > "$out/$h.parts"
[ -s "$out/$h.parts" ] || { echo "$h.h: no example found" >&2; exit 1; }
awk -F '\t' -v parts="$out/$h.parts" '
    BEGIN { while ((getline l < parts) > 0) { i = index(l, "\t");
            p = substr(l, 1, i - 1); code[p] = code[p] substr(l, i + 1) "\n" } }
    /^@PART[0-9]+@$/ { p = substr($0, 6) + 0; printf "#line 1 \"example part %d\"\n%s", p, code[p];
                       used[p] = 1; next }
    { print }
    END { for (p in code) if (!(p in used)) { print "unused example part " p > "/dev/stderr"; exit 1 } }
' "$wrap" > "$out/$h.c"
cflags="-std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wno-unused-function -I$src/include"
if grep -q '^/\* kind: plugin' "$wrap"; then
    mkdir -p "$out/plugins" && chmod 0755 "$out/plugins"
    mod=$(sed -n 's/^ \* module: *//p' "$wrap")
    cc $cflags -fPIC -shared -o "$out/plugins/$mod.so" "$out/$h.c"
    chmod 0755 "$out/plugins/$mod.so"
    { echo "[daemon]"; echo "plugin_dir = $out/plugins"; sed -n 's/^ \* config: *//p' "$wrap"; } > "$out/$h.ini"
    "$tickd" -t -c "$out/$h.ini"
    "$tickd" -c "$out/$h.ini" > "$out/$h.log" 2>&1 &
    pid=$!
    sleep 0.3
    kill -TERM "$pid"
    wait "$pid" || { echo "$h: tickd exited $?:"; cat "$out/$h.log"; exit 1; } >&2
    cat "$out/$h.log"
else
    # a SAN=1 build's libtick.a needs the sanitizer runtimes at link time
    san=
    if nm "$build/libtick.a" 2>/dev/null | grep -q __asan_init; then
        san="-fsanitize=address,undefined"
    fi
    cc $cflags $san -D_GNU_SOURCE -o "$out/$h" "$out/$h.c" "$build/libtick.a" -ldl -lpthread
    timeout 10 "$out/$h"
fi
