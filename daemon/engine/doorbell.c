/*
 * doorbell.c — a locked queue plus an eventfd, for work posted to the
 * loop from other threads (tick_call_threadsafe, the pool's finished
 * jobs). An eventfd is a doorbell, not a message (uv_async's lesson): a
 * poster rings only when the queue goes from quiet to rung, so a burst of
 * posts costs one write; the loop reads the eventfd *before* taking the
 * queue, so a post after that read either is in the batch taken or rings
 * again — a ring is never swallowed with work left behind.
 */
#include <sys/eventfd.h>
#include <unistd.h>

#include "internal.h"

static void doorbell_events(tick__watch *w, uint32_t events)
{
    tick__doorbell *db = tick_container_of(w, tick__doorbell, w);
    tick_link batch;
    uint64_t v;

    (void)events;
    while (read(w->fd, &v, sizeof v) < 0 && errno == EINTR)
        ;
    tick_link_init(&batch);
    pthread_mutex_lock(&db->lock);
    tick_list_splice(&batch, &db->queue);
    db->rung = false;
    pthread_mutex_unlock(&db->lock);
    db->on_ring(db, &batch);
}

int tick__doorbell_open(tick_loop *loop, tick__doorbell *db, tick__doorbell_fn fn)
{
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0)
        return -errno;
    tick_link_init(&db->queue);
    db->rung = false;
    db->on_ring = fn;
    db->w.on_events = doorbell_events;
    int rc = tick__watch_add(loop, &db->w, efd, EPOLLIN);
    if (rc < 0) {
        close(efd);
        return rc;
    }
    pthread_mutex_init(&db->lock, NULL);
    return 0;
}

void tick__doorbell_ring(tick__doorbell *db)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is saturated: the loop wakes anyway; short
     * of a closed fd nothing else can fail */
    while (write(db->w.fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

int tick__doorbell_post(tick__doorbell *db, tick_link *l)
{
    pthread_mutex_lock(&db->lock);
    if (tick_link_linked(l)) {
        pthread_mutex_unlock(&db->lock);
        return -EBUSY;
    }
    tick_list_append(&db->queue, l);
    bool ring = !db->rung;
    db->rung = true;
    pthread_mutex_unlock(&db->lock);
    if (ring)
        tick__doorbell_ring(db);
    return 0;
}

bool tick__doorbell_idle(tick__doorbell *db)
{
    pthread_mutex_lock(&db->lock);
    bool idle = tick_list_empty(&db->queue);
    pthread_mutex_unlock(&db->lock);
    return idle;
}

void tick__doorbell_collect(tick__doorbell *db)
{
    doorbell_events(&db->w, EPOLLIN);
}

void tick__doorbell_close(tick_loop *loop, tick__doorbell *db)
{
    int efd = db->w.fd;
    tick__watch_del(loop, &db->w);
    close(efd);
    pthread_mutex_destroy(&db->lock);
}
