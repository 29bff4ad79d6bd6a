/*
 * fuzz_config.c — tickd_config_load (daemon/config.c) on any main file,
 * handed over as /proc/self/fd/N of a memfd: 0 and a config, or an error
 * with a message; never a crash or a leak. Loading only parses: no module
 * is opened (module_path is only computed).
 *
 * A fuzzed include_dir makes it read the *.ini files of a real directory
 * (relative ones resolve against /proc/self/fd, which holds none): that
 * is bounded (a line is at most 4096 bytes, files are regular only).
 * Every value kept obeys the quoting rule (tick/config.h): unquoting its
 * raw text gives the value, and no 0x01 (the reader's stand-in for a
 * quoted ';') is left in it.
 */
#include <errno.h>

#include "config.h"
#include "tick/config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = fuzz_memfd(data, size);
    struct tickd_config *cfg = (struct tickd_config *)1;
    struct tickd_error err = { 0 };
    char path[64];
    int rc;

    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    rc = tickd_config_load(path, &cfg, &err);
    if (rc == 0) {
        FUZZ_CHECK(cfg != NULL);
        FUZZ_CHECK(cfg->d.plugin_dir != NULL);
        for (size_t i = 0; i < cfg->nsec; i++) {
            const struct tickd_section *s = &cfg->sec[i];
            FUZZ_CHECK(s->name && s->module && s->module_path && s->file);
            FUZZ_CHECK(tickd_config_find(cfg, s->name) == s);
            for (size_t k = 0; k < s->nkv; k++) {
                FUZZ_CHECK(s->kv[k].key && s->kv[k].value && s->kv[k].raw);
                /* the quoting rule: value is raw unquoted, no 0x01 left */
                size_t n = strlen(s->kv[k].raw);
                char *u = malloc(n + 1);
                FUZZ_CHECK(u && tick_unquote(s->kv[k].raw, u, n + 1) >= 0);
                FUZZ_CHECK(strcmp(u, s->kv[k].value) == 0);
                FUZZ_CHECK(!strchr(s->kv[k].raw, '\x01'));
                free(u);
            }
        }
        tickd_config_free(cfg);
    } else {
        FUZZ_CHECK(rc == -EINVAL || rc == -ENOENT || rc == -ENOMEM ||
                   rc == -EIO || rc < 0);
        FUZZ_CHECK(cfg == NULL);
        FUZZ_CHECK(err.set && err.msg[0] != '\0');
        FUZZ_CHECK(memchr(err.msg, '\0', sizeof err.msg) != NULL);
    }
    close(fd);
    return 0;
}
