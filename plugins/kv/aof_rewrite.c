/*
 * aof_rewrite.c — compacting the AOF in the background, without fork
 * and without stopping the loop.
 *
 * A task scans the keyspace (dict_scan, about 1 ms of the loop per
 * tick) and writes each key's state as commands (SET ... PXAT, RPUSH,
 * HSET, PEXPIREAT) to FILE.rewrite through the thread pool. Writes keep
 * going to the old file meanwhile, and each is also kept in a diff
 * buffer. Consistency without a snapshot ("dump before write"): an
 * entry carries the rewrite's epoch once dumped (kv_ent.spare); a write
 * command, before it runs, dumps every key it names that is not dumped
 * yet, and afterwards marks them (so a key the command creates is never
 * dumped by the scan: its commands are all in the diff). Hence for
 * every key, the dump holds its state before the first write of the
 * rewrite to it, and the diff holds every write after: replaying dump +
 * diff gives the keyspace. A command without keys (FLUSHDB) is in the
 * diff and applies to everything dumped before it. At the end the diff
 * goes after the dump, on the pool with fdatasync, until what is left
 * is small; then the switch: no write is lost, none is applied twice,
 * and a crash at any point finds every acknowledged write under the
 * file's name.
 *
 * The switch. Once renamed, the name may point at the new file after a
 * crash even before its directory is synced (any journal commit can
 * carry the rename), so the new file must hold, synced, every write
 * acknowledged until then. Hence the syncer is held first (no sync
 * round starts: nothing more is acknowledged from the old file alone),
 * the rest of the diff is written and fdatasync'ed on the pool, then on
 * the loop the records since (none acknowledged) are written, the file
 * renamed over the old one, the fds swapped and the hold released. The
 * syncer's next round syncs the new file and the directory, on the pool
 * (aof.c); in always mode the replies of every write since the hold
 * wait for that round, in the other modes it just happens.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "aof_impl.h"

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void buf_rec(struct aof_buf *b, int argc, const char *const *argv, const size_t *len)
{
    size_t need = 24;
    for (int i = 0; i < argc; i++)
        need += len[i] + 26;
    if (b->len + need > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + need)
            cap *= 2;
        char *n = realloc(b->p, cap);
        if (!n) {
            b->oom = true;
            return;
        }
        b->p = n;
        b->cap = cap;
    }
    char *p = b->p + b->len;
    p += kv_put_num(p, '*', argc);
    for (int i = 0; i < argc; i++) {
        p += kv_put_num(p, '$', (long long)len[i]);
        memcpy(p, argv[i], len[i]);
        p += len[i];
        *p++ = '\r';
        *p++ = '\n';
    }
    b->len = (size_t)(p - b->p);
}

#define BATCH 64                         /* elements per RPUSH/HSET record */

struct field_dump {
    struct aof_buf *b;
    const char *argv[2 + 2 * BATCH];
    size_t len[2 + 2 * BATCH];
    int n;
};

static void field_flush(struct field_dump *f)
{
    if (f->n > 2)
        buf_rec(f->b, f->n, f->argv, f->len);
    f->n = 2;
}

static void field_visit(void *user, kv_ent *e)
{
    struct field_dump *f = user;
    f->argv[f->n] = ent_key(e);
    f->len[f->n++] = e->klen;
    f->argv[f->n] = ent_val(e);
    f->len[f->n++] = e->vlen;
    if (f->n >= 2 + 2 * BATCH)
        field_flush(f);
}

/* One key's state as commands. */
static void dump_ent(struct aof_buf *b, kv_ent *e)
{
    char ts[24];
    size_t tl = 0;
    if (e->has_exp)
        tl = (size_t)snprintf(ts, sizeof ts, "%lld", (long long)ent_exp(e));
    if (e->type == KV_STR) {
        const char *av[] = { "SET", ent_key(e), ent_val(e), "PXAT", ts };
        size_t al[] = { 3, e->klen, e->vlen, 4, tl };
        buf_rec(b, e->has_exp ? 5 : 3, av, al);
        return;
    }
    struct field_dump f = { .b = b, .n = 2 };
    f.argv[1] = ent_key(e);
    f.len[1] = e->klen;
    if (e->type == KV_LIST) {
        kv_list *l = ent_obj(e);
        f.argv[0] = "RPUSH";
        f.len[0] = 5;
        for (uint32_t i = 0; i < l->n; i++) {
            kv_lel *x = list_at(l, i);
            f.argv[f.n] = x->data;
            f.len[f.n++] = x->len;
            if (f.n >= 2 + BATCH)
                field_flush(&f);
        }
    } else {
        kv_dict *h = ent_obj(e);
        uint64_t cur = 0;
        f.argv[0] = "HSET";
        f.len[0] = 4;
        while (h->rehash >= 0)
            dict_rehash_for(h, 1000000000ull);
        do
            cur = dict_scan(h, cur, field_visit, &f);
        while (cur);
    }
    field_flush(&f);
    if (e->has_exp) {
        const char *av[] = { "PEXPIREAT", ent_key(e), ts };
        size_t al[] = { 9, e->klen, tl };
        buf_rec(b, 3, av, al);
    }
}

struct scan_ctx { struct kv_aof *a; };

static void scan_visit(void *user, kv_ent *e)
{
    struct kv_aof *a = user;
    if (e->spare == a->epoch)
        return;                          /* dumped before a write, or made since */
    e->spare = a->epoch;
    if (e->has_exp && ent_exp(e) <= a->k->db.now_ms)
        return;
    dump_ent(&a->dump, e);
}

/* kv_exec's hooks: before a write command, dump the keys it names that
 * the scan has not; after it, mark them. */
void aof_rewrite_before(struct kv_aof *a, kv_ctx *c, int first, int last, int step)
{
    if (!a || !a->rewriting || first <= 0)
        return;
    if (last < 0)
        last = c->argc + last;
    for (int i = first; i <= last && i < c->argc; i += step) {
        kv_ent **pp = db_find(c->db, c->argv[i], c->len[i]);
        if (pp && (*pp)->spare != a->epoch) {
            (*pp)->spare = a->epoch;
            dump_ent(&a->dump, *pp);
        }
    }
}

void aof_rewrite_after(struct kv_aof *a, kv_ctx *c, int first, int last, int step)
{
    if (!a || !a->rewriting || first <= 0)
        return;
    if (last < 0)
        last = c->argc + last;
    for (int i = first; i <= last && i < c->argc; i += step) {
        kv_ent **pp = dict_find(&c->db->d, c->argv[i], c->len[i],
                                dict_hash(c->argv[i], c->len[i]));
        if (pp)
            (*pp)->spare = a->epoch;
    }
}

void aof_rewrite_log(struct kv_aof *a, int argc, const char *const *argv, const size_t *len)
{
    if (a && a->rewriting)
        buf_rec(&a->diff, argc, argv, len);
}

/* pool job: write the job buffer to the rewrite file, then maybe sync */
static intptr_t do_write(void *arg)
{
    struct kv_aof *a = arg;
    size_t off = 0;
    while (off < a->job.len) {
        ssize_t w = write(a->rw_fd, a->job.p + off, a->job.len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        off += (size_t)w;
    }
    if (a->job_sync && fdatasync(a->rw_fd) < 0)
        return -errno;
    return 0;
}

/* Hand buffer b to the pool job (the job owns a->job until it returns). */
static void job_take(struct kv_aof *a, struct aof_buf *b, bool sync)
{
    struct aof_buf t = a->job;
    a->job = *b;
    t.len = 0;
    *b = t;
    a->job_sync = sync;
}

static void rewrite_fail(struct kv_aof *a, const char *what, int err)
{
    tick_log(TICK_LOG_ERR, "aof rewrite: %s: %s (the old file stays in use)", what, strerror(err));
    close(a->rw_fd);
    unlink(a->rw_path);
    a->rw_fd = -1;
    a->rewriting = false;
    if (a->hold) {                       /* the syncer goes on with the old file */
        a->hold = false;
        aof_kick(a);
    }
}

/* On the loop, with the syncer held and the new file synced up to the
 * hold: the records since, the rename, the swap. 0 or -errno. */
static int rewrite_switch(struct kv_aof *a)
{
    aof_write(a);                        /* old file complete too */
    struct aof_buf *bufs[] = { &a->dump, &a->diff };   /* dumps first, as ever */
    for (int i = 0; i < 2; i++) {
        size_t off = 0;
        while (off < bufs[i]->len) {
            ssize_t w = write(a->rw_fd, bufs[i]->p + off, bufs[i]->len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return -errno;
            off += (size_t)w;
        }
        bufs[i]->len = 0;
    }
    if (rename(a->rw_path, a->path) < 0)
        return -errno;
    off_t size = lseek(a->rw_fd, 0, SEEK_END);
    uint64_t old = a->size;
    if (a->old_fd >= 0)
        close(a->old_fd);
    a->old_fd = a->fd;                   /* a sync round begun before the hold
                                          * may use it: the syncer closes it */
    a->fd = a->rw_fd;
    a->rw_fd = -1;
    a->size = a->base_size = size > 0 ? (uint64_t)size : 0;
    a->written++;                        /* the records since want a sync */
    a->dir_dirty = true;                 /* and the rename */
    a->rewriting = false;
    a->rewrites++;
    a->hold = false;
    aof_kick(a);
    tick_log(TICK_LOG_NOTICE, "aof rewrite: done in %.3f s: %llu -> %llu bytes",
             (double)(mono_ns() - a->rw_t0) / 1e9, (unsigned long long)old,
             (unsigned long long)a->size);
    return 0;
}

static int rewrite_step(tick_task *t)
{
    struct kv_aof *a = tick_container_of(t, struct kv_aof, rw_task);
    intptr_t rc;
    TICK_BEGIN(t);
    a->rw_t0 = mono_ns();
    a->rw_cursor = 0;
    a->scan_done = false;
    do {
        if (!a->scan_done) {
            uint64_t t0 = mono_ns();
            a->k->db.now_ms = kv_now_ms();
            do
                a->rw_cursor = dict_scan(&a->k->db.d, a->rw_cursor, scan_visit, a);
            while (a->rw_cursor && mono_ns() - t0 < 1000000 && a->dump.len < (4u << 20));
            a->scan_done = !a->rw_cursor;
        }
        if (a->dump.len >= (4u << 20) || a->scan_done) {
            job_take(a, &a->dump, false);
            TICK_AWAIT(t, tick_run_in_thread(tick_task_loop(t), do_write, a), rc);
            if (rc < 0) {
                if (rc != -ECANCELED)
                    rewrite_fail(a, "write", (int)-rc);
                TICK_RETURN(t, 0);
            }
        } else {
            TICK_YIELD(t);
        }
    } while (!a->scan_done || a->dump.len);
    /* the diff (dumps made by writes go first: they precede the diff's
     * records of the same keys), synced, until what is left is small;
     * that last round holds the syncer (the switch, see the top): the
     * rest of the diff written and synced, then on the loop the records
     * since, rename, swap */
    do {
        a->hold = a->diff.len <= (1u << 20) && !a->dump.len;
        if (a->dump.len) {
            job_take(a, &a->dump, false);
            TICK_AWAIT(t, tick_run_in_thread(tick_task_loop(t), do_write, a), rc);
            if (rc < 0)
                goto failed;
        }
        job_take(a, &a->diff, true);
        TICK_AWAIT(t, tick_run_in_thread(tick_task_loop(t), do_write, a), rc);
        if (rc < 0)
            goto failed;
    } while (!a->hold);
    if (a->dump.oom || a->diff.oom) {
        rc = -ENOMEM;
        goto failed;
    }
    if ((rc = rewrite_switch(a)) < 0)
        goto failed;
    TICK_RETURN(t, 0);
failed:
    if (rc != -ECANCELED)
        rewrite_fail(a, "write", (int)-rc);
    TICK_RETURN(t, 0);
    TICK_END(t);
}

static const tick_task_class rewrite_class = { .step = rewrite_step };

int aof_rewrite_start(struct kv_aof *a)
{
    if (!a || a->rewriting || a->k->loading)
        return -EBUSY;
    if ((size_t)snprintf(a->rw_path, sizeof a->rw_path, "%s.rewrite", a->path) >= sizeof a->rw_path)
        return -ENAMETOOLONG;
    /* locked as the file it replaces is (aof_open), before any write: a
     * second writer of the same path fails here rather than truncate ours */
    a->rw_fd = open(a->rw_path, O_WRONLY | O_CREAT | O_CLOEXEC | O_APPEND, 0600);
    if (a->rw_fd < 0 || flock(a->rw_fd, LOCK_EX | LOCK_NB) < 0 || ftruncate(a->rw_fd, 0) < 0) {
        int e = errno;
        tick_log(TICK_LOG_ERR, "aof rewrite: %s: %s", a->rw_path, strerror(e));
        if (a->rw_fd >= 0)
            close(a->rw_fd);
        a->rw_fd = -1;
        return -e;
    }
    if (++a->epoch == 0)
        a->epoch = 1;
    a->dump.len = a->diff.len = 0;
    a->dump.oom = a->diff.oom = false;
    a->rewriting = true;
    tick_log(TICK_LOG_NOTICE, "aof rewrite: started (%llu bytes, %zu keys)",
             (unsigned long long)a->size, a->k->db.d.count);
    /* in the instance's scope: BGREWRITEAOF runs in a connection's, which
     * ends with the client */
    tick_loop *loop = tick_instance_loop(a->k->in);
    tick_scope *prev = tick_scope_enter(loop, a->scope);
    int rc = tick_task_start(loop, &a->rw_task, "kv aof rewrite", &rewrite_class);
    tick_scope_enter(loop, prev);
    if (rc < 0)
        rewrite_fail(a, "start", -rc);
    return rc;
}

void aof_rewrite_maybe(struct kv_aof *a, unsigned growth, uint64_t min)
{
    if (a && growth && !a->rewriting && !a->k->loading && a->size >= min &&
        a->size > a->base_size + a->base_size / 100 * growth)
        aof_rewrite_start(a);
}

void aof_rewrite_free(struct kv_aof *a)
{
    if (a->rw_fd >= 0) {
        close(a->rw_fd);
        unlink(a->rw_path);
    }
    free(a->dump.p);
    free(a->diff.p);
    free(a->job.p);
}
