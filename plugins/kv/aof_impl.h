/* aof_impl.h — struct kv_aof, shared by aof.c and aof_rewrite.c. */
#ifndef KV_AOF_IMPL_H
#define KV_AOF_IMPL_H

#include "aof.h"

#pragma GCC visibility push(hidden)

struct aof_buf {
    char *p;
    size_t len, cap;
    bool oom;
};

/* The syncer's pool job: what to sync, and what came of it. The job
 * owns it while it runs (the syncer waits for it); the loop reads the
 * results after. */
struct aof_sync_job {
    int fd;                              /* fdatasync this, or -1 */
    int dir_fd;                          /* fsync this directory, or -1 */
    int file_rc, dir_rc;                 /* 0 or -errno */
    uint64_t file_ns;                    /* the fdatasync's time */
};

struct kv_aof {
    kv *k;
    int fd, mode;
    int dir_fd;                          /* the file's directory (O_RDONLY), or -1 */
    bool dir_dirty;                      /* a rename or a create wants it synced */
    bool hold;                           /* the rewrite's switch: no sync round starts */
    bool finishing;                      /* aof_finish: end once nothing is due */
    struct aof_sync_job sync_job;        /* the syncer's pool job */
    char *buf;                           /* records not written yet */
    size_t len, cap;
    uint64_t size, base_size;            /* in the file now; after load */
    uint64_t written, synced;            /* write generations */
    bool werr_logged;
    /* syncer */
    tick_task sync_task;
    tick_future *kick;                   /* the syncer sleeps on it */
    tick_future *waiters;                /* always: the next sync's */
    tick_future *batch;                  /* the in-flight sync's */
    uint64_t sync_gen;
    /* loader */
    tick_task load_task;
    char *lbuf;
    size_t lhave;                        /* bytes in lbuf */
    uint64_t loff;                       /* file offset of lbuf[0] */
    uint64_t fsize;
    uint64_t loaded_cmds;
    uint64_t t_load;
    size_t lcap;                         /* of lbuf */
    bool stalled, keep_tail;
    /* rewrite (aof_rewrite.c) */
    char path[4096], rw_path[4112];
    bool rewriting, job_sync, scan_done;
    int old_fd;                          /* the replaced file, until synced */
    uint16_t epoch;                      /* marks entries dumped (kv_ent.spare) */
    int rw_fd;
    uint64_t rw_cursor, rw_t0, rewrites;
    struct aof_buf dump, diff, job;      /* job: the pool job's */
    tick_task rw_task;
    tick_scope *scope;                   /* the instance's: the rewrite task's */
};

void aof_rewrite_free(struct kv_aof *a);
/* Wake the syncer (it rechecks what there is to sync). */
void aof_kick(struct kv_aof *a);

#pragma GCC visibility pop

#endif
