/*
 * signal.c — signal futures through one signalfd per loop (tick/sys.h).
 *
 * The signalfd's mask only grows: once a signal is waited on, the loop
 * owns it for good (it stays blocked, and a delivery with no waiter is
 * remembered as pending, like the kernel's own pending bit).
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "tick/sys.h"
#include "internal.h"
#include "sources.h"

typedef struct sigwaiter {
    tick_future fut;
    tick_link link;          /* in waiters[signo] while pending */
    tick_loop *loop;
    tick__source src;        /* a member of its scope while pending */
} sigwaiter;

struct tick__signals {
    int sfd;
    sigset_t mask;
    tick__watch w;
    tick_loop *loop;
    bool pending[_NSIG];     /* delivered while nobody waited */
    tick_link waiters[_NSIG];
    tick__signal_hook_fn hooks[_NSIG];   /* engine-internal, see sources.h */
};

static void waiter_free(tick_future *f)
{
    free(tick_container_of(f, sigwaiter, fut));
}

static bool waiter_cancel(tick_future *f)
{
    sigwaiter *w = tick_container_of(f, sigwaiter, fut);

    if (tick_link_linked(&w->link)) {
        tick_link_remove(&w->link);
        assert(f->refs > 1);         /* the canceller holds one */
        tick__source_done(&w->src);
    }
    return true;
}

static const tick_future_ops waiter_ops = { "signal", waiter_free, waiter_cancel };

/* Scope cancel: the wait ends with -ECANCELED (the signal stays owned by
 * the loop, and a delivery with nobody waiting is remembered). The scope
 * holds no reference, and a wait nobody holds any more has only the
 * engine's, which the cancel drops: hold one across it. */
void tick__signal_scope_cancel(tick__source *src)
{
    tick_future *f = &tick_container_of(src, sigwaiter, src)->fut;
    tick_future_ref(f);
    tick_future_cancel(f);
    tick_future_unref(f);
}

static void waiter_complete(sigwaiter *w, int signo, int err)
{
    tick_link_remove(&w->link);
    tick__source_complete(&w->src, signo, err);
}

static void deliver(struct tick__signals *s, int signo)
{
    tick_link *head = &s->waiters[signo];

    /* the engine's own observer first; the waiters' semantics (and the
     * pending bit) are the same whether or not there is one */
    if (s->hooks[signo])
        s->hooks[signo](s->loop, signo);
    if (tick_list_empty(head)) {
        s->pending[signo] = true;
        return;
    }
    while (!tick_list_empty(head))
        waiter_complete(tick_container_of(head->next, sigwaiter, link), signo, 0);
}

static void sig_on_events(tick__watch *w, uint32_t events)
{
    struct tick__signals *s = tick_container_of(w, struct tick__signals, w);
    struct signalfd_siginfo si[16];

    (void)events;
    for (;;) {
        ssize_t n = read(s->sfd, si, sizeof si);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;                  /* EAGAIN: drained (edge-triggered) */
        for (size_t i = 0; i < (size_t)n / sizeof si[0]; i++)
            if (si[i].ssi_signo > 0 && si[i].ssi_signo < _NSIG)
                deliver(s, (int)si[i].ssi_signo);
    }
}

static int sig_state(tick_loop *loop, struct tick__signals **out)
{
    struct tick__signals *s = loop->sig;
    int rc;

    if (s) {
        *out = s;
        return 0;
    }
    s = tick__calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->loop = loop;
    sigemptyset(&s->mask);
    for (int i = 0; i < _NSIG; i++)
        tick_link_init(&s->waiters[i]);
    s->sfd = signalfd(-1, &s->mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->sfd < 0) {
        rc = -errno;
        free(s);
        return rc;
    }
    s->w.on_events = sig_on_events;
    rc = tick__watch_add(loop, &s->w, s->sfd, EPOLLIN | EPOLLET);
    if (rc < 0) {
        close(s->sfd);
        free(s);
        return rc;
    }
    loop->sig = s;
    *out = s;
    return 0;
}

/* Add signo to the signalfd's mask and block it in this thread. */
static int sig_own(struct tick__signals *s, int signo)
{
    sigset_t one, old, mask = s->mask;
    int rc;

    if (sigismember(&s->mask, signo))
        return 0;
    sigaddset(&mask, signo);
    sigemptyset(&one);
    sigaddset(&one, signo);
    /* block first: a delivery in between then waits in the pending set,
     * where the signalfd will find it */
    rc = pthread_sigmask(SIG_BLOCK, &one, &old);
    if (rc)
        return -rc;
    if (signalfd(s->sfd, &mask, 0) < 0) {
        rc = -errno;
        /* not in the mask: never leave it blocked and unread (a delivery
         * in between goes to its disposition, as if never blocked) */
        if (!sigismember(&old, signo))
            pthread_sigmask(SIG_UNBLOCK, &one, NULL);
        return rc;
    }
    s->mask = mask;
    return 0;
}

tick_future *tick_signal_wait(tick_loop *loop, int signo)
{
    struct tick__signals *s = NULL;
    sigwaiter *w;
    int rc;

    if (!loop)
        return NULL;
    if (signo <= 0 || signo >= _NSIG || signo == SIGKILL || signo == SIGSTOP)
        return tick__future_done_new(loop, -EINVAL, 0);
    /* the waiter first: a wait that cannot be made must leave a signal
     * not owned yet exactly as it was (not blocked, not in the mask) */
    w = tick__malloc(sizeof *w);
    if (!w)
        return NULL;
    rc = sig_state(loop, &s);
    if (rc == 0)
        rc = sig_own(s, signo);
    if (rc < 0) {
        free(w);
        return tick__future_done_new(loop, rc, 0);
    }
    tick_future_init(&w->fut, loop, &waiter_ops);
    tick_link_init(&w->link);
    w->src = (tick__source){ .scope = NULL };
    tick_link_init(&w->src.link);
    w->loop = loop;
    if (s->pending[signo]) {
        s->pending[signo] = false;
        tick_future_set_result(&w->fut, signo);
        return &w->fut;
    }
    tick_list_append(&s->waiters[signo], &w->link);
    tick__source_arm(loop, &w->src, TICK_SCOPE_SIGNAL, "signal", &w->fut);
    return &w->fut;
}

int tick__signal_hook(tick_loop *loop, int signo, tick__signal_hook_fn fn)
{
    struct tick__signals *s = NULL;
    int rc;

    if (signo <= 0 || signo >= _NSIG || signo == SIGKILL || signo == SIGSTOP)
        return -EINVAL;
    rc = sig_state(loop, &s);
    if (rc == 0 && fn)
        rc = sig_own(s, signo);
    if (rc < 0)
        return rc;
    s->hooks[signo] = fn;
    return 0;
}

void tick__signal_shutdown(tick_loop *loop)
{
    struct tick__signals *s = loop->sig;

    if (!s)
        return;
    for (int i = 0; i < _NSIG; i++)
        while (!tick_list_empty(&s->waiters[i]))
            waiter_complete(tick_container_of(s->waiters[i].next, sigwaiter, link),
                            i, -ECANCELED);
    tick__watch_del(loop, &s->w);
    close(s->sfd);
    free(s);
    loop->sig = NULL;
}
