/*
 * test_tutorial.c — the README's plugin tutorial, done as a plugin author
 * would: the code block in README.md is docs/tutorial/hello.c, `make
 * install` into a private prefix, the plugin built outside the tree with
 * nothing but the installed headers and pkg-config, then checked and run by
 * the installed tickd.
 */
#include "e2e.h"

static char *block_from_readme(void)
{
    char path[PATH_MAX];
    E2E_FMT(path, sizeof path, "%s/README.md", e2e_src());
    char *readme = e2e_read_file(path);
    const char *open = "<!-- tutorial:hello.c -->\n```c\n";
    char *start = strstr(readme, open);
    ck_assert_msg(start != NULL, "README.md has no tutorial block");
    start += strlen(open);
    char *end = strstr(start, "```\n<!-- /tutorial:hello.c -->");
    ck_assert_msg(end != NULL, "README.md tutorial block is not closed");
    char *code = strndup(start, (size_t)(end - start));
    free(readme);
    return code;
}

START_TEST(readme_block_is_the_tested_file)
{
    char path[PATH_MAX];
    E2E_FMT(path, sizeof path, "%s/docs/tutorial/hello.c", e2e_src());
    char *file = e2e_read_file(path);
    char *block = block_from_readme();
    ck_assert_msg(strcmp(file, block) == 0,
                  "README.md's tutorial differs from docs/tutorial/hello.c");
    free(file);
    free(block);
}
END_TEST

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
            "mkdir -m 0755 '%s' && cp '%s/docs/tutorial/hello.c' '%s/hello.c' && cd '%s' && "
            "PKG_CONFIG_PATH='%s/lib/pkgconfig' sh -c "
            "'cc -Wall -Wextra -Werror -shared -fPIC $(pkg-config --cflags tickd) -o hello.so hello.c' && "
            "chmod 0755 hello.so",
            plugdir, e2e_src(), plugdir, plugdir, prefix);
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
        "every = 100ms\n",
        plugdir);
    const char *check[] = { "-t", "-c", d.conf, NULL };
    ck_assert_int_eq(e2e_run(&d, check, 10000), 0);
    ck_assert(e2e_file_contains(d.out, "configuration OK"));

    e2e_start(&d);
    ck_assert(e2e_wait_log(&d, "plugin:greeter: hello, operator (#2)\n", 5000));
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
    tcase_add_test(tc, readme_block_is_the_tested_file);
    tcase_add_test(tc, plugin_built_outside_the_tree);
    tcase_add_test(tc, tutorial_config_errors_name_the_line);
    suite_add_tcase(s, tc);
    return s;
}

E2E_MAIN(tutorial_suite)
