/*
 * http_parse.c — the http plugin's request parser (plugins/http/http_parse.c)
 * against Debian's libhttp-parser-dev (nodejs' http_parser 2.9, linked
 * statically, as ours is) on the same request heads:
 *
 *   wrk      wrk's head: GET / HTTP/1.1, Host: 127.0.0.1:8080
 *   curl     curl 7.88.1's head (Host, User-Agent, Accept)
 *   browser  a Chromium-like head, 16 fields, 590 bytes
 *   wrk_2rd  wrk's head arriving in two reads (20 + 20 bytes): ours
 *            re-parses with the prev_len hint, http_parser keeps state
 *
 * Both sides do the same job: the method, the target, every field's name
 * and value as views, Content-Length and keep-alive, and a check that the
 * head was accepted. http_parser reports through callbacks, so its side
 * (http_peer.c, a file of its own: both headers declare enum http_method)
 * records the views from them into a struct like ours.
 *
 * Usage: http_parse [-r ROUNDS] [-n REQUESTS]   (default 9 rounds of
 * 1,000,000 requests per input and side; the sides alternate round by
 * round). Pin it: run.sh runs it under taskset. Prints, per input,
 *
 *   BENCH http_parse_<input> <ours> ns/req http_parser=<v> ratio=<r>
 *
 * with the median over rounds of each side and the median of the
 * per-round quotients ours/http_parser (below 1 means ours is faster).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "http_peer.h"
#include "../plugins/http/http_parse.h"

struct input {
    const char *name;
    const char *head;
    size_t first_read;   /* 0: one read */
};

#define WRK_HEAD "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"

static const struct input inputs[] = {
    { "wrk", WRK_HEAD, 0 },
    { "curl",
      "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\n"
      "Accept: */*\r\n\r\n", 0 },
    { "browser",
      "GET /static/app.css?v=3 HTTP/1.1\r\n"
      "Host: example.test\r\n"
      "Connection: keep-alive\r\n"
      "sec-ch-ua: \"Chromium\";v=\"119\", \"Not?A_Brand\";v=\"24\"\r\n"
      "sec-ch-ua-mobile: ?0\r\n"
      "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/119.0.0.0 Safari/537.36\r\n"
      "sec-ch-ua-platform: \"Linux\"\r\n"
      "Accept: text/css,*/*;q=0.1\r\n"
      "Sec-Fetch-Site: same-origin\r\n"
      "Sec-Fetch-Mode: no-cors\r\n"
      "Sec-Fetch-Dest: style\r\n"
      "Referer: http://example.test/index.html\r\n"
      "Accept-Encoding: gzip, deflate, br\r\n"
      "Accept-Language: en-US,en;q=0.9\r\n"
      "Cache-Control: max-age=0\r\n"
      "Cookie: session=0123456789abcdef0123456789abcdef\r\n\r\n", 0 },
    { "wrk_2rd", WRK_HEAD, 20 },
};
#define NINPUTS (sizeof inputs / sizeof inputs[0])

static volatile size_t sink;   /* keeps the work from being optimised out */

/* ---- ours ---- */

static int ours_one(const char *buf, size_t len, size_t first, const struct http_limits *lim)
{
    static struct http_request req;
    int n;
    if (first) {
        n = http_parse_request(buf, first, 0, lim, &req);
        if (n != HTTP_INCOMPLETE)
            return -1;
        n = http_parse_request(buf, len, first, lim, &req);
    } else {
        n = http_parse_request(buf, len, 0, lim, &req);
    }
    if (n != (int)len)
        return -1;
    sink += req.n_headers + req.target_len + req.keep_alive + req.content_length;
    return 0;
}

/* ---- the driver ---- */

static double time_side(int side, const struct input *in, const char *buf, size_t len,
                        unsigned long reqs, const struct http_limits *lim)
{
    uint64_t t0 = bench_now_ns();
    for (unsigned long k = 0; k < reqs; k++) {
        int rc = side == 0 ? ours_one(buf, len, in->first_read, lim)
                           : http_peer_parse(buf, len, in->first_read, &sink);
        if (rc != 0) {
            fprintf(stderr, "http_parse: %s refused %s\n", side ? "http_parser" : "ours", in->name);
            exit(1);
        }
    }
    return (double)(bench_now_ns() - t0) / (double)reqs;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    unsigned rounds = 9;
    unsigned long reqs = 1000000;
    struct http_limits lim = HTTP_LIMITS_DEFAULT;
    int opt;

    while ((opt = getopt(argc, argv, "r:n:")) != -1) {
        if (opt == 'r')
            rounds = (unsigned)strtoul(optarg, NULL, 10);
        else if (opt == 'n')
            reqs = strtoul(optarg, NULL, 10);
        else {
            fprintf(stderr, "usage: http_parse [-r ROUNDS] [-n REQUESTS]\n");
            return 64;
        }
    }
    if (rounds == 0 || rounds > 99 || reqs == 0)
        return 64;
    unsigned long v = http_peer_version();
    printf("# http_parser %lu.%lu.%lu (libhttp-parser-dev, static); %u rounds x %lu requests\n",
           v >> 16 & 255, v >> 8 & 255, v & 255, rounds, reqs);

    for (size_t i = 0; i < NINPUTS; i++) {
        const struct input *in = &inputs[i];
        size_t len = strlen(in->head);
        char *buf = malloc(len);   /* exactly the head, as a read would leave it */
        double ours[99], theirs[99], ratio[99];
        memcpy(buf, in->head, len);
        time_side(0, in, buf, len, reqs / 10, &lim);   /* warm-up */
        time_side(1, in, buf, len, reqs / 10, &lim);
        for (unsigned r = 0; r < rounds; r++) {
            /* alternate which side goes first: neither always gets the warm cache */
            int first = r & 1;
            double a, b;
            if (first == 0) {
                a = time_side(0, in, buf, len, reqs, &lim);
                b = time_side(1, in, buf, len, reqs, &lim);
            } else {
                b = time_side(1, in, buf, len, reqs, &lim);
                a = time_side(0, in, buf, len, reqs, &lim);
            }
            ours[r] = a;
            theirs[r] = b;
            ratio[r] = a / b;
        }
        printf("# %s (%zu bytes): ours", in->name, len);
        for (unsigned r = 0; r < rounds; r++)
            printf(" %.1f", ours[r]);
        printf(" | http_parser");
        for (unsigned r = 0; r < rounds; r++)
            printf(" %.1f", theirs[r]);
        printf("\n");
        double mo = median(ours, rounds), mt = median(theirs, rounds), mr = median(ratio, rounds);
        printf("BENCH http_parse_%s %.1f ns/req http_parser=%.1f ratio=%.3f\n", in->name, mo, mt, mr);
        fflush(stdout);
        free(buf);
    }
    return 0;
}
