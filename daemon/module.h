/*
 * module.h — plugin shared objects, loaded once and shared by instances.
 *
 * A module is plugin_dir/NAME.so. Before dlopen the file, its directory
 * and every parent up to / (of the path as written and of the real file
 * behind any symlink) are checked like sshd's StrictModes / secure_filename:
 * regular file, owned by root or by the user tickd runs as, none writable
 * by group or others (a sticky directory owned by root, /tmp, may be).
 * Then the file is copied into a sealed memfd, the copy's ELF headers are
 * checked (elfcheck.h: a truncated copy would SIGBUS inside dlopen), and
 * the copy is dlopened (RTLD_NOW | RTLD_LOCAL) as /proc/self/fd/N: a
 * truncation or an overwrite of the file on disk cannot reach the running
 * daemon. Then the descriptor symbol and the ABI (major equal, minor not
 * newer than ours), and the key table of a 3.1 plugin (keys.h). Every message names the path the operator wrote. Modules are reference counted
 * by instances; the last release dlcloses, which is only safe because an
 * instance releases its module after its tasks have finished and stop()
 * and release() have returned. Loop-thread-only.
 */
#ifndef TICKD_MODULE_H
#define TICKD_MODULE_H

#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "tick/plugin.h"

struct tickd_module {
    tick_link link;              /* in the loaded-module list */
    char *name;                  /* module name (file name without .so) */
    char *path;                  /* the file dlopened */
    void *dl;
    int fd;                      /* the sealed memfd copy dlopened, -1 */
    dev_t dev;                   /* the file copied: shared by a new */
    ino_t ino;                   /* instance only while the file on */
    off_t size;                  /* disk is still this one */
    struct timespec mtime, ctime;
    const tick_plugin *desc;
    /* ABI 2.1 fields, 0/NULL for a plugin built for minor 0 */
    unsigned flags;              /* TICK_PLUGIN_STATEFUL */
    int (*reconfigure)(tick_instance *in, const char *key, const char *value);
    /* ABI 3.1: the key table (checked at load), NULL for a 3.0 plugin */
    const tick_key *keys;
    const char *description;  /* ABI >= 3.1, else NULL */
    unsigned load;               /* 1, 2, ...: which load of any module */
    unsigned refs;
    unsigned instances;          /* live instances (for log prefixes) */
};

/* Get the module at path (loaded and checked on first use) with a new
 * reference. On failure err gets "plugin:INSTANCE: ..." at file:line. */
int tickd_module_get(const char *name, const char *path, const char *instance,
                     const char *file, int line, struct tickd_module **out,
                     struct tickd_error *err);
/* Has the file at m->path changed (device, inode, size or mtime) since
 * m was loaded from it? A file that cannot be stat()ed now counts as
 * unchanged (the running copy keeps running). */
bool tickd_module_changed(const struct tickd_module *m);
/* Drop a reference; the last one dlcloses the module. */
void tickd_module_put(struct tickd_module *m);
/* How many modules are loaded (tests, stats). */
size_t tickd_module_count(void);

/* StrictModes for one file or directory: NULL if fine, else the reason
 * ("owned by uid 4242, not by root or uid 0 ...") in why. */
const char *tickd_module_check_owner_mode(const struct stat *st, char *why, size_t len);
/* Where the overflow uid is read from (tests; NULL: the default,
 * /proc/sys/kernel/overflowuid). */
void tickd_module_set_overflowuid_path(const char *path);

#endif
