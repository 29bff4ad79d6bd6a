/*
 * control.h — the control socket: `tickd reload` and `tickd status` talk
 * to the running daemon over a unix stream socket (control.c serves it
 * from the daemon's loop; ctl.c is the client side).
 *
 * Where: [daemon] control_socket = PATH; by default $RUNTIME_DIRECTORY/
 * control when systemd set RUNTIME_DIRECTORY (RuntimeDirectory=tickd),
 * else TICKD_RUNSTATEDIR/tickd/control (the build's, /run unless built
 * otherwise). "control_socket = no" (or empty) turns it off.
 *
 * Protocol: one command per line, at most TICKD_CONTROL_LINE_MAX bytes
 * with its '\n'; each answer ends with one line starting "ok" or "error":
 *     reload  ->  "ok reloaded: N started, N stopped, N unchanged"
 *                 "error FILE:LINE: message"      (rejected, nothing changed)
 *                 "error reloaded with errors: ..." (in force, a start failed)
 *                 "error not reloaded: tickd is stopping"
 *     status  ->  "plugin:NAME: module=... state=... status='...'" per
 *                 instance, then "ok"
 * A reload is answered once it has finished: the daemon reloads exactly
 * as on SIGHUP, and a request made while a reload runs is answered by the
 * reload after it (the one that reads the file again for it).
 */
#ifndef TICKD_CONTROL_H
#define TICKD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct tickd;

#ifndef TICKD_RUNSTATEDIR
#define TICKD_RUNSTATEDIR "/run"
#endif
#define TICKD_CONTROL_DEFAULT TICKD_RUNSTATEDIR "/tickd/control"
#define TICKD_CONTROL_LINE_MAX 256
#define TICKD_CONTROL_MAX_CONNS 16
/* Reply prefix of a reload whose new configuration is in force although
 * an instance failed to start (reload.c's summary). */
#define TICKD_RELOADED_WITH_ERRORS "reloaded with errors"

/* The socket path for a configured value (NULL = unset): the value, or
 * the default above. "" (turned off) stays "". *from_env tells whether
 * the default came from $RUNTIME_DIRECTORY. false if it does not fit. */
bool tickd_control_path(const char *configured, char *buf, size_t len,
                        bool *from_env);

/* ctlproto.c, the protocol's parsing without I/O (fuzzed by
 * tests/fuzz/fuzz_control.c). tickd_control_next_line: is there a whole
 * request line in in[0..inlen) (a buffer of cap bytes)? 1 and its length
 * ('\n' excluded) in *len; 0 when more must be read; -1 when the buffer is
 * full without a '\n' (the command is too long). */
int tickd_control_next_line(const char *in, size_t inlen, size_t cap,
                            size_t *len);
enum tickd_control_cmd { TICKD_CMD_UNKNOWN, TICKD_CMD_STATUS, TICKD_CMD_RELOAD };
/* The command of request line line[0..len) (len < TICKD_CONTROL_LINE_MAX,
 * '\n' excluded, one trailing '\r' ignored); cmd gets it as a string
 * (for the "unknown command" reply). */
enum tickd_control_cmd tickd_control_command(const char *line, size_t len,
                                             char cmd[TICKD_CONTROL_LINE_MAX]);
/* The client's reading of one reply line (a string, '\n' removed): -1 for
 * a status line (print it, read on); else the final line's exit status
 * (0, 1, EX_UNAVAILABLE, EX_CONFIG; see ctl.c) with *text the part to
 * print: after "ok " (NULL for a bare "ok"), or the error message. */
int tickd_ctl_reply_line(const char *line, bool reload, const char **text);

/* control.c: create the socket (mode 0600, a stale one replaced) and
 * serve it from d->loop. 0, or -1 with err set when the socket was asked
 * for (control_socket = PATH, or $RUNTIME_DIRECTORY) and cannot be made;
 * the built-in default failing is only logged. Before any thread exists
 * (it sets the umask for the bind). */
int tickd_control_start(struct tickd *d, struct tickd_error *err);
/* control.c: the daemon is stopping: answer the reloads still waiting,
 * stop accepting, remove the socket file. */
void tickd_control_shutdown(struct tickd *d);
/* control.c: end every connection (before the loop closes); idempotent. */
void tickd_control_close(struct tickd *d);
/* control.c: the path served, or NULL */
const char *tickd_control_served(void);

/* ctl.c: `tickd reload|status ...`: argv[0] is the command. Returns the
 * exit status. */
int tickd_ctl_main(int argc, char **argv, const char *default_config);

#endif
