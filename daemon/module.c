/*
 * module.c — load, check and share plugin shared objects (module.h).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "elfcheck.h"
#include "exitguard.h"
#include "keys.h"
#include "log.h"
#include "module.h"

static tick_link modules = TICK_LINK_INIT(modules);
static unsigned load_seq;        /* loads so far, for the log */

static char overflowuid_path[PATH_MAX] = "/proc/sys/kernel/overflowuid";

void tickd_module_set_overflowuid_path(const char *path)
{
    snprintf(overflowuid_path, sizeof overflowuid_path, "%s",
             path ? path : "/proc/sys/kernel/overflowuid");
}

/* The uid the kernel shows for an owner outside our user namespace
 * (usually 65534), or (uid_t)-1 when unknown. */
static uid_t overflowuid(void)
{
    char buf[32];
    unsigned long v;
    ssize_t n;
    int fd = open(overflowuid_path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return (uid_t)-1;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return (uid_t)-1;
    buf[n] = '\0';
    if (sscanf(buf, "%lu", &v) != 1)
        return (uid_t)-1;
    return (uid_t)v;
}

/* sshd's StrictModes for one path: owned by root or by us, and nobody
 * else may write to it (or, for the directory, swap the file). */
const char *tickd_module_check_owner_mode(const struct stat *st, char *why, size_t len)
{
    if (st->st_uid != 0 && st->st_uid != geteuid()) {
        if (st->st_uid == overflowuid())
            /* PrivateUsers=yes: every uid but root and ours reads as this */
            snprintf(why, len, "owned by a user outside this service's user "
                     "namespace (uid %u = overflowuid; PrivateUsers=yes maps "
                     "only root and the service user): chown it to root or "
                     "to the service user", (unsigned)st->st_uid);
        else
            snprintf(why, len, "owned by uid %u, not by root or uid %u "
                     "(the user tickd runs as)", (unsigned)st->st_uid,
                     (unsigned)geteuid());
        return why;
    }
    if (st->st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(why, len, "writable by group or others (chmod go-w)");
        return why;
    }
    return NULL;
}

/* A directory on the way to the file: like a file, except that a sticky
 * directory owned by root (/tmp) may be writable by all — nobody but the
 * owner of an entry can rename or remove it there. */
static const char *check_dir_mode(const struct stat *st, char *why, size_t len)
{
    if (S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX) && st->st_uid == 0)
        return NULL;
    return tickd_module_check_owner_mode(st, why, len);
}

/* dir (absolute, symlinks resolved) and every parent up to /, as sshd's
 * secure_filename: anyone who may write to one of them could swap the
 * file. shown: the directory's name in the message if it is dir itself
 * (the name the operator wrote), NULL for dir. */
static int check_chain(const char *dir, const char *shown, const char *path,
                       const char *instance, const char *file, int line,
                       struct tickd_error *err)
{
    char buf[PATH_MAX], why[300], *slash;
    const char *bad;
    struct stat st;

    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return 0;
    for (;;) {
        if (stat(buf, &st) == 0 && (bad = check_dir_mode(&st, why, sizeof why))) {
            tickd_error_set(err, file, line, "plugin:%s: refusing module %s: "
                            "directory %s is %s", instance, path,
                            shown ? shown : buf, bad);
            return -EPERM;
        }
        shown = NULL;
        slash = strrchr(buf, '/');
        if (!slash || strcmp(buf, "/") == 0)
            return 0;
        if (slash == buf)
            slash[1] = '\0';
        else
            *slash = '\0';
    }
}

/* The directories that decide who could have swapped the file: the one
 * holding path as written and its parents, and, when path is or passes a
 * symlink, the real file's directory and its parents. */
static int check_dirs(const char *path, const char *instance, const char *file,
                      int line, struct tickd_error *err)
{
    char real[PATH_MAX], realdir[PATH_MAX], *dir, *slash;
    int rc = 0;

    slash = strrchr(path, '/');
    dir = slash ? (slash == path ? tick__strdup("/") : tick__strndup(path, (size_t)(slash - path)))
                : tick__strdup(".");
    if (!dir) {
        tickd_error_set(err, file, line, "out of memory");
        return -ENOMEM;
    }
    /* a path that does not resolve fails at open, with open's words */
    if (realpath(dir, realdir))
        rc = check_chain(realdir, dir, path, instance, file, line, err);
    free(dir);
    if (rc == 0 && realpath(path, real) && (slash = strrchr(real, '/'))) {
        if (slash == real)
            slash[1] = '\0';
        else
            *slash = '\0';
        if (strcmp(real, realdir) != 0)
            rc = check_chain(real, NULL, path, instance, file, line, err);
    }
    return rc;
}

/*
 * Open path and check the file actually opened (fstat, not stat). The
 * file itself is not what dlopen maps (see copy_to_memfd). O_NONBLOCK: a
 * FIFO named x.so must not hang us before S_ISREG refuses it. Returns the
 * fd, or < 0 with err set; *st is the file's stat.
 */
static int open_checked(const char *path, const char *name, const char *instance,
                        const char *file, int line, struct stat *st,
                        struct tickd_error *err)
{
    char why[300];
    const char *bad;
    int fd, rc;

    if ((rc = check_dirs(path, instance, file, line, err)) < 0)
        return rc;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        rc = -errno;
        /* the words dlopen would have used */
        tickd_error_set(err, file, line, "plugin:%s: cannot load module '%s': "
                        "%s: cannot open shared object file: %s", instance, name,
                        path, strerror(-rc));
        return rc;
    }
    if (fstat(fd, st) < 0) {
        rc = -errno;
        tickd_error_set(err, file, line, "plugin:%s: cannot load module '%s': "
                        "%s: %s", instance, name, path, strerror(-rc));
        close(fd);
        return rc;
    }
    if (!S_ISREG(st->st_mode)) {
        tickd_error_set(err, file, line, "plugin:%s: refusing module %s: "
                        "not a regular file", instance, path);
        close(fd);
        return -EPERM;
    }
    if ((bad = tickd_module_check_owner_mode(st, why, sizeof why))) {
        tickd_error_set(err, file, line, "plugin:%s: refusing module %s: "
                        "file is %s", instance, path, bad);
        close(fd);
        return -EPERM;
    }
    return fd;
}

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#define MODULE_MAX_SIZE ((off_t)512 << 20)

/*
 * Copy the file into a sealed memfd the daemon alone owns: what dlopen
 * maps can then neither shrink (a truncate(2) of the file on disk: SIGBUS
 * on the next page fault) nor change (cp over the loaded file) under the
 * running daemon. The seals make the copy immutable for us too, so the
 * ELF check of the copy holds for the mapping. Returns the memfd or
 * -errno (why says what failed).
 */
static int copy_to_memfd(int src, const char *name, char *why, size_t len)
{
    char buf[65536];
    off_t total = 0;
    ssize_t n;
    int mfd, rc;

    mfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    /* vm.memfd_noexec = 2 refuses a memfd without MFD_NOEXEC_SEAL; that
     * seal only forbids execve, mmap(PROT_EXEC) still works */
    if (mfd < 0 && errno == EINVAL)
        mfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
    if (mfd < 0) {
        rc = -errno;
        snprintf(why, len, "memfd_create: %s", strerror(-rc));
        return rc;
    }
    for (;;) {
        n = read(src, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            snprintf(why, len, "read: %s", strerror(-rc));
            goto fail;
        }
        if (n == 0)
            break;
        if ((total += n) > MODULE_MAX_SIZE) {
            rc = -EFBIG;
            snprintf(why, len, "larger than %lld MiB", (long long)(MODULE_MAX_SIZE >> 20));
            goto fail;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(mfd, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = -errno;
                snprintf(why, len, "copying into memory: %s", strerror(-rc));
                goto fail;
            }
            off += w;
        }
    }
    if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
              F_SEAL_SEAL) < 0) {
        rc = -errno;
        snprintf(why, len, "sealing the copy: %s", strerror(-rc));
        goto fail;
    }
    return mfd;
fail:
    close(mfd);
    return rc;
}

/* dlerror() text names the file as we passed it (/proc/self/fd/N): put
 * the path the operator wrote back in. */
static const char *dl_message(const char *e, const char *alias, const char *path,
                              char *buf, size_t len)
{
    const char *hit;
    size_t n;

    if (!e)
        return "unknown error";
    if (!alias[0] || !(hit = strstr(e, alias)))
        return e;
    n = strlen(alias);
    /* "/proc/self/fd/5" must not match the start of "/proc/self/fd/57" */
    if (hit[n] >= '0' && hit[n] <= '9')
        return e;
    snprintf(buf, len, "%.*s%s%s", (int)(hit - e), e, path, hit + n);
    return buf;
}

static int module_load(struct tickd_module *m, const char *instance,
                       const char *file, int line, struct tickd_error *err)
{
    const tick_plugin *d;
    char alias[40] = "", msg[1024], why[300];
    const char *e, *base, *target = m->path;
    struct stat st;
    int fd, rc;

    if ((fd = open_checked(m->path, m->name, instance, file, line, &st, err)) < 0)
        return fd;
    m->dev = st.st_dev;
    m->ino = st.st_ino;
    m->size = st.st_size;
    m->mtime = st.st_mtim;
    m->ctime = st.st_ctim;
    /* named after the file: /proc/PID/maps shows "/memfd:echo.so (deleted)" */
    base = strrchr(m->path, '/');
    rc = copy_to_memfd(fd, base ? base + 1 : m->path, why, sizeof why);
    close(fd);
    if (rc < 0) {
        tickd_error_set(err, file, line, "plugin:%s: cannot load module '%s': "
                        "%s: %s", instance, m->name, m->path, why);
        return rc;
    }
    m->fd = rc;
    /* the copy, as it will be mapped: a file cut short while we copied it
     * is caught here too */
    if (tickd_elf_check(m->fd, why, sizeof why) < 0) {
        tickd_error_set(err, file, line, "plugin:%s: cannot load module '%s': "
                        "%s: %s", instance, m->name, m->path, why);
        return -ENOEXEC;
    }
    snprintf(alias, sizeof alias, "/proc/self/fd/%d", m->fd);
    /* Without /proc (an odd sandbox) fall back to the path: checked, but
     * open to a swap or a truncation between the check and the load. */
    if (access(alias, F_OK) == 0)
        target = alias;
    else
        alias[0] = '\0';
    (void)dlerror();   /* a stale message must not be reported as ours */
    /* The memfd stays open while the module is loaded, so no other module
     * can get the same /proc/self/fd/N name (glibc matches names first). */
    /* constructors run in dlopen: one that calls exit() is an error */
    tickd_exit_guard_enter("loading", m->name, m->path, instance, file, line);
    m->dl = dlopen(target, RTLD_NOW | RTLD_LOCAL);
    tickd_exit_guard_leave();
    if (!m->dl) {
        e = dl_message(dlerror(), alias, m->path, msg, sizeof msg);
        tickd_error_set(err, file, line, "plugin:%s: cannot load module '%s': %s",
                        instance, m->name, e);
        return -ENOENT;
    }
    (void)dlerror();
    d = dlsym(m->dl, TICK_PLUGIN_SYMBOL);
    if (!d) {
        e = dlerror();
        e = e ? dl_message(e, alias, m->path, msg, sizeof msg) : "symbol is NULL";
        tickd_error_set(err, file, line, "plugin:%s: module '%s' (%s) has no "
                        TICK_PLUGIN_SYMBOL " symbol: %s", instance, m->name,
                        m->path, e);
        return -ENOENT;
    }
    if (d->abi_major != TICK_PLUGIN_ABI_MAJOR ||
        d->abi_minor > TICK_PLUGIN_ABI_MINOR) {
        tickd_error_set(err, file, line, "plugin:%s: module '%s' (%s) was built "
                        "for plugin ABI %u.%u, tickd provides %d.%d: rebuild the "
                        "plugin against the installed tickd headers", instance,
                        m->name, m->path, (unsigned)d->abi_major,
                        (unsigned)d->abi_minor, TICK_PLUGIN_ABI_MAJOR,
                        TICK_PLUGIN_ABI_MINOR);
        return -EPROTO;
    }
    if (!d->start) {
        tickd_error_set(err, file, line, "plugin:%s: module '%s' (%s): its "
                        "descriptor has no start function", instance, m->name,
                        m->path);
        return -EPROTO;
    }
    if (d->instance_size > ((size_t)1 << 30)) {
        tickd_error_set(err, file, line, "plugin:%s: module '%s' (%s): "
                        "instance_size %zu is not sane", instance, m->name,
                        m->path, d->instance_size);
        return -EPROTO;
    }
    m->desc = d;
    /* every 3.x descriptor has them; a later minor adding fields reads
     * those only when d->abi_minor says the plugin's descriptor has them */
    m->flags = d->flags;
    m->reconfigure = d->reconfigure;
    /* 3.1: a 3.0 descriptor ends before .keys: never read it there */
    m->keys = d->abi_minor >= 1 ? d->keys : NULL;
    m->description = d->abi_minor >= 1 ? d->description : NULL;
    if (m->keys && (e = tickd_keys_check(m->keys, d->instance_size, why, sizeof why))) {
        tickd_error_set(err, file, line, "plugin:%s: refusing module '%s' (%s): its "
                        "key table is wrong: %s", instance, m->name, m->path, e);
        m->desc = NULL;
        return -EPROTO;
    }
    m->load = ++load_seq;
    tickd_log(TICK_LOG_DEBUG, "loaded module '%s' %s from %s (load %u)", m->name,
              d->version ? d->version : "(no version)", m->path, m->load);
    return 0;
}

static void module_free(struct tickd_module *m)
{
    if (m->dl && dlclose(m->dl) != 0)
        tickd_log(TICK_LOG_WARNING, "dlclose %s: %s", m->path, dlerror());
    if (m->fd >= 0)
        close(m->fd);
    free(m->name);
    free(m->path);
    free(m);
}

static bool same_file(const struct tickd_module *m, const struct stat *st)
{
    return m->dev == st->st_dev && m->ino == st->st_ino && m->size == st->st_size &&
           m->mtime.tv_sec == st->st_mtim.tv_sec &&
           m->mtime.tv_nsec == st->st_mtim.tv_nsec &&
           m->ctime.tv_sec == st->st_ctim.tv_sec &&
           m->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

int tickd_module_get(const char *name, const char *path, const char *instance,
                     const char *file, int line, struct tickd_module **out,
                     struct tickd_error *err)
{
    struct tickd_module *m;
    int rc;

    /* Share a loaded module only while the file is still the one it was
     * copied from: after an update (or a truncation) in place, a new
     * instance loads, and checks, what is there now. */
    struct stat st;
    bool have = stat(path, &st) == 0;
    for (tick_link *l = modules.next; l != &modules; l = l->next) {
        m = tick_container_of(l, struct tickd_module, link);
        if (have && strcmp(m->path, path) == 0 && same_file(m, &st)) {
            m->refs++;
            *out = m;
            return 0;
        }
    }
    m = tick__calloc(1, sizeof *m);
    if (m)
        m->fd = -1;
    if (!m || !(m->name = tick__strdup(name)) || !(m->path = tick__strdup(path))) {
        tickd_error_set(err, file, line, "out of memory");
        if (m)
            module_free(m);
        return -ENOMEM;
    }
    tick_link_init(&m->link);
    if ((rc = module_load(m, instance, file, line, err)) < 0) {
        module_free(m);
        return rc;
    }
    m->refs = 1;
    tick_list_append(&modules, &m->link);
    *out = m;
    return 0;
}

bool tickd_module_changed(const struct tickd_module *m)
{
    struct stat st;

    if (stat(m->path, &st) < 0)
        return false;
    return m->dev != st.st_dev || m->ino != st.st_ino || m->size != st.st_size ||
           m->mtime.tv_sec != st.st_mtim.tv_sec || m->mtime.tv_nsec != st.st_mtim.tv_nsec;
}

void tickd_module_put(struct tickd_module *m)
{
    if (!m || --m->refs > 0)
        return;
    tick_link_remove(&m->link);
    tickd_log(TICK_LOG_DEBUG, "unloading module '%s' (load %u)", m->name, m->load);
    module_free(m);
}

size_t tickd_module_count(void)
{
    size_t n = 0;
    for (tick_link *l = modules.next; l != &modules; l = l->next)
        n++;
    return n;
}
