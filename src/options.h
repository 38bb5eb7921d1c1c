/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Daemon options: command line over METALD_* environment over defaults.
 * Parsed once in main; the parsed options are one of the two permitted
 * globals' worth of state, but passed explicitly to whoever needs them.
 */

#include "net/net-util.h"
#include "util/util.h"

#define OPTIONS_ASSET_ROOTS_MAX 16
#define OPTIONS_NETWORKS_MAX 32

typedef struct Options {
        char *listen; /* HOST:PORT */
        char *data_dir;
        char *firecracker_binary;
        char *cloud_hypervisor_binary;
        char *qemu_binary;
        char *default_backend;
        char *asset_roots[OPTIONS_ASSET_ROOTS_MAX];
        size_t n_asset_roots;
        int log_level;
        unsigned request_timeout_s; /* lifecycle calls wait this long */
        unsigned resync_interval_ms; /* periodic check of every VM */
        unsigned workers;
        unsigned max_vms;
        unsigned vmm_api_timeout_ms;
        uint64_t console_max_bytes;
        unsigned metrics_interval_ms; /* usage sampling period; 0: off */
        int64_t metrics_retention_ms; /* raw samples kept this long */
        int64_t rollup_retention_ms; /* hourly rollups kept this long */
        NetworkDef networks[OPTIONS_NETWORKS_MAX]; /* --network, checked */
        size_t n_networks;
        bool network_firewall; /* --network-firewall (default yes) */
        bool help;
        bool version;
} Options;

/* Parse argv and environ into *o (which the caller zeroes). On a usage error
 * returns -EINVAL with a message in *ret_error. */
int options_parse(int argc, char *argv[], Options *o, char **ret_error);
void options_done(Options *o);
void options_help(const char *argv0);
