/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "logger.h"

/* Firecracker's DEFAULT_KERNEL_CMDLINE. */
#define DEFAULT_KERNEL_CMDLINE                                                                              \
        "reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux i8042.nopnp "            \
        "i8042.dumbkbd"
/* x86_64 CMDLINE_MAX_SIZE, including the terminating NUL. */
#define CMDLINE_MAX_SIZE 2048
#define MAX_VCPUS 32
#define MAX_DEVICES 64

typedef enum VmState {
        VM_NOT_STARTED,
        VM_RUNNING,
        VM_PAUSED,
} VmState;

typedef struct Drive {
        char *id, *path, *partuuid, *cache_type, *io_engine;
        bool root, ro;
        json_t *rate_limiter;
        int fd; /* the backing file, held open like Firecracker does */
} Drive;

typedef struct NetIf {
        char *id, *host_dev, *mac;
        json_t *rx, *tx;
        long mtu; /* -1: not set */
} NetIf;

struct Vmm {
        VmmSettings s;
        char *id;
        Metrics *metrics;
        VmState state;

        /* machine config (VmConfig) */
        unsigned vcpu_count;
        uint64_t mem_size_mib;
        bool smt, track_dirty_pages;
        char *cpu_template; /* NULL: None */
        char *huge_pages;

        /* boot source */
        bool has_boot_source;
        char *kernel_path, *initrd_path, *boot_args;
        int kernel_fd, initrd_fd;

        Drive drives[MAX_DEVICES]; /* a root device, if any, is first */
        size_t n_drives;
        NetIf nets[MAX_DEVICES];
        size_t n_nets;

        json_t *vsock; /* {"guest_cid","uds_path"} or NULL */
        int vsock_fd;
        json_t *entropy;
        json_t *mmds_config;
        json_t *mmds; /* NULL until the first PUT /mmds */
        char *serial_out_path;
        int console_fd;

        /* guest time */
        uint64_t run_ms; /* guest run time so far */
        uint64_t last_ms; /* monotonic time of the last advance() */
        int64_t cad_at, halt_at, reboot_at; /* guest-time deadlines, -1 none */
        bool reboot_hung;
        uint64_t next_metrics_ms; /* monotonic; 0: no periodic flush */

        bool exited;
        int exit_code;
};

typedef enum Action {
        ACT_BOOT_SOURCE,
        ACT_LOGGER,
        ACT_METRICS,
        ACT_SERIAL,
        ACT_MACHINE_CONFIG,
        ACT_VSOCK,
        ACT_ENTROPY,
        ACT_MMDS_CONFIG,
        ACT_START,
        ACT_INSERT_DRIVE,
        ACT_INSERT_NET,
        ACT_UPDATE_DRIVE,
        ACT_UPDATE_NET,
        ACT_FLUSH_METRICS,
        ACT_CTRL_ALT_DEL,
        ACT_PAUSE,
        ACT_RESUME,
        _ACT_MAX,
} Action;

/* Which phase accepts which action (Firecracker's handle_preboot_request and
 * RuntimeApiController::handle_request). Inserting a drive or a network
 * interface after boot is hotplug; see vmm_insert_drive(). GETs and MMDS
 * data are accepted in both phases and are not listed. */
static const struct {
        bool preboot, postboot;
} phases[_ACT_MAX] = {
        [ACT_BOOT_SOURCE] = { true, false },    [ACT_LOGGER] = { true, false },
        [ACT_METRICS] = { true, false },        [ACT_SERIAL] = { true, false },
        [ACT_MACHINE_CONFIG] = { true, false }, [ACT_VSOCK] = { true, false },
        [ACT_ENTROPY] = { true, false },        [ACT_MMDS_CONFIG] = { true, false },
        [ACT_START] = { true, false },          [ACT_INSERT_DRIVE] = { true, true },
        [ACT_INSERT_NET] = { true, true },      [ACT_UPDATE_DRIVE] = { false, true },
        [ACT_UPDATE_NET] = { false, true },     [ACT_FLUSH_METRICS] = { false, true },
        [ACT_CTRL_ALT_DEL] = { false, true },   [ACT_PAUSE] = { false, true },
        [ACT_RESUME] = { false, true },
};

/* ---- helpers ------------------------------------------------------------------ */

static uint64_t mono_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Rust's io::Error Display for an OS error. */
static const char *os_error(int err, char *buf, size_t size) {
        snprintf(buf, size, "%s (os error %d)", strerror(err), err);
        return buf;
}

static const char *jstr(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

static bool jbool(const json_t *o, const char *key, bool def) {
        json_t *v = json_object_get(o, key);
        return json_is_boolean(v) ? json_is_true(v) : def;
}

static bool jhas(const json_t *o, const char *key) {
        return json_object_get(o, key) != NULL;
}

static char *xstrdup(const char *s) {
        return s ? strdup(s) : NULL;
}

static bool phase_ok(Vmm *v, Action a, Reply *ret) {
        bool booted = v->state != VM_NOT_STARTED;
        if (booted && !phases[a].postboot) {
                *ret = reply_fault(400,
                                   "The requested operation is not supported after starting the microVM.");
                return false;
        }
        if (!booted && !phases[a].preboot) {
                *ret = reply_fault(400,
                                   "The requested operation is not supported before starting the microVM.");
                return false;
        }
        return true;
}

static void console_write(Vmm *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void console_write(Vmm *v, const char *fmt, ...) {
        char *s = NULL;
        va_list ap;
        va_start(ap, fmt);
        int n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        ssize_t w = write(v->console_fd, s, (size_t) n);
        if (w > 0)
                metrics_add(v->metrics, "uart", "write_count", (uint64_t) w);
        else
                metrics_add(v->metrics, "uart", "missed_write_count", (uint64_t) n);
        free(s);
}

/* Guest activity over guest time [from, to) ms: per-second rates turned into
 * counts without drift (floor(t * rate / 1000) differences). */
static uint64_t span(uint64_t from, uint64_t to, uint64_t per_sec) {
        return to * per_sec / 1000 - from * per_sec / 1000;
}

static void block_add(Vmm *v, const Drive *d, const char *field, uint64_t n) {
        char key[300];
        snprintf(key, sizeof(key), "block_%s", d->id);
        metrics_add(v->metrics, key, field, n);
        metrics_add(v->metrics, "block", field, n);
}

static void simulate(Vmm *v, uint64_t from, uint64_t to) {
        uint64_t c = v->vcpu_count;
        metrics_add(v->metrics, "vcpu", "exit_io_in", c * span(from, to, 40));
        metrics_add(v->metrics, "vcpu", "exit_io_out", c * span(from, to, 40));
        metrics_add(v->metrics, "vcpu", "exit_mmio_read", c * span(from, to, 25));
        metrics_add(v->metrics, "vcpu", "exit_mmio_write", c * span(from, to, 25));
        for (size_t i = 0; i < v->n_drives; i++) {
                const Drive *d = &v->drives[i];
                uint64_t reads = span(from, to, 8), writes = d->ro ? 0 : span(from, to, 2);
                block_add(v, d, "read_count", reads);
                block_add(v, d, "read_bytes", reads * 4096);
                block_add(v, d, "write_count", writes);
                block_add(v, d, "write_bytes", writes * 4096);
                block_add(v, d, "queue_event_count", reads + writes);
        }
        /* Network counters stay at zero: there is no traffic in a simulation. */
}

/* Bring guest time up to now, generating activity while running. */
static void advance(Vmm *v) {
        uint64_t now = mono_ms();
        if (v->state == VM_RUNNING && now > v->last_ms) {
                uint64_t from = v->run_ms;
                v->run_ms += now - v->last_ms;
                simulate(v, from, v->run_ms);
        }
        v->last_ms = now;
}

static void flush_metrics(Vmm *v) {
        advance(v);
        int r = metrics_flush(v->metrics);
        if (r < 0) {
                char e[128];
                log_error("fc_vmm", "Failed to write metrics: %s", os_error(-r, e, sizeof(e)));
        }
}

/* ---- lifecycle ----------------------------------------------------------------- */

int vmm_new(const VmmSettings *settings, Metrics *metrics, Vmm **ret) {
        Vmm *v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        v->s = *settings;
        v->id = strdup(settings->id);
        v->huge_pages = strdup("None");
        v->metrics = metrics;
        v->vcpu_count = 1;
        v->mem_size_mib = 128;
        v->kernel_fd = v->initrd_fd = v->vsock_fd = -EBADF;
        v->console_fd = STDOUT_FILENO;
        v->cad_at = v->halt_at = v->reboot_at = -1;
        v->last_ms = mono_ms();
        if (!v->id || !v->huge_pages) {
                vmm_free(v);
                return -ENOMEM;
        }
        metrics_set(metrics, "api_server", "process_startup_time_us", settings->start_time_us);
        *ret = v;
        return 0;
}

static void drive_clear(Drive *d) {
        free(d->id);
        free(d->path);
        free(d->partuuid);
        free(d->cache_type);
        free(d->io_engine);
        json_decref(d->rate_limiter);
        if (d->fd >= 0)
                close(d->fd);
        memset(d, 0, sizeof(*d));
        d->fd = -EBADF;
}

static void net_clear(NetIf *n) {
        free(n->id);
        free(n->host_dev);
        free(n->mac);
        json_decref(n->rx);
        json_decref(n->tx);
        memset(n, 0, sizeof(*n));
}

Vmm *vmm_free(Vmm *v) {
        if (!v)
                return NULL;
        for (size_t i = 0; i < v->n_drives; i++)
                drive_clear(&v->drives[i]);
        for (size_t i = 0; i < v->n_nets; i++)
                net_clear(&v->nets[i]);
        if (v->kernel_fd >= 0)
                close(v->kernel_fd);
        if (v->initrd_fd >= 0)
                close(v->initrd_fd);
        if (v->vsock_fd >= 0)
                close(v->vsock_fd);
        if (v->console_fd != STDOUT_FILENO)
                close(v->console_fd);
        json_decref(v->vsock);
        json_decref(v->entropy);
        json_decref(v->mmds_config);
        json_decref(v->mmds);
        free(v->id);
        free(v->cpu_template);
        free(v->huge_pages);
        free(v->kernel_path);
        free(v->initrd_path);
        free(v->boot_args);
        free(v->serial_out_path);
        free(v);
        return NULL;
}

bool vmm_exited(Vmm *v, int *ret_code) {
        if (v->exited && ret_code)
                *ret_code = v->exit_code;
        return v->exited;
}

void vmm_count_signal(Vmm *v, const char *name) {
        metrics_add(v->metrics, "signals", name, 1);
}

void vmm_flush_metrics(Vmm *v) {
        flush_metrics(v);
}

/* ---- GETs --------------------------------------------------------------------- */

static const char *state_name(VmState s) {
        switch (s) {
        case VM_NOT_STARTED:
                return "Not started";
        case VM_RUNNING:
                return "Running";
        case VM_PAUSED:
                return "Paused";
        }
        return "?";
}

Reply vmm_describe_instance(Vmm *v) {
        metrics_add(v->metrics, "get_api_requests", "instance_info_count", 1);
        return reply_json(json_pack("{s:s, s:s, s:s, s:s}", "id", v->id, "state", state_name(v->state),
                                    "vmm_version", FC_VERSION, "app_name", "Firecracker"));
}

Reply vmm_get_version(Vmm *v) {
        metrics_add(v->metrics, "get_api_requests", "vmm_version_count", 1);
        return reply_json(json_pack("{s:s}", "firecracker_version", FC_VERSION));
}

static json_t *machine_config_json(Vmm *v) {
        json_t *o = json_pack("{s:I, s:I, s:b}", "vcpu_count", (json_int_t) v->vcpu_count, "mem_size_mib",
                              (json_int_t) v->mem_size_mib, "smt", v->smt);
        if (!o)
                return NULL;
        if (v->cpu_template)
                json_object_set_new(o, "cpu_template", json_string(v->cpu_template));
        json_object_set_new(o, "track_dirty_pages", json_boolean(v->track_dirty_pages));
        json_object_set_new(o, "huge_pages", json_string(v->huge_pages));
        return o;
}

Reply vmm_get_machine_config(Vmm *v) {
        metrics_add(v->metrics, "get_api_requests", "machine_cfg_count", 1);
        return reply_json(machine_config_json(v));
}

static json_t *or_null(json_t *v) {
        return v ? json_incref(v) : json_null();
}

static json_t *str_or_null(const char *s) {
        return s ? json_string(s) : json_null();
}

Reply vmm_get_full_config(Vmm *v) {
        json_t *drives = json_array(), *nets = json_array(), *boot = json_object();
        for (size_t i = 0; i < v->n_drives; i++) {
                const Drive *d = &v->drives[i];
                json_array_append_new(
                        drives, json_pack("{s:s, s:o, s:b, s:s, s:b, s:s, s:o, s:s, s:n}", "drive_id", d->id,
                                          "partuuid", str_or_null(d->partuuid), "is_root_device", d->root,
                                          "cache_type", d->cache_type, "is_read_only", d->ro, "path_on_host",
                                          d->path, "rate_limiter", or_null(d->rate_limiter), "io_engine",
                                          d->io_engine, "socket"));
        }
        for (size_t i = 0; i < v->n_nets; i++) {
                const NetIf *n = &v->nets[i];
                json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:o}", "iface_id", n->id, "host_dev_name",
                                      n->host_dev, "guest_mac", str_or_null(n->mac), "rx_rate_limiter",
                                      or_null(n->rx), "tx_rate_limiter", or_null(n->tx));
                if (o && n->mtu >= 0)
                        json_object_set_new(o, "mtu", json_integer(n->mtu));
                json_array_append_new(nets, o);
        }
        if (boot) {
                json_object_set_new(boot, "kernel_image_path",
                                    json_string(v->kernel_path ? v->kernel_path : ""));
                json_object_set_new(boot, "initrd_path", str_or_null(v->initrd_path));
                if (v->boot_args)
                        json_object_set_new(boot, "boot_args", json_string(v->boot_args));
        }
        json_t *vsock =
                v->vsock ? json_pack("{s:O, s:O}", "guest_cid", json_object_get(v->vsock, "guest_cid"),
                                     "uds_path", json_object_get(v->vsock, "uds_path"))
                         : json_null();
        json_t *entropy = v->entropy ? json_pack("{s:o}", "rate_limiter",
                                                 or_null(json_object_get(v->entropy, "rate_limiter")))
                                     : json_null();
        return reply_json(json_pack("{s:n, s:o, s:o, s:n, s:n, s:o, s:n, s:o, s:o, s:o, s:o, s:[], s:n}",
                                    "balloon", "drives", drives, "boot-source", boot, "cpu-config", "logger",
                                    "machine-config", machine_config_json(v), "metrics", "mmds-config",
                                    or_null(v->mmds_config), "network-interfaces", nets, "vsock", vsock,
                                    "entropy", entropy, "pmem", "memory-hotplug"));
}

Reply vmm_get_mmds(Vmm *v) {
        metrics_add(v->metrics, "get_api_requests", "mmds_count", 1);
        if (!v->mmds || json_is_null(v->mmds))
                return reply_json(json_object());
        return reply_json(json_incref(v->mmds));
}

/* ---- machine config ------------------------------------------------------------ */

Reply vmm_update_machine_config(Vmm *v, json_t *cfg, bool put) {
        Reply r;
        if (!phase_ok(v, ACT_MACHINE_CONFIG, &r))
                return r;

        json_t *vc = json_object_get(cfg, "vcpu_count"), *mem = json_object_get(cfg, "mem_size_mib");
        /* PUT is MachineConfig -> MachineConfigUpdate: the optional fields it
         * leaves out go back to their defaults, except cpu_template. */
        bool smt = jhas(cfg, "smt") || put ? jbool(cfg, "smt", false) : v->smt;
        bool track = jhas(cfg, "track_dirty_pages") || put ? jbool(cfg, "track_dirty_pages", false)
                                                           : v->track_dirty_pages;
        const char *pages = jstr(cfg, "huge_pages");
        if (!pages)
                pages = put ? "None" : v->huge_pages;
        uint64_t vcpus = vc ? (uint64_t) json_integer_value(vc) : v->vcpu_count;
        uint64_t mem_mib = mem ? (uint64_t) json_integer_value(mem) : v->mem_size_mib;

        if (vcpus == 0 || vcpus > MAX_VCPUS || (smt && vcpus > 1 && vcpus % 2 == 1))
                return reply_fault(400,
                                   "Machine config error: The number of vCPUs must be greater than 0, less "
                                   "than %d and must be 1 or an even number if SMT is enabled.",
                                   MAX_VCPUS);
        if (mem_mib == 0 || (strcmp(pages, "2M") == 0 && mem_mib % 2 != 0))
                return reply_fault(400, "Machine config error: The memory size (MiB) is either 0, or not a "
                                        "multiple of the configured page size.");
        if (v->initrd_path && strcmp(pages, "2M") == 0)
                return reply_fault(400,
                                   "Machine config error: Firecracker's huge pages support is incompatible "
                                   "with initrds.");

        char *new_pages = strdup(pages), *new_template = v->cpu_template;
        const char *tmpl = jstr(cfg, "cpu_template");
        if (tmpl)
                new_template = strcmp(tmpl, "None") == 0 ? NULL : strdup(tmpl);
        if (!new_pages || (tmpl && strcmp(tmpl, "None") != 0 && !new_template)) {
                free(new_pages);
                return reply_fault(500, "out of memory");
        }
        if (new_template != v->cpu_template)
                free(v->cpu_template);
        v->cpu_template = new_template;
        free(v->huge_pages);
        v->huge_pages = new_pages;
        v->vcpu_count = (unsigned) vcpus;
        v->mem_size_mib = mem_mib;
        v->smt = smt;
        v->track_dirty_pages = track;
        return reply_empty();
}

/* ---- boot source --------------------------------------------------------------- */

static const char *cmdline_error(const char *args) {
        for (const char *p = args; *p; p++)
                if (*p < ' ' || *p > '~')
                        return "String contains a non-printable ASCII character";
        if (strlen(args) + 1 > CMDLINE_MAX_SIZE)
                return "Inserting string would make command line too long.";
        return NULL;
}

Reply vmm_set_boot_source(Vmm *v, json_t *cfg) {
        Reply r;
        char e[128];
        if (!phase_ok(v, ACT_BOOT_SOURCE, &r))
                return r;
        const char *kernel = jstr(cfg, "kernel_image_path"), *initrd = jstr(cfg, "initrd_path"),
                   *args = jstr(cfg, "boot_args");

        if (strcmp(v->huge_pages, "2M") == 0 && initrd)
                return reply_fault(400,
                                   "Boot source error: Firecracker's huge pages support is incompatible "
                                   "with initrds.");
        int kfd = open(kernel, O_RDONLY | O_CLOEXEC);
        if (kfd < 0)
                return reply_fault(400, "Boot source error: The kernel file cannot be opened: %s",
                                   os_error(errno, e, sizeof(e)));
        int ifd = -EBADF;
        if (initrd) {
                ifd = open(initrd, O_RDONLY | O_CLOEXEC);
                if (ifd < 0) {
                        int err = errno;
                        close(kfd);
                        return reply_fault(
                                400,
                                "Boot source error: The initrd file cannot be opened due to invalid "
                                "path or invalid permissions. %s",
                                os_error(err, e, sizeof(e)));
                }
        }
        const char *bad = cmdline_error(args ? args : DEFAULT_KERNEL_CMDLINE);
        if (bad) {
                close(kfd);
                if (ifd >= 0)
                        close(ifd);
                return reply_fault(400, "Boot source error: The kernel command line is invalid: %s", bad);
        }

        if (v->kernel_fd >= 0)
                close(v->kernel_fd);
        if (v->initrd_fd >= 0)
                close(v->initrd_fd);
        free(v->kernel_path);
        free(v->initrd_path);
        free(v->boot_args);
        v->kernel_fd = kfd;
        v->initrd_fd = ifd;
        v->kernel_path = xstrdup(kernel);
        v->initrd_path = xstrdup(initrd);
        v->boot_args = xstrdup(args);
        v->has_boot_source = true;
        return reply_empty();
}

/* ---- drives -------------------------------------------------------------------- */

static Drive *find_drive(Vmm *v, const char *id, size_t *ret_pos) {
        for (size_t i = 0; i < v->n_drives; i++)
                if (strcmp(v->drives[i].id, id) == 0) {
                        if (ret_pos)
                                *ret_pos = i;
                        return &v->drives[i];
                }
        return NULL;
}

Reply vmm_insert_drive(Vmm *v, json_t *cfg) {
        Reply r;
        char e[128];
        if (!phase_ok(v, ACT_INSERT_DRIVE, &r))
                return r;
        if (v->state != VM_NOT_STARTED && !v->s.enable_pci)
                return reply_fault(400, "PCI is not enabled");

        const char *id = jstr(cfg, "drive_id"), *path = jstr(cfg, "path_on_host");
        bool root = jbool(cfg, "is_root_device", false);
        bool ro = jbool(cfg, "is_read_only", false);
        size_t pos = 0;
        bool exists = find_drive(v, id, &pos) != NULL;

        /* BlockBuilder::insert: a second root device fails fast. */
        if (root && v->n_drives > 0 && v->drives[0].root && !(exists && pos == 0))
                return reply_fault(400, "Drive config error: A root block device already exists!");
        if (jhas(cfg, "socket"))
                return reply_fault(400,
                                   "Drive config error: Unable to create the virtio block device: Vhost "
                                   "user backend error: vhost-user-block is not simulated by fcsim");
        /* A virtio-block drive needs path_on_host; fcsim (per the API spec) also
         * requires is_read_only, which Firecracker would default to false. */
        if (!path || !jhas(cfg, "is_read_only"))
                return reply_fault(400,
                                   "Drive config error: Unable to create the virtio block device: Invalid "
                                   "block config.");
        if (!exists && v->n_drives == MAX_DEVICES)
                return reply_fault(400,
                                   "Drive config error: Unable to create the virtio block device: fcsim "
                                   "supports at most %d drives",
                                   MAX_DEVICES);
        int fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
        if (fd < 0)
                return reply_fault(
                        400,
                        "Drive config error: Unable to create the virtio block device: Virtio backend "
                        "error: Error manipulating the backing file: %s %s",
                        os_error(errno, e, sizeof(e)), path);

        char key[300];
        snprintf(key, sizeof(key), "block_%s", id);
        Drive d = {
                .id = strdup(id),
                .path = strdup(path),
                .partuuid = xstrdup(jstr(cfg, "partuuid")),
                .cache_type = strdup(jstr(cfg, "cache_type") ? jstr(cfg, "cache_type") : "Unsafe"),
                .io_engine = strdup(jstr(cfg, "io_engine") ? jstr(cfg, "io_engine") : "Sync"),
                .root = root,
                .ro = ro,
                .rate_limiter = json_incref(json_object_get(cfg, "rate_limiter")),
                .fd = fd,
        };
        if (!d.id || !d.path || !d.cache_type || !d.io_engine ||
            metrics_add_device(v->metrics, "block", key) < 0) {
                drive_clear(&d);
                return reply_fault(500, "out of memory");
        }

        if (exists) {
                drive_clear(&v->drives[pos]);
                v->drives[pos] = d;
                if (pos != 0 && root) {
                        Drive t = v->drives[0];
                        v->drives[0] = v->drives[pos];
                        v->drives[pos] = t;
                }
        } else if (root) {
                memmove(&v->drives[1], &v->drives[0], v->n_drives * sizeof(Drive));
                v->drives[0] = d;
                v->n_drives++;
        } else
                v->drives[v->n_drives++] = d;

        if (v->state != VM_NOT_STARTED)
                console_write(v, "[%5llu.%06llu] virtio_blk: hotplugged drive %s\n",
                              (unsigned long long) (v->run_ms / 1000),
                              (unsigned long long) (v->run_ms % 1000) * 1000, id);
        return reply_empty();
}

Reply vmm_update_drive(Vmm *v, json_t *cfg) {
        Reply r;
        char e[128];
        if (!phase_ok(v, ACT_UPDATE_DRIVE, &r))
                return r;
        const char *id = jstr(cfg, "drive_id"), *path = jstr(cfg, "path_on_host");
        json_t *rl = json_object_get(cfg, "rate_limiter");
        Drive *d = find_drive(v, id, NULL);
        if (!d)
                return reply_fault(400,
                                   "Drive config error: Unable to patch the block device: Device manager "
                                   "error: Device not found Please verify the request arguments.");
        if (!path && !rl)
                /* Firecracker then tries a vhost-user update, which a virtio drive refuses. */
                return reply_fault(400,
                                   "Drive config error: Unable to patch the block device: Block error: "
                                   "Running method expected different backend. Please verify the request "
                                   "arguments.");
        if (path) {
                int fd = open(path, (d->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
                if (fd < 0) {
                        metrics_add(v->metrics, "block", "update_fails", 1);
                        return reply_fault(
                                400,
                                "Drive config error: Unable to patch the block device: Virtio backend "
                                "error: Error manipulating the backing file: %s %s Please verify the "
                                "request arguments.",
                                os_error(errno, e, sizeof(e)), path);
                }
                char *p = strdup(path);
                if (!p) {
                        close(fd);
                        return reply_fault(500, "out of memory");
                }
                close(d->fd);
                d->fd = fd;
                free(d->path);
                d->path = p;
                block_add(v, d, "update_count", 1);
        }
        if (rl) {
                json_decref(d->rate_limiter);
                d->rate_limiter = json_incref(rl);
        }
        return reply_empty();
}

/* ---- network interfaces -------------------------------------------------------- */

static NetIf *find_net(Vmm *v, const char *id) {
        for (size_t i = 0; i < v->n_nets; i++)
                if (strcmp(v->nets[i].id, id) == 0)
                        return &v->nets[i];
        return NULL;
}

/* Opening the TAP: Firecracker's TUNSETIFF on host_dev_name. The simulation
 * only checks that the interface exists (/sys/class/net/<name>). Returns NULL
 * or the errno to report. */
static int tap_open_error(Vmm *v, const char *name, const char *self_id) {
        if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strpbrk(name, "/: \t\n"))
                return EINVAL;
        for (size_t i = 0; i < v->n_nets; i++)
                if (strcmp(v->nets[i].id, self_id) != 0 && strcmp(v->nets[i].host_dev, name) == 0)
                        return EBUSY;
        char path[64];
        struct stat st;
        snprintf(path, sizeof(path), "/sys/class/net/%s", name);
        if (stat(path, &st) < 0)
                return EPERM; /* TUNSETIFF for a new device without CAP_NET_ADMIN */
        return 0;
}

Reply vmm_insert_net(Vmm *v, json_t *cfg) {
        Reply r;
        char e[128];
        if (!phase_ok(v, ACT_INSERT_NET, &r))
                return r;
        if (v->state != VM_NOT_STARTED && !v->s.enable_pci)
                return reply_fault(400, "PCI is not enabled");

        const char *id = jstr(cfg, "iface_id"), *dev = jstr(cfg, "host_dev_name"),
                   *mac = jstr(cfg, "guest_mac");
        json_t *mtu = json_object_get(cfg, "mtu");
        if (mac)
                for (size_t i = 0; i < v->n_nets; i++)
                        if (strcmp(v->nets[i].id, id) != 0 && v->nets[i].mac &&
                            strcasecmp(v->nets[i].mac, mac) == 0) {
                                char lower[18];
                                for (size_t k = 0; k < sizeof(lower); k++)
                                        lower[k] = (char) tolower((unsigned char) mac[k]);
                                return reply_fault(
                                        400, "Network config error: The MAC address is already in use: %s",
                                        lower);
                        }
        /* NetBuilder::build removes an interface being replaced before creating
         * the new one: if that fails, the old one is gone too. */
        int err = tap_open_error(v, dev, id);
        NetIf *old = find_net(v, id);
        if (old) {
                net_clear(old);
                *old = v->nets[--v->n_nets];
                memset(&v->nets[v->n_nets], 0, sizeof(NetIf));
        }
        if (strlen(dev) >= 16)
                return reply_fault(400,
                                   "Network config error: Could not create the network device: Open tap "
                                   "device failed: Invalid interface name");
        if (err)
                return reply_fault(
                        400,
                        "Network config error: Could not create the network device: Open tap device "
                        "failed: Error while creating ifreq structure: %s. Invalid TUN/TAP Backend "
                        "provided by %s. Check our documentation on setting up the network devices.",
                        os_error(err, e, sizeof(e)), dev);
        if (mtu && json_integer_value(mtu) < 68)
                return reply_fault(400,
                                   "Network config error: Could not create the network device: Invalid MTU "
                                   "%lld: the minimum is 68",
                                   (long long) json_integer_value(mtu));
        if (v->n_nets == MAX_DEVICES)
                return reply_fault(400, "Network config error: fcsim supports at most %d interfaces",
                                   MAX_DEVICES);

        char key[300];
        snprintf(key, sizeof(key), "net_%s", id);
        NetIf n = {
                .id = strdup(id),
                .host_dev = strdup(dev),
                .mac = NULL,
                .rx = json_incref(json_object_get(cfg, "rx_rate_limiter")),
                .tx = json_incref(json_object_get(cfg, "tx_rate_limiter")),
                .mtu = mtu ? (long) json_integer_value(mtu) : -1,
        };
        if (mac) {
                n.mac = strdup(mac);
                for (char *p = n.mac; p && *p; p++)
                        *p = (char) tolower((unsigned char) *p);
        }
        if (!n.id || !n.host_dev || (mac && !n.mac) || metrics_add_device(v->metrics, "net", key) < 0) {
                net_clear(&n);
                return reply_fault(500, "out of memory");
        }
        v->nets[v->n_nets++] = n;
        return reply_empty();
}

Reply vmm_update_net(Vmm *v, json_t *cfg) {
        Reply r;
        if (!phase_ok(v, ACT_UPDATE_NET, &r))
                return r;
        NetIf *n = find_net(v, jstr(cfg, "iface_id"));
        if (!n)
                return reply_fault(400,
                                   "Network config error: Unable to update the net device: Device manager "
                                   "error: Device not found");
        json_t *rx = json_object_get(cfg, "rx_rate_limiter"), *tx = json_object_get(cfg, "tx_rate_limiter");
        if (rx) {
                json_decref(n->rx);
                n->rx = json_incref(rx);
        }
        if (tx) {
                json_decref(n->tx);
                n->tx = json_incref(tx);
        }
        return reply_empty();
}

/* ---- logger, metrics, serial, vsock, entropy ------------------------------------- */

Reply vmm_configure_logger(Vmm *v, json_t *cfg) {
        Reply r;
        char e[128];
        if (!phase_ok(v, ACT_LOGGER, &r))
                return r;
        const char *path = jstr(cfg, "log_path"), *level = jstr(cfg, "level");
        if (path) {
                int err = logger_open(path);
                if (err < 0)
                        return reply_fault(400, "Logger error: Failed to open target file: %s",
                                           os_error(-err, e, sizeof(e)));
        }
        if (level) {
                LogLevel l = LOG_LVL_INFO;
                (void) logger_level_from_str(level, &l);
                logger_set_level(l);
        }
        if (jhas(cfg, "show_level"))
                logger_set_show_level(jbool(cfg, "show_level", false));
        if (jhas(cfg, "show_log_origin"))
                logger_set_show_origin(jbool(cfg, "show_log_origin", false));
        return reply_empty();
}

Reply vmm_configure_metrics(Vmm *v, json_t *cfg) {
        Reply r;
        char e[128];
        if (!phase_ok(v, ACT_METRICS, &r))
                return r;
        int err = metrics_open(v->metrics, jstr(cfg, "metrics_path"));
        if (err == -EALREADY)
                return reply_fault(400, "Metrics error: Reinitialization of metrics not allowed.");
        if (err < 0)
                return reply_fault(400, "Metrics error: %s", os_error(-err, e, sizeof(e)));
        return reply_empty();
}

Reply vmm_configure_serial(Vmm *v, json_t *cfg) {
        Reply r;
        if (!phase_ok(v, ACT_SERIAL, &r))
                return r;
        char *p = xstrdup(jstr(cfg, "serial_out_path"));
        free(v->serial_out_path);
        v->serial_out_path = p;
        return reply_empty();
}

Reply vmm_set_vsock(Vmm *v, json_t *cfg) {
        Reply r;
        char e[128];
        if (!phase_ok(v, ACT_VSOCK, &r))
                return r;
        json_int_t cid = json_integer_value(json_object_get(cfg, "guest_cid"));
        const char *uds = jstr(cfg, "uds_path");
        if (cid < 3)
                return reply_fault(400,
                                   "Vsock config error: Cannot create vsock device: the guest CID must be "
                                   "at least 3 (got %lld)",
                                   (long long) cid);

        /* Replacing the device removes the old socket first. */
        if (v->vsock) {
                close(v->vsock_fd);
                v->vsock_fd = -EBADF;
                (void) unlink(jstr(v->vsock, "uds_path"));
                json_decref(v->vsock);
                v->vsock = NULL;
        }
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = -1, err = ENAMETOOLONG;
        if (strlen(uds) < sizeof(sa.sun_path)) {
                strcpy(sa.sun_path, uds);
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (fd >= 0 && (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)) {
                        err = errno;
                        close(fd);
                        fd = -1;
                } else if (fd < 0)
                        err = errno;
        }
        if (fd < 0)
                return reply_fault(
                        400,
                        "Vsock config error: Cannot create backend for vsock device: Error binding to "
                        "the host-side Unix socket: %s",
                        os_error(err, e, sizeof(e)));
        v->vsock = json_pack("{s:I, s:s}", "guest_cid", cid, "uds_path", uds);
        v->vsock_fd = fd;
        return v->vsock ? reply_empty() : reply_fault(500, "out of memory");
}

Reply vmm_set_entropy(Vmm *v, json_t *cfg) {
        Reply r;
        if (!phase_ok(v, ACT_ENTROPY, &r))
                return r;
        json_decref(v->entropy);
        v->entropy = json_incref(cfg);
        return reply_empty();
}

/* ---- MMDS ---------------------------------------------------------------------- */

Reply vmm_set_mmds_config(Vmm *v, json_t *cfg) {
        Reply r;
        if (!phase_ok(v, ACT_MMDS_CONFIG, &r))
                return r;
        json_t *ifaces = json_object_get(cfg, "network_interfaces");
        const char *ip = jstr(cfg, "ipv4_address");
        if (json_array_size(ifaces) == 0)
                return reply_fault(400, "MMMDS config error: The list of network interface IDs that allow "
                                        "forwarding MMDS requests is empty.");
        size_t i;
        json_t *it;
        json_array_foreach (ifaces, i, it) {
                if (!find_net(v, json_string_value(it)))
                        return reply_fault(
                                400, "MMMDS config error: The list of network interface IDs provided "
                                     "contains at least one ID that does not correspond to any existing "
                                     "network interface.");
        }
        if (ip) {
                struct in_addr a;
                inet_pton(AF_INET, ip, &a);
                if ((ntohl(a.s_addr) & 0xFFFF0000u) != 0xA9FE0000u)
                        return reply_fault(400,
                                           "MMMDS config error: The MMDS IPv4 address is not link local.");
        }
        json_t *c = json_pack("{s:s, s:O, s:s, s:b}", "version",
                              jstr(cfg, "version") ? jstr(cfg, "version") : "V1", "network_interfaces",
                              ifaces, "ipv4_address", ip ? ip : "169.254.169.254", "imds_compat",
                              jbool(cfg, "imds_compat", false));
        if (!c)
                return reply_fault(500, "out of memory");
        json_decref(v->mmds_config);
        v->mmds_config = c;
        return reply_empty();
}

static bool mmds_fits(Vmm *v, json_t *data) {
        char *s = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
        bool ok = s && strlen(s) <= v->s.mmds_size_limit;
        free(s);
        return ok;
}

Reply vmm_put_mmds(Vmm *v, json_t *data) {
        if (!mmds_fits(v, data))
                return reply_fault(413, "MMDS limit exceeded error: The MMDS patch request doesn't fit.");
        json_decref(v->mmds);
        v->mmds = json_incref(data);
        return reply_empty();
}

/* RFC 7396 JSON merge patch (serde_json's json_patch::merge). */
static json_t *merge_patch(json_t *target, json_t *patch) {
        if (!json_is_object(patch))
                return json_deep_copy(patch);
        json_t *out = json_is_object(target) ? json_deep_copy(target) : json_object();
        const char *k;
        json_t *pv;
        if (!out)
                return NULL;
        json_object_foreach (patch, k, pv) {
                if (json_is_null(pv)) {
                        json_object_del(out, k);
                        continue;
                }
                json_t *m = merge_patch(json_object_get(out, k), pv);
                if (!m || json_object_set_new(out, k, m) < 0) {
                        json_decref(out);
                        return NULL;
                }
        }
        return out;
}

Reply vmm_patch_mmds(Vmm *v, json_t *patch) {
        if (!v->mmds)
                return reply_fault(400, "MMDS error: The MMDS data store is not initialized.");
        json_t *m = merge_patch(v->mmds, patch);
        if (!m)
                return reply_fault(500, "out of memory");
        if (!mmds_fits(v, m)) {
                json_decref(m);
                return reply_fault(413, "MMDS limit exceeded error: The MMDS patch request doesn't fit.");
        }
        json_decref(v->mmds);
        v->mmds = m;
        return reply_empty();
}

/* ---- boot, guest life ------------------------------------------------------------ */

/* The command line the guest gets: boot_args (or the default), the root
 * device, and one virtio_mmio.device= per MMIO device, as Firecracker builds it. */
static char *effective_cmdline(Vmm *v) {
        char *s = NULL, *t;
        if (asprintf(&s, "%s", v->boot_args ? v->boot_args : DEFAULT_KERNEL_CMDLINE) < 0)
                return NULL;
        if (v->n_drives > 0 && v->drives[0].root) {
                const Drive *d = &v->drives[0];
                int n = d->partuuid
                                ? asprintf(&t, "%s root=PARTUUID=%s %s", s, d->partuuid, d->ro ? "ro" : "rw")
                                : asprintf(&t, "%s root=/dev/vda %s", s, d->ro ? "ro" : "rw");
                free(s);
                if (n < 0)
                        return NULL;
                s = t;
        }
        size_t n_dev = v->n_drives + v->n_nets + (v->vsock ? 1 : 0) + (v->entropy ? 1 : 0);
        for (size_t i = 0; i < n_dev; i++) {
                int n = asprintf(&t, "%s virtio_mmio.device=4K@0x%lx:%zu", s, 0xd0000000ul + i * 0x1000ul,
                                 5 + i);
                free(s);
                if (n < 0)
                        return NULL;
                s = t;
        }
        return s;
}

static bool cmdline_has(const char *cmdline, const char *word) {
        size_t n = strlen(word);
        for (const char *p = cmdline; (p = strstr(p, word)); p += n)
                if ((p == cmdline || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0))
                        return true;
        return false;
}

static Reply start_microvm(Vmm *v) {
        char e[128];
        if (!v->has_boot_source)
                return reply_fault(
                        400, "Start microvm error: Cannot start microvm without kernel configuration.");
        if (v->serial_out_path) {
                int fd = open(v->serial_out_path, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC,
                              0644);
                if (fd < 0)
                        return reply_fault(400,
                                           "Start microvm error: Cannot open the serial output file: %s",
                                           os_error(errno, e, sizeof(e)));
                v->console_fd = fd;
        }
        char *cmdline = effective_cmdline(v);
        if (!cmdline)
                return reply_fault(500, "out of memory");

        /* The VMM thread builds the VM; the answer waits until the vCPUs run. */
        if (v->s.boot_delay_ms > 0)
                sleep_ms(v->s.boot_delay_ms);

        v->state = VM_RUNNING;
        v->run_ms = 0;
        v->last_ms = mono_ms();
        /* Reading the kernel's first blocks. */
        for (size_t i = 0; i < v->n_drives; i++) {
                uint64_t n = v->drives[i].root ? 64 : 4;
                block_add(v, &v->drives[i], "read_count", n);
                block_add(v, &v->drives[i], "read_bytes", n * 16384);
                block_add(v, &v->drives[i], "queue_event_count", n);
        }

        console_write(v, "[    0.000000] Linux version 6.1.0-fcsim (fcsim@firecracker) #1 SMP\n");
        console_write(v, "[    0.000000] Command line: %s\n", cmdline);
        console_write(v, "[    0.000000] Kernel command line: %s\n", cmdline);
        console_write(v, "[    0.010000] smpboot: Allowing %u CPUs, Memory: %llu MiB\n", v->vcpu_count,
                      (unsigned long long) v->mem_size_mib);
        for (size_t i = 0; i < v->n_drives; i++)
                console_write(v, "[    0.050000] virtio_blk virtio%zu: [vd%c] %s%s\n", i,
                              (char) ('a' + (i % 26)), v->drives[i].id,
                              v->drives[i].ro ? " (read-only)" : "");
        for (size_t i = 0; i < v->n_nets; i++)
                console_write(v, "[    0.060000] virtio_net virtio%zu: eth%zu (%s)\n", v->n_drives + i, i,
                              v->nets[i].id);
        console_write(v, "[    0.100000] Run /sbin/init as init process\n");
        console_write(v, "fcsim: guest booted, id=%s\n", v->id);

        log_info("fc_vmm", "Successfully started microvm");
        if (v->s.boot_timer)
                log_info("fc_vcpu 0", "Guest-boot-time = %8ld us %4ld ms, %8ld CPU us %4ld CPU ms",
                         100000L + v->s.boot_delay_ms * 1000, 100L + v->s.boot_delay_ms, 90000L, 90L);

        if (v->s.halt_after_ms >= 0)
                v->halt_at = v->s.halt_after_ms;
        if (v->s.reboot_after_ms >= 0)
                v->reboot_at = v->s.reboot_after_ms;
        free(cmdline);

        flush_metrics(v);
        if (v->s.metrics_period_ms > 0)
                v->next_metrics_ms = mono_ms() + (uint64_t) v->s.metrics_period_ms;
        return reply_empty();
}

static void guest_exit(Vmm *v, const char *why, const char *console_line) {
        advance(v);
        console_write(v, "[%5llu.%06llu] %s\n", (unsigned long long) (v->run_ms / 1000),
                      (unsigned long long) (v->run_ms % 1000) * 1000, console_line);
        log_info("fc_vmm", "%s", why);
        log_info("fc_vmm", "Vmm is stopping.");
        flush_metrics(v);
        v->exited = true;
        v->exit_code = 0;
        v->state = VM_NOT_STARTED;
        v->next_metrics_ms = 0;
}

Reply vmm_action(Vmm *v, const char *type) {
        Reply r;
        if (strcmp(type, "InstanceStart") == 0) {
                if (!phase_ok(v, ACT_START, &r))
                        return r;
                return start_microvm(v);
        }
        if (strcmp(type, "SendCtrlAltDel") == 0) {
                if (!phase_ok(v, ACT_CTRL_ALT_DEL, &r))
                        return r;
                metrics_add(v->metrics, "i8042", "write_count", 1);
                advance(v);
                /* The guest reacts in guest time: nothing happens while paused. */
                if (!v->s.ignore_ctrl_alt_del && v->cad_at < 0)
                        v->cad_at = (int64_t) v->run_ms +
                                    (v->s.shutdown_delay_ms > 0 ? v->s.shutdown_delay_ms : 0);
                return reply_empty();
        }
        /* FlushMetrics */
        if (!phase_ok(v, ACT_FLUSH_METRICS, &r))
                return r;
        flush_metrics(v);
        return reply_empty();
}

Reply vmm_set_state(Vmm *v, const char *state) {
        Reply r;
        bool pause = strcmp(state, "Paused") == 0;
        if (!phase_ok(v, pause ? ACT_PAUSE : ACT_RESUME, &r))
                return r;
        advance(v);
        uint64_t t0 = mono_ms();
        v->state = pause ? VM_PAUSED : VM_RUNNING;
        uint64_t us = (mono_ms() - t0) * 1000 + 30;
        metrics_set(v->metrics, "latencies_us", pause ? "pause_vm" : "resume_vm", us + 10);
        metrics_set(v->metrics, "latencies_us", pause ? "vmm_pause_vm" : "vmm_resume_vm", us);
        log_info("fc_vmm", "'%s vm' VMM action took %llu us.", pause ? "pause" : "resume",
                 (unsigned long long) us);
        return reply_empty();
}

/* ---- timers -------------------------------------------------------------------- */

static int64_t guest_now(Vmm *v, uint64_t now) {
        return (int64_t) (v->run_ms + (v->state == VM_RUNNING && now > v->last_ms ? now - v->last_ms : 0));
}

int vmm_next_timeout_ms(Vmm *v) {
        if (v->exited)
                return -1;
        uint64_t now = mono_ms();
        int64_t best = -1;
        if (v->next_metrics_ms)
                best = v->next_metrics_ms > now ? (int64_t) (v->next_metrics_ms - now) : 0;
        if (v->state == VM_RUNNING) {
                int64_t g = guest_now(v, now);
                int64_t deadlines[] = { v->cad_at, v->halt_at, v->reboot_hung ? -1 : v->reboot_at };
                for (size_t i = 0; i < sizeof(deadlines) / sizeof(deadlines[0]); i++) {
                        if (deadlines[i] < 0)
                                continue;
                        int64_t left = deadlines[i] > g ? deadlines[i] - g : 0;
                        if (best < 0 || left < best)
                                best = left;
                }
        }
        return best < 0 ? -1 : (int) (best > 1000000 ? 1000000 : best);
}

void vmm_tick(Vmm *v) {
        if (v->exited)
                return;
        advance(v);
        if (v->state == VM_RUNNING) {
                int64_t g = (int64_t) v->run_ms;
                if (v->cad_at >= 0 && g >= v->cad_at) {
                        console_write(v, "fcsim: guest received Ctrl-Alt-Del, shutting down\n");
                        guest_exit(v, "Guest shut down after Ctrl-Alt-Del.", "reboot: Restarting system");
                        return;
                }
                if (v->halt_at >= 0 && g >= v->halt_at) {
                        guest_exit(v, "Guest powered off.", "reboot: Power down");
                        return;
                }
                if (v->reboot_at >= 0 && !v->reboot_hung && g >= v->reboot_at) {
                        char *cmdline = effective_cmdline(v);
                        bool k = cmdline && cmdline_has(cmdline, "reboot=k");
                        free(cmdline);
                        if (k) {
                                guest_exit(v, "Guest rebooted (reboot=k): the microVM stops.",
                                           "reboot: Restarting system");
                                return;
                        }
                        /* Without reboot=k the simulated guest hangs in its reboot path. */
                        console_write(
                                v,
                                "reboot: Restarting system\nfcsim: reboot without reboot=k, guest hangs\n");
                        v->reboot_hung = true;
                }
        }
        uint64_t now = mono_ms();
        if (v->next_metrics_ms && now >= v->next_metrics_ms) {
                flush_metrics(v);
                v->next_metrics_ms = now + (uint64_t) v->s.metrics_period_ms;
        }
}

/* ---- --config-file ------------------------------------------------------------- */

static int take_error(Reply *r, const char *prefix, char **ret_error) {
        if (!reply_is_error(r)) {
                reply_done(r);
                return 0;
        }
        char *m = reply_fault_message(r);
        reply_done(r);
        if (asprintf(ret_error, "%s%s", prefix, m ? m : "internal error") < 0)
                *ret_error = NULL;
        free(m);
        return -EINVAL;
}

int vmm_boot_from_json(Vmm *v, json_t *c, char **ret_error) {
        static const char *const unsupported[] = { "balloon", "cpu-config", "memory-hotplug" };
        for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
                if (json_object_get(c, unsupported[i]))
                        return asprintf(ret_error, "fcsim: \"%s\" is not simulated", unsupported[i]) < 0
                                       ? -ENOMEM
                                       : -EINVAL;
        if (json_array_size(json_object_get(c, "pmem")) > 0)
                return asprintf(ret_error, "fcsim: \"pmem\" is not simulated") < 0 ? -ENOMEM : -EINVAL;

        /* VmResources::from_json's order. */
        Reply r;
        json_t *o, *it;
        size_t i;
        if ((o = json_object_get(c, "logger")) &&
            (r = vmm_configure_logger(v, o), take_error(&r, "", ret_error)))
                return -EINVAL;
        if ((o = json_object_get(c, "metrics")) &&
            (r = vmm_configure_metrics(v, o), take_error(&r, "", ret_error)))
                return -EINVAL;
        if ((o = json_object_get(c, "machine-config")) &&
            (r = vmm_update_machine_config(v, o, true), take_error(&r, "", ret_error)))
                return -EINVAL;
        r = vmm_set_boot_source(v, json_object_get(c, "boot-source"));
        if (take_error(&r, "", ret_error))
                return -EINVAL;
        json_array_foreach (json_object_get(c, "drives"), i, it) {
                r = vmm_insert_drive(v, it);
                if (take_error(&r, "", ret_error))
                        return -EINVAL;
        }
        json_array_foreach (json_object_get(c, "network-interfaces"), i, it) {
                r = vmm_insert_net(v, it);
                if (take_error(&r, "", ret_error))
                        return -EINVAL;
        }
        if ((o = json_object_get(c, "vsock")) && (r = vmm_set_vsock(v, o), take_error(&r, "", ret_error)))
                return -EINVAL;
        if ((o = json_object_get(c, "mmds-config")) &&
            (r = vmm_set_mmds_config(v, o), take_error(&r, "", ret_error)))
                return -EINVAL;
        if ((o = json_object_get(c, "entropy")) &&
            (r = vmm_set_entropy(v, o), take_error(&r, "", ret_error)))
                return -EINVAL;
        if ((o = json_object_get(c, "serial")) &&
            (r = vmm_configure_serial(v, o), take_error(&r, "", ret_error)))
                return -EINVAL;
        r = start_microvm(v);
        if (take_error(&r, "", ret_error))
                return -EINVAL;
        log_info("main", "Successfully started microvm that was configured from one single json");
        return 0;
}
