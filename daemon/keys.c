/*
 * keys.c — declarative plugin configuration (keys.h, tick/config.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "keys.h"
#include "tick/listen.h"
#include "tick/plugin.h"

struct tickd_arena {
    struct tickd_arena *next;
    max_align_t data[];
};

static void *arena_alloc(struct tickd_arena **a, size_t n)
{
    struct tickd_arena *b = tick__malloc(sizeof *b + n);
    if (!b)
        return NULL;
    b->next = *a;
    *a = b;
    return b->data;
}

void tickd_arena_free(struct tickd_arena **a)
{
    while (*a) {
        struct tickd_arena *next = (*a)->next;
        free(*a);
        *a = next;
    }
}

static const char *const type_names[] = {
    [TICK_KEY_T_STRING] = "string", [TICK_KEY_T_INT] = "integer",
    [TICK_KEY_T_SIZE] = "size", [TICK_KEY_T_BOOL] = "boolean",
    [TICK_KEY_T_DURATION] = "duration", [TICK_KEY_T_ENUM] = "enum",
    [TICK_KEY_T_ADDRESSES] = "address list", [TICK_KEY_T_WORDS] = "words",
    [TICK_KEY_T_ALIAS] = "alias",
};

/* "1500ms" style: the largest unit that divides ns exactly */
static const char *fmt_duration(uint64_t ns, char *buf, size_t len)
{
    static const struct { const char *u; uint64_t ns; } units[] = {
        { "h", 3600 * TICK_SEC }, { "m", 60 * TICK_SEC }, { "s", TICK_SEC },
        { "ms", TICK_MSEC }, { "us", TICK_USEC },
    };
    for (size_t i = 0; ns && i < sizeof units / sizeof units[0]; i++)
        if (ns % units[i].ns == 0) {
            snprintf(buf, len, "%llu%s", (unsigned long long)(ns / units[i].ns), units[i].u);
            return buf;
        }
    snprintf(buf, len, "%lluns", (unsigned long long)ns);
    return buf;
}

static const char *fmt_size(uint64_t v, char *buf, size_t len)
{
    static const char units[] = "kMGT";
    int u = -1;
    while (v && v % 1024 == 0 && u < 3) {
        v /= 1024;
        u++;
    }
    if (u < 0)
        snprintf(buf, len, "%llu", (unsigned long long)v);
    else
        snprintf(buf, len, "%llu%c", (unsigned long long)v, units[u]);
    return buf;
}

/* What the key accepts, for messages and --describe: "an integer from 1
 * to 100", "a duration of at least 1ns", "one of: a, b". */
static void expected(const tick_key *k, char *buf, size_t len)
{
    char a[32], b[32];
    size_t off;

    switch (k->type) {
    case TICK_KEY_T_INT:
        snprintf(buf, len, "an integer from %lld to %lld", (long long)k->min,
                 (long long)k->max);
        break;
    case TICK_KEY_T_SIZE:
    case TICK_KEY_T_DURATION: {
        const char *what = k->type == TICK_KEY_T_SIZE ? "a size (e.g. 512, 64k, 1M)"
                                                      : "a duration (e.g. 250ms, 5s, 2m)";
        const char *(*fmt)(uint64_t, char *, size_t) =
            k->type == TICK_KEY_T_SIZE ? fmt_size : fmt_duration;
        if (k->max)
            snprintf(buf, len, "%s from %s to %s", what, fmt((uint64_t)k->min, a, sizeof a),
                     fmt((uint64_t)k->max, b, sizeof b));
        else if (k->min)
            snprintf(buf, len, "%s of at least %s", what, fmt((uint64_t)k->min, a, sizeof a));
        else
            snprintf(buf, len, "%s", what);
        break;
    }
    case TICK_KEY_T_BOOL:
        snprintf(buf, len, "yes or no");
        break;
    case TICK_KEY_T_ENUM:
        off = (size_t)snprintf(buf, len, "one of:");
        for (size_t i = 0; k->choices && k->choices[i] && off < len; i++)
            off += (size_t)snprintf(buf + off, len - off, "%s %s", i ? "," : "",
                                    k->choices[i]);
        break;
    case TICK_KEY_T_STRING:
    case TICK_KEY_T_WORDS: {
        const char *u = k->type == TICK_KEY_T_STRING ? "characters" : "words";
        if (k->max && k->min == k->max)
            snprintf(buf, len, "exactly %lld %s", (long long)k->min, u);
        else if (k->max)
            snprintf(buf, len, "%lld to %lld %s", (long long)k->min, (long long)k->max, u);
        else if (k->min)
            snprintf(buf, len, "at least %lld %s", (long long)k->min, u);
        else
            snprintf(buf, len, "any %s", u);
        break;
    }
    case TICK_KEY_T_ADDRESSES:
        snprintf(buf, len, "HOST:PORT, [V6ADDR]:PORT or PORT, up to %d separated "
                 "by commas", TICK_LISTEN_MAX);
        break;
    default:
        snprintf(buf, len, "?");
        break;
    }
}

static bool in_range(const tick_key *k, uint64_t v)
{
    return v >= (uint64_t)k->min && (!k->max || v <= (uint64_t)k->max);
}

static int why_bad(char *why, size_t len, const char *type, const char *val,
                   const tick_key *k)
{
    char exp[300];
    expected(k, exp, sizeof exp);
    snprintf(why, len, "bad %s '%s' for key '%s' (expected %s)", type, val, k->name, exp);
    return -EINVAL;
}

static int parse_int(const char *s, int64_t *out)
{
    const char *p = s;
    bool neg = false;
    unsigned __int128 v = 0;
    int base = 10, digits = 0;

    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    for (;; p++, digits++) {
        int d;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = *p - 'a' + 10;
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = *p - 'A' + 10;
        else
            break;
        v = v * (unsigned)base + (unsigned)d;
        if (v > (unsigned __int128)INT64_MAX + 1)
            return -ERANGE;
    }
    if (!digits || *p)
        return -EINVAL;
    if (!neg && v > INT64_MAX)
        return -ERANGE;
    *out = neg ? (int64_t)(-(__int128)v) : (int64_t)v;
    return 0;
}

static int parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = { "yes", "true", "on", "1" };
    static const char *const no[] = { "no", "false", "off", "0" };
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return *out = true, 0;
        if (strcasecmp(v, no[i]) == 0)
            return *out = false, 0;
    }
    return -EINVAL;
}

static void store_int(void *dst, size_t size, int64_t v)
{
    switch (size) {
    case 1: { int8_t x = (int8_t)v; memcpy(dst, &x, 1); break; }
    case 2: { int16_t x = (int16_t)v; memcpy(dst, &x, 2); break; }
    case 4: { int32_t x = (int32_t)v; memcpy(dst, &x, 4); break; }
    default: memcpy(dst, &v, 8); break;
    }
}

static int parse_words(const tick_key *k, const char *raw, tick_words *w,
                       struct tickd_arena **arena, char *why, size_t len)
{
    size_t n = strlen(raw), maxw = n / 2 + 2;
    const char **v = arena_alloc(arena, maxw * sizeof *v + n + 1);
    int rc;

    if (!v) {
        snprintf(why, len, "out of memory");
        return -ENOMEM;
    }
    rc = tick_split_words(raw, (char *)(v + maxw), n + 1, v, maxw);
    if (rc < 0) {
        snprintf(why, len, "unterminated quote in the value of key '%s'", k->name);
        return -EINVAL;
    }
    if (!in_range(k, (uint64_t)rc))
        return why_bad(why, len, "value", raw, k);
    *w = (tick_words){ (size_t)rc, v };
    return 0;
}

/* Parse one value (raw: as written, quotes and all) into dst (k->size
 * bytes, for one occurrence: a list element when repeatable). */
static int parse_one(const tick_key *k, const char *raw, void *dst,
                     struct tickd_arena **arena, char *why, size_t len)
{
    size_t n = strlen(raw);
    char *v;
    int rc = 0;

    if (k->type == TICK_KEY_T_WORDS)
        return parse_words(k, raw, dst, arena, why, len);
    /* strings stay: unquote straight into the arena */
    v = k->type == TICK_KEY_T_STRING || k->type == TICK_KEY_T_ADDRESSES
        ? arena_alloc(arena, n + 1) : tick__malloc(n + 1);
    if (!v) {
        snprintf(why, len, "out of memory");
        return -ENOMEM;
    }
    if (tick_unquote(raw, v, n + 1) < 0) {
        snprintf(why, len, "unterminated quote in the value of key '%s'", k->name);
        rc = -EINVAL;
        goto out;
    }
    switch (k->type) {
    case TICK_KEY_T_STRING:
        if (!in_range(k, strlen(v)))
            rc = why_bad(why, len, "value", v, k);
        else
            *(const char **)dst = v;
        return rc;
    case TICK_KEY_T_ADDRESSES:
        if (tick_listen_check(v) < 0) {
            /* "bad listen address 'X'": the key names what the list is for
             * (the wording echo's configure() used before its table) */
            snprintf(why, len, "bad %s address '%s'", k->name, v);
            rc = -EINVAL;
        }
        else
            *(const char **)dst = v;
        return rc;
    case TICK_KEY_T_INT: {
        int64_t x;
        if (parse_int(v, &x) < 0 || x < k->min || x > k->max)
            rc = why_bad(why, len, "integer", v, k);
        else
            store_int(dst, k->size, x);
        break;
    }
    case TICK_KEY_T_SIZE: {
        uint64_t x;
        if (tick_parse_size(v, &x) < 0 || !in_range(k, x))
            rc = why_bad(why, len, "size", v, k);
        else
            memcpy(dst, &x, sizeof x);
        break;
    }
    case TICK_KEY_T_DURATION: {
        /* the words the daemon's own keys use, and heartbeat used */
        uint64_t x;
        char a[32];
        if (tick_parse_duration(v, &x) < 0) {
            snprintf(why, len, "bad duration '%s' for key '%s' (use e.g. 250ms, 5s, 2m)",
                     v, k->name);
            rc = -EINVAL;
        } else if (!in_range(k, x)) {
            char exp[300];
            expected(k, exp, sizeof exp);
            (void)a;
            snprintf(why, len, "bad duration '%s' for key '%s' (use e.g. 250ms, 5s, 2m): "
                     "expected %s", v, k->name, exp);
            rc = -EINVAL;
        } else {
            memcpy(dst, &x, sizeof x);
        }
        break;
    }
    case TICK_KEY_T_BOOL: {
        bool b;
        if (parse_bool(v, &b) < 0)
            rc = why_bad(why, len, "boolean", v, k);
        else
            memcpy(dst, &b, sizeof b);
        break;
    }
    case TICK_KEY_T_ENUM: {
        int i;
        for (i = 0; k->choices[i] && strcmp(k->choices[i], v) != 0; i++)
            ;
        if (!k->choices[i])
            rc = why_bad(why, len, "value", v, k);
        else
            memcpy(dst, &i, sizeof i);
        break;
    }
    default:
        snprintf(why, len, "key '%s' has an unknown type", k->name);
        rc = -EINVAL;
        break;
    }
out:
    if (k->type != TICK_KEY_T_STRING && k->type != TICK_KEY_T_ADDRESSES)
        free(v);
    return rc;
}

/* Every occurrence (raws[0..n-1], n >= 1; n == 1 unless repeatable) into
 * dst, the field. *bad: which one failed. */
static int fill_key(const tick_key *k, const char *const *raws, size_t n, void *dst,
                    struct tickd_arena **arena, size_t *bad, char *why, size_t len)
{
    int rc;

    *bad = 0;
    if (!(k->flags & TICK_KEY_REPEATABLE))
        return parse_one(k, raws[0], dst, arena, why, len);
    if (k->type == TICK_KEY_T_WORDS) {
        tick_words *v = arena_alloc(arena, n * sizeof *v);
        if (!v) {
            snprintf(why, len, "out of memory");
            return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
            if ((rc = parse_words(k, raws[i], &v[i], arena, why, len)) < 0)
                return *bad = i, rc;
        *(tick_words_list *)dst = (tick_words_list){ n, v };
        return 0;
    }
    const char **v = arena_alloc(arena, (n + 1) * sizeof *v);
    if (!v) {
        snprintf(why, len, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        if ((rc = parse_one(k, raws[i], &v[i], arena, why, len)) < 0)
            return *bad = i, rc;
    v[n] = NULL;
    *(tick_strings *)dst = (tick_strings){ n, v };
    return 0;
}

/* The table entry for a key as written (an alias resolved), or NULL. */
static const tick_key *find_key(const tick_key *keys, const char *name)
{
    for (const tick_key *k = keys; k->name; k++)
        if (strcmp(k->name, name) == 0) {
            if (k->type != TICK_KEY_T_ALIAS)
                return k;
            for (const tick_key *t = keys; t->name; t++)
                if (t->type != TICK_KEY_T_ALIAS && strcmp(t->name, k->alias) == 0)
                    return t;
            return NULL;
        }
    return NULL;
}

static bool valid_key_name(const char *s)
{
    if (!*s || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') ||
              ('0' <= *s && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
            return false;
    return true;
}

static size_t storage_size(const tick_key *k)
{
    if (k->flags & TICK_KEY_REPEATABLE)
        return k->type == TICK_KEY_T_WORDS ? sizeof(tick_words_list) : sizeof(tick_strings);
    switch (k->type) {
    case TICK_KEY_T_STRING:
    case TICK_KEY_T_ADDRESSES: return sizeof(const char *);
    case TICK_KEY_T_SIZE:
    case TICK_KEY_T_DURATION: return sizeof(uint64_t);
    case TICK_KEY_T_BOOL: return sizeof(bool);
    case TICK_KEY_T_ENUM: return sizeof(int);
    case TICK_KEY_T_WORDS: return sizeof(tick_words);
    default: return 0;
    }
}

#define BAD(...) (snprintf(why, len, __VA_ARGS__), why)

const char *tickd_keys_check(const tick_key *keys, size_t instance_size,
                             char *why, size_t len)
{
    for (const tick_key *k = keys; k->name; k++) {
        if (!valid_key_name(k->name))
            return BAD("key '%.80s': not a valid key name (letters, digits, '_', "
                       "'-', '.', up to 64)", k->name);
        if (strcmp(k->name, "module") == 0 || strcmp(k->name, "reuse_port") == 0)
            return BAD("key '%s' is the daemon's", k->name);
        for (const tick_key *o = keys; o != k; o++)
            if (strcmp(o->name, k->name) == 0)
                return BAD("key '%s' is declared twice", k->name);
        if (k->type <= TICK_KEY_T_END || k->type > TICK_KEY_T_ALIAS)
            return BAD("key '%s': unknown type %d", k->name, (int)k->type);
        if (k->type == TICK_KEY_T_ALIAS) {
            const tick_key *t = k->alias ? find_key(keys, k->alias) : NULL;
            if (!t || strcmp(t->name, k->alias) != 0)
                return BAD("key '%s': alias of '%s', which is not a key of the "
                           "table", k->name, k->alias ? k->alias : "(null)");
            continue;
        }
        if (k->flags & ~(TICK_KEY_REQUIRED | TICK_KEY_REPEATABLE | TICK_KEY_LIVE))
            return BAD("key '%s': unknown flags 0x%x", k->name, k->flags);
        if ((k->flags & TICK_KEY_REPEATABLE) && k->type != TICK_KEY_T_STRING &&
            k->type != TICK_KEY_T_ADDRESSES && k->type != TICK_KEY_T_WORDS)
            return BAD("key '%s': only string, address list and words keys may be "
                       "repeatable", k->name);
        if (k->offset > instance_size || k->size > instance_size - k->offset)
            return BAD("key '%s': field at offset %zu (%zu bytes) is outside the "
                       "instance memory (%zu bytes)", k->name, k->offset, k->size,
                       instance_size);
        if (k->type == TICK_KEY_T_INT) {
            int64_t lo, hi;
            if (k->size != 1 && k->size != 2 && k->size != 4 && k->size != 8)
                return BAD("key '%s': an integer field must have 1, 2, 4 or 8 "
                           "bytes, not %zu", k->name, k->size);
            if (k->is_signed) {
                hi = (int64_t)((UINT64_C(1) << (k->size * 8 - 1)) - 1);
                lo = -hi - 1;
            } else {
                lo = 0;
                hi = k->size == 8 ? INT64_MAX : (int64_t)((UINT64_C(1) << (k->size * 8)) - 1);
            }
            if (k->min > k->max)
                return BAD("key '%s': range %lld to %lld is empty", k->name,
                           (long long)k->min, (long long)k->max);
            if (k->min < lo || k->max > hi)
                return BAD("key '%s': range %lld to %lld does not fit its %zu-byte "
                           "%s field (%lld to %lld)", k->name, (long long)k->min,
                           (long long)k->max, k->size,
                           k->is_signed ? "signed" : "unsigned", (long long)lo,
                           (long long)hi);
        } else {
            size_t want = storage_size(k);
            if (k->size != want)
                return BAD("key '%s': a %s%s field must have %zu bytes, not %zu",
                           k->name, (k->flags & TICK_KEY_REPEATABLE) ? "repeatable " : "",
                           type_names[k->type], want, k->size);
            if (k->type != TICK_KEY_T_BOOL && k->type != TICK_KEY_T_ENUM &&
                k->type != TICK_KEY_T_ADDRESSES &&
                (k->min < 0 || (k->max && k->max < k->min)))
                return BAD("key '%s': bad range %lld to %lld", k->name,
                           (long long)k->min, (long long)k->max);
            if (k->type == TICK_KEY_T_ENUM && (!k->choices || !k->choices[0]))
                return BAD("key '%s': an enum needs choices", k->name);
        }
        if ((k->flags & TICK_KEY_REQUIRED) && k->def)
            return BAD("key '%s': required, yet has a default", k->name);
        if (k->def) {
            struct tickd_arena *tmp = NULL;
            union { int64_t i; tick_strings s; tick_words_list w; char b[64]; } scratch;
            char inner[600];
            size_t bad;
            int rc = fill_key(k, &k->def, 1, &scratch, &tmp, &bad, inner, sizeof inner);
            tickd_arena_free(&tmp);
            if (rc == -ENOMEM)
                return BAD("out of memory");
            if (rc < 0)
                return BAD("key '%s': default '%s' is refused: %s", k->name, k->def, inner);
        }
    }
    return NULL;
}

static void kv_error(struct tickd_error *err, const struct tickd_section *sec,
                     int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void kv_error(struct tickd_error *err, const struct tickd_section *sec,
                     int line, const char *fmt, ...)
{
    char msg[900];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tickd_error_set(err, sec->file, line, "plugin:%s: %s", sec->name, msg);
}

/* The raw values of key k in sec (file order, aliases resolved) into a
 * new array (*n of them); lines[] likewise if wanted. NULL with *n = 0
 * when absent; -ENOMEM as NULL with *n = SIZE_MAX. */
static const char **values_of(const tick_key *keys, const tick_key *k,
                              const struct tickd_section *sec, size_t *n, int **lines)
{
    const char **v = NULL;
    size_t c = 0;

    for (size_t i = 0; i < sec->nkv; i++)
        c += find_key(keys, sec->kv[i].key) == k;
    *n = c;
    if (!c)
        return NULL;
    v = tick__malloc(c * sizeof *v);
    if (lines && v && !(*lines = tick__malloc(c * sizeof **lines))) {
        free(v);
        v = NULL;
    }
    if (!v) {
        *n = SIZE_MAX;
        return NULL;
    }
    c = 0;
    for (size_t i = 0; i < sec->nkv; i++)
        if (find_key(keys, sec->kv[i].key) == k) {
            if (lines)
                (*lines)[c] = sec->kv[i].line;
            v[c++] = sec->kv[i].raw;
        }
    return v;
}

int tickd_keys_fill(const tick_key *keys, const struct tickd_section *sec,
                    void *data, struct tickd_arena **arena, struct tickd_error *err)
{
    char why[800];

    /* unknown keys and duplicates first, in file order */
    for (size_t i = 0; i < sec->nkv; i++) {
        const tick_key *k = find_key(keys, sec->kv[i].key);
        if (!k) {
            kv_error(err, sec, sec->kv[i].line, "unknown key '%s'", sec->kv[i].key);
            return -EINVAL;
        }
        if (k->flags & TICK_KEY_REPEATABLE)
            continue;
        for (size_t j = 0; j < i; j++)
            if (find_key(keys, sec->kv[j].key) == k) {
                kv_error(err, sec, sec->kv[i].line, "duplicate key '%s' (first at "
                         "line %d)", sec->kv[i].key, sec->kv[j].line);
                return -EINVAL;
            }
    }
    for (const tick_key *k = keys; k->name; k++) {
        size_t n, bad;
        int *lines = NULL, rc;
        const char **v;

        if (k->type == TICK_KEY_T_ALIAS)
            continue;
        v = values_of(keys, k, sec, &n, &lines);
        if (n == SIZE_MAX) {
            tickd_error_set(err, sec->file, sec->line, "out of memory");
            return -ENOMEM;
        }
        if (n == 0 && (k->flags & TICK_KEY_REQUIRED)) {
            kv_error(err, sec, sec->line, "missing required key '%s'", k->name);
            return -EINVAL;
        }
        if (n == 0 && !k->def)
            continue;
        rc = n ? fill_key(k, v, n, (char *)data + k->offset, arena, &bad, why, sizeof why)
               : fill_key(k, &k->def, 1, (char *)data + k->offset, arena, &bad, why,
                          sizeof why);
        if (rc == -ENOMEM)
            tickd_error_set(err, sec->file, sec->line, "out of memory");
        else if (rc < 0)
            kv_error(err, sec, n ? lines[bad] : sec->line, "%s", why);
        free(v);
        free(lines);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Do a and b give k the same values? -1: out of memory. */
static int same_values(const tick_key *keys, const tick_key *k,
                       const struct tickd_section *a, const struct tickd_section *b)
{
    size_t na, nb;
    const char **va = values_of(keys, k, a, &na, NULL);
    const char **vb = values_of(keys, k, b, &nb, NULL);
    int same = na == nb;

    if (na == SIZE_MAX || nb == SIZE_MAX)
        same = -1;
    for (size_t i = 0; same == 1 && i < na; i++)
        same = strcmp(va[i], vb[i]) == 0;
    free(va);
    free(vb);
    return same;
}

bool tickd_keys_live_only(const tick_key *keys, const struct tickd_section *a,
                          const struct tickd_section *b)
{
    for (size_t i = 0; i < a->nkv; i++)
        if (!find_key(keys, a->kv[i].key))
            return false;
    for (size_t i = 0; i < b->nkv; i++)
        if (!find_key(keys, b->kv[i].key))
            return false;
    for (const tick_key *k = keys; k->name; k++) {
        if (k->type == TICK_KEY_T_ALIAS || (k->flags & TICK_KEY_LIVE))
            continue;
        if (same_values(keys, k, a, b) != 1)
            return false;
    }
    return true;
}

int tickd_keys_apply_live(const tick_key *keys, const struct tickd_section *a,
                          const struct tickd_section *b, void *data,
                          struct tickd_arena **arena)
{
    size_t nk = 0, total = 0;
    char why[800];
    int rc = 0;

    /* one slot per key, each aligned as malloc aligns (a pointer field
     * after a 4-byte one must not land on a 4-byte boundary) */
#define SLOT(k) (((k)->size + 15) & ~(size_t)15)
    for (const tick_key *k = keys; k->name; k++, nk++)
        total += SLOT(k);
    /* every new value parsed into a scratch copy first: all or nothing */
    char *scratch = tick__calloc(1, total ? total : 1);
    bool *changed = tick__calloc(nk ? nk : 1, sizeof *changed);
    if (!scratch || !changed) {
        free(scratch);
        free(changed);
        return -ENOMEM;
    }
    size_t off = 0, i = 0;
    for (const tick_key *k = keys; rc == 0 && k->name; off += SLOT(k), k++, i++) {
        size_t n, bad;
        const char **v;
        int same;

        if (k->type == TICK_KEY_T_ALIAS || !(k->flags & TICK_KEY_LIVE))
            continue;
        if ((same = same_values(keys, k, a, b)) != 0) {
            rc = same < 0 ? -ENOMEM : 0;
            continue;
        }
        changed[i] = true;
        v = values_of(keys, k, b, &n, NULL);
        if (n == SIZE_MAX)
            rc = -ENOMEM;
        else if (n)
            rc = fill_key(k, v, n, scratch + off, arena, &bad, why, sizeof why);
        else if (k->def)
            rc = fill_key(k, &k->def, 1, scratch + off, arena, &bad, why, sizeof why);
        /* else: absent, no default: zero, as a fresh instance has it */
        free(v);
    }
    if (rc == 0) {
        off = 0;
        i = 0;
        for (const tick_key *k = keys; k->name; off += SLOT(k), k++, i++)
            if (changed[i])
                memcpy((char *)data + k->offset, scratch + off, k->size);
    }
#undef SLOT
    free(scratch);
    free(changed);
    return rc;
}

/* ---- --describe ---------------------------------------------------- */

static void roff_text(FILE *out, const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", out);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else
            fputc(*s, out);
    }
}

void tickd_keys_describe(FILE *out, const char *module, const char *version,
                         const char *description, const tick_key *keys, bool roff)
{
    char exp[300];

    if (roff) {
        fputs(".SS \"", out);
        roff_text(out, module);
        fputs("\"\n", out);
        fputs("Module \\fB", out);
        roff_text(out, module);
        fputs("\\fR ", out);
        roff_text(out, version ? version : "(no version)");
        fputs(".\n", out);
        if (description) {
            roff_text(out, description);
            fputc('\n', out);
        }
    } else {
        fprintf(out, "%s %s\n", module, version ? version : "(no version)");
        if (description)
            fprintf(out, "  %s\n", description);
    }
    if (!keys) {
        fputs(roff ? "It has no key table: its keys are read by its configure() "
                     "function and are not listed here.\n"
                   : "  no key table: its configure() function reads the keys "
                     "(see its documentation)\n", out);
        return;
    }
    if (!keys->name)
        fputs(roff ? "It takes no keys.\n" : "  no keys\n", out);
    for (const tick_key *k = keys; k->name; k++) {
        char attrs[600];
        size_t off = 0;

        if (k->type == TICK_KEY_T_ALIAS) {
            if (roff) {
                fputs(".TP\n\\fB", out);
                roff_text(out, k->name);
                fputs("\\fR\nanother name for \\fB", out);
                roff_text(out, k->alias);
                fputs("\\fR.\n", out);
            } else {
                fprintf(out, "  %s: alias of %s\n", k->name, k->alias);
            }
            continue;
        }
        expected(k, exp, sizeof exp);
        off += (size_t)snprintf(attrs + off, sizeof attrs - off, "%s", exp);
        if (k->flags & TICK_KEY_REQUIRED)
            off += (size_t)snprintf(attrs + off, sizeof attrs - off, "; required");
        else if (k->def)
            off += (size_t)snprintf(attrs + off, sizeof attrs - off, "; default %s",
                                    k->def[0] ? k->def : "\"\"");
        else
            off += (size_t)snprintf(attrs + off, sizeof attrs - off, "; no default");
        if ((k->flags & TICK_KEY_REPEATABLE) && off < sizeof attrs)
            off += (size_t)snprintf(attrs + off, sizeof attrs - off, "; repeatable");
        if ((k->flags & TICK_KEY_LIVE) && off < sizeof attrs)
            snprintf(attrs + off, sizeof attrs - off, "; live (no restart on reload)");
        if (roff) {
            fputs(".TP\n\\fB", out);
            roff_text(out, k->name);
            fputs("\\fR (\\fI", out);
            roff_text(out, type_names[k->type]);
            fputs("\\fR)\n", out);
            if (k->help) {
                roff_text(out, k->help);
                fputs(".\n.br\n", out);
            }
            roff_text(out, attrs);
            fputs(".\n", out);
        } else {
            fprintf(out, "  %s (%s)\n", k->name, type_names[k->type]);
            if (k->help)
                fprintf(out, "      %s\n", k->help);
            fprintf(out, "      %s\n", attrs);
        }
    }
}
