/*
 * ctlproto.c — the control socket protocol's byte-level parsing, with no
 * I/O and no loop (control.h): framing and classifying a request line
 * (control.c, the daemon's side) and classifying a reply line (ctl.c, the
 * client's side). Kept apart so tests/fuzz/fuzz_control.c can drive it
 * alone.
 */
#include <string.h>
#include <sysexits.h>

#include "control.h"

int tickd_control_next_line(const char *in, size_t inlen, size_t cap,
                            size_t *len)
{
    const char *nl = memchr(in, '\n', inlen);

    if (nl) {
        *len = (size_t)(nl - in);
        return 1;
    }
    return inlen == cap ? -1 : 0;
}

enum tickd_control_cmd tickd_control_command(const char *line, size_t len,
                                             char cmd[TICKD_CONTROL_LINE_MAX])
{
    memcpy(cmd, line, len);
    cmd[len] = '\0';
    if (len && cmd[len - 1] == '\r')
        cmd[--len] = '\0';
    if (strcmp(cmd, "status") == 0)
        return TICKD_CMD_STATUS;
    if (strcmp(cmd, "reload") == 0)
        return TICKD_CMD_RELOAD;
    return TICKD_CMD_UNKNOWN;
}

int tickd_ctl_reply_line(const char *line, bool reload, const char **text)
{
    *text = NULL;
    if (strcmp(line, "ok") == 0 || strncmp(line, "ok ", 3) == 0) {
        if (line[2])
            *text = line + 3;
        return 0;
    }
    if (strncmp(line, "error ", 6) == 0) {
        const char *msg = line + 6;
        *text = msg;
        if (strncmp(msg, TICKD_RELOADED_WITH_ERRORS,
                    strlen(TICKD_RELOADED_WITH_ERRORS)) == 0)
            return 1;               /* in force, a start failed */
        if (strncmp(msg, "not reloaded: ", 14) == 0 || !reload)
            return EX_UNAVAILABLE;  /* stopping; or status refused */
        return EX_CONFIG;           /* rejected: FILE:LINE: message */
    }
    return -1;                      /* a status line */
}
