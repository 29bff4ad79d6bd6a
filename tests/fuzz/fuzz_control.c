/*
 * fuzz_control.c — the control socket protocol's parsing (daemon/ctlproto.c).
 *
 * The first byte picks the side. Daemon side: the rest is a byte stream a
 * client sends, fed into a TICKD_CONTROL_LINE_MAX buffer in chunks (sizes
 * from the stream) and framed exactly as control.c's conn_step does.
 * Client side: the rest is a daemon's answer, split into lines as ctl.c
 * does, each classified by tickd_ctl_reply_line until a final one.
 */
#include <sysexits.h>

#include "control.h"
#include "fuzz.h"

static void daemon_side(const uint8_t *data, size_t size)
{
    char *in = malloc(TICKD_CONTROL_LINE_MAX);   /* ASan bounds */
    size_t inlen = 0, pos = 0;

    if (!in)
        abort();
    for (;;) {
        size_t len = (size_t)-1;
        int got = tickd_control_next_line(in, inlen, TICKD_CONTROL_LINE_MAX, &len);
        if (got < 0) {
            FUZZ_CHECK(inlen == TICKD_CONTROL_LINE_MAX);
            FUZZ_CHECK(!memchr(in, '\n', inlen));
            break;   /* "command too long": the daemon hangs up */
        }
        if (got == 0) {
            /* a read of 1..(room) bytes: the chunk size is the next byte */
            size_t room = TICKD_CONTROL_LINE_MAX - inlen, n;
            FUZZ_CHECK(!memchr(in, '\n', inlen) && room > 0);
            if (pos >= size)
                break;   /* end of file */
            n = (size_t)data[pos++] % room + 1;
            if (n > size - pos)
                n = size - pos;
            if (n == 0)
                break;
            memcpy(in + inlen, data + pos, n);
            pos += n;
            inlen += n;
            continue;
        }
        FUZZ_CHECK(len < inlen && in[len] == '\n');
        FUZZ_CHECK(!memchr(in, '\n', len));
        {
            char cmd[TICKD_CONTROL_LINE_MAX];
            enum tickd_control_cmd c = tickd_control_command(in, len, cmd);
            FUZZ_CHECK(strlen(cmd) <= len);
            if (c == TICKD_CMD_STATUS)
                FUZZ_CHECK(strcmp(cmd, "status") == 0);
            else if (c == TICKD_CMD_RELOAD)
                FUZZ_CHECK(strcmp(cmd, "reload") == 0);
            else
                FUZZ_CHECK(c == TICKD_CMD_UNKNOWN);
        }
        memmove(in, in + len + 1, inlen - len - 1);
        inlen -= len + 1;
    }
    free(in);
}

static void client_side(const uint8_t *data, size_t size, bool reload)
{
    char *buf = fuzz_cstr(data, size), *p = buf, *nl;

    while ((nl = memchr(p, '\n', size - (size_t)(p - buf)))) {
        const char *text = (const char *)1;
        int st;
        *nl = '\0';
        st = tickd_ctl_reply_line(p, reload, &text);
        FUZZ_CHECK(st == -1 || st == 0 || st == 1 || st == EX_UNAVAILABLE ||
                   st == EX_CONFIG);
        if (st == -1)
            FUZZ_CHECK(text == NULL);
        else if (st == 0)
            FUZZ_CHECK(!text || (text > p && text <= nl));
        else
            FUZZ_CHECK(text == p + 6 && text <= nl);
        if (st >= 0)
            break;
        p = nl + 1;
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    switch (data[0] % 3) {
    case 0: daemon_side(data + 1, size - 1); break;
    case 1: client_side(data + 1, size - 1, true); break;
    case 2: client_side(data + 1, size - 1, false); break;
    }
    return 0;
}
