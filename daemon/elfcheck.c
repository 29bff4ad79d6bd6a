/*
 * elfcheck.c — refuse truncated or foreign shared objects (elfcheck.h).
 */
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "elfcheck.h"

#if defined(__x86_64__)
#define NATIVE_MACHINE EM_X86_64
#elif defined(__i386__)
#define NATIVE_MACHINE EM_386
#elif defined(__aarch64__)
#define NATIVE_MACHINE EM_AARCH64
#elif defined(__arm__)
#define NATIVE_MACHINE EM_ARM
#elif defined(__riscv)
#define NATIVE_MACHINE EM_RISCV
#elif defined(__powerpc64__)
#define NATIVE_MACHINE EM_PPC64
#elif defined(__s390x__)
#define NATIVE_MACHINE EM_S390
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_DATA ELFDATA2LSB
#else
#define NATIVE_DATA ELFDATA2MSB
#endif

static int fail(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return -1;
}

static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* off + size within a file of fsize bytes, without overflow */
static bool within(uint64_t off, uint64_t size, uint64_t fsize)
{
    return off <= fsize && size <= fsize - off;
}

int tickd_elf_check(int fd, char *why, size_t len)
{
    ElfW(Ehdr) eh;
    ElfW(Phdr) *ph;
    struct stat st;
    uint64_t fsize;

    if (fstat(fd, &st) < 0)
        return fail(why, len, "cannot stat: %s", strerror(errno));
    fsize = (uint64_t)st.st_size;
    /* dlopen's own words for the first two */
    if (fsize < sizeof eh || read_at(fd, &eh, sizeof eh, 0) < 0) {
        if (fsize >= SELFMAG && read_at(fd, &eh, SELFMAG, 0) == 0 &&
            memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
            return fail(why, len, "invalid ELF header");
        return fail(why, len, "file too short");
    }
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
        return fail(why, len, "invalid ELF header");
    if (eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32))
        return fail(why, len, "wrong ELF class: ELFCLASS%s (tickd is %d-bit)",
                    eh.e_ident[EI_CLASS] == ELFCLASS32 ? "32" :
                    eh.e_ident[EI_CLASS] == ELFCLASS64 ? "64" : "NONE",
                    (int)sizeof(void *) * 8);
    if (eh.e_ident[EI_DATA] != NATIVE_DATA)
        return fail(why, len, "wrong byte order for this machine");
#ifdef NATIVE_MACHINE
    if (eh.e_machine != NATIVE_MACHINE)
        return fail(why, len, "built for another machine (ELF e_machine %u, "
                    "this one is %u)", (unsigned)eh.e_machine,
                    (unsigned)NATIVE_MACHINE);
#endif
    if (eh.e_type != ET_DYN)
        return fail(why, len, "not a shared object (ELF type %u, want ET_DYN)",
                    (unsigned)eh.e_type);
    if (eh.e_phnum == 0 || eh.e_phentsize != sizeof *ph)
        return fail(why, len, "bad program header table (%u entries of %u bytes)",
                    (unsigned)eh.e_phnum, (unsigned)eh.e_phentsize);
    if (!within(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof *ph, fsize))
        return fail(why, len, "the program headers end at byte %llu but the file "
                    "has %llu bytes (truncated copy?)",
                    (unsigned long long)(eh.e_phoff + (uint64_t)eh.e_phnum * sizeof *ph),
                    (unsigned long long)fsize);
    ph = tick__malloc((size_t)eh.e_phnum * sizeof *ph);
    if (!ph)
        return fail(why, len, "out of memory");
    if (read_at(fd, ph, (size_t)eh.e_phnum * sizeof *ph, eh.e_phoff) < 0) {
        free(ph);
        return fail(why, len, "cannot read the program headers");
    }
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD)
            continue;
        if (!within(ph[i].p_offset, ph[i].p_filesz, fsize)) {
            unsigned long long end = (unsigned long long)ph[i].p_offset +
                                     (unsigned long long)ph[i].p_filesz;
            free(ph);
            return fail(why, len, "segment %u ends at byte %llu but the file has "
                        "%llu bytes (truncated copy?)", i, end,
                        (unsigned long long)fsize);
        }
    }
    free(ph);
    /* after the segments: "segment N" says more than a lost table */
    if (eh.e_shoff != 0) {
        /* e_shnum 0 with a table: the count is in section 0 (extended
         * numbering); at least that entry must be there */
        uint64_t n = eh.e_shnum ? eh.e_shnum : 1;
        if (eh.e_shentsize != sizeof(ElfW(Shdr)))
            return fail(why, len, "bad section header size %u",
                        (unsigned)eh.e_shentsize);
        if (!within(eh.e_shoff, n * sizeof(ElfW(Shdr)), fsize))
            return fail(why, len, "the section headers end at byte %llu but the "
                        "file has %llu bytes (truncated copy?)",
                        (unsigned long long)(eh.e_shoff + n * sizeof(ElfW(Shdr))),
                        (unsigned long long)fsize);
    }
    return 0;
}
