/*
 * config.c — read tickd.ini and its drop-ins with inih (see config.h).
 */
#include <ctype.h>
#include <dirent.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "tick/plugin.h"
#include "tick/config.h"

void tickd_error_set(struct tickd_error *err, const char *file, int line,
                     const char *fmt, ...)
{
    va_list ap;
    int n = 0;

    if (!err || err->set)
        return;   /* the first error is the one worth reading */
    err->set = true;
    if (file && line > 0)
        n = snprintf(err->msg, sizeof err->msg, "%s:%d: ", file, line);
    else if (file)
        n = snprintf(err->msg, sizeof err->msg, "%s: ", file);
    if (n < 0 || (size_t)n >= sizeof err->msg)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
    va_end(ap);
}

enum section_kind { SEC_NONE, SEC_DAEMON, SEC_PLUGIN, SEC_BAD };

/* Per-file parse state; the reader and the handler share it. */
struct parse {
    struct tickd_config *cfg;
    struct tickd_error err;   /* this file's first error */
    int err_line;
    const char *file;
    FILE *fp;
    char *buf;                /* LINE_CAP bytes */
    bool stop;                /* a line too long: read no further */
    int lineno;
    bool main_file;
    enum section_kind kind;
    size_t cur;               /* index into cfg->sec when SEC_PLUGIN */
    int daemon_lines[16];     /* line of each [daemon] key seen in this file */
    /* raw [daemon] paths, resolved when every file is read */
    char **plugin_dir;
    char **include_dir;
    int *include_line;
};

#define PERR(ps, ...)                                                       \
    do {                                                                    \
        if (!(ps)->err.set)                                                 \
            (ps)->err_line = (ps)->lineno;                                  \
        tickd_error_set(&(ps)->err, (ps)->file, (ps)->lineno, __VA_ARGS__); \
    } while (0)

static bool valid_name(const char *s, size_t max)
{
    size_t n = 0;

    if (!*s || *s == '.' || *s == '-')
        return false;
    for (; *s; s++, n++)
        if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') ||
              ('0' <= *s && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
            return false;
    return n <= max;
}

static void section_free_contents(struct tickd_section *s)
{
    free(s->name);
    free(s->module);
    free(s->module_path);
    free(s->file);
    for (size_t i = 0; i < s->nkv; i++) {
        free(s->kv[i].key);
        free(s->kv[i].value);
        free(s->kv[i].raw);
    }
    free(s->kv);
}

void tickd_section_free(struct tickd_section *s)
{
    if (!s)
        return;
    section_free_contents(s);
    free(s);
}

void tickd_config_free(struct tickd_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->nsec; i++)
        section_free_contents(&cfg->sec[i]);
    free(cfg->sec);
    free(cfg->slots);
    free(cfg->d.plugin_dir);
    free(cfg->d.include_dir);
    free(cfg->d.control_socket);
    free(cfg->path);
    free(cfg);
}

/* FNV-1a: names are short and chosen by the administrator. */
static size_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3u;
    return (size_t)(h ^ (h >> 32));
}

/* The slot holding name, or the empty slot where it would go. */
static size_t *name_slot(const struct tickd_config *cfg, const char *name)
{
    size_t mask = cfg->nslots - 1, i = name_hash(name) & mask;
    while (cfg->slots[i] && strcmp(cfg->sec[cfg->slots[i] - 1].name, name) != 0)
        i = (i + 1) & mask;
    return &cfg->slots[i];
}

/* Index sec[idx] (its name known absent); grows the table. 0 or -ENOMEM. */
static int name_insert(struct tickd_config *cfg, size_t idx)
{
    if ((cfg->nsec + 1) * 2 > cfg->nslots) {
        size_t n = cfg->nslots ? cfg->nslots * 2 : 64;
        size_t *old = cfg->slots, oldn = cfg->nslots;
        if (!(cfg->slots = tick__calloc(n, sizeof *cfg->slots))) {
            cfg->slots = old;
            return -ENOMEM;
        }
        cfg->nslots = n;
        for (size_t i = 0; i < oldn; i++)
            if (old[i])
                *name_slot(cfg, cfg->sec[old[i] - 1].name) = old[i];
        free(old);
    }
    *name_slot(cfg, cfg->sec[idx].name) = idx + 1;
    return 0;
}

const struct tickd_section *tickd_config_find(const struct tickd_config *cfg,
                                              const char *name)
{
    size_t *slot;

    if (!cfg->nslots)
        return NULL;
    slot = name_slot(cfg, name);
    return *slot ? &cfg->sec[*slot - 1] : NULL;
}

static void section_header(struct parse *ps, char *line)
{
    struct tickd_config *cfg = ps->cfg;
    struct tickd_section *s = NULL;
    char *end = strchr(line, ']');
    const char *name;

    if (!end) {
        ps->kind = SEC_BAD;
        PERR(ps, "syntax error: section header without ']'");
        return;
    }
    *end = '\0';
    name = line + 1;
    if (strcmp(name, "daemon") == 0) {
        ps->kind = SEC_DAEMON;
    } else if (strncmp(name, "plugin:", 7) == 0) {
        const struct tickd_section *dup = tickd_config_find(cfg, name + 7);
        ps->kind = SEC_BAD;
        if (!valid_name(name + 7, 64)) {
            PERR(ps, "bad instance name in [%s] (use up to 64 letters, "
                 "digits, '_', '-' or '.')", name);
        } else if (dup) {
            PERR(ps, "duplicate section [%s], first defined at %s:%d",
                 name, dup->file, dup->line);
        } else if (cfg->nsec == cfg->seccap &&
                   !(s = tick__realloc(cfg->sec, (cfg->seccap * 2 + 4) * sizeof *s))) {
            PERR(ps, "out of memory");
        } else {
            if (cfg->nsec == cfg->seccap) {
                cfg->sec = s;
                cfg->seccap = cfg->seccap * 2 + 4;
            }
            s = &cfg->sec[cfg->nsec];
            *s = (struct tickd_section){
                .name = tick__strdup(name + 7), .file = tick__strdup(ps->file),
                .line = ps->lineno, .module_line = ps->lineno,
            };
            if (!s->name || !s->file || name_insert(cfg, cfg->nsec) < 0) {
                section_free_contents(s);
                PERR(ps, "out of memory");
            } else {
                ps->cur = cfg->nsec++;
                ps->kind = SEC_PLUGIN;
            }
        }
    } else {
        ps->kind = SEC_BAD;
        PERR(ps, "unknown section [%s]", name);
    }
    *end = ']';
}

/* fgets-style reader for ini_parse_stream: one call per physical line,
 * so ps->lineno is the line inih is working on when it calls us back. */
/* Read one line into ps->buf (LINE_CAP bytes, allocated once): true and
 * *n bytes, '\n' included if there was one; false at the end of the file.
 * A line that does not fit is cut off with *too_long set: the rest is never
 * read, so a file that is one endless line (/dev/zero) costs nothing. */
#define LINE_CAP 4096
static bool read_line(struct parse *ps, size_t *n, bool *too_long)
{
    int c;

    *n = 0;
    *too_long = false;
    while ((c = getc_unlocked(ps->fp)) != EOF) {
        if (*n == LINE_CAP - 1) {
            *too_long = true;
            break;
        }
        ps->buf[(*n)++] = (char)c;
        if (c == '\n')
            break;
    }
    ps->buf[*n] = '\0';
    return *n > 0 || *too_long;
}

/* Would inih (r55, Debian's options: inline comments, no value-less
 * keys) call this line a syntax error? The same test as its
 * ini_parse_stream: no ']' for a section header, no '=' or ':' for a
 * key, either cut short by an inline " ;" comment. Lines whose blanks
 * our reader left in front (\v, \f, \r) are not judged: inih could take
 * them for continuation lines. */
static bool inih_syntax_error(const char *p)
{
    const char *chars = "=:";
    bool was_space = false;

    if (isspace((unsigned char)*p))
        return false;
    if (!*p || strchr(";#", *p))
        return false;
    if (*p == '[') {
        chars = "]";
        p++;
    }
    for (; *p && !strchr(chars, *p) && !(was_space && *p == ';'); p++)
        was_space = isspace((unsigned char)*p);
    return !*p || *p == ';';
}

/* The quoting rule (tick/config.h): hide a ';' inside double quotes of a
 * key's value from inih, which would take " ;" for a comment. Scans the
 * value as tick_unquote does; stops at an unquoted " ;" (inih's comment). */
#define QUOTED_SEMI '\x01'
static void protect_quoted(char *line)
{
    bool in_q = false;
    char *p;

    if (*line == ';' || *line == '#' || *line == '[')
        return;
    if (!(p = strpbrk(line, "=:")))
        return;
    for (p++; *p && *p != '\n'; p++) {
        if (!in_q && (*p == ';') && (p[-1] == ' ' || p[-1] == '\t'))
            return;
        if (*p == '"')
            in_q = !in_q;
        else if (in_q && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
            p++;
        else if (in_q && *p == ';')
            *p = QUOTED_SEMI;
    }
}

static char *reader(char *str, int num, void *stream)
{
    struct parse *ps = stream;
    bool too_long;
    size_t n;
    char *p;
    size_t len;

    /* Stop at the first error: only the first is reported, and a file
     * that never ends (a FIFO fed by `yes junk`, /dev/urandom) must not
     * be read to its end. */
    if (ps->stop || ps->err.set || !read_line(ps, &n, &too_long))
        return NULL;
    ps->lineno++;
    if (too_long) {
        /* Stop here: this is the file's first error of ours, and inih has
         * reported any error on an earlier line already. */
        PERR(ps, "line too long (more than %d characters)", num - 2);
        ps->stop = true;
        str[0] = '\n';
        str[1] = '\0';
        return str;
    }
    p = ps->buf;
    if (ps->lineno == 1 && n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    while (*p == ' ' || *p == '\t')
        p++;
    /* The limit counts what is written, not how the line ends: "\n",
     * "\r\n" or nothing at the end of the file. inih gets "\n". */
    len = strlen(p);
    if (len > 0 && p[len - 1] == '\n')
        len--;
    if (len > 0 && p[len - 1] == '\r')
        len--;
    if (len + 2 > (size_t)num) {
        PERR(ps, "line too long (more than %d characters)", num - 2);
        str[0] = '\n';
        str[1] = '\0';
        return str;
    }
    memcpy(str, p, len);
    str[len] = '\n';
    str[len + 1] = '\0';
    p[len] = '\0';   /* section_header() sees the line without its end */
    if (memchr(str, QUOTED_SEMI, len)) {
        PERR(ps, "byte 0x01 in a configuration file");
        str[0] = '\n';
        str[1] = '\0';
        return str;
    }
    protect_quoted(str);
    if (inih_syntax_error(p))
        ps->stop = true;    /* inih reports this line; read no further */
    if (*p == '[')
        section_header(ps, p);
    return str;
}

static char *dup_or_err(struct parse *ps, char **slot, const char *value)
{
    char *v = tick__strdup(value);
    if (!v) {
        PERR(ps, "out of memory");
        return NULL;
    }
    free(*slot);
    *slot = v;
    return v;
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

static const char *const daemon_keys[] = {
    "plugin_dir", "include_dir", "control_socket", "log_level", "stop_timeout",
    "slow_handle", "accounting", "watchdog",
};

static void daemon_key(struct parse *ps, const char *key, const char *value)
{
    struct tickd_daemon_conf *d = &ps->cfg->d;
    uint64_t ns;

    for (size_t i = 0; i < sizeof daemon_keys / sizeof daemon_keys[0]; i++)
        if (strcmp(key, daemon_keys[i]) == 0) {
            if (ps->daemon_lines[i]) {
                PERR(ps, "duplicate key '%s' in [daemon] (first at line %d)", key,
                     ps->daemon_lines[i]);
                return;
            }
            ps->daemon_lines[i] = ps->lineno;
        }

    if (strcmp(key, "plugin_dir") == 0) {
        if (!*value)
            PERR(ps, "empty value for key 'plugin_dir'");
        else
            dup_or_err(ps, ps->plugin_dir, value);
    } else if (strcmp(key, "include_dir") == 0) {
        if (!ps->main_file)
            PERR(ps, "include_dir is only allowed in the main configuration file");
        else if (!*value)
            PERR(ps, "empty value for key 'include_dir'");
        else if (dup_or_err(ps, ps->include_dir, value))
            *ps->include_line = ps->lineno;
    } else if (strcmp(key, "control_socket") == 0) {
        /* main file only: `tickd reload` finds the socket by reading it */
        if (!ps->main_file)
            PERR(ps, "control_socket is only allowed in the main configuration file");
        else if (!*value || strcasecmp(value, "no") == 0) {
            if (dup_or_err(ps, &d->control_socket, ""))
                d->control_socket_line = ps->lineno;
        } else if (value[0] != '/')
            PERR(ps, "control_socket '%s' is not an absolute path (or 'no' to "
                 "turn the control socket off)", value);
        else if (strlen(value) >= TICKD_CONTROL_PATH_MAX)
            PERR(ps, "control_socket '%s' is too long for a unix socket (at most "
                 "%d bytes)", value, TICKD_CONTROL_PATH_MAX - 1);
        else if (dup_or_err(ps, &d->control_socket, value))
            d->control_socket_line = ps->lineno;
    } else if (strcmp(key, "log_level") == 0) {
        if (tickd_log_parse_level(value, &d->log_level) < 0)
            PERR(ps, "bad log level '%s' (use err, warning, notice, info or debug)",
                 value);
    } else if (strcmp(key, "stop_timeout") == 0) {
        if (tick_parse_duration(value, &ns) < 0 || ns == 0)
            PERR(ps, "bad duration '%s' for key 'stop_timeout' "
                 "(use e.g. 250ms, 5s, 2m)", value);
        else
            d->stop_timeout = ns;
    } else if (strcmp(key, "slow_handle") == 0) {
        if (tick_parse_duration(value, &ns) < 0)
            PERR(ps, "bad duration '%s' for key 'slow_handle' "
                 "(use e.g. 250ms, 5s, 2m; 0 turns it off)", value);
        else
            d->slow_handle = ns;
    } else if (strcmp(key, "accounting") == 0) {
        if (parse_bool(value, &d->accounting) < 0)
            PERR(ps, "bad boolean '%s' for key 'accounting' (use yes or no)", value);
    } else if (strcmp(key, "watchdog") == 0) {
        if (parse_bool(value, &d->watchdog) < 0)
            PERR(ps, "bad boolean '%s' for key 'watchdog' (use yes or no)", value);
    } else {
        PERR(ps, "unknown key '%s' in [daemon]", key);
    }
}

static void plugin_key(struct parse *ps, const char *key, const char *value,
                       const char *raw)
{
    struct tickd_section *s = &ps->cfg->sec[ps->cur];
    struct tickd_kv *kv;

    if (strcmp(key, "module") == 0) {
        if (s->module)
            PERR(ps, "plugin:%s: duplicate key 'module'", s->name);
        else if (!valid_name(value, 128))
            PERR(ps, "plugin:%s: bad module name '%s' (a file name in plugin_dir, "
                 "without .so)", s->name, value);
        else if (dup_or_err(ps, &s->module, value))
            s->module_line = ps->lineno;
        return;
    }
    if (strcmp(key, "reuse_port") == 0) {
        /* the daemon's: its listeners are the daemon's (tick/listen.h) */
        if (s->reuse_port_line)
            PERR(ps, "plugin:%s: duplicate key 'reuse_port' (first at line %d)",
                 s->name, s->reuse_port_line);
        else if (parse_bool(value, &s->reuse_port) < 0)
            PERR(ps, "plugin:%s: bad value '%s' for 'reuse_port' (yes or no)",
                 s->name, value);
        else
            s->reuse_port_line = ps->lineno;
        return;
    }
    if (s->nkv == s->kvcap) {
        kv = tick__realloc(s->kv, (s->kvcap * 2 + 4) * sizeof *kv);
        if (!kv) {
            PERR(ps, "out of memory");
            return;
        }
        s->kv = kv;
        s->kvcap = s->kvcap * 2 + 4;
    }
    kv = &s->kv[s->nkv];
    *kv = (struct tickd_kv){ tick__strdup(key), tick__strdup(value), ps->lineno,
                             tick__strdup(raw) };
    if (!kv->key || !kv->value || !kv->raw) {
        free(kv->key);
        free(kv->value);
        free(kv->raw);
        PERR(ps, "out of memory");
        return;
    }
    s->nkv++;
}

static int handler(void *user, const char *section, const char *key,
                   const char *value)
{
    struct parse *ps = user;
    char *raw = NULL, *val = NULL;
    size_t n;

    (void)section;   /* we track sections ourselves, from the reader */
    if (ps->err.set)
        return 1;    /* keep the first error; inih goes on reading */
    if (ps->kind == SEC_BAD)
        return 1;    /* the header was reported */
    if (ps->kind == SEC_NONE) {
        PERR(ps, "key '%s' outside of any section", key);
        return 0;
    }
    /* the quoting rule: ';' back, then the quotes off */
    n = strlen(value);
    if (!(raw = tick__strdup(value)) || !(val = tick__malloc(n + 1))) {
        PERR(ps, "out of memory");
        goto out;
    }
    for (char *p = raw; (p = strchr(p, QUOTED_SEMI)); p++)
        *p = ';';
    if (tick_unquote(raw, val, n + 1) < 0) {
        if (ps->kind == SEC_PLUGIN)
            PERR(ps, "plugin:%s: unterminated quote in the value of key '%s'",
                 ps->cfg->sec[ps->cur].name, key);
        else
            PERR(ps, "unterminated quote in the value of key '%s'", key);
        goto out;
    }
    if (ps->kind == SEC_DAEMON)
        daemon_key(ps, key, val);
    else
        plugin_key(ps, key, val, raw);
out:
    free(raw);
    free(val);
    return ps->err.set ? 0 : 1;
}

struct paths {
    char *plugin_dir;
    char *include_dir;
    int include_line;
};

static int parse_file(struct tickd_config *cfg, const char *file, bool main_file,
                      struct paths *paths, struct tickd_error *err)
{
    struct parse ps = {
        .cfg = cfg, .file = file, .main_file = main_file,
        .plugin_dir = &paths->plugin_dir, .include_dir = &paths->include_dir,
        .include_line = &paths->include_line,
    };
    int rc, ret = 0;

    ps.fp = fopen(file, "re");
    if (!ps.fp) {
        rc = -errno;
        tickd_error_set(err, file, 0, "cannot open: %s", strerror(-rc));
        return rc;
    }
    if (!(ps.buf = tick__malloc(LINE_CAP))) {
        fclose(ps.fp);
        tickd_error_set(err, file, 0, "out of memory");
        return -ENOMEM;
    }
    rc = ini_parse_stream(reader, &ps, handler, &ps);
    if (ferror(ps.fp)) {
        tickd_error_set(err, file, 0, "read error: %s", strerror(errno));
        ret = -EIO;
    } else if (rc > 0 && (!ps.err.set || rc < ps.err_line)) {
        tickd_error_set(err, file, rc, "syntax error (expected [section] or "
                        "key = value)");
        ret = -EINVAL;
    } else if (rc < 0) {
        tickd_error_set(err, file, 0, "out of memory");
        ret = -ENOMEM;
    } else if (ps.err.set) {
        *err = ps.err;
        ret = -EINVAL;
    }
    free(ps.buf);
    fclose(ps.fp);
    return ret;
}

/* dir/name, or name alone when it is absolute or dir is "." */
static char *path_join(const char *dir, const char *name)
{
    char *out;

    if (name[0] == '/' || !dir || !*dir || strcmp(dir, ".") == 0)
        return tick__strdup(name);
    if (tick__asprintf(&out, "%s/%s", dir, name) < 0)
        return NULL;
    return out;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return tick__strdup(".");
    if (slash == path)
        return tick__strdup("/");
    return tick__strndup(path, (size_t)(slash - path));
}

static int ini_filter(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 4 && strcmp(d->d_name + n - 4, ".ini") == 0;
}

/* Lexical order by bytes, whatever the locale. */
static int byte_order(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int parse_dropins(struct tickd_config *cfg, struct paths *paths,
                         struct tickd_error *err)
{
    struct dirent **names = NULL;
    const char *dir = cfg->d.include_dir;
    int n, rc = 0;

    n = scandir(dir, &names, ini_filter, byte_order);
    if (n < 0) {
        rc = -errno;
        if (rc == -ENOENT)
            return 0;   /* an absent drop-in directory is an empty one */
        tickd_error_set(err, cfg->path, paths->include_line,
                        "include_dir '%s': %s", dir, strerror(-rc));
        return rc;
    }
    for (int i = 0; i < n; i++) {
        char *file = rc == 0 ? path_join(dir, names[i]->d_name) : NULL;
        struct stat st;
        if (rc == 0 && !file) {
            tickd_error_set(err, cfg->path, 0, "out of memory");
            rc = -ENOMEM;
        } else if (rc == 0 && stat(file, &st) < 0) {
            /* Gone since scandir, or a dangling symlink: not a regular
             * file, skipped. Anything else (EACCES, ELOOP) would leave a
             * drop-in out without a word: an error. */
            if (errno != ENOENT) {
                rc = -errno;
                tickd_error_set(err, file, 0, "cannot open: %s", strerror(-rc));
            }
        } else if (rc == 0 && S_ISREG(st.st_mode)) {
            rc = parse_file(cfg, file, false, paths, err);
        }
        free(file);
        free(names[i]);
    }
    free(names);
    return rc;
}

int tickd_config_load(const char *path, struct tickd_config **out,
                      struct tickd_error *err)
{
    struct tickd_config *cfg = tick__calloc(1, sizeof *cfg);
    struct paths paths = { 0 };
    char *dir = NULL;
    int rc;

    *out = NULL;
    if (!cfg || !(cfg->path = tick__strdup(path)) || !(dir = dir_of(path))) {
        tickd_error_set(err, path, 0, "out of memory");
        tickd_config_free(cfg);
        return -ENOMEM;
    }
    cfg->d = (struct tickd_daemon_conf){
        .log_level = TICK_LOG_INFO,
        .stop_timeout = TICKD_DEFAULT_STOP_TIMEOUT,
        .slow_handle = TICKD_DEFAULT_SLOW_HANDLE,
        .watchdog = true,
        .accounting = true,
    };
    rc = parse_file(cfg, path, true, &paths, err);
    if (rc == 0 && paths.include_dir) {
        if (!(cfg->d.include_dir = path_join(dir, paths.include_dir))) {
            tickd_error_set(err, path, 0, "out of memory");
            rc = -ENOMEM;
        } else {
            rc = parse_dropins(cfg, &paths, err);
        }
    }
    if (rc == 0) {
        cfg->d.plugin_dir = path_join(dir, paths.plugin_dir ? paths.plugin_dir
                                                            : TICKD_PLUGIN_DIR);
        if (!cfg->d.plugin_dir)
            rc = -ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < cfg->nsec; i++) {
        struct tickd_section *s = &cfg->sec[i];
        if (!s->module && !(s->module = tick__strdup(s->name)))
            rc = -ENOMEM;
        else if (tick__asprintf(&s->module_path, "%s/%s.so", cfg->d.plugin_dir,
                          s->module) < 0) {
            s->module_path = NULL;
            rc = -ENOMEM;
        }
    }
    if (rc == -ENOMEM)
        tickd_error_set(err, path, 0, "out of memory");
    free(paths.plugin_dir);
    free(paths.include_dir);
    free(dir);
    if (rc < 0) {
        tickd_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

bool tickd_section_equal(const struct tickd_section *a,
                         const struct tickd_section *b)
{
    if (strcmp(a->name, b->name) != 0 ||
        strcmp(a->module_path, b->module_path) != 0 || a->nkv != b->nkv ||
        a->reuse_port != b->reuse_port)
        return false;
    for (size_t i = 0; i < a->nkv; i++)
        if (strcmp(a->kv[i].key, b->kv[i].key) != 0 ||
            strcmp(a->kv[i].raw, b->kv[i].raw) != 0)
            return false;
    return true;
}

struct tickd_section *tickd_section_dup(const struct tickd_section *s)
{
    struct tickd_section *d = tick__calloc(1, sizeof *d);
    bool ok;

    if (!d)
        return NULL;
    *d = (struct tickd_section){
        .name = tick__strdup(s->name), .module = tick__strdup(s->module),
        .module_path = tick__strdup(s->module_path), .file = tick__strdup(s->file),
        .line = s->line, .module_line = s->module_line,
        .reuse_port = s->reuse_port, .reuse_port_line = s->reuse_port_line,
        .kv = s->nkv ? tick__calloc(s->nkv, sizeof *d->kv) : NULL,
    };
    ok = d->name && d->module && d->module_path && d->file && (d->kv || !s->nkv);
    for (size_t i = 0; ok && i < s->nkv; i++) {
        d->kv[i] = (struct tickd_kv){ tick__strdup(s->kv[i].key),
                                      tick__strdup(s->kv[i].value), s->kv[i].line,
                                      tick__strdup(s->kv[i].raw) };
        d->nkv = d->kvcap = i + 1;
        ok = d->kv[i].key && d->kv[i].value && d->kv[i].raw;
    }
    if (!ok) {
        tickd_section_free(d);
        return NULL;
    }
    return d;
}
