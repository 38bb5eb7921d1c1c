/* SPDX-License-Identifier: Apache-2.0 */
#include "options.h"

#include <getopt.h>
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
        OPT_CONSOLE_MAX,
        OPT_METRICS_INTERVAL,
        OPT_METRICS_RETENTION,
        OPT_ROLLUP_RETENTION,
        OPT_NETWORK,
        OPT_NETWORK_FIREWALL,
        OPT_VERSION,
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
        { "listen", OPT_LISTEN, "METALD_LISTEN", "HOST:PORT",
          "address of the Connect API (default 127.0.0.1:8080)" },
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
};

void options_help(const char *argv0) {
        printf("Usage: %s [OPTIONS]\n\n"
               "metald: a VM control plane. Serves the vmprovisioner.v1.VmService Connect API,\n"
               "keeps desired state in SQLite and drives each VM's hypervisor towards it.\n\n"
               "Options (each also settable by the environment variable shown):\n",
               argv0);
        for (size_t i = 0; i < ELEMENTSOF(option_table); i++) {
                char left[64];
                snprintf(left, sizeof left, "--%s %s", option_table[i].name, option_table[i].arg);
                printf("  %-32s %s\n  %-32s [%s]\n", left, option_table[i].help, "", option_table[i].env);
        }
        printf("  %-32s %s\n  %-32s %s\n", "--help", "show this help", "--version", "show the version");
        printf("\nSignals: SIGTERM/SIGINT stop serving, finish requests in flight and exit 0;\n"
               "the VMs keep running and are reattached at the next start.\n");
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
                return set_string(&o->listen, v);
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

int options_parse(int argc, char *argv[], Options *o, char **ret_error) {
        struct option longopts[ELEMENTSOF(option_table) + 3];
        size_t n = 0;
        for (size_t i = 0; i < ELEMENTSOF(option_table); i++)
                longopts[n++] =
                        (struct option){ option_table[i].name, required_argument, NULL, option_table[i].id };
        longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
        longopts[n++] = (struct option){ "version", no_argument, NULL, OPT_VERSION };
        longopts[n] = (struct option){ 0 };

        o->log_level = LOG_LEVEL_INFO;
        o->request_timeout_s = 30;
        o->resync_interval_ms = 2000;
        o->workers = 4;
        o->max_vms = 10000;
        o->vmm_api_timeout_ms = 5000;
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
                        for (char *t = strtok_r(list, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
                                int r = add_asset_root(o, t, ret_error);
                                if (r < 0)
                                        return r;
                        }
                        continue;
                }
                if (option_table[i].id == OPT_NETWORK) {
                        _cleanup_free_ char *list = strdup(v);
                        if (!list)
                                return -ENOMEM;
                        char *save = NULL;
                        for (char *t = strtok_r(list, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
                                int r = add_network(o, t, ret_error);
                                if (r < 0)
                                        return r;
                        }
                        continue;
                }
                int r = apply(o, option_table[i].id, option_table[i].name, v, ret_error);
                if (r < 0)
                        return r;
        }

        bool cli_roots = false, cli_networks = false;
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
                if (c == '?' || c == ':') {
                        *ret_error = strdup_printf("unknown option or missing value: %s (see --help)",
                                                   argv[optind - 1]);
                        return -EINVAL;
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
                const char *name = "";
                for (size_t i = 0; i < ELEMENTSOF(option_table); i++)
                        if (option_table[i].id == c)
                                name = option_table[i].name;
                int r = apply(o, c, name, optarg, ret_error);
                if (r < 0)
                        return r;
        }
        if (optind < argc) {
                *ret_error = strdup_printf("unexpected argument \"%s\" (see --help)", argv[optind]);
                return -EINVAL;
        }

        if (!o->listen && set_string(&o->listen, "127.0.0.1:8080") < 0)
                return -ENOMEM;
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
        if (o->n_asset_roots == 0 && add_asset_root(o, "/opt/vm-assets", ret_error) < 0)
                return -ENOMEM;
        return 0;
}

void options_done(Options *o) {
        free(o->listen);
        free(o->data_dir);
        free(o->firecracker_binary);
        free(o->cloud_hypervisor_binary);
        free(o->qemu_binary);
        free(o->default_backend);
        for (size_t i = 0; i < o->n_asset_roots; i++)
                free(o->asset_roots[i]);
        *o = (Options){ 0 };
}
