/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Command-line parsing driven by tables: each option is a row that says
 * where in Args its value goes; getopt's tables and the help text are built
 * from the same rows. Values stay strings (pointing into argv); the
 * commands turn them into numbers and sizes with request.h, which says what
 * is wrong with a bad one.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum ArgType {
        ARG_FLAG, /* --force: bool */
        ARG_STRING, /* --customer ID: const char *, the last one wins */
        ARG_OPTIONAL_STRING, /* --json[=compact]: const char *, "" when given bare */
        ARG_LIST, /* --disk SPEC...: StrList, each occurrence appended */
} ArgType;

typedef struct StrList {
        const char **items; /* point into argv; the array is Args' */
        size_t n;
} StrList;

typedef struct OptionSpec {
        const char *name; /* long name, without "--" */
        char short_name; /* 0: none */
        ArgType type;
        size_t offset; /* of the bool, const char * or StrList in Args */
        const char *metavar;
        const char *help;
} OptionSpec;

/* Every option any command takes; a command's table says which it accepts. */
typedef struct Args {
        /* global */
        const char *url;
        const char *token_file;
        const char *json; /* NULL: tables; "" or "pretty": indented; "compact": one line */
        const char *request_timeout;
        bool help;
        bool version;

        /* per command */
        bool force, follow, from_start, all, boot;
        const char *file, *id, *vcpus, *max_vcpus, *memory, *hotplug_memory, *kernel, *kernel_args, *initrd;
        const char *customer, *backend, *restart_policy;
        const char *timeout, *limit, *page_size, *page_token, *tail, *from, *to;
        StrList disks, metadata, states;

        /* what is not an option: the command and what follows it, then
         * (after the command's own parse) only what follows it */
        char **positional;
        size_t n_positional;
} Args;

/* Parse argv with the options of the given tables (the global one and a
 * command's), into a (which the caller zeroed or filled before). With
 * stop_at_positional, parsing ends at the first word that is not an
 * option (the command name), left in a->positional with all that follows
 * it; otherwise options and positionals may be mixed, and "--" ends the
 * options. -EINVAL with *ret_error for an unknown option or a missing value,
 * -ENOMEM. */
int args_parse(const OptionSpec *const *tables, const size_t *n_specs, size_t n_tables, int argc,
               char **argv, bool stop_at_positional, Args *a, char **ret_error);

/* Free what args_parse allocated (the lists), not the strings (argv's). */
void args_done(Args *a);

/* Print text word-wrapped at 79 columns, every line indented by indent;
 * used: the columns already printed on the first line (when at least
 * indent, the text starts on the next line). */
void args_print_wrapped(FILE *f, size_t indent, size_t used, const char *text);

/* Print the option rows of a table as help lines. */
void args_print_help(FILE *f, const OptionSpec *specs, size_t n);
