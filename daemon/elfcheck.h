/*
 * elfcheck.h — is this file a whole shared object for this machine?
 *
 * glibc maps a plugin's PT_LOAD segments straight from the file; a segment
 * that reaches past the end of the file (a half-finished copy) is mapped
 * anyway, and the first touch of a page beyond the end kills the process
 * with SIGBUS inside dlopen. This check reads the ELF header and the
 * program headers (pread, nothing is mapped) and refuses such a file with
 * a reason, before dlopen ever sees it.
 */
#ifndef TICKD_ELFCHECK_H
#define TICKD_ELFCHECK_H

#include <stddef.h>

/* Check the ELF file open at fd (its whole content, from offset 0): ELF
 * magic, class, byte order and machine of this build, ET_DYN, the program
 * header table and every PT_LOAD's p_offset + p_filesz within the file,
 * the section header table within the file. 0 if fine; -1 with a reason
 * in why (e.g. "segment 1 ends at byte 8569 but the file has 8000 bytes
 * (truncated copy?)") otherwise. */
int tickd_elf_check(int fd, char *why, size_t len);

#endif
