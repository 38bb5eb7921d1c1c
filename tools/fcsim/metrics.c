/* SPDX-License-Identifier: Apache-2.0 */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

/* The field lists follow Firecracker's FirecrackerMetrics serialization. */
static const char *const api_server_fields[] = { "process_startup_time_us", "process_startup_time_cpu_us" };
static const char *const balloon_fields[] = { "activate_fails",     "inflate_count", "stats_updates_count",
                                              "stats_update_fails", "deflate_count", "event_fails" };
static const char *const block_fields[] = { "activate_fails",
                                            "cfg_fails",
                                            "no_avail_buffer",
                                            "event_fails",
                                            "execute_fails",
                                            "invalid_reqs_count",
                                            "flush_count",
                                            "queue_event_count",
                                            "rate_limiter_event_count",
                                            "update_count",
                                            "update_fails",
                                            "read_bytes",
                                            "write_bytes",
                                            "read_count",
                                            "write_count",
                                            "rate_limiter_throttled_events",
                                            "io_engine_throttled_events",
                                            "remaining_reqs_count",
                                            "read_agg.min_us",
                                            "read_agg.max_us",
                                            "read_agg.sum_us",
                                            "write_agg.min_us",
                                            "write_agg.max_us",
                                            "write_agg.sum_us" };
static const char *const deprecated_api_fields[] = { "deprecated_http_api_calls",
                                                     "deprecated_cmd_line_api_calls" };
static const char *const get_api_fields[] = { "instance_info_count", "machine_cfg_count", "mmds_count",
                                              "vmm_version_count", "hotplug_memory_count" };
static const char *const i8042_fields[] = { "error_count", "missed_read_count", "missed_write_count",
                                            "read_count",  "reset_count",       "write_count" };
static const char *const latencies_fields[] = { "full_create_snapshot",
                                                "diff_create_snapshot",
                                                "load_snapshot",
                                                "pause_vm",
                                                "resume_vm",
                                                "vmm_full_create_snapshot",
                                                "vmm_diff_create_snapshot",
                                                "vmm_load_snapshot",
                                                "vmm_pause_vm",
                                                "vmm_resume_vm" };
static const char *const logger_fields[] = { "missed_metrics_count", "metrics_fails", "missed_log_count",
                                             "log_fails" };
static const char *const mmds_fields[] = { "rx_accepted",
                                           "rx_accepted_err",
                                           "rx_accepted_unusual",
                                           "rx_bad_eth",
                                           "rx_invalid_token",
                                           "rx_no_token",
                                           "rx_count",
                                           "tx_bytes",
                                           "tx_count",
                                           "tx_errors",
                                           "tx_frames",
                                           "connections_created",
                                           "connections_destroyed" };
static const char *const net_fields[] = { "activate_fails",
                                          "cfg_fails",
                                          "mac_address_updates",
                                          "no_rx_avail_buffer",
                                          "no_tx_avail_buffer",
                                          "event_fails",
                                          "rx_queue_event_count",
                                          "rx_event_rate_limiter_count",
                                          "rx_tap_event_count",
                                          "rx_bytes_count",
                                          "rx_packets_count",
                                          "rx_fails",
                                          "rx_count",
                                          "tap_read_fails",
                                          "tap_write_fails",
                                          "tx_bytes_count",
                                          "tx_malformed_frames",
                                          "tx_fails",
                                          "tx_count",
                                          "tx_packets_count",
                                          "tx_queue_event_count",
                                          "tx_rate_limiter_event_count",
                                          "tx_rate_limiter_throttled",
                                          "tx_spoofed_mac_count",
                                          "tx_remaining_reqs_count" };
static const char *const patch_api_fields[] = { "drive_count",   "drive_fails",       "network_count",
                                                "network_fails", "machine_cfg_count", "machine_cfg_fails",
                                                "mmds_count",    "mmds_fails" };
static const char *const put_api_fields[] = {
        "actions_count", "actions_fails", "boot_source_count", "boot_source_fails", "drive_count",
        "drive_fails",   "logger_count",  "logger_fails",      "machine_cfg_count", "machine_cfg_fails",
        "cpu_cfg_count", "cpu_cfg_fails", "metrics_count",     "metrics_fails",     "network_count",
        "network_fails", "mmds_count",    "mmds_fails",        "vsock_count",       "vsock_fails",
        "serial_count",  "serial_fails"
};
static const char *const rtc_fields[] = { "error_count", "missed_read_count", "missed_write_count" };
static const char *const seccomp_fields[] = { "num_faults" };
static const char *const vcpu_fields[] = { "exit_io_in",
                                           "exit_io_out",
                                           "exit_mmio_read",
                                           "exit_mmio_write",
                                           "failures",
                                           "exit_io_in_agg.min_us",
                                           "exit_io_in_agg.max_us",
                                           "exit_io_in_agg.sum_us",
                                           "exit_io_out_agg.min_us",
                                           "exit_io_out_agg.max_us",
                                           "exit_io_out_agg.sum_us",
                                           "exit_mmio_read_agg.min_us",
                                           "exit_mmio_read_agg.max_us",
                                           "exit_mmio_read_agg.sum_us",
                                           "exit_mmio_write_agg.min_us",
                                           "exit_mmio_write_agg.max_us",
                                           "exit_mmio_write_agg.sum_us" };
static const char *const vmm_fields[] = { "panic_count" };
static const char *const uart_fields[] = { "error_count",        "flush_count", "missed_read_count",
                                           "missed_write_count", "read_count",  "write_count" };
static const char *const signals_fields[] = { "sigbus",  "sigsegv", "sigxfsz", "sigxcpu",
                                              "sigpipe", "sighup",  "sigill" };
static const char *const vsock_fields[] = {
        "activate_fails",       "cfg_fails",         "rx_queue_event_fails", "tx_queue_event_fails",
        "ev_queue_event_fails", "muxer_event_fails", "conn_event_fails",     "rx_queue_event_count",
        "tx_queue_event_count", "rx_bytes_count",    "tx_bytes_count",       "rx_packets_count",
        "tx_packets_count",     "conns_added",       "conns_killed",         "conns_removed",
        "killq_resync",         "tx_flush_fails",    "tx_write_fails",       "rx_read_fails"
};
static const char *const entropy_fields[] = { "activate_fails",          "entropy_event_fails",
                                              "entropy_event_count",     "entropy_bytes",
                                              "host_rng_fails",          "entropy_rate_limiter_throttled",
                                              "rate_limiter_event_count" };
static const char *const interrupts_fields[] = { "triggers", "config_updates" };

typedef struct GroupDef {
        const char *name;
        const char *const *fields;
        size_t n;
        bool absolute; /* every field is a SharedStoreMetric */
} GroupDef;

#define GROUP(n, f, a)                                                                                      \
        { n, f, sizeof(f) / sizeof(f[0]), a }
static const GroupDef group_defs[] = {
        GROUP("api_server", api_server_fields, true),
        GROUP("balloon", balloon_fields, false),
        GROUP("block", block_fields, false),
        GROUP("deprecated_api", deprecated_api_fields, false),
        GROUP("entropy", entropy_fields, false),
        GROUP("get_api_requests", get_api_fields, false),
        GROUP("i8042", i8042_fields, false),
        GROUP("interrupts", interrupts_fields, false),
        GROUP("latencies_us", latencies_fields, true),
        GROUP("logger", logger_fields, false),
        GROUP("mmds", mmds_fields, false),
        GROUP("net", net_fields, false),
        GROUP("patch_api_requests", patch_api_fields, false),
        GROUP("put_api_requests", put_api_fields, false),
        GROUP("rtc", rtc_fields, false),
        GROUP("seccomp", seccomp_fields, false),
        GROUP("vcpu", vcpu_fields, false),
        GROUP("vmm", vmm_fields, false),
        GROUP("uart", uart_fields, false),
        GROUP("signals", signals_fields, false),
        GROUP("vsock", vsock_fields, false),
};

typedef struct Group {
        char *key;
        const GroupDef *def;
        uint64_t *vals;
} Group;

struct Metrics {
        int fd;
        bool regular;
        char *path;
        Group *groups;
        size_t n_groups;
};

static bool field_absolute(const GroupDef *g, const char *field) {
        if (g->absolute)
                return true;
        const char *dot = strchr(field, '.');
        return dot && (strcmp(dot, ".min_us") == 0 || strcmp(dot, ".max_us") == 0);
}

static const GroupDef *find_def(const char *name) {
        for (size_t i = 0; i < sizeof(group_defs) / sizeof(group_defs[0]); i++)
                if (strcmp(group_defs[i].name, name) == 0)
                        return &group_defs[i];
        return NULL;
}

static int add_group(Metrics *m, const GroupDef *def, const char *key) {
        Group *g = realloc(m->groups, (m->n_groups + 1) * sizeof(Group));
        if (!g)
                return -ENOMEM;
        m->groups = g;
        g = &m->groups[m->n_groups];
        g->def = def;
        g->key = strdup(key);
        g->vals = calloc(def->n, sizeof(uint64_t));
        if (!g->key || !g->vals) {
                free(g->key);
                free(g->vals);
                return -ENOMEM;
        }
        m->n_groups++;
        return 0;
}

int metrics_new(Metrics **ret) {
        Metrics *m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->fd = -EBADF;
        for (size_t i = 0; i < sizeof(group_defs) / sizeof(group_defs[0]); i++)
                if (add_group(m, &group_defs[i], group_defs[i].name) < 0) {
                        metrics_free(m);
                        return -ENOMEM;
                }
        *ret = m;
        return 0;
}

Metrics *metrics_free(Metrics *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_groups; i++) {
                free(m->groups[i].key);
                free(m->groups[i].vals);
        }
        free(m->groups);
        if (m->fd >= 0)
                close(m->fd);
        free(m->path);
        free(m);
        return NULL;
}

int metrics_open(Metrics *m, const char *path) {
        if (m->fd >= 0)
                return -EALREADY;
        /* Read-write so that opening a FIFO never blocks for want of a reader. */
        int fd = open(path, O_RDWR | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        char *p = strdup(path);
        if (!p) {
                close(fd);
                return -ENOMEM;
        }
        struct stat st;
        m->regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
        m->fd = fd;
        m->path = p;
        return 0;
}

bool metrics_is_open(const Metrics *m) {
        return m->fd >= 0;
}

const char *metrics_path(const Metrics *m) {
        return m->path;
}

int metrics_add_device(Metrics *m, const char *kind, const char *key) {
        for (size_t i = 0; i < m->n_groups; i++)
                if (strcmp(m->groups[i].key, key) == 0)
                        return 0;
        const GroupDef *def = find_def(kind);
        return def ? add_group(m, def, key) : -EINVAL;
}

static uint64_t *lookup(Metrics *m, const char *group, const char *field, bool *absolute) {
        for (size_t i = 0; i < m->n_groups; i++) {
                Group *g = &m->groups[i];
                if (strcmp(g->key, group) != 0)
                        continue;
                for (size_t k = 0; k < g->def->n; k++)
                        if (strcmp(g->def->fields[k], field) == 0) {
                                *absolute = field_absolute(g->def, field);
                                return &g->vals[k];
                        }
        }
        return NULL;
}

void metrics_add(Metrics *m, const char *group, const char *field, uint64_t delta) {
        bool absolute;
        uint64_t *v = lookup(m, group, field, &absolute);
        if (v)
                *v += delta;
}

void metrics_set(Metrics *m, const char *group, const char *field, uint64_t value) {
        bool absolute;
        uint64_t *v = lookup(m, group, field, &absolute);
        if (v)
                *v = value;
}

static json_t *group_json(const Group *g) {
        json_t *o = json_object();
        if (!o)
                return NULL;
        for (size_t k = 0; k < g->def->n; k++) {
                const char *f = g->def->fields[k];
                const char *dot = strchr(f, '.');
                json_t *target = o;
                if (dot) {
                        char sub[64];
                        size_t n = (size_t) (dot - f);
                        if (n >= sizeof(sub))
                                continue;
                        memcpy(sub, f, n);
                        sub[n] = 0;
                        target = json_object_get(o, sub);
                        if (!target) {
                                target = json_object();
                                if (json_object_set_new(o, sub, target) < 0)
                                        goto oom;
                        }
                        f = dot + 1;
                }
                if (json_object_set_new(target, f, json_integer((json_int_t) g->vals[k])) < 0)
                        goto oom;
        }
        return o;
oom:
        json_decref(o);
        return NULL;
}

int metrics_flush(Metrics *m) {
        if (m->fd < 0)
                return 0;
        struct timeval tv;
        gettimeofday(&tv, NULL);
        json_t *o = json_object();
        int r = -ENOMEM;
        if (!o || json_object_set_new(o, "utc_timestamp_ms",
                                      json_integer((json_int_t) tv.tv_sec * 1000 + tv.tv_usec / 1000)) < 0)
                goto out;
        for (size_t i = 0; i < m->n_groups; i++) {
                json_t *g = group_json(&m->groups[i]);
                if (!g || json_object_set_new(o, m->groups[i].key, g) < 0)
                        goto out;
        }
        char *line = json_dumps(o, JSON_COMPACT);
        if (!line)
                goto out;
        /* Serializing takes the deltas (Firecracker's fetch_diff): they restart
         * at zero whether or not the line makes it out. */
        for (size_t i = 0; i < m->n_groups; i++)
                for (size_t k = 0; k < m->groups[i].def->n; k++)
                        if (!field_absolute(m->groups[i].def, m->groups[i].def->fields[k]))
                                m->groups[i].vals[k] = 0;
        size_t len = strlen(line);
        line[len] = '\n'; /* one write per line: replace the NUL by the newline */
        if (m->regular)
                (void) lseek(m->fd, 0, SEEK_END);
        ssize_t w = write(m->fd, line, len + 1);
        r = w == (ssize_t) (len + 1) ? 0 : (w < 0 ? -errno : -EAGAIN);
        free(line);
        if (r < 0)
                metrics_add(m, "logger", "missed_metrics_count", 1);
out:
        json_decref(o);
        return r;
}
