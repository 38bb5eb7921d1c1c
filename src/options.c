/* SPDX-License-Identifier: Apache-2.0 */
#include "options.h"

#include <getopt.h>
#include <stddef.h>
#include <inttypes.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>

#include "util/log.h"

enum {
        OPT_LISTEN = 0x100,
        OPT_DATA_DIR,
        OPT_FIRECRACKER_BINARY,
        OPT_CLOUD_HYPERVISOR_BINARY,
        OPT_QEMU_BINARY,
        OPT_DEFAULT_BACKEND,
        OPT_ASSET_ROOT,
        OPT_LOG_LEVEL,
        OPT_REQUEST_TIMEOUT,
        OPT_RESYNC_INTERVAL,
        OPT_WORKERS,
        OPT_MAX_VMS,
        OPT_VMM_API_TIMEOUT,
        OPT_HTTP_TIMEOUT,
        OPT_HTTP_CONNECTION_LIMIT,
        OPT_HTTP_PER_IP_LIMIT,
        OPT_HTTP_BODY_DEADLINE,
        OPT_CONSOLE_MAX,
        OPT_METRICS_INTERVAL,
        OPT_METRICS_RETENTION,
        OPT_ROLLUP_RETENTION,
        OPT_VMM_USER,
        OPT_JAILER_BINARY,
        OPT_JAILER_CHROOT_BASE,
        OPT_JAILER_CGROUP_VERSION,
        OPT_SOCKET_GROUP,
        OPT_TOKENS,
        OPT_UNIX_USER,
        OPT_TLS_CERT,
        OPT_TLS_KEY,
        OPT_TLS_CLIENT_CA,
        OPT_TLS_CLIENT_MAP,
        OPT_INSECURE,
        OPT_TENANT_QUOTA,
        OPT_HOST_VCPUS,
        OPT_HOST_MEMORY,
        OPT_OVERCOMMIT,
        OPT_NETWORK,
        OPT_NETWORK_FIREWALL,
        OPT_VERSION,
        OPT_CHECK_CONFIG,
        OPT_HASH_TOKEN, /* last: cli_lists[] is sized by it */
};

/* One row per option: its long name, its environment variable, its help. The
 * table drives getopt, the environment and --help alike. */
static const struct {
        const char *name;
        int id;
        const char *env;
        const char *arg;
        const char *help;
} option_table[] = {
        { "listen", OPT_LISTEN, "METALD_LISTEN", "ADDRESS",
          "where the Connect API listens: HOST:PORT or unix:/PATH; repeatable (default 127.0.0.1:8080)" },
        { "socket-group", OPT_SOCKET_GROUP, "METALD_SOCKET_GROUP", "GROUP",
          "group of the unix: sockets (mode 0660; default metald's own group)" },
        { "tokens", OPT_TOKENS, "METALD_TOKENS", "FILE",
          "bearer tokens: lines of \"sha256:HEX TENANT ROLE\" (see --hash-token); re-read on SIGHUP" },
        { "unix-user", OPT_UNIX_USER, "METALD_UNIX_USER", "USER=ROLE[:TENANT]",
          "callers on a unix: socket with this uid (name or number) get ROLE; repeatable "
          "(root is admin unless mapped)" },
        { "tls-cert", OPT_TLS_CERT, "METALD_TLS_CERT", "FILE",
          "serve TCP listeners over TLS with this PEM chain" },
        { "tls-key", OPT_TLS_KEY, "METALD_TLS_KEY", "FILE", "the PEM private key of --tls-cert" },
        { "tls-client-ca", OPT_TLS_CLIENT_CA, "METALD_TLS_CLIENT_CA", "FILE",
          "accept client certificates signed by this CA: the CN is the tenant (role tenant) unless mapped" },
        { "tls-client-map", OPT_TLS_CLIENT_MAP, "METALD_TLS_CLIENT_MAP", "CN=ROLE[:TENANT]",
          "a client certificate with this CN gets ROLE; repeatable" },
        { "insecure", OPT_INSECURE, "METALD_INSECURE", NULL,
          "allow a non-loopback TCP listener without authentication (everyone is an admin)" },
        { "tenant-quota", OPT_TENANT_QUOTA, "METALD_TENANT_QUOTA", "TENANT:vms=N,vcpus=N,memory=SIZE",
          "most live VMs, vCPUs and memory a tenant may have; repeatable" },
        { "host-vcpus", OPT_HOST_VCPUS, "METALD_HOST_VCPUS", "N",
          "vCPUs the host offers (default: its CPU count); enables the host capacity check" },
        { "host-memory", OPT_HOST_MEMORY, "METALD_HOST_MEMORY", "SIZE",
          "memory the host offers, e.g. 64G (default: its RAM); enables the host capacity check" },
        { "overcommit", OPT_OVERCOMMIT, "METALD_OVERCOMMIT", "RATIO",
          "VMs may get RATIO times the host's vCPUs and memory (default 1); enables the host capacity "
          "check" },
        { "data-dir", OPT_DATA_DIR, "METALD_DATA_DIR", "DIR",
          "the SQLite database and one run directory per VM (default /var/lib/metald)" },
        { "firecracker-binary", OPT_FIRECRACKER_BINARY, "METALD_FIRECRACKER_BINARY", "PATH",
          "the firecracker executable (default: firecracker in PATH)" },
        { "cloud-hypervisor-binary", OPT_CLOUD_HYPERVISOR_BINARY, "METALD_CLOUD_HYPERVISOR_BINARY", "PATH",
          "the cloud-hypervisor executable (default: cloud-hypervisor in PATH)" },
        { "qemu-binary", OPT_QEMU_BINARY, "METALD_QEMU_BINARY", "PATH",
          "the qemu-system-x86_64 executable (default: qemu-system-x86_64 in PATH)" },
        { "default-backend", OPT_DEFAULT_BACKEND, "METALD_DEFAULT_BACKEND", "NAME",
          "backend for CreateVm requests that name none (default firecracker)" },
        { "asset-root", OPT_ASSET_ROOT, "METALD_ASSET_ROOT", "DIR",
          "kernel, initrd and disk paths must resolve inside one of these; repeatable, "
          "colon-separated in the environment (default /opt/vm-assets)" },
        { "log-level", OPT_LOG_LEVEL, "METALD_LOG_LEVEL", "LEVEL",
          "error, warning, info or debug (default info)" },
        { "request-timeout", OPT_REQUEST_TIMEOUT, "METALD_REQUEST_TIMEOUT", "SECONDS",
          "how long a lifecycle call waits for its outcome (default 30)" },
        { "resync-interval", OPT_RESYNC_INTERVAL, "METALD_RESYNC_INTERVAL", "MS",
          "how often every VM is checked against its VMM (default 2000)" },
        { "workers", OPT_WORKERS, "METALD_WORKERS", "N", "reconcile worker threads (default 4)" },
        { "max-vms", OPT_MAX_VMS, "METALD_MAX_VMS", "N", "most VMs that may exist at once (default 10000)" },
        { "console-max-bytes", OPT_CONSOLE_MAX, "METALD_CONSOLE_MAX_BYTES", "BYTES",
          "cap of each VM's console log; older output is cut (default 4194304)" },
        { "vmm-api-timeout", OPT_VMM_API_TIMEOUT, "METALD_VMM_API_TIMEOUT", "MS",
          "timeout of each call to a VMM's API (default 5000)" },
        { "http-timeout", OPT_HTTP_TIMEOUT, "METALD_HTTP_TIMEOUT", "SECONDS",
          "an API connection idle this long (no byte received or sent) is closed (default 30)" },
        { "http-connection-limit", OPT_HTTP_CONNECTION_LIMIT, "METALD_HTTP_CONNECTION_LIMIT", "N",
          "API connections open at once, all clients together; more are refused (default 512)" },
        { "http-per-ip-connection-limit", OPT_HTTP_PER_IP_LIMIT, "METALD_HTTP_PER_IP_CONNECTION_LIMIT", "N",
          "API connections open at once from one IP address; 0 = no limit (default 128)" },
        { "http-body-deadline", OPT_HTTP_BODY_DEADLINE, "METALD_HTTP_BODY_DEADLINE", "SECONDS",
          "a request body must be complete this long after its headers, however it trickles (default 30)" },
        { "metrics-interval", OPT_METRICS_INTERVAL, "METALD_METRICS_INTERVAL", "SECONDS",
          "how often each VM's usage is sampled; fractions allowed, 0 turns sampling off (default 10)" },
        { "metrics-retention", OPT_METRICS_RETENTION, "METALD_METRICS_RETENTION", "HOURS",
          "how long raw usage samples are kept; fractions allowed (default 24)" },
        { "network", OPT_NETWORK, "METALD_NETWORK", "SPEC",
          "a host network, repeatable: name=N,subnet=A.B.C.D/P[,gateway=G][,bridge=B][,ipv6=X::/P]"
          "[,dns=D1+D2][,tenant=T][,mtu=M] (environment: specs separated by ';')" },
        { "network-firewall", OPT_NETWORK_FIREWALL, "METALD_NETWORK_FIREWALL", "yes|no",
          "manage the nftables isolation rules of the networks (default yes)" },
        { "rollup-retention", OPT_ROLLUP_RETENTION, "METALD_ROLLUP_RETENTION", "DAYS",
          "how long hourly usage rollups are kept; fractions allowed (default 90)" },
        { "vmm-user", OPT_VMM_USER, "METALD_VMM_USER", "NAME",
          "the unprivileged user every VMM runs as; must exist (default metald-vmm; \"root\" "
          "runs VMMs as root, with a warning)" },
        { "jailer-binary", OPT_JAILER_BINARY, "METALD_JAILER_BINARY", "PATH",
          "run Firecracker through this jailer (chroot, new pid namespace, cgroups, the VMM user) "
          "(default: no jailer)" },
        { "jailer-chroot-base", OPT_JAILER_CHROOT_BASE, "METALD_JAILER_CHROOT_BASE", "DIR",
          "the jailer's --chroot-base-dir, on the data dir's filesystem (default <data-dir>/jailer)" },
        { "jailer-cgroup-version", OPT_JAILER_CGROUP_VERSION, "METALD_JAILER_CGROUP_VERSION", "1|2",
          "the jailer's --cgroup-version (default 2 if /sys/fs/cgroup is cgroup2, else 1)" },
};

/* Options that may be given several times (a list: blank-separated in the environment). */
static bool option_repeatable(int id) {
        return id == OPT_LISTEN || id == OPT_UNIX_USER || id == OPT_TLS_CLIENT_MAP || id == OPT_TENANT_QUOTA;
}

void options_help(const char *argv0) {
        printf("Usage: %s [OPTIONS]\n\n"
               "metald: a VM control plane. Serves the vmprovisioner.v1.VmService Connect API,\n"
               "keeps desired state in SQLite and drives each VM's hypervisor towards it.\n\n"
               "Options (each also settable by the environment variable shown):\n",
               argv0);
        for (size_t i = 0; i < ELEMENTSOF(option_table); i++) {
                char left[64];
                snprintf(left, sizeof left, "--%s%s%s", option_table[i].name, option_table[i].arg ? " " : "",
                         option_table[i].arg ? option_table[i].arg : "");
                printf("  %-32s %s\n  %-32s [%s]\n", left, option_table[i].help, "", option_table[i].env);
        }
        printf("  %-32s %s\n", "--check-config",
               "validate the configuration, print the effective settings and where each comes from, "
               "exit 0 if valid");
        printf("  %-32s %s\n  %-32s %s\n", "--help", "show this help", "--version", "show the version");
        printf("  %-32s %s\n", "--hash-token", "read a token on stdin, print its --tokens hash and exit");
        printf("\nSignals: SIGTERM/SIGINT stop serving, finish requests in flight and exit 0;\n"
               "the VMs keep running and are reattached at the next start. SIGHUP re-reads --tokens.\n");
}

static int parse_uint(const char *name, const char *v, unsigned min, unsigned max, unsigned *ret,
                      char **ret_error) {
        char *end;
        errno = 0;
        unsigned long x = strtoul(v, &end, 10);
        if (!*v || *end || errno || x < min || x > max || v[0] == '-') {
                *ret_error =
                        strdup_printf("--%s: \"%s\" is not a number between %u and %u", name, v, min, max);
                return -EINVAL;
        }
        *ret = (unsigned) x;
        return 0;
}

static int set_string(char **slot, const char *v) {
        char *c = strdup(v);
        if (!c)
                return -ENOMEM;
        free(*slot);
        *slot = c;
        return 0;
}

static int add_asset_root(Options *o, const char *v, char **ret_error) {
        if (o->n_asset_roots >= OPTIONS_ASSET_ROOTS_MAX) {
                *ret_error = strdup_printf("--asset-root: at most %d roots", OPTIONS_ASSET_ROOTS_MAX);
                return -EINVAL;
        }
        if (v[0] != '/') {
                *ret_error = strdup_printf("--asset-root: \"%s\" is not an absolute path", v);
                return -EINVAL;
        }
        char *c = strdup(v);
        if (!c)
                return -ENOMEM;
        o->asset_roots[o->n_asset_roots++] = c;
        return 0;
}

static int add_network(Options *o, const char *v, char **ret_error) {
        if (o->n_networks >= OPTIONS_NETWORKS_MAX) {
                *ret_error = strdup_printf("--network: at most %d networks", OPTIONS_NETWORKS_MAX);
                return -EINVAL;
        }
        NetError err = { 0 };
        NetworkDef d;
        int r = net_def_parse(v, &d, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                *ret_error = strdup_printf("--network \"%s\": %s: %s", v, err.field, err.message);
                return -EINVAL;
        }
        for (size_t i = 0; i < o->n_networks; i++)
                if (streq(o->networks[i].name, d.name) || streq(o->networks[i].bridge, d.bridge)) {
                        *ret_error = strdup_printf("--network \"%s\": name or bridge given twice", v);
                        return -EINVAL;
                }
        o->networks[o->n_networks++] = d;
        return 0;
}

/* A decimal number of units ("0.25") as milliseconds, between min_ms and
 * max_ms; 0 is accepted when zero_ok. */
static int parse_duration(const char *name, const char *v, double unit_ms, int64_t min_ms, int64_t max_ms,
                          bool zero_ok, int64_t *ret, char **ret_error) {
        char *end;
        errno = 0;
        double x = strtod(v, &end);
        double ms = x * unit_ms;
        bool ok = *v && !*end && !errno && v[0] != '-' && x == x && ms <= (double) max_ms &&
                  (ms >= (double) min_ms || (zero_ok && x == 0));
        if (!ok) {
                *ret_error = strdup_printf("--%s: \"%s\" is not a number between %g and %g%s", name, v,
                                           (double) min_ms / unit_ms, (double) max_ms / unit_ms,
                                           zero_ok ? " (or 0)" : "");
                return -EINVAL;
        }
        *ret = (int64_t) (ms + 0.5);
        return 0;
}

/* Apply one option value, from the command line or the environment. */
static int apply(Options *o, int id, const char *name, const char *v, char **ret_error) {
        switch (id) {
        case OPT_LISTEN:
                if (o->n_listens >= OPTIONS_LIST_MAX) {
                        *ret_error = strdup_printf("--listen: at most %d addresses", OPTIONS_LIST_MAX);
                        return -EINVAL;
                }
                if (!(o->listens[o->n_listens] = strdup(v)))
                        return -ENOMEM;
                o->listen = o->listens[0];
                o->n_listens++;
                return 0;
        case OPT_SOCKET_GROUP:
                return set_string(&o->socket_group, v);
        case OPT_TOKENS:
                if (v[0] != '/') {
                        *ret_error = strdup_printf("--tokens: \"%s\" is not an absolute path (it is re-read "
                                                   "on SIGHUP)",
                                                   v);
                        return -EINVAL;
                }
                return set_string(&o->tokens, v);
        case OPT_UNIX_USER:
        case OPT_TLS_CLIENT_MAP: {
                bool unix_user = id == OPT_UNIX_USER;
                size_t *n = unix_user ? &o->n_unix_users : &o->n_tls_client_maps;
                PrincipalRule *rule = unix_user ? &o->unix_users[*n] : &o->tls_client_maps[*n];
                if (*n >= OPTIONS_LIST_MAX) {
                        *ret_error = strdup_printf("--%s: at most %d rules", name, OPTIONS_LIST_MAX);
                        return -EINVAL;
                }
                *rule = (PrincipalRule){ 0 };
                int r = principal_parse(name, v, rule->name, sizeof rule->name, &rule->caller, ret_error);
                if (r < 0)
                        return r;
                if (unix_user) {
                        char *end;
                        errno = 0;
                        unsigned long uid = strtoul(rule->name, &end, 10);
                        struct passwd *pw;
                        if (!*end && !errno && rule->name[0] != '-' && uid < UINT32_MAX)
                                rule->uid = (uid_t) uid;
                        else if ((pw = getpwnam(rule->name)))
                                rule->uid = pw->pw_uid;
                        else {
                                *ret_error =
                                        strdup_printf("--unix-user \"%s\": no user \"%s\"", v, rule->name);
                                return -EINVAL;
                        }
                }
                (*n)++;
                return 0;
        }
        case OPT_TLS_CERT:
                return set_string(&o->tls_cert, v);
        case OPT_TLS_KEY:
                return set_string(&o->tls_key, v);
        case OPT_TLS_CLIENT_CA:
                return set_string(&o->tls_client_ca, v);
        case OPT_INSECURE:
                if (!streq(v, "1") && !streq(v, "yes") && !streq(v, "true")) {
                        *ret_error = strdup_printf("METALD_INSECURE: \"%s\" is not 1, yes or true", v);
                        return -EINVAL;
                }
                o->insecure = true;
                return 0;
        case OPT_TENANT_QUOTA: {
                if (o->n_tenant_quotas >= OPTIONS_LIST_MAX) {
                        *ret_error = strdup_printf("--tenant-quota: at most %d tenants", OPTIONS_LIST_MAX);
                        return -EINVAL;
                }
                TenantQuota q;
                int r = tenant_quota_parse(v, &q, ret_error);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < o->n_tenant_quotas; i++)
                        if (streq(o->tenant_quotas[i].tenant, q.tenant)) {
                                *ret_error =
                                        strdup_printf("--tenant-quota: tenant \"%s\" given twice", q.tenant);
                                return -EINVAL;
                        }
                o->tenant_quotas[o->n_tenant_quotas++] = q;
                return 0;
        }
        case OPT_HOST_VCPUS:
                o->host_capacity = true;
                return parse_uint(name, v, 1, 1u << 20, &o->host_vcpus, ret_error);
        case OPT_HOST_MEMORY:
                o->host_capacity = true;
                if (size_parse(v, &o->host_memory) < 0 || o->host_memory < (1u << 20)) {
                        *ret_error = strdup_printf(
                                "--host-memory: \"%s\" is not a size of at least 1M (like 64G)", v);
                        return -EINVAL;
                }
                return 0;
        case OPT_OVERCOMMIT: {
                char *end;
                errno = 0;
                double x = strtod(v, &end);
                if (!*v || *end || errno || !(x >= 0.1 && x <= 1000)) {
                        *ret_error =
                                strdup_printf("--overcommit: \"%s\" is not a ratio between 0.1 and 1000", v);
                        return -EINVAL;
                }
                o->host_capacity = true;
                o->overcommit = x;
                return 0;
        }
        case OPT_DATA_DIR:
                if (v[0] != '/') {
                        *ret_error = strdup_printf("--data-dir: \"%s\" is not an absolute path", v);
                        return -EINVAL;
                }
                return set_string(&o->data_dir, v);
        case OPT_FIRECRACKER_BINARY:
                return set_string(&o->firecracker_binary, v);
        case OPT_CLOUD_HYPERVISOR_BINARY:
                return set_string(&o->cloud_hypervisor_binary, v);
        case OPT_QEMU_BINARY:
                return set_string(&o->qemu_binary, v);
        case OPT_VMM_USER:
                if (isempty(v)) {
                        *ret_error = strdup("--vmm-user: empty user name");
                        return -EINVAL;
                }
                return set_string(&o->vmm_user, v);
        case OPT_JAILER_BINARY:
                if (isempty(v)) {
                        *ret_error = strdup("--jailer-binary: empty path");
                        return -EINVAL;
                }
                return set_string(&o->jailer_binary, v);
        case OPT_JAILER_CHROOT_BASE:
                if (v[0] != '/') {
                        *ret_error =
                                strdup_printf("--jailer-chroot-base: \"%s\" is not an absolute path", v);
                        return -EINVAL;
                }
                return set_string(&o->jailer_chroot_base, v);
        case OPT_JAILER_CGROUP_VERSION:
                return parse_uint(name, v, 1, 2, &o->jailer_cgroup_version, ret_error);
        case OPT_DEFAULT_BACKEND:
                return set_string(&o->default_backend, v);
        case OPT_ASSET_ROOT:
                return add_asset_root(o, v, ret_error);
        case OPT_NETWORK:
                return add_network(o, v, ret_error);
        case OPT_NETWORK_FIREWALL:
                if (streq(v, "yes") || streq(v, "no")) {
                        o->network_firewall = streq(v, "yes");
                        return 0;
                }
                *ret_error = strdup_printf("--network-firewall: \"%s\" is not yes or no", v);
                return -EINVAL;
        case OPT_LOG_LEVEL: {
                int l = log_level_from_string(v);
                if (l < 0) {
                        *ret_error =
                                strdup_printf("--log-level: \"%s\" is not error, warning, info or debug", v);
                        return -EINVAL;
                }
                o->log_level = l;
                return 0;
        }
        case OPT_REQUEST_TIMEOUT:
                return parse_uint(name, v, 1, 3600, &o->request_timeout_s, ret_error);
        case OPT_RESYNC_INTERVAL:
                return parse_uint(name, v, 50, 3600000, &o->resync_interval_ms, ret_error);
        case OPT_WORKERS:
                return parse_uint(name, v, 1, 64, &o->workers, ret_error);
        case OPT_MAX_VMS:
                return parse_uint(name, v, 1, 1000000, &o->max_vms, ret_error);
        case OPT_VMM_API_TIMEOUT:
                return parse_uint(name, v, 10, 600000, &o->vmm_api_timeout_ms, ret_error);
        case OPT_HTTP_TIMEOUT:
                return parse_uint(name, v, 1, 3600, &o->http_timeout_s, ret_error);
        case OPT_HTTP_CONNECTION_LIMIT:
                return parse_uint(name, v, 1, 4096, &o->http_connection_limit, ret_error);
        case OPT_HTTP_PER_IP_LIMIT:
                return parse_uint(name, v, 0, 4096, &o->http_per_ip_limit, ret_error);
        case OPT_HTTP_BODY_DEADLINE:
                return parse_uint(name, v, 1, 3600, &o->http_body_deadline_s, ret_error);
        case OPT_METRICS_INTERVAL: {
                int64_t ms;
                int r = parse_duration(name, v, 1000, 50, 86400000, true, &ms, ret_error);
                if (r >= 0)
                        o->metrics_interval_ms = (unsigned) ms;
                return r;
        }
        case OPT_METRICS_RETENTION:
                return parse_duration(name, v, 3600000, 1000, INT64_C(87600) * 3600000, false,
                                      &o->metrics_retention_ms, ret_error);
        case OPT_ROLLUP_RETENTION:
                return parse_duration(name, v, 86400000, 1000, INT64_C(36500) * 86400000, false,
                                      &o->rollup_retention_ms, ret_error);
        case OPT_CONSOLE_MAX: {
                unsigned kib;
                /* Given in bytes, kept to a whole KiB between 4 KiB and 4 GiB. */
                char *end;
                unsigned long long b = strtoull(v, &end, 10);
                if (!*v || *end || v[0] == '-' || b < 4096 || b > (4ULL << 30)) {
                        *ret_error = strdup_printf(
                                "--console-max-bytes: \"%s\" is not between 4096 and 4294967296", v);
                        return -EINVAL;
                }
                kib = (unsigned) (b / 1024);
                o->console_max_bytes = (uint64_t) kib * 1024;
                return 0;
        }
        }
        return -EINVAL;
}

_Static_assert(ELEMENTSOF(option_table) <= OPTIONS_MAX, "raise OPTIONS_MAX");

/* Add one error message (taken) to the list of them, one a line. */
static int collect_error(char **all, char *msg) {
        if (!msg)
                return -ENOMEM;
        char *joined = *all ? strdup_printf("%s\n%s", *all, msg) : msg;
        if (*all)
                free(msg);
        if (!joined)
                return -ENOMEM;
        free(*all);
        *all = joined;
        return 0;
}

/* The row of the option table for an option id, or -1. */
static int row_of(int id) {
        for (size_t i = 0; i < ELEMENTSOF(option_table); i++)
                if (option_table[i].id == id)
                        return (int) i;
        return -1;
}

/* Forget a repeatable option's values (the command line replaces the environment's). */
static void clear_list(Options *o, int id) {
        switch (id) {
        case OPT_LISTEN:
                for (size_t i = 0; i < o->n_listens; i++)
                        o->listens[i] = mfree(o->listens[i]);
                o->n_listens = 0;
                o->listen = NULL;
                break;
        case OPT_UNIX_USER:
                o->n_unix_users = 0;
                break;
        case OPT_TLS_CLIENT_MAP:
                o->n_tls_client_maps = 0;
                break;
        case OPT_TENANT_QUOTA:
                o->n_tenant_quotas = 0;
                break;
        }
}

/* Options that only make sense together. */
static int check_combinations(Options *o, char **ret_error) {
        if (!o->tls_cert != !o->tls_key) {
                *ret_error = strdup("--tls-cert and --tls-key go together");
                return -EINVAL;
        }
        if ((o->tls_client_ca || o->n_tls_client_maps) && !o->tls_cert) {
                *ret_error = strdup("--tls-client-ca and --tls-client-map need TLS (--tls-cert, --tls-key)");
                return -EINVAL;
        }
        if (o->n_tls_client_maps && !o->tls_client_ca) {
                *ret_error = strdup("--tls-client-map needs --tls-client-ca");
                return -EINVAL;
        }
        bool any_unix = false;
        for (size_t i = 0; i < o->n_listens; i++)
                any_unix = any_unix || strncmp(o->listens[i], "unix:", 5) == 0;
        /* (--unix-user is fine without: systemd may pass the Unix socket.) */
        if (o->socket_group && !any_unix) {
                *ret_error =
                        strdup("--socket-group needs a --listen unix:/PATH (under socket activation, set "
                               "SocketGroup= in the .socket unit)");
                return -EINVAL;
        }
        if (o->socket_group && !getgrnam(o->socket_group)) {
                char *end;
                unsigned long gid = strtoul(o->socket_group, &end, 10);
                if (*end || !*o->socket_group || gid >= UINT32_MAX) {
                        *ret_error = strdup_printf("--socket-group: no group \"%s\"", o->socket_group);
                        return -EINVAL;
                }
        }
        return 0;
}

int options_parse(int argc, char *argv[], Options *o, char **ret_error) {
        struct option longopts[ELEMENTSOF(option_table) + 5];
        size_t n = 0;
        for (size_t i = 0; i < ELEMENTSOF(option_table); i++)
                longopts[n++] = (struct option){ option_table[i].name,
                                                 option_table[i].arg ? required_argument : no_argument, NULL,
                                                 option_table[i].id };
        longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
        longopts[n++] = (struct option){ "hash-token", no_argument, NULL, OPT_HASH_TOKEN };
        longopts[n++] = (struct option){ "version", no_argument, NULL, OPT_VERSION };
        longopts[n++] = (struct option){ "check-config", no_argument, NULL, OPT_CHECK_CONFIG };
        longopts[n] = (struct option){ 0 };
        /* Every usage error is reported, not only the first (--check-config names each). */
        _cleanup_free_ char *errors = NULL;
        char *one = NULL;

        o->log_level = LOG_LEVEL_INFO;
        o->request_timeout_s = 30;
        o->resync_interval_ms = 2000;
        o->workers = 4;
        o->max_vms = 10000;
        o->vmm_api_timeout_ms = 5000;
        o->http_timeout_s = 30;
        o->http_connection_limit = 512;
        o->http_per_ip_limit = 128;
        o->http_body_deadline_s = 30;
        o->console_max_bytes = 4u << 20;
        o->metrics_interval_ms = 10000;
        o->metrics_retention_ms = INT64_C(24) * 3600000;
        o->rollup_retention_ms = INT64_C(90) * 86400000;
        o->network_firewall = true;

        /* The environment first; the command line then overrides it. A repeatable
         * option given on the command line replaces the environment's list. */
        for (size_t i = 0; i < ELEMENTSOF(option_table); i++) {
                const char *v = getenv(option_table[i].env);
                if (!v || !*v)
                        continue;
                if (option_table[i].id == OPT_ASSET_ROOT) {
                        _cleanup_free_ char *list = strdup(v);
                        if (!list)
                                return -ENOMEM;
                        char *save = NULL;
                        o->source[i] = OPTION_ENV;
                        for (char *t = strtok_r(list, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
                                int r = add_asset_root(o, t, &one);
                                if (r == -EINVAL)
                                        r = collect_error(&errors,
                                                          strdup_printf("%s: %s", option_table[i].env, one)),
                                        one = mfree(one);
                                if (r < 0)
                                        return r;
                        }
                        continue;
                }
                o->source[i] = OPTION_ENV;
                if (option_table[i].id == OPT_NETWORK) {
                        _cleanup_free_ char *list = strdup(v);
                        if (!list)
                                return -ENOMEM;
                        char *save = NULL;
                        int r = 0;
                        for (char *t = strtok_r(list, ";", &save); t && r >= 0;
                             t = strtok_r(NULL, ";", &save)) {
                                r = add_network(o, t, &one);
                                if (r == -EINVAL)
                                        r = collect_error(&errors,
                                                          strdup_printf("%s: %s", option_table[i].env, one)),
                                        one = mfree(one);
                        }
                        if (r < 0)
                                return r;
                        continue;
                }
                if (option_repeatable(option_table[i].id)) {
                        _cleanup_free_ char *list = strdup(v);
                        if (!list)
                                return -ENOMEM;
                        char *save = NULL;
                        int r = 0;
                        for (char *t = strtok_r(list, " \t\n", &save); t && r >= 0;
                             t = strtok_r(NULL, " \t\n", &save)) {
                                r = apply(o, option_table[i].id, option_table[i].name, t, &one);
                                if (r == -EINVAL)
                                        r = collect_error(&errors,
                                                          strdup_printf("%s: %s", option_table[i].env, one)),
                                        one = mfree(one);
                        }
                        if (r < 0)
                                return r;
                        continue;
                }
                int r = apply(o, option_table[i].id, option_table[i].name, v, &one);
                if (r == -EINVAL)
                        r = collect_error(&errors, strdup_printf("%s: %s", option_table[i].env, one)),
                        one = mfree(one);
                if (r < 0)
                        return r;
        }

        bool cli_roots = false, cli_networks = false;
        bool cli_lists[OPT_HASH_TOKEN + 1] = { false };
        int c;
        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0) {
                if (c == 'h') {
                        o->help = true;
                        continue;
                }
                if (c == OPT_VERSION) {
                        o->version = true;
                        continue;
                }
                if (c == OPT_CHECK_CONFIG) {
                        o->check_config = true;
                        continue;
                }
                if (c == OPT_HASH_TOKEN) {
                        o->hash_token = true;
                        continue;
                }
                if (c == '?' || c == ':') {
                        int r = collect_error(
                                &errors, strdup_printf("unknown option or missing value: %s (see --help)",
                                                       argv[optind - 1]));
                        if (r < 0)
                                return r;
                        continue;
                }
                if (c == OPT_ASSET_ROOT && !cli_roots) {
                        for (size_t i = 0; i < o->n_asset_roots; i++)
                                free(o->asset_roots[i]);
                        o->n_asset_roots = 0;
                        cli_roots = true;
                }
                if (c == OPT_NETWORK && !cli_networks) {
                        o->n_networks = 0;
                        cli_networks = true;
                }
                int row = row_of(c);
                if (row < 0)
                        continue;
                o->source[row] = OPTION_FLAG;
                if (option_repeatable(c) && !cli_lists[c]) {
                        clear_list(o, c);
                        cli_lists[c] = true;
                }
                int r = apply(o, c, option_table[row].name, optarg ? optarg : "1", &one);
                if (r == -EINVAL)
                        r = collect_error(&errors, TAKE_PTR(one));
                if (r < 0)
                        return r;
        }
        if (optind < argc) {
                int r = collect_error(
                        &errors, strdup_printf("unexpected argument \"%s\" (see --help)", argv[optind]));
                if (r < 0)
                        return r;
        }
        if (errors) {
                *ret_error = TAKE_PTR(errors);
                return -EINVAL;
        }

        if (o->n_listens == 0 && apply(o, OPT_LISTEN, "listen", "127.0.0.1:8080", ret_error) < 0)
                return -ENOMEM;
        int r = check_combinations(o, ret_error);
        if (r < 0)
                return r;
        if (!o->data_dir && set_string(&o->data_dir, "/var/lib/metald") < 0)
                return -ENOMEM;
        if (!o->firecracker_binary && set_string(&o->firecracker_binary, "firecracker") < 0)
                return -ENOMEM;
        if (!o->cloud_hypervisor_binary && set_string(&o->cloud_hypervisor_binary, "cloud-hypervisor") < 0)
                return -ENOMEM;
        if (!o->qemu_binary && set_string(&o->qemu_binary, "qemu-system-x86_64") < 0)
                return -ENOMEM;
        if (!o->default_backend && set_string(&o->default_backend, "firecracker") < 0)
                return -ENOMEM;
        if (!o->vmm_user && set_string(&o->vmm_user, "metald-vmm") < 0)
                return -ENOMEM;
        if (o->n_asset_roots == 0 && add_asset_root(o, "/opt/vm-assets", ret_error) < 0)
                return -ENOMEM;
        return 0;
}

void options_done(Options *o) {
        for (size_t i = 0; i < o->n_listens; i++)
                free(o->listens[i]);
        free(o->socket_group);
        free(o->tokens);
        free(o->tls_cert);
        free(o->tls_key);
        free(o->tls_client_ca);
        free(o->data_dir);
        free(o->firecracker_binary);
        free(o->cloud_hypervisor_binary);
        free(o->qemu_binary);
        free(o->default_backend);
        free(o->vmm_user);
        free(o->jailer_binary);
        free(o->jailer_chroot_base);
        for (size_t i = 0; i < o->n_asset_roots; i++)
                free(o->asset_roots[i]);
        *o = (Options){ 0 };
}

/* The effective value of the option in row i, as text into buf. */
/* Options whose effective value prints as it is stored: a string (or what
 * its absence means) or an unsigned number. The others are in format_value. */
typedef enum ValueKind { VALUE_STRING, VALUE_UNSIGNED } ValueKind;
static const struct {
        int id;
        ValueKind kind;
        size_t offset; /* into Options */
        const char *unset; /* printed for a NULL string */
} plain_values[] = {
        { OPT_DATA_DIR, VALUE_STRING, offsetof(Options, data_dir), "" },
        { OPT_FIRECRACKER_BINARY, VALUE_STRING, offsetof(Options, firecracker_binary), "" },
        { OPT_CLOUD_HYPERVISOR_BINARY, VALUE_STRING, offsetof(Options, cloud_hypervisor_binary), "" },
        { OPT_QEMU_BINARY, VALUE_STRING, offsetof(Options, qemu_binary), "" },
        { OPT_DEFAULT_BACKEND, VALUE_STRING, offsetof(Options, default_backend), "" },
        { OPT_VMM_USER, VALUE_STRING, offsetof(Options, vmm_user), "" },
        { OPT_JAILER_BINARY, VALUE_STRING, offsetof(Options, jailer_binary), "(none)" },
        { OPT_SOCKET_GROUP, VALUE_STRING, offsetof(Options, socket_group), "(metald's)" },
        { OPT_TOKENS, VALUE_STRING, offsetof(Options, tokens), "(none)" },
        { OPT_TLS_CERT, VALUE_STRING, offsetof(Options, tls_cert), "(none)" },
        { OPT_TLS_KEY, VALUE_STRING, offsetof(Options, tls_key), "(none)" },
        { OPT_TLS_CLIENT_CA, VALUE_STRING, offsetof(Options, tls_client_ca), "(none)" },
        { OPT_REQUEST_TIMEOUT, VALUE_UNSIGNED, offsetof(Options, request_timeout_s), NULL },
        { OPT_RESYNC_INTERVAL, VALUE_UNSIGNED, offsetof(Options, resync_interval_ms), NULL },
        { OPT_WORKERS, VALUE_UNSIGNED, offsetof(Options, workers), NULL },
        { OPT_MAX_VMS, VALUE_UNSIGNED, offsetof(Options, max_vms), NULL },
        { OPT_VMM_API_TIMEOUT, VALUE_UNSIGNED, offsetof(Options, vmm_api_timeout_ms), NULL },
        { OPT_HTTP_TIMEOUT, VALUE_UNSIGNED, offsetof(Options, http_timeout_s), NULL },
        { OPT_HTTP_CONNECTION_LIMIT, VALUE_UNSIGNED, offsetof(Options, http_connection_limit), NULL },
        { OPT_HTTP_PER_IP_LIMIT, VALUE_UNSIGNED, offsetof(Options, http_per_ip_limit), NULL },
        { OPT_HTTP_BODY_DEADLINE, VALUE_UNSIGNED, offsetof(Options, http_body_deadline_s), NULL },
};

static void format_value(const Options *o, int id, char *buf, size_t size) {
        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(plain_values); i++) {
                if (plain_values[i].id != id)
                        continue;
                const char *base = (const char *) o + plain_values[i].offset;
                if (plain_values[i].kind == VALUE_UNSIGNED) {
                        snprintf(buf, size, "%u", *(const unsigned *) (const void *) base);
                } else {
                        const char *v = *(char *const *) (const void *) base;
                        snprintf(buf, size, "%s", v ? v : plain_values[i].unset);
                }
                return;
        }
        switch (id) {
        case OPT_LISTEN:
                for (size_t i = 0, len = 0; i < o->n_listens && len < size; i++)
                        len += (size_t) snprintf(buf + len, size - len, "%s%s", i ? " " : "", o->listens[i]);
                break;
        case OPT_ASSET_ROOT:
                for (size_t i = 0, len = 0; i < o->n_asset_roots && len < size; i++)
                        len += (size_t) snprintf(buf + len, size - len, "%s%s", i ? ":" : "",
                                                 o->asset_roots[i]);
                break;
        case OPT_LOG_LEVEL:
                snprintf(buf, size, "%s", log_level_to_string(o->log_level));
                break;
        case OPT_CONSOLE_MAX:
                snprintf(buf, size, "%" PRIu64, o->console_max_bytes);
                break;
        case OPT_METRICS_INTERVAL:
                snprintf(buf, size, "%g", o->metrics_interval_ms / 1000.0);
                break;
        case OPT_METRICS_RETENTION:
                snprintf(buf, size, "%g", (double) o->metrics_retention_ms / 3600000.0);
                break;
        case OPT_ROLLUP_RETENTION:
                snprintf(buf, size, "%g", (double) o->rollup_retention_ms / 86400000.0);
                break;
        case OPT_JAILER_CHROOT_BASE:
                if (o->jailer_chroot_base)
                        snprintf(buf, size, "%s", o->jailer_chroot_base);
                else
                        snprintf(buf, size, "%s/jailer", o->data_dir ? o->data_dir : "");
                break;
        case OPT_JAILER_CGROUP_VERSION:
                if (o->jailer_cgroup_version)
                        snprintf(buf, size, "%u", o->jailer_cgroup_version);
                else
                        snprintf(buf, size, "(detect)");
                break;
        case OPT_UNIX_USER:
        case OPT_TLS_CLIENT_MAP: {
                const PrincipalRule *rules = id == OPT_UNIX_USER ? o->unix_users : o->tls_client_maps;
                size_t n = id == OPT_UNIX_USER ? o->n_unix_users : o->n_tls_client_maps;
                for (size_t i = 0, len = 0; i < n && len < size; i++)
                        len += (size_t) snprintf(buf + len, size - len, "%s%s=%s%s%s", i ? " " : "",
                                                 rules[i].name, caller_role_to_string(rules[i].caller.role),
                                                 rules[i].caller.tenant[0] ? ":" : "",
                                                 rules[i].caller.tenant);
                if (n == 0)
                        snprintf(buf, size, "(none)");
                break;
        }
        case OPT_INSECURE:
                snprintf(buf, size, "%s", o->insecure ? "yes" : "no");
                break;
        case OPT_TENANT_QUOTA:
                for (size_t i = 0, len = 0; i < o->n_tenant_quotas && len < size; i++)
                        len += (size_t) snprintf(buf + len, size - len,
                                                 "%s%s:vms=%" PRIu64 ",vcpus=%" PRIu64 ",memory=%" PRIu64,
                                                 i ? " " : "", o->tenant_quotas[i].tenant,
                                                 o->tenant_quotas[i].vms, o->tenant_quotas[i].vcpus,
                                                 o->tenant_quotas[i].memory_bytes);
                if (o->n_tenant_quotas == 0)
                        snprintf(buf, size, "(none)");
                break;
        case OPT_HOST_VCPUS:
                if (o->host_vcpus)
                        snprintf(buf, size, "%u", o->host_vcpus);
                else
                        snprintf(buf, size, "(the host's)");
                break;
        case OPT_HOST_MEMORY:
                if (o->host_memory)
                        snprintf(buf, size, "%" PRIu64, o->host_memory);
                else
                        snprintf(buf, size, "(the host's)");
                break;
        case OPT_NETWORK:
                for (size_t i = 0, len = 0; i < o->n_networks && len < size; i++) {
                        char net[16], gw[16];
                        len += (size_t) snprintf(
                                buf + len, size - len, "%s%s=%s/%u,gateway=%s,bridge=%s", i ? " " : "",
                                o->networks[i].name, ipv4_format(o->networks[i].v4_net, net),
                                o->networks[i].v4_prefix, ipv4_format(o->networks[i].v4_gateway, gw),
                                o->networks[i].bridge);
                }
                if (o->n_networks == 0)
                        snprintf(buf, size, "(none)");
                break;
        case OPT_NETWORK_FIREWALL:
                snprintf(buf, size, "%s", o->network_firewall ? "yes" : "no");
                break;
        case OPT_OVERCOMMIT:
                snprintf(buf, size, "%g", o->overcommit > 0 ? o->overcommit : 1.0);
                break;
        default:
                snprintf(buf, size, "?");
        }
}

void options_dump(const Options *o, FILE *f) {
        for (size_t i = 0; i < ELEMENTSOF(option_table); i++) {
                char value[1024], from[80];
                format_value(o, option_table[i].id, value, sizeof value);
                if (o->source[i] == OPTION_FLAG)
                        snprintf(from, sizeof from, "flag --%s", option_table[i].name);
                else if (o->source[i] == OPTION_ENV)
                        snprintf(from, sizeof from, "env %s", option_table[i].env);
                else
                        snprintf(from, sizeof from, "default");
                fprintf(f, "  %-28s %-40s (%s)\n", option_table[i].name, value, from);
        }
}
