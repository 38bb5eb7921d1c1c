/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Daemon options: command line over METALD_* environment over defaults.
 * Parsed once in main; the parsed options are one of the two permitted
 * globals' worth of state, but passed explicitly to whoever needs them.
 */

#include "util/util.h"

#define OPTIONS_ASSET_ROOTS_MAX 16

typedef struct Options {
        char *listen; /* HOST:PORT */
        char *data_dir;
        char *firecracker_binary;
        char *cloud_hypervisor_binary;
        char *qemu_binary;
        char *default_backend;
        char *vmm_user; /* VMMs run as this user (default metald-vmm) */
        char *jailer_binary; /* NULL: Firecracker without its jailer */
        char *jailer_chroot_base; /* NULL: <data-dir>/jailer */
        unsigned jailer_cgroup_version; /* 0: detect */
        char *asset_roots[OPTIONS_ASSET_ROOTS_MAX];
        size_t n_asset_roots;
        int log_level;
        unsigned request_timeout_s; /* lifecycle calls wait this long */
        unsigned resync_interval_ms; /* periodic check of every VM */
        unsigned workers;
        unsigned max_vms;
        unsigned vmm_api_timeout_ms;
        unsigned http_timeout_s; /* idle connections are closed after this */
        unsigned http_connection_limit; /* connections at once, all clients */
        unsigned http_per_ip_limit; /* connections at once from one address; 0: no limit */
        unsigned http_body_deadline_s; /* a body must be in this long after its headers */
        uint64_t console_max_bytes;
        unsigned metrics_interval_ms; /* usage sampling period; 0: off */
        int64_t metrics_retention_ms; /* raw samples kept this long */
        int64_t rollup_retention_ms; /* hourly rollups kept this long */
        bool help;
        bool version;
} Options;

/* Parse argv and environ into *o (which the caller zeroes). On a usage error
 * returns -EINVAL with a message in *ret_error. */
int options_parse(int argc, char *argv[], Options *o, char **ret_error);
void options_done(Options *o);
void options_help(const char *argv0);
