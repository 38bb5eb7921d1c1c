/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The subcommands' handlers. Each one takes what main parsed (Ctx), talks
 * to metald through ctx->client, prints its result to stdout and its errors
 * to stderr ("metalctl: <code>: <message>"), and returns the exit status
 * (exit-status.h). Main owns the table that names them (metalctl.c).
 */

#include "args.h"
#include "client.h"
#include "exit-status.h"

typedef enum OutputMode {
        OUTPUT_TABLE, /* for humans */
        OUTPUT_JSON_PRETTY, /* the server's answer, indented */
        OUTPUT_JSON_COMPACT /* the server's answer, one line */
} OutputMode;

typedef struct Command Command;

typedef struct Ctx {
        const Args *args;
        Client *client;
        OutputMode output;
        const char *const *states; /* --state as VmState names, once a handler parsed them */
        size_t n_states;
} Ctx;

typedef ExitStatus (*CommandHandler)(Ctx *ctx, const Command *cmd);

struct Command {
        const char *name;
        CommandHandler run;
        const char *method; /* the RPC, for handlers shared by several commands */
        const OptionSpec *options;
        size_t n_options;
        size_t min_args, max_args; /* positionals after the command name */
        const char *usage; /* after "metalctl NAME " */
        const char *summary; /* one line, for the command list */
        const char *help; /* more lines, for NAME --help */
};

ExitStatus cmd_create(Ctx *ctx, const Command *cmd);
ExitStatus cmd_lifecycle(Ctx *ctx, const Command *cmd);
ExitStatus cmd_info(Ctx *ctx, const Command *cmd);
ExitStatus cmd_list(Ctx *ctx, const Command *cmd);
ExitStatus cmd_history(Ctx *ctx, const Command *cmd);
ExitStatus cmd_metrics(Ctx *ctx, const Command *cmd);
ExitStatus cmd_console(Ctx *ctx, const Command *cmd);
ExitStatus cmd_wait(Ctx *ctx, const Command *cmd);

/* Print "metalctl: <message>" to stderr; returns EXIT_USAGE. */
ExitStatus usage_error(const char *fmt, ...) _printf_(1, 2);
