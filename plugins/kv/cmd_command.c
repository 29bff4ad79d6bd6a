/*
 * cmd_command.c — COMMAND, COMMAND COUNT, COMMAND INFO and COMMAND DOCS,
 * all from the command table (cmd_table.c), in redis 7.0's reply shapes
 * (RESP2: a map is an array of keys and values). No allocation: the
 * replies are written while walking the static rows.
 */
#include <stdio.h>
#include <strings.h>

#include "cmd.h"

/* ---- COMMAND, COMMAND INFO ---- */

static void command_info(kv_out *o, const struct kv_command *cmd)
{
    rp_array(o, 10);
    rp_cstr(o, cmd->name);
    rp_int(o, cmd->arity);
    int nf = !!(cmd->flags & F_WRITE) + !(cmd->flags & F_WRITE) + !!(cmd->flags & F_DENYOOM) +
             !!(cmd->flags & F_FAST) + !!(cmd->flags & F_LOADING) + !!(cmd->flags & F_NOAUTH);
    rp_array(o, nf);
    rp_status(o, cmd->flags & F_WRITE ? "write" : "readonly");
    if (cmd->flags & F_DENYOOM) rp_status(o, "denyoom");
    if (cmd->flags & F_FAST) rp_status(o, "fast");
    if (cmd->flags & F_LOADING) rp_status(o, "loading");
    if (cmd->flags & F_NOAUTH) rp_status(o, "no_auth");
    rp_int(o, cmd->first);
    rp_int(o, cmd->last);
    rp_int(o, cmd->step);
    for (int i = 0; i < 4; i++)
        rp_array(o, 0);              /* acl categories, tips, key specs, subcommands */
}

/* ---- COMMAND DOCS ---- */

static void reply_args(kv_out *o, const struct kv_arg *args)
{
    long long n = 0;
    while (args[n].name)
        n++;
    rp_array(o, n);
    for (const struct kv_arg *a = args; a->name; a++) {
        bool key = strcmp(a->type, "key") == 0;
        int nflags = !!(a->flags & ARG_OPTIONAL) + !!(a->flags & ARG_MULTIPLE) +
                     !!(a->flags & ARG_MULTIPLE_TOKEN);
        /* redis's order: name, type, key_spec_index, token, since, flags, arguments */
        rp_array(o, 2 * (2 + key + !!a->token + !!a->since + !!nflags + !!a->args));
        rp_cstr(o, "name");
        rp_cstr(o, a->name);
        rp_cstr(o, "type");
        rp_cstr(o, a->type);
        if (key) {
            rp_cstr(o, "key_spec_index");
            rp_int(o, a->key_spec);
        }
        if (a->token) {
            rp_cstr(o, "token");
            rp_cstr(o, a->token);
        }
        if (a->since) {
            rp_cstr(o, "since");
            rp_cstr(o, a->since);
        }
        if (nflags) {
            rp_cstr(o, "flags");
            rp_array(o, nflags);
            if (a->flags & ARG_OPTIONAL) rp_status(o, "optional");
            if (a->flags & ARG_MULTIPLE) rp_status(o, "multiple");
            if (a->flags & ARG_MULTIPLE_TOKEN) rp_status(o, "multiple_token");
        }
        if (a->args) {
            rp_cstr(o, "arguments");
            reply_args(o, a->args);
        }
    }
}

static void reply_doc(kv_out *o, const struct kv_doc *d)
{
    long long nsubs = 0, nhist = 0;
    while (d->subs && d->subs[nsubs].name)
        nsubs++;
    while (d->history && d->history[2 * nhist])
        nhist++;
    /* redis's order: summary, since, group, complexity, doc_flags,
     * deprecated_since, replaced_by, history, arguments, subcommands */
    rp_array(o, 2 * (4 + 2 * !!d->deprecated_since + !!d->replaced_by + !!d->history +
                     !!d->args + !!d->subs));
    rp_cstr(o, "summary");
    rp_cstr(o, d->summary);
    rp_cstr(o, "since");
    rp_cstr(o, d->since);
    rp_cstr(o, "group");
    rp_cstr(o, d->group);
    rp_cstr(o, "complexity");
    rp_cstr(o, d->complexity);
    if (d->deprecated_since) {
        rp_cstr(o, "doc_flags");
        rp_array(o, 1);
        rp_status(o, "deprecated");
        rp_cstr(o, "deprecated_since");
        rp_cstr(o, d->deprecated_since);
    }
    if (d->replaced_by) {
        rp_cstr(o, "replaced_by");
        rp_cstr(o, d->replaced_by);
    }
    if (d->history) {
        rp_cstr(o, "history");
        rp_array(o, nhist);
        for (long long i = 0; i < nhist; i++) {
            rp_array(o, 2);
            rp_cstr(o, d->history[2 * i]);
            rp_cstr(o, d->history[2 * i + 1]);
        }
    }
    if (d->args) {
        rp_cstr(o, "arguments");
        reply_args(o, d->args);
    }
    if (d->subs) {
        rp_cstr(o, "subcommands");
        rp_array(o, 2 * nsubs);
        for (const struct kv_doc *s = d->subs; s->name; s++) {
            rp_cstr(o, s->name);
            reply_doc(o, s);
        }
    }
}

/* The docs of a name: a command, or "container|sub" (any case) for a
 * subcommand; its reply name in *name. NULL: kv has no such command. */
static const struct kv_doc *find_doc(const char *s, size_t n, const char **name)
{
    const char *bar = memchr(s, '|', n);
    const struct kv_command *cmd = kv_command_lookup(s, bar ? (size_t)(bar - s) : n);
    if (!cmd)
        return NULL;
    if (!bar) {
        *name = cmd->name;
        return &cmd->doc;
    }
    for (const struct kv_doc *d = cmd->doc.subs; d && d->name; d++)
        if (strlen(d->name) == n && strncasecmp(d->name, s, n) == 0) {
            *name = d->name;
            return d;
        }
    return NULL;
}

/* COMMAND DOCS [name ...]: a map of name to docs; unknown names are left
 * out (redis's behaviour), no names: every command. */
static void command_docs(kv_ctx *c)
{
    const char *name;
    if (c->argc == 2) {
        rp_array(c->out, 2 * KV_NCOMMANDS);
        for (size_t i = 0; i < KV_NCOMMANDS; i++) {
            rp_cstr(c->out, kv_cmd_table[i].name);
            reply_doc(c->out, &kv_cmd_table[i].doc);
        }
        return;
    }
    long long found = 0;
    for (int i = 2; i < c->argc; i++)
        found += find_doc(c->argv[i], c->len[i], &name) != NULL;
    rp_array(c->out, 2 * found);
    for (int i = 2; i < c->argc; i++) {
        const struct kv_doc *d = find_doc(c->argv[i], c->len[i], &name);
        if (d) {
            rp_cstr(c->out, name);
            reply_doc(c->out, d);
        }
    }
}

void cmd_command(kv_ctx *c)
{
    if (c->argc == 1) {
        rp_array(c->out, KV_NCOMMANDS);
        for (size_t i = 0; i < KV_NCOMMANDS; i++)
            command_info(c->out, &kv_cmd_table[i]);
    } else if (arg_is(c, 1, "count") && c->argc == 2) {
        rp_int(c->out, KV_NCOMMANDS);
    } else if (arg_is(c, 1, "docs")) {
        command_docs(c);
    } else if (arg_is(c, 1, "info") && c->argc == 2) {
        rp_array(c->out, KV_NCOMMANDS);              /* redis 7: no names, all */
        for (size_t i = 0; i < KV_NCOMMANDS; i++)
            command_info(c->out, &kv_cmd_table[i]);
    } else if (arg_is(c, 1, "info")) {
        rp_array(c->out, c->argc - 2);
        for (int i = 2; i < c->argc; i++) {
            const struct kv_command *cmd = kv_command_lookup(c->argv[i], c->len[i]);
            if (cmd)
                command_info(c->out, cmd);
            else
                rp_null(c->out);
        }
    } else {
        rp_errorf(c->out, "ERR unknown subcommand '%.*s'. Try COMMAND HELP.",
                  (int)(c->len[1] < 128 ? c->len[1] : 128), c->argv[1]);
    }
}
