/*
 * aof.h — the kv append-only file (aof.c).
 *
 * Records are RESP multibulk commands, as in redis's AOF, with relative
 * expiries logged as absolute ones (SET ... PXAT, PEXPIREAT). The loop
 * appends a batch's records to a buffer and write()s it before the
 * batch's replies leave (aof_write): an acknowledged write is in the
 * kernel's page cache, so a SIGKILL of the daemon never loses it.
 * fdatasync never runs on the loop: a syncer task runs it on the thread
 * pool, per second (everysec) or for every batch that wrote (always,
 * group commit: batches that wrote while a sync ran share the next one;
 * their replies stay corked until it returns). The file's directory is
 * fsynced the same way, in every mode, after the file was created and
 * after a rewrite renamed the new file into place; in always mode the
 * replies then wait for that too (aof_rewrite.c: the switch).
 */
#ifndef KV_AOF_H
#define KV_AOF_H

#include "kv.h"

#pragma GCC visibility push(hidden)

enum { AOF_ALWAYS = 0, AOF_EVERYSEC = 1, AOF_NO = 2 };

struct kv_aof;

/* Open (create) the file for appending: 0 or -errno (message set). */
int aof_open(kv *k, const char *path, int mode, struct kv_aof **out);
/* Start the syncer and the loader tasks (the instance's scope). */
int aof_start(struct kv_aof *a);
void aof_close(struct kv_aof *a);
void aof_append(struct kv_aof *a, int argc, const char *const *argv, const size_t *len);
/* write() what was appended. 0 or -errno (logged once). */
int aof_write(struct kv_aof *a);
/* write() calls so far (each writes every record appended before it). */
uint64_t aof_writes(const struct kv_aof *a);
/* Appended and not written yet. */
bool aof_pending(const struct kv_aof *a);
/* always: a future done when a sync covering every write so far has
 * returned (one reference); NULL when nothing waits (other modes, or
 * nothing written since the last sync). */
tick_future *aof_sync_wait(struct kv_aof *a);
/* The instance drains: write what is appended, one last sync (the
 * pool), then the syncer ends. */
void aof_finish(struct kv_aof *a);
/* everysec: the cron's once-a-second kick. */
void aof_tick(struct kv_aof *a);
uint64_t aof_size(const struct kv_aof *a);
uint64_t aof_base_size(const struct kv_aof *a);
int aof_rewriting(const struct kv_aof *a);
/* The loader (also the fuzz harness's entry): replay buf[0..len) into
 * k's keyspace, at most max_cmds commands; the length replayed (whole
 * commands). *corrupt: a bad record, or a partial one at_eof, at the
 * returned offset. */
size_t aof_replay(kv *k, const char *buf, size_t len, bool at_eof, unsigned max_cmds,
                  bool *corrupt);

/* Background rewrite (aof_rewrite.c): start one (0, -EBUSY...), or
 * when the file grew past growth percent of its base and min bytes. */
int aof_rewrite_start(struct kv_aof *a);
void aof_rewrite_maybe(struct kv_aof *a, unsigned growth, uint64_t min);
/* kv_exec's hooks around a write command (its key positions) */
void aof_rewrite_before(struct kv_aof *a, kv_ctx *c, int first, int last, int step);
void aof_rewrite_after(struct kv_aof *a, kv_ctx *c, int first, int last, int step);
void aof_rewrite_log(struct kv_aof *a, int argc, const char *const *argv, const size_t *len);

/* Free the loader's parser state (at the end of a load). */
void aof_replay_release(void);

#pragma GCC visibility pop

#endif
