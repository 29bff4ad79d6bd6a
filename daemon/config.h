/*
 * config.h — the daemon's configuration, read with inih.
 *
 * The main file, then every *.ini of include_dir in lexical order. We hand
 * inih our own line reader, so we know the line of every key (inih built
 * with Debian's defaults does not pass it to the handler) and can report a
 * plugin's complaint about a value as FILE:LINE long after parsing. The
 * reader also strips leading blanks, which turns off inih's indented
 * continuation lines (a surprise in a config file), and it sees the section
 * headers itself, so an instance section with no keys still exists.
 * It also applies the quoting rule (tick/config.h): a ';' inside double
 * quotes is handed to inih as byte 0x01 (so inih cannot take " ;" for a
 * comment), turned back into ';' by the handler, which then unquotes.
 * A key repeated within one [daemon] section of one file is an error
 * (a drop-in may override the main file's); repeats in a plugin section
 * are judged by the module's key table, when it has one.
 *
 * A config object is immutable once loaded; reload builds a new one and
 * compares instance sections one by one (tickd_section_equal).
 */
#ifndef TICKD_CONFIG_H
#define TICKD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The first error, formatted "FILE:LINE: message" (or "FILE: message"). */
struct tickd_error {
    bool set;
    char msg[1024];
};

void tickd_error_set(struct tickd_error *err, const char *file, int line,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

struct tickd_kv {
    char *key;
    char *value;           /* unquoted: what configure() gets */
    int line;
    char *raw;             /* as written (quotes kept, comment cut):
                            * key tables parse this; reload compares it */
};

/* One [plugin:NAME] section: an instance. */
struct tickd_section {
    char *name;            /* NAME, after "plugin:" */
    char *module;          /* module = (default: NAME) */
    char *module_path;     /* plugin_dir/MODULE.so */
    char *file;            /* the file that holds the section */
    int line;              /* line of the [plugin:NAME] header */
    int module_line;       /* line of module =, else the header's */
    bool reuse_port;       /* reuse_port = yes: SO_REUSEPORT on its listeners */
    int reuse_port_line;   /* its line, 0 when not given */
    struct tickd_kv *kv;   /* the module's own keys, in file order */
    size_t nkv, kvcap;
};

struct tickd_daemon_conf {
    char *plugin_dir;      /* resolved against the main file's directory */
    char *include_dir;     /* likewise; NULL when unset */
    int log_level;         /* TICK_LOG_* */
    uint64_t stop_timeout; /* ns */
    uint64_t slow_handle;  /* ns, 0 = off */
    bool watchdog;
    bool accounting;       /* time per instance scope (on by default) */
    /* control_socket = (main file only): NULL when unset (the default
     * path, control.h), "" when disabled (empty or "no"), else an
     * absolute path that fits a sockaddr_un */
    char *control_socket;
    int control_socket_line;
};

struct tickd_config {
    char *path;            /* main file as given */
    struct tickd_daemon_conf d;
    struct tickd_section *sec;
    size_t nsec, seccap;
    /* open-addressing hash set of the section names: slot = index + 1
     * into sec, 0 = empty; nslots a power of two, at most half full */
    size_t *slots;
    size_t nslots;
};

#define TICKD_DEFAULT_STOP_TIMEOUT (5 * (uint64_t)1000000000)
#define TICKD_DEFAULT_SLOW_HANDLE (100 * (uint64_t)1000000)
#ifndef TICKD_PLUGIN_DIR
#define TICKD_PLUGIN_DIR "plugins"   /* relative: next to the config file */
#endif
/* sizeof(struct sockaddr_un.sun_path): a control socket path is shorter */
#define TICKD_CONTROL_PATH_MAX 108

/* Parse path (and its drop-ins). Returns 0 and a new config in *out, or
 * -EINVAL/-ENOENT/-ENOMEM with err filled in. Free with tickd_config_free. */
int tickd_config_load(const char *path, struct tickd_config **out,
                      struct tickd_error *err);
void tickd_config_free(struct tickd_config *cfg);

/* Same name, module file, daemon keys (reuse_port) and keys/values in the
 * same order (lines are ignored: moving a section around does not restart
 * it). */
bool tickd_section_equal(const struct tickd_section *a,
                         const struct tickd_section *b);
/* Deep copy, for an instance that outlives its config object. */
struct tickd_section *tickd_section_dup(const struct tickd_section *s);
void tickd_section_free(struct tickd_section *s);
const struct tickd_section *tickd_config_find(const struct tickd_config *cfg,
                                              const char *name);

#endif
