/*
 * http_peer.c — libhttp-parser-dev's side of bench/http_parse.c: the same
 * views as our parser gives (target, every field's name and value),
 * gathered from http_parser's callbacks into a struct like ours.
 */
#include <http_parser.h>
#include <limits.h>
#include <stdbool.h>

#include "http_peer.h"

#define HP_MAX_HEADERS 64

struct hp_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};


struct hp_req {
    const char *url;
    size_t url_len;
    size_t n_headers;
    struct hp_header headers[HP_MAX_HEADERS];
    bool in_value, done;
};

static int hp_url(http_parser *p, const char *at, size_t n)
{
    struct hp_req *r = p->data;
    if (!r->url)
        r->url = at;
    r->url_len += n;
    return 0;
}

static int hp_field(http_parser *p, const char *at, size_t n)
{
    struct hp_req *r = p->data;
    if (r->in_value || r->n_headers == 0) {   /* a new field */
        if (r->n_headers == HP_MAX_HEADERS)
            return 1;
        r->headers[r->n_headers++] = (struct hp_header){ .name = at };
        r->in_value = false;
    }
    r->headers[r->n_headers - 1].name_len += n;
    return 0;
}

static int hp_value(http_parser *p, const char *at, size_t n)
{
    struct hp_req *r = p->data;
    struct hp_header *h = &r->headers[r->n_headers - 1];
    if (!r->in_value)
        h->value = at;
    r->in_value = true;
    h->value_len += n;
    return 0;
}

static int hp_done(http_parser *p)
{
    ((struct hp_req *)p->data)->done = true;
    return 0;
}

static const http_parser_settings hp_settings = {
    .on_url = hp_url,
    .on_header_field = hp_field,
    .on_header_value = hp_value,
    .on_headers_complete = hp_done,
};

int http_peer_parse(const char *buf, size_t len, size_t first, volatile size_t *sink)
{
    static struct hp_req r;
    http_parser p;
    size_t n;
    r.url = NULL;
    r.url_len = r.n_headers = 0;
    r.in_value = r.done = false;
    http_parser_init(&p, HTTP_REQUEST);
    p.data = &r;
    if (first) {
        /* a field split across reads arrives in two callbacks */
        n = http_parser_execute(&p, &hp_settings, buf, first);
        n += http_parser_execute(&p, &hp_settings, buf + first, len - first);
    } else {
        n = http_parser_execute(&p, &hp_settings, buf, len);
    }
    if (n != len || !r.done || HTTP_PARSER_ERRNO(&p) != HPE_OK)
        return -1;
    *sink += r.n_headers + r.url_len + http_should_keep_alive(&p) +
            (p.content_length == ULLONG_MAX ? 0 : p.content_length);
    return 0;
}

unsigned long http_peer_version(void)
{
    return http_parser_version();
}
