/*
 * routes.c — static routes: `route = PATH STATUS CONTENT-TYPE BODY` and
 * `route_file = PATH STATUS CONTENT-TYPE FILE`.
 *
 * Each route's status line and its Content-Type/Content-Length fields are
 * made once here, so a request costs a lookup and a few copies. The table
 * is sorted by (length, bytes) and searched with bsearch: a site with
 * hundreds of routes costs log2(n) compares, mostly of lengths. A FILE is
 * read whole at configure time (so `tickd -t` and a reload report a
 * missing one); it must be an absolute path: the plugin does not know
 * which directory a relative one would be relative to.
 */
#define _GNU_SOURCE     /* asprintf */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "http.h"

void http_target_path(const char *target, size_t len, const char **path, size_t *plen)
{
    const char *p = target, *end = target + len;
    /* absolute-form (RFC 9112 3.2.2): skip "scheme://authority" */
    if (len && *p != '/') {
        const char *s = memchr(p, ':', len);
        if (s && end - s > 3 && s[1] == '/' && s[2] == '/') {
            const char *a = memchr(s + 3, '/', (size_t)(end - s - 3));
            p = a ? a : end;
        }
    }
    const char *q = memchr(p, '?', (size_t)(end - p));
    *path = p;
    *plen = (size_t)((q ? q : end) - p);
}

static int route_cmp(const void *a, const void *b)
{
    const struct http_route *x = a, *y = b;
    if (x->path_len != y->path_len)
        return x->path_len < y->path_len ? -1 : 1;
    return memcmp(x->path, y->path, x->path_len);
}

const struct http_route *http_routes_find(const struct http_routes *r,
                                          const char *path, size_t len)
{
    struct http_route key = { .path = path, .path_len = len };
    if (!r->n)
        return NULL;
    return bsearch(&key, r->v, r->n, sizeof *r->v, route_cmp);
}

void http_routes_free(struct http_routes *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].head);
        free(r->v[i].fields);
        free(r->v[i].owned_body);
    }
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

static bool visible(const char *s, bool spaces_ok)
{
    if (!*s)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || (*p == ' ' && !spaces_ok))
            return false;
    return true;
}

static int read_file(const char *path, uint64_t max, char **out, size_t *len,
                     char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return -EINVAL;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "'%s' is not a regular file", path);
        close(fd);
        return -EINVAL;
    }
    if ((uint64_t)st.st_size > max) {
        snprintf(err, errlen, "'%s' is larger than %llu bytes", path,
                 (unsigned long long)max);
        close(fd);
        return -EINVAL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    if (!buf) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    *out = buf;
    *len = got;      /* a file that shrank meanwhile: what was there */
    return 0;
}

/* One route from its four words; the body from the word or the file. */
static int route_make(struct http_route *rt, const tick_words *w, bool file,
                      uint64_t max_file, char *err, size_t errlen)
{
    const char *kind = file ? "route_file" : "route";
    const char *path = w->v[0], *st = w->v[1], *type = w->v[2], *body = w->v[3];
    char *end;

    if (path[0] != '/' || !visible(path, false) || strchr(path, '?')) {
        snprintf(err, errlen, "%s '%s': the path must start with '/' and have "
                 "no '?', blank or control byte", kind, path);
        return -EINVAL;
    }
    if (http_builtin(path, strlen(path)) != HTTP_EP_NONE) {
        snprintf(err, errlen, "%s '%s': the path is a built-in endpoint", kind, path);
        return -EINVAL;
    }
    long status = strtol(st, &end, 10);
    if (st[0] < '1' || st[0] > '5' || *end || end - st != 3 || status < 200 ||
        status == 204 || status == 304) {
        snprintf(err, errlen, "%s '%s': status '%s' is not 200..599 with a body "
                 "(not 204 or 304)", kind, path, st);
        return -EINVAL;
    }
    if (!visible(type, true) || strlen(type) > 200) {
        snprintf(err, errlen, "%s '%s': bad content type '%s'", kind, path, type);
        return -EINVAL;
    }
    rt->path = path;
    rt->path_len = strlen(path);
    rt->status = (unsigned)status;
    if (file) {
        if (body[0] != '/') {
            snprintf(err, errlen, "route_file '%s': '%s' is not an absolute path",
                     path, body);
            return -EINVAL;
        }
        char msg[300];
        int rc = read_file(body, max_file, &rt->owned_body, &rt->body_len, msg, sizeof msg);
        if (rc < 0) {
            snprintf(err, errlen, "route_file '%s': %s", path, msg);
            return rc;
        }
        rt->body = rt->owned_body;
    } else {
        rt->body = body;
        rt->body_len = strlen(body);
    }
    const char *reason = http_reason(rt->status);
    int n1 = asprintf(&rt->head, "HTTP/1.1 %03u %s\r\n", rt->status, reason);
    int n2 = asprintf(&rt->fields, "Content-Type: %s\r\nContent-Length: %zu\r\n", type,
                      rt->body_len);
    if (n1 < 0 || n2 < 0) {
        if (n1 >= 0)
            free(rt->head);
        if (n2 >= 0)
            free(rt->fields);
        rt->head = rt->fields = NULL;
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    rt->head_len = (size_t)n1;
    rt->fields_len = (size_t)n2;
    return 0;
}

int http_routes_build(struct http_routes *r, const tick_words_list *routes,
                      const tick_words_list *files, uint64_t max_file,
                      char *err, size_t errlen)
{
    size_t total = routes->n + files->n;
    r->n = 0;
    r->v = NULL;
    if (!total)
        return 0;
    if (!(r->v = calloc(total, sizeof *r->v))) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < total; i++) {
        bool file = i >= routes->n;
        const tick_words *w = file ? &files->v[i - routes->n] : &routes->v[i];
        int rc = route_make(&r->v[r->n], w, file, max_file, err, errlen);
        if (rc < 0) {
            http_routes_free(r);
            return rc;
        }
        r->n++;
    }
    qsort(r->v, r->n, sizeof *r->v, route_cmp);
    for (size_t i = 1; i < r->n; i++)
        if (route_cmp(&r->v[i - 1], &r->v[i]) == 0) {
            snprintf(err, errlen, "route '%s' is given twice", r->v[i].path);
            http_routes_free(r);
            return -EINVAL;
        }
    return 0;
}
