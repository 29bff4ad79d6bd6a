/*
 * aof.c — the append-only file (aof.h): append, write, the syncer, the
 * loader in slices with its tail repair.
 *
 * Ownership: struct kv_aof is the instance's (kv.aof), freed by
 * aof_close() from release(); its fd is closed there. The tasks live in
 * the instance's scope (cancelled at stop). A pool job gets the fd by
 * value and touches nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aof_impl.h"

#define LOAD_SLICE (1u << 20)            /* bytes parsed per loader step */
#define LOAD_BUDGET_NS (2 * 1000 * 1000) /* loop time per loader step */



static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The directory of path, opened to fsync it (a rename or a create in it
 * is durable only then), or -1 (logged: renames are then not synced). */
static int open_dir(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    int fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        tick_log(TICK_LOG_WARNING, "aof: directory of '%s': %s (its renames and creates "
                 "will not be fsynced)", path, strerror(errno));
    return fd;
}

int aof_open(kv *k, const char *path, int mode, struct kv_aof **out)
{
    struct kv_aof *a = calloc(1, sizeof *a);
    struct stat st;
    if (!a)
        return -ENOMEM;
    a->k = k;
    a->mode = mode;
    a->rw_fd = -1;
    a->old_fd = -1;
    snprintf(a->path, sizeof a->path, "%s", path);
    /* created here: its directory entry wants a sync too */
    a->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_APPEND, 0600);
    a->dir_dirty = a->fd >= 0;
    if (a->fd < 0 && errno == EEXIST)
        a->fd = open(path, O_RDWR | O_CLOEXEC | O_APPEND);
    /* one writer per file: another kv instance (or daemon) given the same
     * path would interleave its records with ours and rename its rewrite
     * over our file; the lock goes with the fd (a rewrite's new file is
     * locked before the rename) */
    if (a->fd < 0 || flock(a->fd, LOCK_EX | LOCK_NB) < 0 || fstat(a->fd, &st) < 0) {
        int e = errno;
        if (a->fd >= 0)
            close(a->fd);
        free(a);
        if (e == EWOULDBLOCK) {
            tick_instance_error(k->in, "aof '%s' is in use by another kv instance or "
                                "process (locked)", path);
            return -EBUSY;
        }
        tick_instance_error(k->in, "aof '%s': %s", path, strerror(e));
        return -e;
    }
    a->fsize = (uint64_t)st.st_size;
    a->size = a->fsize;
    a->dir_fd = open_dir(path);
    *out = a;
    return 0;
}

void aof_close(struct kv_aof *a)
{
    if (!a)
        return;
    if (a->len)
        aof_write(a);
    if (a->fd >= 0) {
        if (a->mode != AOF_NO && a->written != a->synced)
            fdatasync(a->fd);            /* a clean stop loses nothing */
        close(a->fd);
    }
    if (a->dir_fd >= 0) {
        if (a->dir_dirty)
            fsync(a->dir_fd);            /* nor a rename just made */
        close(a->dir_fd);
    }
    if (a->old_fd >= 0)
        close(a->old_fd);
    /* the tasks ended with the scope: drop the futures they left */
    tick_future *fs[] = { a->kick, a->waiters, a->batch };
    for (int i = 0; i < 3; i++)
        if (fs[i]) {
            if (!tick_future_done(fs[i]))
                tick_future_set_error(fs[i], -ECANCELED);
            tick_future_unref(fs[i]);
        }
    aof_rewrite_free(a);
    free(a->buf);
    free(a->lbuf);
    free(a);
}

static int grow(struct kv_aof *a, size_t more)
{
    if (a->len + more <= a->cap)
        return 0;
    size_t cap = a->cap ? a->cap : 16384;
    while (cap < a->len + more)
        cap *= 2;
    char *b = realloc(a->buf, cap);
    if (!b)
        return -1;
    a->buf = b;
    a->cap = cap;
    return 0;
}

void aof_append(struct kv_aof *a, int argc, const char *const *argv, const size_t *len)
{
    size_t need = 24;
    for (int i = 0; i < argc; i++)
        need += len[i] + 26;
    if (grow(a, need) < 0) {
        tick_log(TICK_LOG_ERR, "aof: out of memory: a write is not logged");
        return;
    }
    char *p = a->buf + a->len;
    p += kv_put_num(p, '*', argc);
    for (int i = 0; i < argc; i++) {
        p += kv_put_num(p, '$', (long long)len[i]);
        memcpy(p, argv[i], len[i]);
        p += len[i];
        *p++ = '\r';
        *p++ = '\n';
    }
    a->len = (size_t)(p - a->buf);
    aof_rewrite_log(a, argc, argv, len);
}

bool aof_pending(const struct kv_aof *a) { return a->len != 0; }

int aof_write(struct kv_aof *a)
{
    size_t off = 0;
    if (!a->len)
        return 0;
    while (off < a->len) {
        ssize_t w = write(a->fd, a->buf + off, a->len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            if (!a->werr_logged)
                tick_log(TICK_LOG_ERR, "aof: write: %s (writes continue in memory only)",
                         strerror(e));
            a->werr_logged = true;
            a->len = 0;
            return -e;
        }
        off += (size_t)w;
    }
    a->size += a->len;
    a->len = 0;
    a->written++;
    return 0;
}

void aof_finish(struct kv_aof *a)
{
    if (!a)
        return;
    a->finishing = true;
    aof_write(a);
    aof_kick(a);
}

void aof_kick(struct kv_aof *a)
{
    if (a->kick && !tick_future_done(a->kick)) {
        tick_future *f = a->kick;
        a->kick = NULL;
        tick_future_set_result(f, 0);
        tick_future_unref(f);
    }
}

tick_future *aof_sync_wait(struct kv_aof *a)
{
    if (!a || a->mode != AOF_ALWAYS || a->written == a->synced)
        return NULL;
    if (!a->waiters && tick_future_new(tick_instance_loop(a->k->in), &a->waiters) < 0)
        return NULL;
    aof_kick(a);
    return tick_future_ref(a->waiters);
}

void aof_tick(struct kv_aof *a)
{
    if (a && a->mode == AOF_EVERYSEC && a->written != a->synced)
        aof_kick(a);
}

/* pool job: fdatasync the file, then fsync the directory (either may be
 * skipped); the first error, if any */
static intptr_t do_sync(void *arg)
{
    struct aof_sync_job *j = arg;
    j->file_rc = j->dir_rc = 0;
    if (j->fd >= 0) {
        uint64_t t0 = mono_ns();
        j->file_rc = fdatasync(j->fd) < 0 ? -errno : 0;
        j->file_ns = mono_ns() - t0;
    }
    if (j->dir_fd >= 0)
        j->dir_rc = fsync(j->dir_fd) < 0 ? -errno : 0;
    return j->file_rc ? j->file_rc : j->dir_rc;
}

/* What a round would sync now: the file (always, everysec: written since
 * the last sync) and/or the directory (a rename or a create since). */
static bool sync_due(struct kv_aof *a, bool *file, bool *dir)
{
    *file = a->mode != AOF_NO && a->written != a->synced;
    *dir = a->dir_dirty && a->dir_fd >= 0;
    return !a->hold && (*file || *dir);
}

/* The syncer: sleeps until kicked, then one round on the pool for every
 * write so far (fdatasync) and any rename or create (the directory's
 * fsync); the batch of waiters is resolved when both have returned, so
 * in always mode no reply leaves before the file's name is durable
 * either. In every mode a rename's directory sync happens here, off the
 * loop; in mode no that is all the syncer does. While the rewrite's
 * switch holds it, no round starts. */
static int sync_step(tick_task *t)
{
    struct kv_aof *a = tick_container_of(t, struct kv_aof, sync_task);
    intptr_t rc;
    bool file, dir;
    TICK_BEGIN(t);
    for (;;) {
        if (!sync_due(a, &file, &dir)) {
            if (a->finishing)
                TICK_RETURN(t, 0);       /* aof_finish: all synced */
            if (tick_future_new(tick_task_loop(t), &a->kick) < 0)
                TICK_FAIL(t, -ENOMEM);
            TICK_AWAIT(t, tick_future_ref(a->kick), rc);
            if (rc < 0)
                TICK_FAIL(t, rc);
            continue;
        }
        a->batch = a->waiters;
        a->waiters = NULL;
        a->sync_gen = a->written;
        a->sync_job = (struct aof_sync_job){ .fd = file ? a->fd : -1,
                                             .dir_fd = dir ? a->dir_fd : -1 };
        a->dir_dirty = false;            /* a rename from now on sets it again */
        TICK_AWAIT(t, tick_run_in_thread(tick_task_loop(t), do_sync, &a->sync_job), rc);
        if (rc == -ECANCELED)
            TICK_FAIL(t, rc);
        if (a->sync_job.fd >= 0) {
            a->k->st.fsyncs++;
            a->k->st.fsync_ns += a->sync_job.file_ns;
            kv_fsync_observe(a->k, (double)a->sync_job.file_ns / 1e9);
            if (a->sync_job.file_rc < 0)
                tick_log(TICK_LOG_ERR, "aof: fdatasync: %s", strerror(-a->sync_job.file_rc));
            a->synced = a->sync_gen;
        }
        if (a->sync_job.dir_fd >= 0) {
            a->k->st.dir_fsyncs++;
            if (a->sync_job.dir_rc < 0)
                tick_log(TICK_LOG_ERR, "aof: fsync of its directory: %s",
                         strerror(-a->sync_job.dir_rc));
        }
        if (a->old_fd >= 0) {
            close(a->old_fd);            /* rewritten away; the new fd syncs next */
            a->old_fd = -1;
        }
        if (a->batch) {
            tick_future_set_result(a->batch, rc);
            tick_future_unref(a->batch);
            a->batch = NULL;
        }
    }
    TICK_END(t);
}

static const tick_task_class sync_class = { .step = sync_step, .free = NULL };

/* ---- loading ---- */

static intptr_t do_pread(void *arg)
{
    struct kv_aof *a = arg;
    size_t want = LOAD_SLICE * 4;
    ssize_t n = pread(a->fd, a->lbuf + a->lhave, want, (off_t)(a->loff + a->lhave));
    return n < 0 ? -errno : n;
}

static void load_done(struct kv_aof *a)
{
    kv *k = a->k;
    k->loading = false;
    a->base_size = a->size;
    free(a->lbuf);
    a->lbuf = NULL;
    aof_replay_release();
    tick_instance_set_ready(k->in, true, NULL);
    tick_log(TICK_LOG_NOTICE, "aof: loaded %llu commands, %zu keys, %llu bytes in %.3f s",
             (unsigned long long)(k->st.replayed - a->loaded_cmds), k->db.d.count,
             (unsigned long long)a->loff, (double)(mono_ns() - a->t_load) / 1e9);
}

/* The loader: reads the file on the pool in 4 MiB blocks and replays it
 * in 1 MiB slices, a tick each (bounded in time), so the loop keeps
 * answering (-LOADING) meanwhile. A tail that does not parse is
 * truncated away with its offset logged (redis-check-aof --fix). */
static int load_step(tick_task *t)
{
    struct kv_aof *a = tick_container_of(t, struct kv_aof, load_task);
    intptr_t rc;
    TICK_BEGIN(t);
    a->t_load = mono_ns();
    a->loaded_cmds = a->k->st.replayed;
    a->lcap = LOAD_SLICE * 8;
    if (!(a->lbuf = malloc(a->lcap)))
        TICK_FAIL(t, -ENOMEM);
    for (;;) {
        /* read ahead only what the replay can use: 4 MiB buffered, more
         * when one record does not fit (the buffer then grows) */
        if (a->loff + a->lhave < a->fsize && (a->lhave < LOAD_SLICE * 4 || a->stalled)) {
            if (a->lhave + LOAD_SLICE * 4 > a->lcap) {
                size_t cap = a->lcap * 2;
                char *nb = cap <= (1200u << 20) ? realloc(a->lbuf, cap) : NULL;
                if (!nb) {
                    tick_log(TICK_LOG_ERR, "aof: a record at offset %llu is too large to load "
                             "(out of memory): loading stops there, the file is kept",
                             (unsigned long long)a->loff);
                    a->keep_tail = true;
                    break;
                }
                a->lbuf = nb;
                a->lcap = cap;
            }
            TICK_AWAIT(t, tick_run_in_thread(tick_task_loop(t), do_pread, a), rc);
            if (rc < 0) {
                if (rc == -ECANCELED)
                    TICK_FAIL(t, rc);
                tick_log(TICK_LOG_ERR, "aof: read: %s", strerror((int)-rc));
                break;
            }
            if (rc == 0) {               /* shorter than at open: stop there */
                a->fsize = a->loff + a->lhave;
            }
            a->lhave += (size_t)rc;
        }
        {
            bool at_eof = a->loff + a->lhave >= a->fsize, corrupt = false;
            uint64_t t0 = mono_ns();
            size_t done = 0, n;
            do {
                n = aof_replay(a->k, a->lbuf + done, a->lhave - done, at_eof, 4096, &corrupt);
                done += n;
            } while (n && !corrupt && mono_ns() - t0 < LOAD_BUDGET_NS);
            if (corrupt) {
                uint64_t bad = a->loff + done;
                tick_log(TICK_LOG_WARNING,
                         "aof: bad or truncated record at offset %llu: %llu bytes "
                         "from there dropped, file truncated to %llu (the valid prefix kept)",
                         (unsigned long long)bad,
                         (unsigned long long)(a->fsize - bad), (unsigned long long)bad);
                if (ftruncate(a->fd, (off_t)bad) < 0)
                    tick_log(TICK_LOG_ERR, "aof: ftruncate: %s", strerror(errno));
                a->size = a->fsize = bad;
                a->loff = bad;
                a->lhave = 0;
                goto finished;
            }
            memmove(a->lbuf, a->lbuf + done, a->lhave - done);
            a->lhave -= done;
            a->loff += done;
            if (a->loff >= a->fsize)
                break;
            a->stalled = done == 0;     /* a record spans past the buffer */
        }
        TICK_YIELD(t);
    }
finished:
    load_done(a);
    TICK_RETURN(t, 0);
    TICK_END(t);
}

static const tick_task_class load_class = { .step = load_step, .free = NULL };

int aof_start(struct kv_aof *a)
{
    tick_loop *loop = tick_instance_loop(a->k->in);
    a->scope = tick_scope_current(loop);  /* start(): the instance's */
    if (a->fsize) {
        a->k->loading = true;
        tick_instance_set_ready(a->k->in, false, "kv: loading the append-only file");
        int rc = tick_task_start(loop, &a->load_task, "kv aof load", &load_class);
        if (rc < 0)
            return rc;
    }
    /* every mode: mode no has directory syncs (a rewrite's rename) */
    return tick_task_start(loop, &a->sync_task, "kv aof sync", &sync_class);
}

uint64_t aof_size(const struct kv_aof *a) { return a ? a->size : 0; }
uint64_t aof_writes(const struct kv_aof *a) { return a ? a->written : 0; }
uint64_t aof_base_size(const struct kv_aof *a) { return a ? a->base_size : 0; }
int aof_rewriting(const struct kv_aof *a) { return a && a->rewriting; }
