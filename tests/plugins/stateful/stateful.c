/* Fixture: a stateful TCP echo (TICK_PLUGIN_STATEFUL): on reload its old
 * incarnation is stopped before the new one starts, while the daemon
 * holds its socket open. Keys: listen (an address list), label (restarts
 * it), note (changed in place by reconfigure()). Logs "serving as LABEL"
 * at start and "stopping LABEL after N requests" at stop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <tick/tick.h>

struct st_server;

struct st_conn {
    tick_task task;
    tick_link link;
    struct st_server *srv;
    tick_fd *fd;
    char buf[512];
    ssize_t n;
    bool served;
};

struct st_server {
    tick_task accept_task;
    bool accept_started;
    tick_lease *lease;
    tick_link conns;
    bool draining;
    unsigned long requests;
    char listen[256], label[64], note[64], new_note[64];
};

static int st_configure(tick_instance *in, const char *key, const char *value)
{
    struct st_server *s = tick_instance_data(in);
    if (!key)
        return s->listen[0] ? 0 : tick_instance_error(in, "missing 'listen'");
    if (strcmp(key, "listen") == 0) {
        if (tick_listen_check(value) != 1)
            return tick_instance_error(in, "bad listen '%s'", value);
        snprintf(s->listen, sizeof s->listen, "%s", value);
    } else if (strcmp(key, "label") == 0) {
        snprintf(s->label, sizeof s->label, "%s", value);
    } else if (strcmp(key, "note") == 0) {
        snprintf(s->note, sizeof s->note, "%s", value);
    } else {
        return tick_instance_error(in, "unknown key '%s'", key);
    }
    return 0;
}

static int st_reconfigure(tick_instance *in, const char *key, const char *value)
{
    struct st_server *s = tick_instance_data(in);
    if (!key) {
        if (s->new_note[0])
            snprintf(s->note, sizeof s->note, "%s", s->new_note);
        tick_log(TICK_LOG_INFO, "note is now '%s'", s->note);
        return 0;
    }
    if (strcmp(key, "note") == 0) {
        snprintf(s->new_note, sizeof s->new_note, "%s", value);
        return 0;
    }
    return -1;   /* listen, label: restart */
}

static void st_conn_free(tick_task *t) { free(tick_container_of(t, struct st_conn, task)); }

static int st_conn_step(tick_task *t)
{
    struct st_conn *c = tick_container_of(t, struct st_conn, task);
    intptr_t rc;
    TICK_BEGIN(t);
    for (;;) {
        TICK_AWAIT(t, tick_fd_read(c->fd, c->buf, sizeof c->buf), rc);
        if (rc <= 0)
            break;
        c->n = rc;
        if (c->srv)
            c->srv->requests++;
        TICK_AWAIT(t, tick_fd_write(c->fd, c->buf, (size_t)c->n), rc);
        if (rc < 0)
            break;
        c->served = true;
        if (c->srv && c->srv->draining)   /* answered: finish with EOF */
            shutdown(tick_fd_fileno(c->fd), SHUT_RD);
    }
    tick_fd_close(c->fd);
    c->fd = NULL;
    if (c->srv)
        tick_link_remove(&c->link);
    TICK_RETURN(t, 0);
    TICK_END(t);
}

static const tick_task_class st_conn_class = { .step = st_conn_step, .free = st_conn_free };

static int st_accept_step(tick_task *t)
{
    struct st_server *s = tick_container_of(t, struct st_server, accept_task);
    intptr_t rc;
    TICK_BEGIN(t);
    for (;;) {
        TICK_AWAIT(t, tick_lease_accept(s->lease), rc);
        if (rc == -ESHUTDOWN) {              /* retired: finish, then go */
            s->draining = true;
            /* idle ones (answered once) now; a new one after its answer */
            for (tick_link *l = s->conns.next; l != &s->conns; l = l->next) {
                struct st_conn *c = tick_container_of(l, struct st_conn, link);
                if (c->served)
                    shutdown(tick_fd_fileno(c->fd), SHUT_RD);
            }
            TICK_RETURN(t, 0);
        }
        if (rc < 0)
            TICK_FAIL(t, rc);
        struct st_conn *c = calloc(1, sizeof *c);
        if (!c || tick_fd_open(tick_task_loop(t), (int)rc, &c->fd) < 0) {
            close((int)rc);
            free(c);
            continue;
        }
        c->srv = s;
        tick_list_append(&s->conns, &c->link);
        if (tick_task_start(tick_task_loop(t), &c->task, "stateful conn", &st_conn_class) == 0)
            tick_future_unref(tick_task_future(&c->task));
    }
    TICK_END(t);
}

static const tick_task_class st_accept_class = { .step = st_accept_step };

static int st_start(tick_instance *in)
{
    struct st_server *s = tick_instance_data(in);
    int rc;
    tick_link_init(&s->conns);
    if ((rc = tick_instance_listen(in, s->listen, SOCK_STREAM, &s->lease)) < 0)
        return rc;
    if ((rc = tick_task_start(tick_instance_loop(in), &s->accept_task, "stateful accept",
                              &st_accept_class)) < 0)
        return rc;
    s->accept_started = true;
    tick_log(TICK_LOG_INFO, "serving as %s on %s", s->label[0] ? s->label : "-",
             tick_lease_address(s->lease));
    return 0;
}

static void st_stop(tick_instance *in)
{
    struct st_server *s = tick_instance_data(in);
    while (s->conns.next && !tick_list_empty(&s->conns)) {
        struct st_conn *c = tick_container_of(s->conns.next, struct st_conn, link);
        tick_link_remove(&c->link);
        c->srv = NULL;
    }
    if (s->accept_started)
        tick_future_unref(tick_task_future(&s->accept_task));
    s->accept_started = false;
    tick_log(TICK_LOG_INFO, "stopping %s after %lu requests",
             s->label[0] ? s->label : "-", s->requests);
}

TICK_PLUGIN(.name = "stateful", .version = "1.0",
            .instance_size = sizeof(struct st_server),
            .configure = st_configure, .start = st_start, .stop = st_stop,
            .flags = TICK_PLUGIN_STATEFUL, .reconfigure = st_reconfigure);
