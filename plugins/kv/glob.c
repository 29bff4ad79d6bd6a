/* glob.c — redis's stringmatchlen (util.c), for KEYS and SCAN MATCH. */
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>

#include "kv.h"

static bool match(const char *p, size_t pl, const char *s, size_t sl, bool nocase, int depth)
{
    if (depth > 1000)                    /* redis 7 guards the recursion too */
        return false;
    while (pl && sl) {
        switch (p[0]) {
        case '*':
            while (pl > 1 && p[1] == '*') {
                p++;
                pl--;
            }
            if (pl == 1)
                return true;
            while (sl) {
                if (match(p + 1, pl - 1, s, sl, nocase, depth + 1))
                    return true;
                s++;
                sl--;
            }
            return false;
        case '?':
            s++;
            sl--;
            break;
        case '[': {
            bool neg, hit = false;
            p++;
            pl--;
            neg = pl && p[0] == '^';
            if (neg) {
                p++;
                pl--;
            }
            for (;;) {
                if (pl && p[0] == '\\' && pl >= 2) {
                    p++;
                    pl--;
                    if (p[0] == s[0])
                        hit = true;
                } else if (pl && p[0] == ']') {
                    break;
                } else if (pl == 0) {
                    p--;
                    pl++;
                    break;
                } else if (pl >= 3 && p[1] == '-') {
                    int a = (unsigned char)p[0], b = (unsigned char)p[2], c = (unsigned char)s[0];
                    if (a > b) {
                        int t = a;
                        a = b;
                        b = t;
                    }
                    if (nocase) {
                        a = tolower(a);
                        b = tolower(b);
                        c = tolower(c);
                    }
                    p += 2;
                    pl -= 2;
                    if (c >= a && c <= b)
                        hit = true;
                } else if (nocase ? tolower((unsigned char)p[0]) == tolower((unsigned char)s[0])
                                  : p[0] == s[0]) {
                    hit = true;
                }
                p++;
                pl--;
            }
            if (neg)
                hit = !hit;
            if (!hit)
                return false;
            s++;
            sl--;
            break;
        }
        case '\\':
            if (pl >= 2) {
                p++;
                pl--;
            }
            /* fall through */
        default:
            if (nocase ? tolower((unsigned char)p[0]) != tolower((unsigned char)s[0])
                       : p[0] != s[0])
                return false;
            s++;
            sl--;
            break;
        }
        p++;
        pl--;
        if (sl == 0) {
            while (pl && *p == '*') {
                p++;
                pl--;
            }
            break;
        }
    }
    return pl == 0 && sl == 0;
}

bool kv_glob(const char *pat, size_t pl, const char *s, size_t sl, bool nocase)
{
    return match(pat, pl, s, sl, nocase, 0);
}
