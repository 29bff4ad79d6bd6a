/*
 * procs.h — e2e helpers for processes a plugin spawned: read pids from the
 * daemon's log, find a process's children and group in /proc, and kill
 * whatever a failed test left behind (by recorded pid, never by name).
 * Include after e2e.h.
 */
#ifndef TICK_E2E_PROCS_H
#define TICK_E2E_PROCS_H

/* The number after the first occurrence of prefix in the daemon's log
 * ("plugin:esc2: spawned pid "), or -1. */
E2E_FN pid_t e2e_log_pid(e2e_daemon *d, const char *prefix)
{
    char *log = e2e_read_file(d->err);
    const char *p = strstr(log, prefix);
    pid_t pid = p ? (pid_t)strtol(p + strlen(prefix), NULL, 10) : -1;
    free(log);
    return pid > 0 ? pid : -1;
}

/* /proc/PID/stat: state, parent and process group. false if it is gone. */
E2E_FN bool e2e_proc_stat(pid_t pid, char *state, pid_t *ppid, pid_t *pgid)
{
    char path[64], buf[512];
    E2E_FMT(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');   /* comm may hold spaces and ')' */
    int pp = 0, pg = 0;
    char st = '?';
    if (!p || sscanf(p + 1, " %c %d %d", &st, &pp, &pg) != 3)
        return false;
    if (state)
        *state = st;
    if (ppid)
        *ppid = pp;
    if (pgid)
        *pgid = pg;
    return true;
}

/* Running (a zombie is dead, only not yet reaped by its parent). */
E2E_FN bool e2e_proc_alive(pid_t pid)
{
    char st;
    return e2e_proc_stat(pid, &st, NULL, NULL) && st != 'Z' && st != 'X';
}

/* Processes whose parent is pid, up to max; how many. */
E2E_FN int e2e_proc_children(pid_t pid, pid_t *out, int max)
{
    DIR *dir = opendir("/proc");
    int n = 0;
    struct dirent *e;
    ck_assert_ptr_nonnull(dir);
    while ((e = readdir(dir)) && n < max) {
        char *end;
        long p = strtol(e->d_name, &end, 10);
        pid_t pp;
        if (*end || p <= 0)
            continue;
        if (e2e_proc_stat((pid_t)p, NULL, &pp, NULL) && pp == pid)
            out[n++] = (pid_t)p;
    }
    closedir(dir);
    return n;
}

/* Some process (zombies included) is in process group pgid. */
E2E_FN bool e2e_group_exists(pid_t pgid)
{
    return kill(-pgid, 0) == 0 || errno != ESRCH;
}

/* Pids to SIGKILL at exit if they still run `comm` (a failed assertion
 * must not leave `sleep 60` behind; the comm check keeps a recycled pid
 * safe). */
#define E2E_LEFTOVERS_MAX 32
static struct { pid_t pid; char comm[16]; } e2e_leftovers[E2E_LEFTOVERS_MAX];

E2E_FN bool e2e_proc_comm_is(pid_t pid, const char *comm)
{
    char path[64], buf[32] = "";
    E2E_FMT(path, sizeof path, "/proc/%d/comm", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    if (!fgets(buf, sizeof buf, f))
        buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
    return strcmp(buf, comm) == 0;
}

E2E_FN void e2e_kill_leftovers(void)
{
    for (int i = 0; i < E2E_LEFTOVERS_MAX; i++) {
        if (e2e_leftovers[i].pid > 0 &&
            e2e_proc_comm_is(e2e_leftovers[i].pid, e2e_leftovers[i].comm))
            kill(e2e_leftovers[i].pid, SIGKILL);
        e2e_leftovers[i].pid = 0;
    }
}

E2E_FN void e2e_leftover(pid_t pid, const char *comm)
{
    static bool registered;
    if (!registered) {
        atexit(e2e_kill_leftovers);
        registered = true;
    }
    for (int i = 0; i < E2E_LEFTOVERS_MAX; i++)
        if (e2e_leftovers[i].pid <= 0) {
            e2e_leftovers[i].pid = pid;
            snprintf(e2e_leftovers[i].comm, sizeof e2e_leftovers[i].comm, "%s", comm);
            return;
        }
}

/* A sanitizer's report in a log ("" if none): the first line of it. */
E2E_FN const char *e2e_sanitizer_report(const char *log)
{
    static const char *const marks[] = {
        "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
        "WARNING: AddressSanitizer", "ERROR: UndefinedBehaviorSanitizer",
    };
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        const char *p = strstr(log, marks[i]);
        if (p)
            return p;
    }
    return NULL;
}

#endif
