/*
 * fuzz_elf.c — tickd_elf_check (daemon/elfcheck.c) on any file content, in
 * a memfd: 0, or -1 with a reason; never a crash or an out-of-bounds read.
 */
#include "elfcheck.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = fuzz_memfd(data, size);
    char why[256];
    int rc;

    why[0] = '\0';
    rc = tickd_elf_check(fd, why, sizeof why);
    FUZZ_CHECK(rc == 0 || rc == -1);
    if (rc < 0)
        FUZZ_CHECK(why[0] != '\0' && memchr(why, '\0', sizeof why));
    close(fd);
    return 0;
}
