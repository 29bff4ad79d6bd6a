/*
 * test_tutorial.c — the README's plugin tutorial, done as a plugin author
 * would: the code blocks in README.md are docs/tutorial/hello.c (a timer)
 * and docs/tutorial/lines.c (a line-protocol TCP service), `make
 * install` into a private prefix, the plugin built outside the tree with
 * nothing but the installed headers and pkg-config, then checked and run by
 * the installed tickd.
 */
#include "e2e.h"

static char *block_from_readme(const char *name)
{
    char path[PATH_MAX], open[128], close_[128];
    E2E_FMT(path, sizeof path, "%s/README.md", e2e_src());
    E2E_FMT(open, sizeof open, "<!-- tutorial:%s -->\n```c\n", name);
    E2E_FMT(close_, sizeof close_, "```\n<!-- /tutorial:%s -->", name);
    char *readme = e2e_read_file(path);
    char *start = strstr(readme, open);
    ck_assert_msg(start != NULL, "README.md has no tutorial block %s", name);
    start += strlen(open);
    char *end = strstr(start, close_);
    ck_assert_msg(end != NULL, "README.md tutorial block %s is not closed", name);
    char *code = strndup(start, (size_t)(end - start));
    free(readme);
    return code;
}

START_TEST(readme_blocks_are_the_tested_files)
{
    static const char *const names[] = { "hello.c", "lines.c" };
    for (size_t i = 0; i < 2; i++) {
        char path[PATH_MAX];
        E2E_FMT(path, sizeof path, "%s/docs/tutorial/%s", e2e_src(), names[i]);
        char *file = e2e_read_file(path);
        char *block = block_from_readme(names[i]);
        ck_assert_msg(strcmp(file, block) == 0,
                      "README.md's tutorial differs from docs/tutorial/%s", names[i]);
        free(file);
        free(block);
    }
}
END_TEST

/* Send a line, read until n newlines came back (5 s timeouts). */
static void exchange(int fd, const char *send_, char *got, size_t cap, int lines)
{
    size_t len = strlen(send_), off = 0;
    ck_assert_int_eq(send(fd, send_, len, MSG_NOSIGNAL), (ssize_t)len);
    while (lines > 0 && off + 1 < cap) {
        ssize_t n = recv(fd, got + off, cap - 1 - off, 0);
        ck_assert_msg(n > 0, "recv: %zd", n);
        for (ssize_t i = 0; i < n; i++)
            lines -= got[off + (size_t)i] == '\n';
        off += (size_t)n;
    }
    got[off] = '\0';
}

static void sh(const char *cmd)
{
    int rc = system(cmd);
    ck_assert_msg(rc == 0, "command failed (%d): %s", rc, cmd);
}

START_TEST(plugin_built_outside_the_tree)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char prefix[PATH_MAX], cmd[4 * PATH_MAX], build[PATH_MAX], plugdir[PATH_MAX];
    E2E_FMT(prefix, sizeof prefix, "%s/prefix", d.dir);
    E2E_FMT(plugdir, sizeof plugdir, "%s/plugins", d.dir);
    /* the build directory the daemon under test came from */
    uint16_t port;
    E2E_FMT(build, sizeof build, "%s", e2e_tickd());
    char *slash = strrchr(build, '/');
    ck_assert_ptr_nonnull(slash);
    *slash = '\0';

    E2E_FMT(cmd, sizeof cmd, "make -s -C '%s' BUILD='%s' PREFIX='%s' SYSCONFDIR='%s/etc' install >/dev/null",
            e2e_src(), build, prefix, prefix);
    sh(cmd);
    /* outside the tree: a scratch copy of the source, the installed
     * headers through pkg-config, and nothing else */
    E2E_FMT(cmd, sizeof cmd,
            "mkdir -m 0755 '%s' && cp '%s/docs/tutorial/hello.c' '%s/docs/tutorial/lines.c' '%s/' && "
            "cd '%s' && PKG_CONFIG_PATH='%s/lib/pkgconfig' sh -c "
            "'cc -Wall -Wextra -Werror -shared -fPIC $(pkg-config --cflags tickd) -o hello.so hello.c && "
            "cc -Wall -Wextra -Werror -shared -fPIC $(pkg-config --cflags tickd) -o lines.so lines.c' && "
            "chmod 0755 hello.so lines.so && rm hello.c lines.c",
            plugdir, e2e_src(), e2e_src(), plugdir, plugdir, prefix);
    sh(cmd);
    E2E_FMT(cmd, sizeof cmd, "PKG_CONFIG_PATH='%s/lib/pkgconfig' pkg-config --cflags tickd | grep -q -- '-I%s/include'",
            prefix, prefix);
    sh(cmd);

    char tickd[PATH_MAX];
    E2E_FMT(tickd, sizeof tickd, "%s/bin/tickd", prefix);
    setenv("TICKD", tickd, 1);
    e2e_config(&d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "\n"
        "[plugin:greeter]\n"
        "module = hello\n"
        "who = operator\n"
        "every = 100ms\n"
        "\n"
        "[plugin:shout]\n"
        "module = lines\n"
        "listen = 127.0.0.1:%u\n"
        "prefix = \"heard ; \"\n"
        "idle_timeout = 2s\n",
        plugdir, (unsigned)(port = e2e_free_port()));
    const char *check[] = { "-t", "-c", d.conf, NULL };
    ck_assert_int_eq(e2e_run(&d, check, 10000), 0);
    ck_assert(e2e_file_contains(d.out, "configuration OK"));

    e2e_start(&d);
    ck_assert(e2e_wait_log(&d, "plugin:greeter: hello, operator (#2)\n", 5000));
    ck_assert(e2e_wait_log(&d, "plugin:shout: serving lines on 127.0.0.1:", 5000));

    /* lines: two lines in one send, the quoted prefix (with its ';'), then
     * quit; a second client that stays quiet is closed by idle_timeout */
    char got[512];
    int fd = e2e_connect(port), quiet = e2e_connect(port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_ge(quiet, 0);
    exchange(fd, "one\ntwo\r\n", got, sizeof got, 2);
    ck_assert_str_eq(got, "heard ; one\nheard ; two\r\n");
    exchange(fd, "quit\n", got, sizeof got, 1);
    ck_assert_str_eq(got, "bye\n");
    ck_assert(e2e_wait_closed(fd, 2000));
    close(fd);
    ck_assert(e2e_wait_closed(quiet, 4000));
    close(quiet);
    e2e_stop(&d, 5000);
}
END_TEST

START_TEST(tutorial_config_errors_name_the_line)
{
    e2e_daemon d;
    e2e_daemon_init(&d);
    char plugdir[PATH_MAX], cmd[4 * PATH_MAX];
    E2E_FMT(plugdir, sizeof plugdir, "%s/plugins", d.dir);
    E2E_FMT(cmd, sizeof cmd,
            "mkdir -m 0755 '%s' && cd '%s' && cc -Wall -Wextra -Werror -shared -fPIC "
            "-I'%s/include' -o hello.so '%s/docs/tutorial/hello.c' && chmod 0755 hello.so",
            plugdir, plugdir, e2e_src(), e2e_src());
    sh(cmd);
    e2e_config(&d,
        "[daemon]\n"
        "plugin_dir = %s\n"
        "[plugin:greeter]\n"
        "module = hello\n"
        "every = soon\n",
        plugdir);
    const char *check[] = { "-t", "-c", d.conf, NULL };
    ck_assert_int_eq(e2e_run(&d, check, 10000), 78);
    char want[PATH_MAX + 128];
    E2E_FMT(want, sizeof want, "%s:5: plugin:greeter: bad duration 'soon' for 'every'\n", d.conf);
    char *err = e2e_read_file(d.err);
    ck_assert_str_eq(err, want);
    free(err);
}
END_TEST

static Suite *tutorial_suite(void)
{
    Suite *s = suite_create("tutorial");
    TCase *tc = tcase_create("tutorial");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, readme_blocks_are_the_tested_files);
    tcase_add_test(tc, plugin_built_outside_the_tree);
    tcase_add_test(tc, tutorial_config_errors_name_the_line);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(tutorial_suite)
