/*
 * tick/config.h — declarative configuration: a plugin's keys in a table.
 *
 * A plugin lists its keys in a table (TICK_PLUGIN(.keys = ...), since ABI
 * 3.1); the daemon parses every key of the section into the instance
 * memory, applies the defaults, checks required keys and reports every
 * mistake as FILE:LINE. The plugin writes no parsing code:
 *
 *     #include <tick/tick.h>
 *
 *     struct greeter {
 *         const char *who;          // TICK_KEY_STRING
 *         uint64_t every;           // TICK_KEY_DURATION, ns
 *         int times;                // TICK_KEY_INT
 *         tick_timer t;
 *     };
 *     static const tick_key greeter_keys[] = {
 *         TICK_KEY_STRING(struct greeter, who, "who", 1, 64, "world", 0,
 *                         "who to greet"),
 *         TICK_KEY_DURATION(struct greeter, every, "every", TICK_MSEC, 0, "1s",
 *                           TICK_KEY_LIVE, "time between greetings"),
 *         TICK_KEY_INT(struct greeter, times, "times", 1, 100, "3", 0,
 *                      "greetings per beat"),
 *         TICK_KEY_END
 *     };
 *     static void greeter_fire(tick_handle *hd)
 *     {
 *         struct greeter *g = tick_container_of(hd, struct greeter, t.handle);
 *         for (int i = 0; i < g->times; i++)
 *             tick_log(TICK_LOG_INFO, "hello, %s", g->who);
 *     }
 *     static int greeter_start(tick_instance *in)
 *     {
 *         struct greeter *g = tick_instance_data(in);
 *         tick_timer_init(&g->t, "greeter", greeter_fire);
 *         return tick_call_later(tick_instance_loop(in), &g->t, g->every);
 *     }
 *     TICK_PLUGIN(.name = "greeter", .version = "1.0",
 *                 .instance_size = sizeof(struct greeter),
 *                 .keys = greeter_keys,
 *                 .start = greeter_start);
 *
 * `tickd --describe greeter` prints the table.
 *
 * THE QUOTING RULE (every value of every section, [daemon] included, and
 * what configure() receives):
 *   - A value is the text after the first '=' (or ':'), blanks around it
 *     removed.
 *   - Outside double quotes, " ;" or "\t;" starts a comment that runs to
 *     the end of the line (inih's rule), and every other byte is literal
 *     (a backslash too).
 *   - Inside double quotes every byte is literal (';', '#', blanks, '=')
 *     except \" (a quote) and \\ (a backslash); the quotes themselves are
 *     removed. A quote may start anywhere: a"b c"d reads as ab cd.
 *   - An unterminated quote is an error at FILE:LINE.
 *   - For a TICK_KEY_WORDS key, unquoted runs of blanks split the value
 *     into words (tick_split_words); "" is an empty word.
 *   - A configure() plugin gets the value unquoted (quotes removed, the
 *     escapes resolved, blanks kept), like a string key.
 * Byte 0x01 may not appear in a configuration file (the reader uses it).
 *
 * A line holds at most 198 characters (inih's 200-byte buffer). A longer
 * value is written as a repeatable key (one value a line:
 * TICK_KEY_REPEATABLE) or, for a big blob, as a key naming a file (by
 * convention KEY_file, a TICK_KEY_STRING) that the plugin reads itself.
 *
 * Duplicates: a key given twice in one section is an error unless the
 * table declares it TICK_KEY_REPEATABLE (the values are then kept in file
 * order). A configure() plugin without a table sees each occurrence.
 *
 * Storage (the field the macro names, checked at module load: the module
 * is refused with a message naming the key if the field's size does not
 * match the type, or an integer range does not fit the field):
 *   TICK_KEY_INT       the field's own integer type, 1, 2, 4 or 8 bytes,
 *                      signed or not; value in [min, max]; decimal, or
 *                      0x hexadecimal
 *   TICK_KEY_SIZE      uint64_t bytes: "512", "64k", "1M", "2G", "1T"
 *                      (powers of 1024; an optional trailing B); in
 *                      [min, max] (max 0: no upper bound)
 *   TICK_KEY_BOOL      bool: yes/no, true/false, on/off, 1/0
 *   TICK_KEY_DURATION  uint64_t ns, tick_parse_duration syntax; in
 *                      [min, max] ns (max 0: no upper bound)
 *   TICK_KEY_ENUM      int: the index of the value in choices (a
 *                      NULL-terminated array); exact, case-sensitive
 *   TICK_KEY_STRING    const char *: length in [min, max] (max 0: none)
 *   TICK_KEY_ADDRESSES const char *: a list tick_listen_check() accepts
 *   TICK_KEY_WORDS     tick_words: word count in [min, max] (max 0: none)
 *   and with TICK_KEY_REPEATABLE (string, addresses and words keys only):
 *   string/addresses   tick_strings: every occurrence, in file order
 *   words              tick_words_list: every occurrence, in file order
 * A key that is absent and has no default (def NULL) leaves its field as
 * the daemon allocated it: zero (NULL, 0, false, n = 0). A default is
 * written in the config syntax and parsed like a value (checked at module
 * load). A required key has no default; its absence is an error at the
 * section's header line.
 *
 * Lifetime: strings, word arrays and lists are the daemon's, valid for
 * the instance's whole life (until after release()); a live reconfigure
 * stores new pointers and keeps the old ones valid until the instance
 * ends too. Do not free or write through them. The daemon writes the
 * fields on the loop thread only, between callbacks: a pool job
 * (tick_run_in_thread) must not read a live field while it runs — copy
 * what it needs before submitting it.
 *
 * With a table, configure(in, NULL, NULL) (if the descriptor has one) is
 * called once after the daemon filled every key: the place to check
 * constraints between keys (return tick_instance_error(...) to refuse;
 * reported at the section's header line). configure() is never called with
 * a key then: every key must be in the table.
 *
 * Reload: when the section changed only in keys flagged TICK_KEY_LIVE
 * (same module file, same reuse_port), the running instance is not
 * restarted: the daemon parses the new values (already checked on a
 * fresh incarnation), stores them into the running instance's memory,
 * then calls reconfigure(in, NULL, NULL) if the plugin has one (apply them
 * there; < 0 restarts the instance after all — the new values are in its
 * memory already, and it is retired). Any other change restarts the
 * instance. A plugin with a table never gets reconfigure() per key.
 */
#ifndef TICK_CONFIG_H
#define TICK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum tick_key_type {
    TICK_KEY_T_END = 0,      /* ends a table */
    TICK_KEY_T_STRING,
    TICK_KEY_T_INT,
    TICK_KEY_T_SIZE,
    TICK_KEY_T_BOOL,
    TICK_KEY_T_DURATION,
    TICK_KEY_T_ENUM,
    TICK_KEY_T_ADDRESSES,
    TICK_KEY_T_WORDS,
    TICK_KEY_T_ALIAS,        /* name is another spelling of key `alias` */
};

/* flags */
#define TICK_KEY_REQUIRED   0x1u  /* must be given (no default) */
#define TICK_KEY_REPEATABLE 0x2u  /* may be given more than once */
#define TICK_KEY_LIVE       0x4u  /* may change on reload without a restart */

typedef struct tick_words {
    size_t n;
    const char *const *v;     /* n words, v[n] == NULL */
} tick_words;

typedef struct tick_strings {
    size_t n;
    const char *const *v;     /* n values, v[n] == NULL */
} tick_strings;

typedef struct tick_words_list {
    size_t n;
    const tick_words *v;      /* n values */
} tick_words_list;

typedef struct tick_key {
    const char *name;
    enum tick_key_type type;
    unsigned flags;           /* TICK_KEY_* */
    size_t offset, size;      /* of the field in the instance memory */
    bool is_signed;           /* TICK_KEY_T_INT: the field's signedness */
    const char *def;          /* default, config syntax; NULL: none */
    int64_t min, max;         /* see the storage table above */
    const char *const *choices; /* TICK_KEY_T_ENUM, NULL-terminated */
    const char *help;         /* one line */
    const char *alias;        /* TICK_KEY_T_ALIAS: the key it stands for */
} tick_key;

#define TICK_KEY__(S, F, NAME, TYPE, FLAGS, DEF, MIN, MAX, HELP)            \
    { .name = (NAME), .type = (TYPE), .flags = (FLAGS),                     \
      .offset = offsetof(S, F), .size = sizeof(((S *)0)->F),                \
      .def = (DEF), .min = (MIN), .max = (MAX), .help = (HELP) }

#define TICK_KEY_INT(S, F, NAME, MIN, MAX, DEF, FLAGS, HELP)                \
    { .name = (NAME), .type = TICK_KEY_T_INT, .flags = (FLAGS),             \
      .offset = offsetof(S, F), .size = sizeof(((S *)0)->F),                \
      .is_signed = (__typeof__(((S *)0)->F))-1 < 1,                         \
      .def = (DEF), .min = (MIN), .max = (MAX), .help = (HELP) }
#define TICK_KEY_SIZE(S, F, NAME, MIN, MAX, DEF, FLAGS, HELP)               \
    TICK_KEY__(S, F, NAME, TICK_KEY_T_SIZE, FLAGS, DEF, MIN, MAX, HELP)
#define TICK_KEY_DURATION(S, F, NAME, MIN, MAX, DEF, FLAGS, HELP)           \
    TICK_KEY__(S, F, NAME, TICK_KEY_T_DURATION, FLAGS, DEF, MIN, MAX, HELP)
#define TICK_KEY_BOOL(S, F, NAME, DEF, FLAGS, HELP)                         \
    TICK_KEY__(S, F, NAME, TICK_KEY_T_BOOL, FLAGS, DEF, 0, 0, HELP)
#define TICK_KEY_STRING(S, F, NAME, MINLEN, MAXLEN, DEF, FLAGS, HELP)       \
    TICK_KEY__(S, F, NAME, TICK_KEY_T_STRING, FLAGS, DEF, MINLEN, MAXLEN, HELP)
#define TICK_KEY_ADDRESSES(S, F, NAME, DEF, FLAGS, HELP)                    \
    TICK_KEY__(S, F, NAME, TICK_KEY_T_ADDRESSES, FLAGS, DEF, 0, 0, HELP)
#define TICK_KEY_WORDS(S, F, NAME, MINN, MAXN, DEF, FLAGS, HELP)            \
    TICK_KEY__(S, F, NAME, TICK_KEY_T_WORDS, FLAGS, DEF, MINN, MAXN, HELP)
#define TICK_KEY_ENUM(S, F, NAME, CHOICES, DEF, FLAGS, HELP)                \
    { .name = (NAME), .type = TICK_KEY_T_ENUM, .flags = (FLAGS),            \
      .offset = offsetof(S, F), .size = sizeof(((S *)0)->F),                \
      .def = (DEF), .choices = (CHOICES), .help = (HELP) }
/* NAME is accepted as another spelling of key TARGET (an old name). */
#define TICK_KEY_ALIAS(NAME, TARGET)                                        \
    { .name = (NAME), .type = TICK_KEY_T_ALIAS, .alias = (TARGET) }
#define TICK_KEY_END { .name = NULL }

/* Remove the quotes of s (the quoting rule above) into out (outlen
 * bytes; strlen(s) + 1 always suffice). Returns the length, -EINVAL for
 * an unterminated quote or NULL arguments, -ENOSPC if out is too small. */
TICK_API int tick_unquote(const char *s, char *out, size_t outlen);
/* Split s into words (the quoting rule above: unquoted blanks separate,
 * quotes group and are removed). The words are written NUL-terminated
 * into buf (buflen bytes; strlen(s) + 1 always suffice) and pointed to by
 * words[0..n-1], words[n] = NULL (maxwords counts that NULL). Returns n,
 * -EINVAL for an unterminated quote or NULL arguments, -ENOSPC when buf
 * or words is too small. */
TICK_API int tick_split_words(const char *s, char *buf, size_t buflen,
                              const char **words, size_t maxwords);
/* "512", "64k", "1M" (powers of 1024, optional B) into *bytes. 0 or -EINVAL. */
TICK_API int tick_parse_size(const char *s, uint64_t *bytes);

#ifdef __cplusplus
}
#endif
#endif /* TICK_CONFIG_H */
