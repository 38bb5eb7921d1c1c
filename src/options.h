/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Daemon options: command line over METALD_* environment over defaults.
 * Parsed once in main; the parsed options are one of the two permitted
 * globals' worth of state, but passed explicitly to whoever needs them.
 */

#include <stdio.h>

#include "api/auth.h"
#include "net/net-util.h"
#include "util/util.h"

#define OPTIONS_ASSET_ROOTS_MAX 16
#define OPTIONS_LIST_MAX 16
#define OPTIONS_NETWORKS_MAX 32
#define OPTIONS_MAX 80 /* rows of the option table (options.c) */

/* Where an option's effective value came from. */
typedef enum OptionSource {
        OPTION_DEFAULT,
        OPTION_ENV,
        OPTION_FLAG,
} OptionSource;

typedef struct Options {
        char *listen; /* the first of listens (not separately owned) */
        char *listens[OPTIONS_LIST_MAX]; /* HOST:PORT or unix:PATH */
        size_t n_listens;
        char *socket_group; /* group of unix: sockets, NULL = ours */
        char *tokens; /* token file */
        PrincipalRule unix_users[OPTIONS_LIST_MAX];
        size_t n_unix_users;
        char *tls_cert, *tls_key, *tls_client_ca;
        PrincipalRule tls_client_maps[OPTIONS_LIST_MAX];
        size_t n_tls_client_maps;
        bool insecure; /* let a non-loopback listener run without authentication */
        TenantQuota tenant_quotas[OPTIONS_LIST_MAX];
        size_t n_tenant_quotas;
        unsigned host_vcpus; /* 0 = the host's CPU count */
        uint64_t host_memory; /* 0 = the host's memory */
        double overcommit; /* 0 = not given (1.0 when host capacity is enforced) */
        bool host_capacity; /* any of --host-vcpus, --host-memory, --overcommit given */
        bool hash_token; /* --hash-token: print a token file hash of stdin's token and exit */
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
        NetworkDef networks[OPTIONS_NETWORKS_MAX]; /* --network, checked */
        size_t n_networks;
        bool network_firewall; /* --network-firewall (default yes) */
        bool help;
        bool version;
        bool check_config; /* --check-config: validate, print, exit */
        uint8_t source[OPTIONS_MAX]; /* OptionSource, per row of the option table */
} Options;

/* Parse argv and environ into *o (which the caller zeroes). On usage errors
 * returns -EINVAL with a message per error (one a line) in *ret_error. */
int options_parse(int argc, char *argv[], Options *o, char **ret_error);
void options_done(Options *o);
void options_help(const char *argv0);
/* Print every option's effective value and its source (default, the
 * environment variable, or the flag), one a line. */
void options_dump(const Options *o, FILE *f);
