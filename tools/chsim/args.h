/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * args: Cloud Hypervisor's command line (clap 4, as declared in
 * cloud-hypervisor/src/main.rs). Options are "--name value" or
 * "--name=value"; options that take several values (--disk, --net ...)
 * take every following argument up to the next one starting with '-';
 * -v counts; no option may be given twice. VM options (the "vm-config"
 * group: --cpus, --memory, --disk, --serial, --console ...) require
 * --kernel or --firmware. Errors print clap's text on stderr and exit 2;
 * -h/--help prints the help and exits 0; no argument at all prints the help
 * on stderr and exits 2 (arg_required_else_help). Depends on nothing else.
 */

#include <stdbool.h>
#include <stddef.h>

typedef enum ArgId {
        ARG_API_SOCKET,
        ARG_BALLOON,
        ARG_CMDLINE,
        ARG_CONSOLE,
        ARG_CPUS,
        ARG_DEBUG_CONSOLE,
        ARG_DEVICE,
        ARG_DISK,
        ARG_EVENT_MONITOR,
        ARG_FIRMWARE,
        ARG_FS,
        ARG_INITRAMFS,
        ARG_KERNEL,
        ARG_LANDLOCK,
        ARG_LANDLOCK_RULES,
        ARG_LOG_FILE,
        ARG_MEMORY,
        ARG_MEMORY_ZONE,
        ARG_NET,
        ARG_NO_SHUTDOWN,
        ARG_NUMA,
        ARG_PCI_SEGMENT,
        ARG_PLATFORM,
        ARG_PMEM,
        ARG_PVPANIC,
        ARG_RATE_LIMIT_GROUP,
        ARG_RESTORE,
        ARG_RNG,
        ARG_SECCOMP,
        ARG_SERIAL,
        ARG_TPM,
        ARG_USER_DEVICE,
        ARG_V,
        ARG_VDPA,
        ARG_VERSION,
        ARG_VSOCK,
        ARG_WATCHDOG,
        _ARG_MAX,
} ArgId;

#define ARGS_MAX_VALUES 64

typedef struct Args {
        bool present[_ARG_MAX]; /* given on the command line */
        unsigned count[_ARG_MAX]; /* -v */
        size_t n_values[_ARG_MAX];
        const char *values[_ARG_MAX][ARGS_MAX_VALUES]; /* point into argv */
} Args;

/*
 * Parse argv like clap. Returns 0 with *ret filled, or exits the process
 * (help: 0, errors: 2) exactly where clap would.
 */
void args_parse(int argc, char **argv, Args *ret);

/* The first value given, or the declared default (NULL when none). */
const char *args_get(const Args *a, ArgId id);
