/*
 * log.c — stderr logging with journald priority prefixes, never blocking
 * (logbuf.c).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "logbuf.h"
#include "internal.h"

static int log_level = TICK_LOG_INFO;
static bool log_journal;

static const char *const level_names[] = {
    [0] = "emerg", [1] = "alert", [2] = "crit", [TICK_LOG_ERR] = "err",
    [TICK_LOG_WARNING] = "warning", [TICK_LOG_NOTICE] = "notice",
    [TICK_LOG_INFO] = "info", [TICK_LOG_DEBUG] = "debug",
};

static struct tickd_logbuf logbuf;
static bool logbuf_ready;        /* tickd_log_init() ran */
static int private_fd = -1;      /* our own non-blocking open of stderr */

unsigned long tickd_log_dropped_total(void)
{
    return logbuf_ready ? tickd_logbuf_dropped_total(&logbuf) : 0;
}

/* systemd sets JOURNAL_STREAM=DEV:INODE for the stream it connected to
 * our stdout/stderr; a redirected stderr no longer matches, and then the
 * "<N>" prefixes would only be noise.
 *
 * Where the lines go without ever blocking (logbuf.h): a socket (the
 * journal's stream) takes send(MSG_DONTWAIT); a pipe, FIFO or terminal is
 * opened again through /proc/self/fd/2 with O_NONBLOCK, a new open file
 * description of our own, so the flag does not leak into the fd 2 we
 * share with our parent and children (never set O_NONBLOCK on fd 2). A
 * regular file is written through fd 2 itself: it never waits for a
 * reader, and a new description would lose the shared file offset.
 * Without /proc, fd 2 is written only when poll() says the line fits. */
void tickd_log_init(void)
{
    const char *e = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    enum tickd_logbuf_mode mode = TICKD_LOGBUF_POLL;
    struct stat st;
    int fd = 2;
    bool have = fstat(2, &st) == 0;

    log_journal = false;
    if (e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && have &&
        (unsigned long long)st.st_dev == dev &&
        (unsigned long long)st.st_ino == ino)
        log_journal = true;

    if (private_fd >= 0) {
        close(private_fd);
        private_fd = -1;
    }
    if (have && S_ISSOCK(st.st_mode)) {
        mode = TICKD_LOGBUF_SEND;
    } else if (have && !S_ISREG(st.st_mode)) {
        private_fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (private_fd >= 0) {
            fd = private_fd;
            mode = TICKD_LOGBUF_WRITE;
        }
    }
    tickd_logbuf_init(&logbuf, fd, mode, log_journal ? "<4>" : "tickd: warning: ");
    logbuf_ready = true;
}

bool tickd_log_flush(void)
{
    return tickd_logbuf_flush(&logbuf);
}

void tickd_log_flush_at_exit(void)
{
    /* a stalled reader must not hold up the exit for long */
    tickd_logbuf_drain(&logbuf, 500);
}

bool tickd_log_journal(void) { return log_journal; }

void tickd_log_set_level(int level)
{
    log_level = level < TICK_LOG_ERR ? TICK_LOG_ERR
              : level > TICK_LOG_DEBUG ? TICK_LOG_DEBUG : level;
}

int tickd_log_level(void) { return log_level; }


int tickd_log_parse_level(const char *s, int *level)
{
    static const struct { const char *name; int level; } names[] = {
        { "err", TICK_LOG_ERR }, { "error", TICK_LOG_ERR },
        { "warning", TICK_LOG_WARNING }, { "warn", TICK_LOG_WARNING },
        { "notice", TICK_LOG_NOTICE }, { "info", TICK_LOG_INFO },
        { "debug", TICK_LOG_DEBUG },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(s, names[i].name) == 0) {
            *level = names[i].level;
            return 0;
        }
    return -EINVAL;
}

const char *tickd_log_level_name(int level)
{
    if (level < 0 || level > TICK_LOG_DEBUG)
        return "?";
    return level_names[level];
}

void tickd_logv(int level, const char *prefix, const char *fmt, va_list ap)
{
    char line[4096];
    size_t len = 0, max = sizeof line - 2;   /* room for "\n\0" */
    int n;

    if (level < 0)
        level = 0;
    if (level > TICK_LOG_DEBUG)
        level = TICK_LOG_DEBUG;
    if (level > log_level)
        return;
    if (log_journal)
        n = snprintf(line, max, "<%d>", level);
    else if (level <= TICK_LOG_ERR)
        n = snprintf(line, max, "tickd: error: ");
    else if (level == TICK_LOG_WARNING)
        n = snprintf(line, max, "tickd: warning: ");
    else if (level == TICK_LOG_DEBUG)
        n = snprintf(line, max, "tickd: debug: ");
    else
        n = snprintf(line, max, "tickd: ");
    len = (size_t)n;
    if (prefix && *prefix) {
        n = snprintf(line + len, max - len, "%s: ", prefix);
        len = n < 0 ? len : len + (size_t)n > max - 1 ? max - 1 : len + (size_t)n;
    }
    n = vsnprintf(line + len, max - len, fmt, ap);
    if (n > 0) {
        size_t start = len;
        len = len + (size_t)n > max - 1 ? max - 1 : len + (size_t)n;
        /* One message is one line: the journal and line-reading tests
         * would otherwise see a second, unprefixed line. */
        for (size_t i = start; i < len; i++)
            if (line[i] == '\n' || line[i] == '\r')
                line[i] = ' ';
    }
    line[len++] = '\n';
    if (!logbuf_ready)       /* a caller that logs before tickd_log_init() */
        tickd_log_init();
    tickd_logbuf_write(&logbuf, line, len);
}

void tickd_log_check_error(const char *msg)
{
    char line[sizeof "<3>" + 4096];
    int n = snprintf(line, sizeof line - 1, "%s%s", log_journal ? "<3>" : "", msg);
    size_t len = n < 0 ? 0 : (size_t)n > sizeof line - 2 ? sizeof line - 2 : (size_t)n;

    line[len++] = '\n';
    /* -t exits right after: through the buffer, then wait for it */
    if (!logbuf_ready)
        tickd_log_init();
    tickd_logbuf_write(&logbuf, line, len);
    tickd_logbuf_drain(&logbuf, 500);
}

void tickd_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tickd_logv(level, NULL, fmt, ap);
    va_end(ap);
}

void tickd_logp(int level, const char *prefix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tickd_logv(level, prefix, fmt, ap);
    va_end(ap);
}

/*
 * The prefix is the current scope's name and its ancestors' ("plugin:NAME",
 * then any server or connection scope below it), outermost first: the
 * engine records whose code runs, so nothing has to be guessed. On a pool
 * worker the job's scope stands in (its names live as long as the job).
 */
static const char *scope_prefix(const tick_scope *s, char *buf, size_t len)
{
    const char *names[8];
    size_t n = 0, off = 0;

    for (; s && s->parent && n < 8; s = s->parent)
        if (s->name)
            names[n++] = s->name;
    if (n == 0)
        return NULL;
    buf[0] = '\0';
    while (n-- > 0 && off < len) {
        int w = snprintf(buf + off, len - off, "%s%s", off ? "/" : "", names[n]);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    return buf;
}

static const tick_scope *current_scope(void)
{
    tick_loop *loop = tick_loop_current();
    return loop ? tick_scope_current(loop) : tick__thread_scope;
}

TICK_API void tick_log(int level, const char *fmt, ...)
{
    char who[160];
    va_list ap;

    if (level > log_level)
        return;
    va_start(ap, fmt);
    tickd_logv(level, scope_prefix(current_scope(), who, sizeof who), fmt, ap);
    va_end(ap);
}

static void engine_log(int level, const char *scope_name, const char *msg)
{
    char who[160];
    (void)scope_name;
    if (level > log_level)
        return;
    tickd_logp(level, scope_prefix(current_scope(), who, sizeof who), "%s", msg);
}

void tickd_log_engine_init(void) { tick__log_hook = engine_log; }
