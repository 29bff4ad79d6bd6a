/* Fixture: what the http plugin's /metrics will do, through the public
 * API only. It registers a counter, a gauge and a histogram of its own
 * and, when `path` is set, renders the whole /metrics text one slice of
 * `slice` bytes per timer tick (every `every`), writing each complete
 * scrape to `path` (atomically: a temp file renamed). `value` sets the
 * gauge, so a reload with another value makes a new incarnation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tick/tick.h>

struct dump {
    char path[512];
    double value;
    uint64_t every;
    size_t slice;
    tick_timer t;
    tick_metrics_cursor *cur;
    char *text;
    size_t len, cap;
    tick_metric *renders, *gauge, *sizes;
};

static int dump_configure(tick_instance *in, const char *key, const char *value)
{
    struct dump *d = tick_instance_data(in);
    if (!key) {
        if (!d->every)
            d->every = TICK_MSEC;
        if (!d->slice)
            d->slice = 300;
        return 0;
    }
    if (strcmp(key, "path") == 0) {
        snprintf(d->path, sizeof d->path, "%s", value);
        return 0;
    }
    if (strcmp(key, "value") == 0) {
        d->value = atof(value);
        return 0;
    }
    if (strcmp(key, "every") == 0)
        return tick_parse_duration(value, &d->every) < 0 ?
               tick_instance_error(in, "bad duration '%s'", value) : 0;
    if (strcmp(key, "slice") == 0) {
        d->slice = (size_t)atol(value);
        return d->slice ? 0 : tick_instance_error(in, "bad slice '%s'", value);
    }
    return tick_instance_error(in, "unknown key '%s'", key);
}

static void write_out(struct dump *d)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", d->path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        tick_log(TICK_LOG_ERR, "cannot write %s", tmp);
        return;
    }
    fwrite(d->text, 1, d->len, f);
    if (fclose(f) == 0)
        rename(tmp, d->path);
}

static void dump_fire(tick_handle *h)
{
    struct dump *d = tick_container_of(h, struct dump, t.handle);
    if (!d->cur) {
        if (tick_metrics_render_begin(&d->cur) < 0)
            goto again;
        d->len = 0;
    }
    if (d->len + d->slice > d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8192;
        while (cap < d->len + d->slice)
            cap *= 2;
        char *p = realloc(d->text, cap);
        if (!p)
            goto again;
        d->text = p;
        d->cap = cap;
    }
    ssize_t n = tick_metrics_render(d->cur, d->text + d->len, d->slice);
    if (n > 0) {
        d->len += (size_t)n;
        tick_histogram_observe(d->sizes, (double)n);
    } else {
        tick_metrics_render_end(d->cur);
        d->cur = NULL;
        if (n == 0) {
            write_out(d);
            tick_counter_inc(d->renders);
        }
    }
again:
    tick_call_later(tick_loop_current(), &d->t, d->every);
}

static int dump_start(tick_instance *in)
{
    struct dump *d = tick_instance_data(in);
    static const char *const kind[] = { "kind", NULL };
    static const double buckets[] = { 64, 128, 256, 512 };
    tick_metric_family *f;
    int rc;

    if ((rc = tick_metric_family_new(&(tick_metric_desc){ .name = "dump_renders",
             .help = "Complete scrapes written.", .type = TICK_METRIC_COUNTER }, &f)) < 0)
        return tick_instance_error(in, "dump_renders: %d", rc);
    d->renders = tick_metric_of(f);
    if ((rc = tick_metric_family_new(&(tick_metric_desc){ .name = "dump_value",
             .help = "The configured value.", .type = TICK_METRIC_GAUGE,
             .labels = kind }, &f)) < 0 ||
        (rc = tick_metric_get(f, (const char *[]){ "configured" }, &d->gauge)) < 0)
        return tick_instance_error(in, "dump_value: %d", rc);
    tick_gauge_set(d->gauge, d->value);
    if ((rc = tick_metric_family_new(&(tick_metric_desc){ .name = "dump_slice_bytes",
             .help = "Bytes per rendered slice.", .type = TICK_METRIC_HISTOGRAM,
             .buckets = buckets, .nbuckets = 4 }, &f)) < 0)
        return tick_instance_error(in, "dump_slice_bytes: %d", rc);
    d->sizes = tick_metric_of(f);
    /* refused: the daemon's prefix */
    if (tick_metric_family_new(&(tick_metric_desc){ .name = "tickd_fake",
            .type = TICK_METRIC_GAUGE }, &f) != -EINVAL)
        return tick_instance_error(in, "tickd_fake was not refused");
    if (!d->path[0])
        return 0;
    tick_timer_init(&d->t, "dump", dump_fire);
    return tick_call_later(tick_instance_loop(in), &d->t, d->every);
}

static void dump_release(tick_instance *in)
{
    struct dump *d = tick_instance_data(in);
    tick_metrics_render_end(d->cur);
    d->cur = NULL;
    free(d->text);
    d->text = NULL;
}

TICK_PLUGIN(.name = "metricsdump", .version = "1.0",
            .instance_size = sizeof(struct dump),
            .configure = dump_configure,
            .start = dump_start, .release = dump_release);
