/* SPDX-License-Identifier: Apache-2.0 */
#include "args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct ArgDef {
        const char *name;
        bool takes_value;
        const char *default_value;
        const char *requires; /* another argument that must be given too */
        const char *forbids; /* another argument that must not be given too */
        const char *help;
} ArgDef;

/* In Firecracker's declaration order. */
static const ArgDef defs[_ARG_MAX] = {
        [ARG_API_SOCK] = { "api-sock", true, "/run/firecracker.socket", NULL, NULL,
                           "Path to unix domain socket used by the API." },
        [ARG_ID] = { "id", true, "anonymous-instance", NULL, NULL, "MicroVM unique identifier." },
        [ARG_SECCOMP_FILTER] = { "seccomp-filter", true, NULL, NULL, "no-seccomp",
                                 "Optional parameter which allows specifying the path to a custom seccomp "
                                 "filter. For advanced users." },
        [ARG_NO_SECCOMP] = { "no-seccomp", false, NULL, NULL, "seccomp-filter",
                             "Optional parameter which allows starting and using a microVM without seccomp "
                             "filtering. Not recommended." },
        [ARG_START_TIME_US] = { "start-time-us", true, NULL, NULL, NULL,
                                "Process start time (wall clock, microseconds). This parameter is "
                                "optional." },
        [ARG_START_TIME_CPU_US] = { "start-time-cpu-us", true, NULL, NULL, NULL,
                                    "Process start CPU time (wall clock, microseconds). This parameter is "
                                    "optional." },
        [ARG_PARENT_CPU_TIME_US] = { "parent-cpu-time-us", true, NULL, NULL, NULL,
                                     "Parent process CPU time (wall clock, microseconds). This parameter is "
                                     "optional." },
        [ARG_CONFIG_FILE] = { "config-file", true, NULL, NULL, NULL,
                              "Path to a file that contains the microVM configuration in JSON format." },
        [ARG_METADATA] = { "metadata", true, NULL, NULL, NULL,
                           "Path to a file that contains metadata in JSON format to add to the mmds." },
        [ARG_NO_API] = { "no-api", false, NULL, "config-file", NULL,
                         "Optional parameter which allows starting and using a microVM without an active "
                         "API socket." },
        [ARG_LOG_PATH] = { "log-path", true, NULL, NULL, NULL,
                           "Path to a fifo or a file used for configuring the logger on startup." },
        [ARG_LEVEL] = { "level", true, NULL, NULL, NULL, "Set the logger level." },
        [ARG_MODULE] = { "module", true, NULL, NULL, NULL, "Set the logger module filter." },
        [ARG_SHOW_LEVEL] = { "show-level", false, NULL, NULL, NULL,
                             "Whether or not to output the level in the logs." },
        [ARG_SHOW_LOG_ORIGIN] = { "show-log-origin", false, NULL, NULL, NULL,
                                  "Whether or not to include the file path and line number of the log's "
                                  "origin." },
        [ARG_METRICS_PATH] = { "metrics-path", true, NULL, NULL, NULL,
                               "Path to a fifo or a file used for configuring the metrics on startup." },
        [ARG_BOOT_TIMER] = { "boot-timer", false, NULL, NULL, NULL,
                             "Whether or not to load boot timer device for logging elapsed time since "
                             "InstanceStart command." },
        [ARG_VERSION] = { "version", false, NULL, NULL, NULL, "Print the binary version number." },
        [ARG_SNAPSHOT_VERSION] = { "snapshot-version", false, NULL, NULL, NULL,
                                   "Print the supported data format version." },
        [ARG_DESCRIBE_SNAPSHOT] = { "describe-snapshot", true, NULL, NULL, NULL,
                                    "Print the data format version of the provided snapshot state file." },
        [ARG_HTTP_API_MAX_PAYLOAD_SIZE] = { "http-api-max-payload-size", true, "51200", NULL, NULL,
                                            "Http API request payload max size, in bytes." },
        [ARG_MMDS_SIZE_LIMIT] = { "mmds-size-limit", true, NULL, NULL, NULL,
                                  "Mmds data store limit, in bytes." },
        [ARG_ENABLE_PCI] = { "enable-pci", false, NULL, NULL, NULL, "Enables PCIe support." },
};

static int find(const char *name) {
        for (int i = 0; i < _ARG_MAX; i++)
                if (strcmp(defs[i].name, name) == 0)
                        return i;
        return -1;
}

static int error(char **ret_display, char **ret_debug, const char *variant, const char *a, const char *b) {
        char *inner = NULL, *dbg = NULL;
        int r = -1;
        if (strcmp(variant, "UnexpectedArgument") == 0)
                r = asprintf(&inner,
                             "Found argument '%s' which wasn't expected, or isn't valid in this context.",
                             a);
        else if (strcmp(variant, "MissingValue") == 0)
                r = asprintf(&inner, "The argument '%s' requires a value, but none was supplied.", a);
        else if (strcmp(variant, "DuplicateArgument") == 0)
                r = asprintf(&inner, "The argument '%s' was provided more than once.", a);
        else if (strcmp(variant, "MissingArgument") == 0)
                r = asprintf(&inner, "Argument '%s' required, but not found.", a);
        else if (strcmp(variant, "ForbiddenArgument") == 0)
                r = asprintf(&inner, "Argument '%s' cannot be used together with argument '%s'.", b, a);
        if (r < 0)
                return -ENOMEM;
        if (b)
                r = asprintf(&dbg, "ParseArguments(%s(\"%s\", \"%s\"))", variant, a, b);
        else
                r = asprintf(&dbg, "ParseArguments(%s(\"%s\"))", variant, a);
        if (r < 0 ||
            asprintf(ret_display, "Arguments parsing error: %s \n\nFor more information try --help.",
                     inner) < 0) {
                free(inner);
                free(dbg);
                return -ENOMEM;
        }
        free(inner);
        *ret_debug = dbg;
        return -EINVAL;
}

int args_parse(int argc, char **argv, Args *ret, char **ret_display, char **ret_debug) {
        Args a = { 0 };
        int end = argc;
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], "--") == 0) {
                        end = i;
                        break;
                }
        for (int i = 1; i < end; i++)
                if (strcmp(argv[i], "--help") == 0) {
                        a.help = true;
                        *ret = a;
                        return 0;
                }
        for (int i = 1; i < end; i++)
                if (strcmp(argv[i], "--version") == 0) {
                        a.present[ARG_VERSION] = true;
                        *ret = a;
                        return 0;
                }

        for (int i = 1; i < end; i++) {
                const char *arg = argv[i];
                if (strncmp(arg, "--", 2) != 0)
                        return error(ret_display, ret_debug, "UnexpectedArgument", arg, NULL);
                int id = find(arg + 2);
                if (id < 0)
                        return error(ret_display, ret_debug, "UnexpectedArgument", arg + 2, NULL);
                if (a.present[id])
                        return error(ret_display, ret_debug, "DuplicateArgument", arg + 2, NULL);
                if (defs[id].takes_value) {
                        if (i + 1 >= end || strncmp(argv[i + 1], "--", 2) == 0)
                                return error(ret_display, ret_debug, "MissingValue", defs[id].name, NULL);
                        a.value[id] = argv[++i];
                }
                a.present[id] = true;
        }

        for (int id = 0; id < _ARG_MAX; id++) {
                if (!a.present[id])
                        continue;
                if (defs[id].requires && !a.present[find(defs[id].requires)])
                        return error(ret_display, ret_debug, "MissingArgument", defs[id].requires, NULL);
                if (defs[id].forbids && a.present[find(defs[id].forbids)])
                        return error(ret_display, ret_debug, "ForbiddenArgument", defs[id].name,
                                     defs[id].forbids);
        }
        *ret = a;
        return 0;
}

const char *args_get(const Args *a, ArgId id) {
        return a->value[id] ? a->value[id] : defs[id].default_value;
}

bool args_flag(const Args *a, ArgId id) {
        return a->present[id];
}

void args_print_help(FILE *f) {
        for (int i = 0; i < _ARG_MAX; i++) {
                fprintf(f, "--%s", defs[i].name);
                if (defs[i].takes_value)
                        fprintf(f, " <%s>", defs[i].name);
                fprintf(f, ": %s\n", defs[i].help);
        }
        fprintf(f, "--help: Show the help message.\n");
}
