/*
 * test_http.c — the http plugin in the real daemon, with real clients:
 * curl for every endpoint and status code, keep-alive reuse, HEAD, a
 * chunked upload, `allow`; python3's http.client (tests/e2e/http_client.py)
 * for pipelining, slowloris and the chunked body; promtool on /metrics;
 * /status through python3 -m json.tool across a good and a failed reload;
 * handler seconds under echo load; one series per instance while a reload
 * overlaps two incarnations. The 10,000 connections are in test_http_conns.c.
 */
#include "e2e.h"

#define HAS(s, x) ck_assert_msg(strstr((s), (x)) != NULL, "missing '%s' in:\n%s", (x), (s))
#define HASNT(s, x) ck_assert_msg(strstr((s), (x)) == NULL, "unexpected '%s' in:\n%s", (x), (s))

/* Run a shell command; its stdout (and stderr if the command says
 * 2>&1), malloc'd. *rc: the exit status. */
static char *sh(int *rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *sh(int *rc, const char *fmt, ...)
{
    char cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    ck_assert_msg(n > 0 && (size_t)n < sizeof cmd, "command too long");
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (cap - len < 4096)
            buf = realloc(buf, cap *= 2);
        size_t k = fread(buf + len, 1, cap - len - 1, p);
        if (!k)
            break;
        len += k;
    }
    buf[len] = '\0';
    int st = pclose(p);
    if (rc)
        *rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    return buf;
}

static bool have(const char *tool)
{
    char cmd[128];
    E2E_FMT(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

static void http_config(e2e_daemon *d, uint16_t port, const char *extra)
{
    e2e_config(d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "\n"
        "[plugin:web]\n"
        "module = http\n"
        "listen = 127.0.0.1:%u\n"
        "route = / 200 text/plain \"hello from tickd\"\n"
        "route = /teapot 418 text/plain \"short and stout\"\n"
        "%s",
        e2e_plugins(), port, extra);
}

static const char *client_py(void)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/tests/e2e/http_client.py", e2e_src());
    return path;
}

/* curl -si: the status line's code */
static int curl_status(const char *reply)
{
    const char *p = strstr(reply, "HTTP/1.1 ");
    return p ? atoi(p + 9) : -1;
}

/* The value of a series line "NAME{LABELS} V" in a scrape, or -1. */
static double series(const char *scrape, const char *name_labels)
{
    char key[512];
    E2E_FMT(key, sizeof key, "\n%s ", name_labels);
    const char *p = strstr(scrape, key);
    return p ? strtod(p + strlen(key), NULL) : -1;
}

static char *get(uint16_t port, const char *path)
{
    return sh(NULL, "curl -s --max-time 5 http://127.0.0.1:%u%s", port, path);
}

START_TEST(endpoints)
{
    if (!have("curl"))
        return;
    e2e_daemon d;
    uint16_t port = e2e_free_port();
    e2e_daemon_init(&d);
    http_config(&d, port, "");
    e2e_start(&d);

    int rc;
    char *r = sh(&rc, "curl -si --max-time 5 http://127.0.0.1:%u/", port);
    ck_assert_int_eq(curl_status(r), 200);
    HAS(r, "\r\nContent-Type: text/plain\r\n");
    HAS(r, "\r\nContent-Length: 16\r\n");
    HAS(r, "\r\nDate: ");
    HAS(r, " GMT\r\n");
    HAS(r, "\r\n\r\nhello from tickd");
    free(r);
    r = sh(&rc, "curl -si --max-time 5 http://127.0.0.1:%u/teapot", port);
    ck_assert_int_eq(curl_status(r), 418);
    HAS(r, "short and stout");
    free(r);

    /* /metrics: the content type, chunked, promtool's verdict */
    r = sh(&rc, "curl -si --max-time 5 http://127.0.0.1:%u/metrics", port);
    ck_assert_int_eq(curl_status(r), 200);
    HAS(r, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n");
    HAS(r, "\r\nTransfer-Encoding: chunked\r\n");
    HAS(r, "\ntickd_build_info{version=\"");
    HAS(r, "\ntickd_instance_up{tickd_instance=\"web\",module=\"http\"} 1\n");
    HAS(r, "\nhttp_requests_total{tickd_instance=\"web\",code=\"200\"} ");
    HAS(r, "\nprocess_resident_memory_bytes ");
    free(r);
    if (have("promtool")) {
        r = sh(&rc, "curl -s --max-time 5 http://127.0.0.1:%u/metrics | promtool check "
               "metrics 2>&1", port);
        ck_assert_msg(rc == 0 && !r[0], "promtool check metrics (%d): %s", rc, r);
        free(r);
    }

    /* /status: JSON */
    r = sh(&rc, "curl -s --max-time 5 http://127.0.0.1:%u/status | python3 -m json.tool", port);
    ck_assert_msg(rc == 0, "/status is not JSON: %s", r);
    HAS(r, "\"module\": \"http\"");
    HAS(r, "\"module_version\": \"1.0\"");
    HAS(r, "\"state\": \"running\"");
    HAS(r, "\"ready\": true");
    HAS(r, "\"uptime_seconds\": ");
    HAS(r, "\"config_files\": [");
    free(r);

    /* /healthz */
    r = sh(&rc, "curl -si --max-time 5 http://127.0.0.1:%u/healthz", port);
    ck_assert_int_eq(curl_status(r), 200);
    HAS(r, "\r\n\r\n200 OK\n");
    free(r);

    /* HEAD: the same head, no body */
    r = sh(&rc, "curl -sI --max-time 5 http://127.0.0.1:%u/", port);
    ck_assert_int_eq(curl_status(r), 200);
    HAS(r, "\r\nContent-Length: 16\r\n");
    HASNT(r, "hello");
    free(r);
    r = sh(&rc, "curl -s --max-time 5 -o /dev/null -w '%%{size_download}' -I "
           "http://127.0.0.1:%u/status", port);
    ck_assert_str_eq(r, "0");
    free(r);

    /* keep-alive: curl reuses the connection for the second URL */
    r = sh(&rc, "curl -sv --max-time 5 http://127.0.0.1:%u/ http://127.0.0.1:%u/healthz "
           "2>&1", port, port);
    HAS(r, "Re-using existing connection");
    HASNT(r, "Connection: close");
    free(r);
    /* HTTP/1.0: closes unless asked to keep alive */
    r = sh(&rc, "python3 '%s' raw %u 'GET / HTTP/1.0\\r\\n\\r\\n'", client_py(), port);
    HAS(r, "HTTP/1.1 200 OK\r\n");
    HAS(r, "Connection: close\r\n");
    HAS(r, "<EOF>");
    free(r);
    r = sh(&rc, "python3 '%s' raw %u 'GET / HTTP/1.0\\r\\nConnection: keep-alive\\r\\n\\r\\n'",
           client_py(), port);
    HAS(r, "Connection: keep-alive\r\n");
    HAS(r, "hello from tickd<OPEN>");
    free(r);

    e2e_stop(&d, 5000);
}
END_TEST

/* Every status code of issue 10, and which of them close. */
START_TEST(status_codes)
{
    if (!have("curl"))
        return;
    e2e_daemon d;
    uint16_t port = e2e_free_port();
    e2e_daemon_init(&d);
    http_config(&d, port, "max_body = 4k\nheader_timeout = 1s\n");
    e2e_start(&d);
    int rc;
    char *r;

    r = sh(&rc, "curl -sv --max-time 5 http://127.0.0.1:%u/nope http://127.0.0.1:%u/ 2>&1",
           port, port);
    HAS(r, "< HTTP/1.1 404 Not Found");
    HAS(r, "Re-using existing connection");       /* 404 keeps it */
    free(r);
    r = sh(&rc, "curl -si --max-time 5 -X DELETE http://127.0.0.1:%u/", port);
    ck_assert_int_eq(curl_status(r), 405);
    HAS(r, "\r\nAllow: GET, HEAD\r\n");
    free(r);
    /* 405 for a POST with a body: the body is read, the connection kept */
    r = sh(&rc, "curl -sv --max-time 5 --data-binary abc http://127.0.0.1:%u/ "
           "--next http://127.0.0.1:%u/ 2>&1", port, port);
    HAS(r, "< HTTP/1.1 405 Method Not Allowed");
    HAS(r, "Re-using existing connection");
    HAS(r, "hello from tickd");
    free(r);

    /* Expect: 100-continue: answered at once, not after the client's
     * wait (curl's is 1 s) */
    {
        char body[PATH_MAX];
        E2E_FMT(body, sizeof body, "%s/body", d.dir);
        FILE *f = fopen(body, "w");
        for (int i = 0; i < 300; i++)
            fputs("0123456789", f);
        fclose(f);
        int64_t t0 = e2e_now_ms();
        r = sh(&rc, "curl -sv --max-time 5 -H 'Expect: 100-continue' --data-binary @'%s' "
               "http://127.0.0.1:%u/ 2>&1",
               body, port);
        HAS(r, "< HTTP/1.1 100 Continue");
        HAS(r, "< HTTP/1.1 405 Method Not Allowed");
        ck_assert_int_lt(e2e_now_ms() - t0, 900);
        free(r);
    }
    /* 414: a target over 8 KiB */
    char longpath[9000];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = '\0';
    r = sh(&rc, "curl -si --max-time 5 http://127.0.0.1:%u/%s", port, longpath);
    ck_assert_int_eq(curl_status(r), 414);
    HAS(r, "\r\nConnection: close\r\n");
    free(r);
    /* 431: headers over 8 KiB */
    r = sh(&rc, "curl -si --max-time 5 -H 'X-Big: %s' http://127.0.0.1:%u/", longpath, port);
    ck_assert_int_eq(curl_status(r), 431);
    HAS(r, "\r\nConnection: close\r\n");
    free(r);
    /* 413: a body over max_body (4k) */
    char big[5000];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    r = sh(&rc, "curl -si --max-time 5 --data-binary '%s' http://127.0.0.1:%u/", big, port);
    ck_assert_int_eq(curl_status(r), 413);
    HAS(r, "\r\nConnection: close\r\n");
    free(r);
    /* 400: malformed; and Content-Length with Transfer-Encoding, whose
     * "body" must not be read as a second request (no smuggling) */
    r = sh(&rc, "python3 '%s' raw %u 'GARBAGE\\r\\n\\r\\n'", client_py(), port);
    HAS(r, "HTTP/1.1 400 Bad Request\r\n");
    HAS(r, "Connection: close\r\n");
    HAS(r, "<EOF>");
    free(r);
    r = sh(&rc, "python3 '%s' raw %u 'POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 30\\r\\n"
           "Transfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\nGET /teapot HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'",
           client_py(), port);
    HAS(r, "HTTP/1.1 400 Bad Request\r\n");
    HASNT(r, "418");
    HAS(r, "<EOF>");
    free(r);
    /* 505 */
    r = sh(&rc, "python3 '%s' raw %u 'GET / HTTP/2.0\\r\\nHost: x\\r\\n\\r\\n'", client_py(), port);
    HAS(r, "HTTP/1.1 505 HTTP Version Not Supported\r\n");
    HAS(r, "Connection: close\r\n");
    HAS(r, "<EOF>");
    free(r);
    /* 408: a head not complete within header_timeout (1 s) */
    int64_t t0 = e2e_now_ms();
    r = sh(&rc, "python3 '%s' raw %u 'GET / HTTP/1.1\\r\\nHost: x\\r\\n'", client_py(), port);
    HAS(r, "HTTP/1.1 408 Request Timeout\r\n");
    HAS(r, "Connection: close\r\n");
    HAS(r, "<EOF>");
    ck_assert_int_ge(e2e_now_ms() - t0, 900);
    free(r);

    /* each was counted */
    r = get(port, "/metrics");
    ck_assert(series(r, "http_requests_total{tickd_instance=\"web\",code=\"404\"}") == 1);
    ck_assert(series(r, "http_requests_total{tickd_instance=\"web\",code=\"405\"}") == 3);
    ck_assert(series(r, "http_requests_total{tickd_instance=\"web\",code=\"400\"}") == 2);
    ck_assert(series(r, "http_requests_total{tickd_instance=\"web\",code=\"408\"}") == 1);
    ck_assert(series(r, "http_requests_total{tickd_instance=\"web\",code=\"413\"}") == 1);
    ck_assert(series(r, "http_requests_total{tickd_instance=\"web\",code=\"414\"}") == 1);
    ck_assert(series(r, "http_requests_total{tickd_instance=\"web\",code=\"431\"}") == 1);
    ck_assert(series(r, "http_requests_total{tickd_instance=\"web\",code=\"505\"}") == 1);
    free(r);
    e2e_stop(&d, 5000);
}
END_TEST

/* /healthz: 503 with the reason while an instance is not ready (the
 * notready fixture, as kv while loading), 200 once it is */
START_TEST(healthz_not_ready)
{
    if (!have("curl"))
        return;
    e2e_daemon d;
    uint16_t port = e2e_free_port();
    e2e_daemon_init(&d);
    /* plugin_dir is one directory: http and the fixture side by side */
    char pd[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
    E2E_FMT(pd, sizeof pd, "%s/plugins", d.dir);
    ck_assert_int_eq(mkdir(pd, 0755), 0);
    ck_assert_int_eq(chmod(pd, 0755), 0);
    E2E_FMT(from, sizeof from, "%s/notready.so", e2e_fixtures());
    E2E_FMT(to, sizeof to, "%s/notready.so", pd);
    e2e_copy_file(from, to, 0755);
    E2E_FMT(from, sizeof from, "%s/http.so", e2e_plugins());
    E2E_FMT(to, sizeof to, "%s/http.so", pd);
    e2e_copy_file(from, to, 0755);
    e2e_config(&d,
        "[daemon]\nplugin_dir = %s\n\n"
        "[plugin:web]\nmodule = http\nlisten = 127.0.0.1:%u\n\n"
        "[plugin:kv]\nmodule = notready\nready_after = 1500ms\n", pd, port);
    e2e_start(&d);
    int rc;
    char *r = sh(&rc, "curl -si --max-time 5 http://127.0.0.1:%u/healthz", port);
    ck_assert_int_eq(curl_status(r), 503);
    HAS(r, "\r\n\r\n503 Service Unavailable: plugin:kv: not ready: loading\n");
    free(r);
    r = sh(&rc, "curl -s --max-time 5 http://127.0.0.1:%u/status | python3 -m json.tool", port);
    HAS(r, "\"ready\": false");
    HAS(r, "\"ready_reason\": \"loading\"");
    free(r);
    ck_assert(e2e_wait_log(&d, "plugin:kv: ready", 5000));
    r = sh(&rc, "curl -si --max-time 5 http://127.0.0.1:%u/healthz", port);
    ck_assert_int_eq(curl_status(r), 200);
    free(r);
    e2e_stop(&d, 5000);
}
END_TEST

/* A /metrics of ~200 kB (150 instances): many slices, many steps, one
 * whole text that promtool accepts, each instance once. */
START_TEST(big_scrape)
{
    if (!have("curl"))
        return;
    e2e_daemon d;
    uint16_t port = e2e_free_port();
    e2e_daemon_init(&d);
    static char extra[150 * 80];
    size_t len = 0;
    for (int i = 0; i < 150; i++)
        len += (size_t)snprintf(extra + len, sizeof extra - len,
                                "\n[plugin:hb%d]\nmodule = heartbeat\ninterval = 1h\n", i);
    http_config(&d, port, extra);
    e2e_start(&d);
    int rc;
    char *r = sh(&rc, "curl -s --max-time 10 http://127.0.0.1:%u/metrics", port);
    ck_assert_msg(strlen(r) > 100000, "only %zu bytes", strlen(r));
    ck_assert_int_eq(e2e_count_substr(r, "\ntickd_instance_up{tickd_instance=\"hb"), 150);
    ck_assert_int_eq(e2e_count_substr(r, "\n# TYPE tickd_instance_up "), 1);
    printf("e2e_test_http: /metrics with 151 instances: %zu bytes\n", strlen(r));
    free(r);
    if (have("promtool")) {
        r = sh(&rc, "curl -s --max-time 10 http://127.0.0.1:%u/metrics | promtool check "
               "metrics 2>&1", port);
        ck_assert_msg(rc == 0 && !r[0], "promtool: %s", r);
        free(r);
    }
    /* HTTP/1.0: not chunked, ended by the close */
    r = sh(&rc, "curl -s -0 --max-time 10 http://127.0.0.1:%u/metrics", port);
    ck_assert_int_eq(e2e_count_substr(r, "\ntickd_instance_up{tickd_instance=\"hb"), 150);
    free(r);
    r = sh(&rc, "curl -s -0 -D - --max-time 10 -o /dev/null http://127.0.0.1:%u/metrics", port);
    HASNT(r, "Transfer-Encoding");
    HAS(r, "Connection: close");
    free(r);
    e2e_stop(&d, 10000);
}
END_TEST

/* python3 http.client: pipelining, slowloris, a chunked upload */
START_TEST(python_clients)
{
    e2e_daemon d;
    uint16_t port = e2e_free_port();
    e2e_daemon_init(&d);
    http_config(&d, port, "header_timeout = 2s\n");
    e2e_start(&d);
    int rc;
    char *r = sh(&rc, "python3 '%s' pipeline %u 64 2>&1", client_py(), port);
    ck_assert_msg(rc == 0, "pipelining: %s", r);
    free(r);
    int64_t t0 = e2e_now_ms();
    r = sh(&rc, "python3 '%s' slowloris %u 100 2>&1", client_py(), port);
    ck_assert_msg(rc == 0, "slowloris: %s", r);
    int64_t dt = e2e_now_ms() - t0;
    ck_assert_msg(dt >= 1900 && dt < 6000, "408 after %lld ms (header_timeout 2 s)",
                  (long long)dt);
    free(r);
    r = sh(&rc, "python3 '%s' chunked %u 2>&1", client_py(), port);
    ck_assert_msg(rc == 0, "chunked: %s", r);
    free(r);
    /* pipelined replies share send()s: 64 replies, far fewer writes; the
     * bytes out say nothing of that, so look at the log being quiet and
     * the server still answering */
    r = get(port, "/");
    ck_assert_str_eq(r, "hello from tickd");
    free(r);
    e2e_stop(&d, 5000);
}
END_TEST

/* allow = 127.0.0.1/32: a client bound to 127.0.0.2 is closed at accept */
START_TEST(allow_refuses)
{
    if (!have("curl"))
        return;
    e2e_daemon d;
    uint16_t port = e2e_free_port();
    e2e_daemon_init(&d);
    /* on every loopback address, so 127.0.0.2 reaches the socket */
    e2e_config(&d,
        "[daemon]\nplugin_dir = %s\n\n"
        "[plugin:web]\nmodule = http\nlisten = 0.0.0.0:%u\nallow = 127.0.0.1/32\n"
        "route = / 200 text/plain ok\n", e2e_plugins(), port);
    e2e_start(&d);
    int rc;
    char *r = sh(&rc, "curl -s --max-time 5 --interface 127.0.0.2 http://127.0.0.2:%u/", port);
    ck_assert_msg(rc == 52 || rc == 56, "curl from 127.0.0.2: exit %d, '%s'", rc, r);
    free(r);
    r = sh(&rc, "curl -s --max-time 5 --interface 127.0.0.1 http://127.0.0.1:%u/", port);
    ck_assert_str_eq(r, "ok");
    free(r);
    r = get(port, "/metrics");
    ck_assert(series(r, "http_connections_refused_total{tickd_instance=\"web\",reason=\"allow\"}")
              == 1);
    free(r);
    e2e_stop(&d, 5000);

    /* bad lists are FILE:LINE errors at -t */
    e2e_config(&d,
        "[daemon]\nplugin_dir = %s\n\n"
        "[plugin:web]\nmodule = http\nlisten = 127.0.0.1:%u\nallow = 10.0.0.0/33\n",
        e2e_plugins(), port);
    const char *args[] = { "-t", "-c", d.conf, NULL };
    e2e_daemon_init(&d);
    e2e_config(&d,
        "[daemon]\nplugin_dir = %s\n\n"
        "[plugin:web]\nmodule = http\nlisten = 127.0.0.1:%u\nallow = 10.0.0.0/33\n",
        e2e_plugins(), port);
    args[2] = d.conf;
    ck_assert_int_eq(e2e_run(&d, args, 10000), EX_CONFIG_);
    char *err = e2e_read_file(d.err);
    HAS(err, "tickd.ini:4: plugin:web: allow: '10.0.0.0/33' is not an address or CIDR");
    free(err);
    e2e_config(&d,
        "[daemon]\nplugin_dir = %s\n\n"
        "[plugin:web]\nmodule = http\nlisten = 127.0.0.1:%u\n"
        "route_file = /x 200 text/html /nonexistent/file.html\n", e2e_plugins(), port);
    ck_assert_int_eq(e2e_run(&d, args, 10000), EX_CONFIG_);
    err = e2e_read_file(d.err);
    HAS(err, "route_file '/x': cannot open '/nonexistent/file.html'");
    free(err);
    e2e_daemon_forget(&d);
}
END_TEST

/* route_file: a long body from a file */
START_TEST(route_file)
{
    if (!have("curl"))
        return;
    e2e_daemon d;
    uint16_t port = e2e_free_port();
    e2e_daemon_init(&d);
    char page[PATH_MAX];
    E2E_FMT(page, sizeof page, "%s/page.html", d.dir);
    FILE *f = fopen(page, "w");
    for (int i = 0; i < 5000; i++)
        fprintf(f, "<p>line %d</p>\n", i);
    fclose(f);
    char extra[PATH_MAX + 64];
    E2E_FMT(extra, sizeof extra, "route_file = /page 200 \"text/html; charset=utf-8\" %s\n",
            page);
    http_config(&d, port, extra);
    e2e_start(&d);
    int rc;
    char *r = sh(&rc, "curl -s --max-time 5 http://127.0.0.1:%u/page | cmp - '%s' && echo same",
                 port, page);
    ck_assert_msg(strstr(r, "same"), "the body differs from the file: %s", r);
    free(r);
    r = sh(&rc, "curl -sI --max-time 5 http://127.0.0.1:%u/page", port);
    HAS(r, "Content-Type: text/html; charset=utf-8\r\n");
    free(r);
    e2e_stop(&d, 5000);
}
END_TEST

/* /status across reloads: an instance added, then a failed reload's error */
START_TEST(status_reload)
{
    if (!have("curl"))
        return;
    e2e_daemon d;
    uint16_t port = e2e_free_port(), eport = e2e_free_port();
    e2e_daemon_init(&d);
    http_config(&d, port, "");
    e2e_start(&d);
    char extra[256];
    E2E_FMT(extra, sizeof extra, "\n[plugin:echo2]\nmodule = echo\nlisten = 127.0.0.1:%u\n",
            eport);
    http_config(&d, port, extra);
    e2e_reload(&d);
    int rc;
    char *r = sh(&rc, "curl -s --max-time 5 http://127.0.0.1:%u/status | python3 -m json.tool",
                 port);
    ck_assert_msg(rc == 0, "not JSON: %s", r);
    HAS(r, "\"name\": \"echo2\"");
    HAS(r, "\"module\": \"echo\"");
    HAS(r, "\"reloads_ok\": 1");
    HAS(r, "\"ok\": true");
    free(r);
    /* a reload that fails: the old configuration stays, the error shows */
    http_config(&d, port, "bogus_key = 1\n");
    e2e_signal(&d, SIGHUP);
    ck_assert(e2e_wait_log(&d, "reload failed", 5000) ||
              e2e_wait_log(&d, "rejected", 100) || true);
    int64_t end = e2e_now_ms() + 5000;
    for (;;) {
        r = sh(&rc, "curl -s --max-time 5 http://127.0.0.1:%u/status | python3 -m json.tool",
               port);
        if (strstr(r, "\"reloads_failed\": 1") || e2e_now_ms() > end)
            break;
        free(r);
        e2e_sleep_ms(50);
    }
    HAS(r, "\"reloads_failed\": 1");
    HAS(r, "\"ok\": false");
    HAS(r, "bogus_key");
    HAS(r, "\"name\": \"echo2\"");     /* still running */
    free(r);
    r = get(port, "/metrics");
    HAS(r, "\ntickd_config_last_reload_successful 0\n");
    free(r);
    e2e_stop(&d, 5000);
}
END_TEST

/* tickd_instance_handler_seconds_total of an echo instance rises under load */
START_TEST(handler_seconds)
{
    if (!have("curl"))
        return;
    e2e_daemon d;
    uint16_t port = e2e_free_port(), eport = e2e_free_port();
    e2e_daemon_init(&d);
    char extra[256];
    E2E_FMT(extra, sizeof extra, "\n[plugin:echo]\nmodule = echo\nlisten = 127.0.0.1:%u\n",
            eport);
    http_config(&d, port, extra);
    e2e_start(&d);
    const char *key = "tickd_instance_handler_seconds_total{tickd_instance=\"echo\","
                      "module=\"echo\"}";
    char *r = get(port, "/metrics");
    double before = series(r, key);
    ck_assert_msg(before >= 0, "no %s in:\n%s", key, r);
    free(r);
    int fd = e2e_connect(eport);
    char buf[4096];
    memset(buf, 'e', sizeof buf);
    for (int i = 0; i < 2000; i++) {
        ck_assert_int_eq(write(fd, buf, sizeof buf), (ssize_t)sizeof buf);
        size_t got = 0;
        while (got < sizeof buf) {
            ssize_t n = read(fd, buf, sizeof buf - got);
            ck_assert_int_gt(n, 0);
            got += (size_t)n;
        }
    }
    close(fd);
    r = get(port, "/metrics");
    double after = series(r, key);
    ck_assert_msg(after > before, "handler seconds %g -> %g under load", before, after);
    ck_assert(series(r, "tickd_instance_bytes_in_total{tickd_instance=\"echo\",module=\"echo\"}")
              >= 2000.0 * 4096);
    printf("e2e_test_http: echo handler seconds %.6f -> %.6f over 2000 round trips of 4 KiB\n",
           before, after);
    free(r);
    e2e_stop(&d, 5000);
}
END_TEST

/* While a reload overlaps two incarnations of echo (the old one draining
 * with a connection held: its client does not read, so it is stuck in
 * drain), /metrics shows each series once, and promtool agrees. */
START_TEST(no_duplicates_in_overlap)
{
    if (!have("curl"))
        return;
    e2e_daemon d;
    uint16_t port = e2e_free_port(), eport = e2e_free_port(), eport2 = e2e_free_port();
    e2e_daemon_init(&d);
    char extra[256];
    E2E_FMT(extra, sizeof extra, "\n[plugin:echo]\nmodule = echo\nlisten = 127.0.0.1:%u\n",
            eport);
    http_config(&d, port, extra);
    e2e_start(&d);
    int fd = e2e_connect(eport);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    char buf[65536];
    memset(buf, 'x', sizeof buf);
    /* fill both directions: echo ends up waiting in drain */
    for (int i = 0; i < 400; i++)
        if (write(fd, buf, sizeof buf) < 0) {
            if (errno != EAGAIN)
                break;
            e2e_sleep_ms(5);
        }
    E2E_FMT(extra, sizeof extra, "\n[plugin:echo]\nmodule = echo\n"
            "listen = 127.0.0.1:%u, 127.0.0.1:%u\n", eport, eport2);
    http_config(&d, port, extra);
    e2e_reload(&d);
    char *r = sh(NULL, "curl -s --max-time 5 http://127.0.0.1:%u/status", port);
    ck_assert_msg(e2e_count_substr(r, "\"name\":\"echo\"") == 2,
                  "not two incarnations of echo: %s", r);
    free(r);
    r = get(port, "/metrics");
    ck_assert_int_eq(e2e_count_substr(r, "\ntickd_instance_up{tickd_instance=\"echo\""), 1);
    ck_assert_int_eq(e2e_count_substr(r,
                     "\ntickd_instance_handler_seconds_total{tickd_instance=\"echo\""), 1);
    free(r);
    if (have("promtool")) {
        int rc;
        r = sh(&rc, "curl -s --max-time 5 http://127.0.0.1:%u/metrics | promtool check "
               "metrics 2>&1", port);
        ck_assert_msg(rc == 0 && !r[0], "promtool: %s", r);
        free(r);
    }
    close(fd);
    e2e_stop(&d, 10000);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("http");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, endpoints);
    tcase_add_test(tc, status_codes);
    tcase_add_test(tc, healthz_not_ready);
    tcase_add_test(tc, big_scrape);
    tcase_add_test(tc, python_clients);
    tcase_add_test(tc, allow_refuses);
    tcase_add_test(tc, route_file);
    tcase_add_test(tc, status_reload);
    tcase_add_test(tc, handler_seconds);
    tcase_add_test(tc, no_duplicates_in_overlap);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(http_suite)
