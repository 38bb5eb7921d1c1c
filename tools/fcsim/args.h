/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * args: Firecracker's command line (utils::arg_parser). Every flag is
 * "--name", a value is the next argv element and may not start with "--";
 * "--help" or "--version" anywhere before "--" wins over everything else.
 * Errors use arg_parser's texts. Depends on nothing else in fcsim.
 */

#include <stdbool.h>
#include <stdio.h>

typedef enum ArgId {
        ARG_API_SOCK,
        ARG_ID,
        ARG_SECCOMP_FILTER,
        ARG_NO_SECCOMP,
        ARG_START_TIME_US,
        ARG_START_TIME_CPU_US,
        ARG_PARENT_CPU_TIME_US,
        ARG_CONFIG_FILE,
        ARG_METADATA,
        ARG_NO_API,
        ARG_LOG_PATH,
        ARG_LEVEL,
        ARG_MODULE,
        ARG_SHOW_LEVEL,
        ARG_SHOW_LOG_ORIGIN,
        ARG_METRICS_PATH,
        ARG_BOOT_TIMER,
        ARG_VERSION,
        ARG_SNAPSHOT_VERSION,
        ARG_DESCRIBE_SNAPSHOT,
        ARG_HTTP_API_MAX_PAYLOAD_SIZE,
        ARG_MMDS_SIZE_LIMIT,
        ARG_ENABLE_PCI,
        _ARG_MAX,
} ArgId;

typedef struct Args {
        const char *value[_ARG_MAX]; /* points into argv; NULL if absent */
        bool present[_ARG_MAX];
        bool help;
} Args;

/*
 * Parse argv. Returns 0, or -EINVAL with the error as Firecracker shows it:
 * *ret_display is the Display text (logged), *ret_debug the Debug text
 * (printed as "Error: <debug>" on stderr). Both malloc'd.
 */
int args_parse(int argc, char **argv, Args *ret, char **ret_display, char **ret_debug);

/* The value given, or the argument's default (NULL when it has none). */
const char *args_get(const Args *a, ArgId id);

bool args_flag(const Args *a, ArgId id);

void args_print_help(FILE *f);
