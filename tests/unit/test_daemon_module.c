/* test_daemon_module.c — the loader's checks of plugin files that need no
 * daemon: the ELF check of a (truncated) shared object (elfcheck.c) and
 * the StrictModes owner messages (module.c), including the one for an
 * owner outside the service's user namespace (PrivateUsers=yes). */
#include <elf.h>
#include <stddef.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "config.h"
#include "elfcheck.h"
#include "module.h"

#ifndef TICK_TEST_PLUGIN_DIR
#define TICK_TEST_PLUGIN_DIR "build/plugins"
#endif

static char tmp[64];

static void setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/tickd-mod-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void rm(const char *name)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", tmp, name);
    unlink(p);
}

static void teardown(void)
{
    rm("echo.so");
    rm("uid");
    rm("hb.so");
    rmdir(tmp);
    tickd_module_set_overflowuid_path(NULL);
}

/* tmp/echo.so: the first n bytes of echo.so (n < 0: all of it), open */
static int echo_copy(off_t n)
{
    char path[128];
    int in, out;
    ssize_t r;
    char buf[65536];

    in = open(TICK_TEST_PLUGIN_DIR "/echo.so", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(in, 0);
    snprintf(path, sizeof path, "%s/echo.so", tmp);
    out = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    ck_assert_int_ge(out, 0);
    while ((r = read(in, buf, sizeof buf)) > 0)
        ck_assert_int_eq(write(out, buf, (size_t)r), r);
    close(in);
    if (n >= 0)
        ck_assert_int_eq(ftruncate(out, n), 0);
    return out;
}

START_TEST(whole_shared_object_passes)
{
    char why[300] = "";
    int fd = echo_copy(-1);
    ck_assert_msg(tickd_elf_check(fd, why, sizeof why) == 0, "%s", why);
    close(fd);
}
END_TEST

/* The first PT_LOAD that reaches past the end is named, with its end. */
START_TEST(truncated_inside_a_segment)
{
    char why[300], want[300];
    int fd = echo_copy(-1);
    ElfW(Ehdr) eh;
    ElfW(Phdr) ph;
    unsigned first = ~0u;
    unsigned long long end = 0;

    ck_assert_int_eq(pread(fd, &eh, sizeof eh, 0), (ssize_t)sizeof eh);
    for (unsigned i = 0; i < eh.e_phnum && first == ~0u; i++) {
        ck_assert_int_eq(pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)),
                         (ssize_t)sizeof ph);
        if (ph.p_type == PT_LOAD && ph.p_offset + ph.p_filesz > 8000) {
            first = i;
            end = (unsigned long long)(ph.p_offset + ph.p_filesz);
        }
    }
    ck_assert_uint_ne(first, ~0u);
    ck_assert_int_eq(ftruncate(fd, 8000), 0);
    ck_assert_int_eq(tickd_elf_check(fd, why, sizeof why), -1);
    snprintf(want, sizeof want, "segment %u ends at byte %llu but the file has "
             "8000 bytes (truncated copy?)", first, end);
    ck_assert_str_eq(why, want);
    close(fd);
}
END_TEST

/* Only the section header table is cut off (the segments are whole). */
START_TEST(truncated_section_headers)
{
    char why[300];
    struct stat st;
    int fd = echo_copy(-1);
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_int_eq(ftruncate(fd, st.st_size - 1), 0);
    ck_assert_int_eq(tickd_elf_check(fd, why, sizeof why), -1);
    ck_assert_msg(strstr(why, "the section headers end at byte ") &&
                  strstr(why, "(truncated copy?)"), "%s", why);
    close(fd);
}
END_TEST

static void patch(int fd, off_t off, const void *p, size_t n)
{
    ck_assert_int_eq(pwrite(fd, p, n, off), (ssize_t)n);
}

START_TEST(foreign_or_broken_headers)
{
    char why[300];
    int fd = echo_copy(-1);
    unsigned char c;
    uint16_t v;

    c = sizeof(void *) == 8 ? ELFCLASS32 : ELFCLASS64;   /* the other one */
    patch(fd, EI_CLASS, &c, 1);
    ck_assert_int_eq(tickd_elf_check(fd, why, sizeof why), -1);
    ck_assert_msg(strstr(why, "wrong ELF class"), "%s", why);
    close(fd);

    fd = echo_copy(-1);
    v = ET_EXEC;
    patch(fd, offsetof(ElfW(Ehdr), e_type), &v, sizeof v);
    ck_assert_int_eq(tickd_elf_check(fd, why, sizeof why), -1);
    ck_assert_str_eq(why, "not a shared object (ELF type 2, want ET_DYN)");
    close(fd);

    fd = echo_copy(-1);
    v = 0x7777;
    patch(fd, offsetof(ElfW(Ehdr), e_machine), &v, sizeof v);
    ck_assert_int_eq(tickd_elf_check(fd, why, sizeof why), -1);
    ck_assert_msg(strstr(why, "built for another machine"), "%s", why);
    close(fd);

    fd = echo_copy(-1);
    patch(fd, 0, "JUNK", 4);
    ck_assert_int_eq(tickd_elf_check(fd, why, sizeof why), -1);
    ck_assert_str_eq(why, "invalid ELF header");
    close(fd);

    fd = echo_copy(20);
    ck_assert_int_eq(tickd_elf_check(fd, why, sizeof why), -1);
    ck_assert_str_eq(why, "file too short");
    close(fd);
}
END_TEST

/* tmp/uid holding "N\n", the overflow uid source for the test */
static void fake_overflowuid(unsigned uid)
{
    char path[128];
    FILE *f;
    snprintf(path, sizeof path, "%s/uid", tmp);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%u\n", uid);
    ck_assert_int_eq(fclose(f), 0);
    tickd_module_set_overflowuid_path(path);
}

/* PrivateUsers=yes: a file owned by anyone but root and the service user
 * shows the overflow uid; the message says what that means and what to
 * do, instead of "owned by uid 65534". */
START_TEST(owner_outside_the_user_namespace)
{
    struct stat st = { .st_uid = 4243, .st_mode = S_IFREG | 0755 };
    char why[300], want[300];
    const char *r;

    fake_overflowuid(4243);
    r = tickd_module_check_owner_mode(&st, why, sizeof why);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r, "owned by a user outside this service's user namespace "
                     "(uid 4243 = overflowuid; PrivateUsers=yes maps only root "
                     "and the service user): chown it to root or to the "
                     "service user");

    /* another uid keeps the plain message */
    st.st_uid = 4242;
    r = tickd_module_check_owner_mode(&st, why, sizeof why);
    snprintf(want, sizeof want, "owned by uid 4242, not by root or uid %u (the "
             "user tickd runs as)", (unsigned)geteuid());
    ck_assert_str_eq(r, want);

    /* and so does any uid when the source cannot be read */
    tickd_module_set_overflowuid_path("/nonexistent/overflowuid");
    st.st_uid = 4243;
    r = tickd_module_check_owner_mode(&st, why, sizeof why);
    ck_assert_msg(strncmp(r, "owned by uid 4243, not by root", 30) == 0, "%s", r);

    st.st_uid = 0;
    ck_assert_ptr_null(tickd_module_check_owner_mode(&st, why, sizeof why));
}
END_TEST

/* The whole loader: a module chowned to the (fake) overflow uid is
 * refused with that message. Needs root to give the file away. */
START_TEST(module_owned_by_overflowuid_refused)
{
    struct tickd_error err = { 0 };
    struct tickd_module *m = NULL;
    char path[128], want[512];
    int fd;

    if (geteuid() != 0) {
        fprintf(stderr, "module_owned_by_overflowuid_refused: needs root, skipped\n");
        return;
    }
    fd = echo_copy(-1);
    close(fd);
    snprintf(path, sizeof path, "%s/echo.so", tmp);
    ck_assert_int_eq(chmod(tmp, 0755), 0);
    ck_assert_int_eq(chown(path, 4243, 4243), 0);
    fake_overflowuid(4243);
    ck_assert_int_lt(tickd_module_get("echo", path, "x", "conf.ini", 5, &m, &err), 0);
    snprintf(want, sizeof want, "plugin:x: refusing module %s: file is owned by a "
             "user outside this service's user namespace (uid 4243 = overflowuid; "
             "PrivateUsers=yes maps only root and the service user): chown it to "
             "root or to the service user", path);
    ck_assert_msg(strstr(err.msg, want), "%s", err.msg);
    ck_assert_uint_eq(tickd_module_count(), 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("daemon module files");
    TCase *tc = tcase_create("elf");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, whole_shared_object_passes);
    tcase_add_test(tc, truncated_inside_a_segment);
    tcase_add_test(tc, truncated_section_headers);
    tcase_add_test(tc, foreign_or_broken_headers);
    suite_add_tcase(s, tc);
    tc = tcase_create("owner");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, owner_outside_the_user_namespace);
    tcase_add_test(tc, module_owned_by_overflowuid_refused);
    suite_add_tcase(s, tc);
    return s;
}

TICK_TEST_MAIN(make_suite)
