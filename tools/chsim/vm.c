/* SPDX-License-Identifier: Apache-2.0 */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "event.h"
#include "logger.h"

#define NEVER UINT64_MAX
#define MAX_DEVICES 64
#define PCI_SLOTS 32

typedef enum DevKind { DEV_CONSOLE, DEV_DISK, DEV_NET, DEV_RNG } DevKind;

typedef struct Device {
        DevKind kind;
        char *id;
        unsigned slot; /* PCI device number on segment 0 */
        uint64_t since_ms; /* guest time when it appeared */
        bool at_boot; /* present when the guest booted: it read its disk */
        bool readonly;
        char *path; /* disk image */
        int lock_fd; /* disk image, holding its OFD lock while the VM runs */
} Device;

struct Vm {
        json_t *cfg; /* shared with the Vmm */
        Consoles *consoles;
        const SimSettings *s;
        VmState state;
        Device devs[MAX_DEVICES];
        size_t n_devs;
        unsigned id_cnt; /* DeviceManager::device_id_cnt */
        bool slot_used[PCI_SLOTS];

        uint64_t guest_ms; /* guest time: runs only while Running */
        struct timespec last; /* when guest_ms was last brought up to date */
        uint64_t poweroff_at; /* guest time of the pending power-off, NEVER if none */
        uint64_t reset_at; /* guest time of a self-reset */
        uint64_t heartbeat_at;
        uint64_t removal_done_at; /* vCPU removal completes */
        unsigned boot_count;
        char *guest_id;
        bool log_serial, log_hvc;
};

/* ---- the state machine (VmState::valid_transition) ----------------------------- */

static const char *const state_names[_VM_STATE_MAX] = { "Created", "Running", "Shutdown", "Paused",
                                                        "BreakPoint" };

/* allowed[from][to] */
static const bool allowed[_VM_STATE_MAX][_VM_STATE_MAX] = {
        [VM_CREATED] = { [VM_RUNNING] = true,
                         [VM_PAUSED] = true,
                         [VM_BREAKPOINT] = true,
                         [VM_SHUTDOWN] = true },
        [VM_RUNNING] = { [VM_PAUSED] = true, [VM_SHUTDOWN] = true, [VM_BREAKPOINT] = true },
        [VM_SHUTDOWN] = { [VM_RUNNING] = true },
        [VM_PAUSED] = { [VM_RUNNING] = true, [VM_SHUTDOWN] = true },
        [VM_BREAKPOINT] = { [VM_CREATED] = true, [VM_RUNNING] = true },
};

const char *vm_state_name(VmState s) {
        return s < _VM_STATE_MAX ? state_names[s] : "?";
}

ChErr *vm_state_transition(VmState from, VmState to) {
        if (allowed[from][to])
                return NULL;
        return cherr_new(0, "invalid VM state transition: %s to %s", state_names[from], state_names[to]);
}

VmState vm_state(const Vm *vm) {
        return vm->state;
}

/* ---- guest time ------------------------------------------------------------------- */

static uint64_t ms_between(const struct timespec *a, const struct timespec *b) {
        int64_t ms = (int64_t) (b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
        return ms > 0 ? (uint64_t) ms : 0;
}

/* Bring guest_ms up to now. Time passes for the guest only while Running. */
static void clock_update(Vm *vm) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (vm->state == VM_RUNNING) {
                uint64_t d = ms_between(&vm->last, &now);
                vm->guest_ms += d;
                /* Keep the sub-millisecond remainder for the next update. */
                int64_t used_ns = (int64_t) d * 1000000;
                vm->last.tv_sec += used_ns / 1000000000;
                vm->last.tv_nsec += used_ns % 1000000000;
                if (vm->last.tv_nsec >= 1000000000) {
                        vm->last.tv_sec++;
                        vm->last.tv_nsec -= 1000000000;
                }
        } else
                vm->last = now;
}

/* ---- the console ------------------------------------------------------------------- */

static void guest_write(Vm *vm, const char *text) {
        if (vm->log_serial)
                console_write(&vm->consoles->serial, text);
        if (vm->log_hvc)
                console_write(&vm->consoles->console, text);
}

void vm_guest_say(Vm *vm, const char *line) {
        char *buf = NULL;
        if (asprintf(&buf, "[%5" PRIu64 ".%06" PRIu64 "] %s\n", vm->guest_ms / 1000,
                     (vm->guest_ms % 1000) * 1000, line) < 0)
                return;
        guest_write(vm, buf);
        free(buf);
}

/* A raw line (no kernel timestamp), as printed by the guest's userspace. */
static void guest_print(Vm *vm, const char *line) {
        char *buf = NULL;
        if (asprintf(&buf, "%s\n", line) < 0)
                return;
        guest_write(vm, buf);
        free(buf);
}

/* Does the kernel command line send the console to tty (e.g. "ttyS0")? */
static bool cmdline_has_console(const char *cmdline, const char *tty) {
        if (!cmdline)
                return false;
        static const char *const keys[] = { "console=", "earlyprintk=" };
        for (size_t k = 0; k < 2; k++) {
                if (k == 1 && strcmp(tty, "ttyS0") != 0)
                        continue;
                size_t kl = strlen(keys[k]), tl = strlen(tty);
                for (const char *p = cmdline; (p = strstr(p, keys[k])); p += kl) {
                        if (p != cmdline && p[-1] != ' ')
                                continue;
                        const char *v = p + kl;
                        if (strncmp(v, tty, tl) == 0 && (v[tl] == 0 || v[tl] == ' ' || v[tl] == ','))
                                return true;
                }
        }
        return false;
}

/* The value of key= in the command line (malloc'd), or NULL. */
static char *cmdline_value(const char *cmdline, const char *key) {
        size_t kl = strlen(key);
        for (const char *p = cmdline; p && (p = strstr(p, key)); p += kl) {
                if (p != cmdline && p[-1] != ' ')
                        continue;
                const char *v = p + kl;
                return strndup(v, strcspn(v, " "));
        }
        return NULL;
}

/* ---- devices ------------------------------------------------------------------------ */

static bool id_taken(Vm *vm, const char *id) {
        for (size_t i = 0; i < vm->n_devs; i++)
                if (strcmp(vm->devs[i].id, id) == 0)
                        return true;
        /* boot_id_list: every id the config names */
        static const char *const lists[] = {
                "disks", "net", "fs", "pmem", "devices", "user_devices", "vdpa"
        };
        for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
                size_t i;
                json_t *d;
                json_array_foreach (json_object_get(vm->cfg, lists[l]), i, d) {
                        const char *other = cfg_str(d, "id");
                        if (other && strcmp(other, id) == 0)
                                return true;
                }
        }
        return false;
}

/* DeviceManager::next_device_name() */
static char *next_device_name(Vm *vm, const char *prefix) {
        for (unsigned tries = 0; tries < 100000; tries++) {
                char *name = NULL;
                if (asprintf(&name, "%s%u", prefix, vm->id_cnt++) < 0)
                        return NULL;
                if (!id_taken(vm, name))
                        return name;
                free(name);
        }
        return NULL;
}

static int alloc_slot(Vm *vm) {
        for (unsigned s = 1; s < PCI_SLOTS; s++)
                if (!vm->slot_used[s]) {
                        vm->slot_used[s] = true;
                        return (int) s;
                }
        return -1;
}

static void device_release(Vm *vm, Device *d) {
        if (d->slot < PCI_SLOTS)
                vm->slot_used[d->slot] = false;
        if (d->lock_fd >= 0)
                close(d->lock_fd);
        free(d->id);
        free(d->path);
        *d = (Device){ .lock_fd = -1 };
}

static ChErr *device_add(Vm *vm, DevKind kind, const char *id, Device **ret) {
        if (vm->n_devs == MAX_DEVICES)
                return cherr_wrap(cherr_new(0, "Cannot allocate PCI device: no slot left"),
                                  "Error from device manager");
        int slot = alloc_slot(vm);
        if (slot < 0)
                return cherr_wrap(cherr_new(0, "Cannot allocate PCI device: no slot left"),
                                  "Error from device manager");
        Device *d = &vm->devs[vm->n_devs];
        *d = (Device){ .kind = kind,
                       .id = strdup(id),
                       .slot = (unsigned) slot,
                       .since_ms = vm->guest_ms,
                       .lock_fd = -1 };
        if (!d->id) {
                vm->slot_used[slot] = false;
                return cherr_new(0, "out of memory");
        }
        vm->n_devs++;
        *ret = d;
        return NULL;
}

/* The id of a config entry, generating (and writing back) one if absent. */
static ChErr *entry_id(Vm *vm, json_t *entry, const char *prefix, char **ret) {
        const char *id = cfg_str(entry, "id");
        char *s = id ? strdup(id) : next_device_name(vm, prefix);
        if (!s || (!id && json_object_set_new(entry, "id", json_string(s)) < 0)) {
                free(s);
                return cherr_new(0, "out of memory");
        }
        *ret = s;
        return NULL;
}

/* make_virtio_block_device(): open the image ("Cannot open disk path"). */
static ChErr *disk_create(Vm *vm, json_t *disk, Device **ret) {
        const char *path = cfg_str(disk, "path");
        bool ro = cfg_bool(disk, "readonly", false);
        if (!path && !cfg_bool(disk, "vhost_user", false))
                return cherr_wrap(cherr_new(0, "No disk path was specified when one was expected"),
                                  "Error from device manager");
        int fd = -1;
        if (path) {
                fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
                if (fd < 0)
                        return cherr_wrap(cherr_wrap(cherr_errno(errno), "Cannot open disk path"),
                                          "Error from device manager");
        }
        char *id = NULL;
        ChErr *e = entry_id(vm, disk, "_disk", &id);
        Device *d = NULL;
        if (!e)
                e = device_add(vm, DEV_DISK, id, &d);
        free(id);
        if (e) {
                if (fd >= 0)
                        close(fd);
                return e;
        }
        d->readonly = ro;
        d->path = path ? strdup(path) : NULL;
        d->lock_fd = fd;
        *ret = d;
        return NULL;
}

/* Open the TAP of a net entry as an unprivileged Cloud Hypervisor does
 * (net_util::Tap::open_named: TUNSETIFF, which creates a missing device
 * only with CAP_NET_ADMIN): the name must be a valid interface name, and
 * the device must exist already (as in fcsim, any interface counts). A net entry
 * without "tap" gets one CH creates (not modelled: accepted). */
static ChErr *tap_check(const json_t *net) {
        const char *tap = cfg_str(net, "tap");
        if (!tap || cfg_bool(net, "vhost_user", false) || json_is_array(json_object_get(net, "fds")))
                return NULL;
        int err = 0;
        char path[80];
        struct stat st;
        if (!*tap || strlen(tap) >= 16 || strcmp(tap, ".") == 0 || strcmp(tap, "..") == 0 ||
            strpbrk(tap, "/: \t\n"))
                err = EINVAL;
        else if (snprintf(path, sizeof(path), "/sys/class/net/%s", tap), stat(path, &st) < 0)
                err = EPERM;
        if (!err)
                return NULL;
        return cherr_wrap(cherr_wrap(cherr_wrap(cherr_errno(err), "Unable to create tap interface: %s", tap),
                                     "Open tap device failed"),
                          "Cannot create virtio-net device");
}

static ChErr *net_create(Vm *vm, json_t *net, Device **ret) {
        char *id = NULL;
        ChErr *e = tap_check(net);
        if (e)
                return cherr_wrap(e, "Error from device manager");
        e = entry_id(vm, net, "_net", &id);
        if (!e)
                e = device_add(vm, DEV_NET, id, ret);
        free(id);
        return e;
}

/* Take the image's OFD lock (write lock, read lock for a read-only disk), as
 * Cloud Hypervisor's block crate does: another VMM using the image fails. */
static ChErr *disk_lock(Device *d) {
        if (d->lock_fd < 0)
                return NULL;
        struct flock fl = { .l_type = d->readonly ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET };
        if (fcntl(d->lock_fd, F_OFD_SETLK, &fl) == 0)
                return NULL;
        if (errno == EAGAIN || errno == EACCES)
                return cherr_wrap(cherr_new(0, "The file is already locked"),
                                  "Error locking disk images: Another instance likely holds a lock");
        return cherr_wrap(cherr_wrap(cherr_errno(errno), "The lock state could not be checked or set"),
                          "Error locking disk images: Another instance likely holds a lock");
}

ChErr *vm_new(json_t *cfg, Consoles *consoles, const SimSettings *s, unsigned boot_count, Vm **ret) {
        ChErr *e = config_validate(cfg);
        if (e)
                return cherr_wrap(e, "Failed to validate config");

        Vm *vm = calloc(1, sizeof(*vm));
        if (!vm)
                return cherr_new(0, "out of memory");
        vm->cfg = json_incref(cfg);
        vm->consoles = consoles;
        vm->s = s;
        vm->state = VM_CREATED;
        vm->poweroff_at = vm->reset_at = vm->heartbeat_at = vm->removal_done_at = NEVER;
        vm->boot_count = boot_count;
        vm->slot_used[0] = true; /* the host bridge */
        clock_gettime(CLOCK_MONOTONIC, &vm->last);

        Device *d = NULL;
        const char *console_mode = cfg_str(json_object_get(cfg, "console"), "mode");
        if (console_mode && strcmp(console_mode, "Off") != 0 &&
            (e = device_add(vm, DEV_CONSOLE, "__console", &d)))
                goto fail;
        size_t i;
        json_t *entry;
        json_array_foreach (json_object_get(cfg, "disks"), i, entry) {
                if ((e = disk_create(vm, entry, &d)))
                        goto fail;
                d->at_boot = true;
        }
        json_array_foreach (json_object_get(cfg, "net"), i, entry) {
                if ((e = net_create(vm, entry, &d)))
                        goto fail;
                d->at_boot = true;
        }
        if ((e = device_add(vm, DEV_RNG, "__rng", &d)))
                goto fail;
        *ret = vm;
        return NULL;
fail:
        vm_free(vm);
        return e;
}

Vm *vm_free(Vm *vm) {
        if (!vm)
                return NULL;
        for (size_t i = 0; i < vm->n_devs; i++)
                device_release(vm, &vm->devs[i]);
        json_decref(vm->cfg);
        free(vm->guest_id);
        free(vm);
        return NULL;
}

/* ---- lifecycle -------------------------------------------------------------------- */

/* linux_loader: an ELF vmlinux or a bzImage. */
static ChErr *payload_check(const char *kernel) {
        int fd = open(kernel, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return cherr_wrap(cherr_errno(errno), "Cannot open kernel file");
        unsigned char hdr[0x206];
        ssize_t n = pread(fd, hdr, sizeof(hdr), 0);
        close(fd);
        bool elf = n >= 4 && memcmp(hdr,
                                    "\x7f"
                                    "ELF",
                                    4) == 0;
        bool bzimage = n >= 0x206 && memcmp(hdr + 0x202, "HdrS", 4) == 0;
        if (!elf && !bzimage)
                return cherr_wrap(cherr_new(0, "Invalid ELF magic number"),
                                  "Cannot load the kernel into memory");
        return NULL;
}

static ChErr *payload_load(const json_t *cfg) {
        const json_t *p = json_object_get(cfg, "payload");
        const char *firmware = cfg_str(p, "firmware"), *kernel = cfg_str(p, "kernel"),
                   *initramfs = cfg_str(p, "initramfs");
        if (firmware) {
                int fd = open(firmware, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return cherr_wrap(cherr_errno(errno), "Error manipulating firmware file");
                close(fd);
                return NULL;
        }
        ChErr *e = payload_check(kernel);
        if (e)
                return e;
        if (initramfs) {
                int fd = open(initramfs, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return cherr_wrap(cherr_errno(errno), "Cannot open initramfs file");
                close(fd);
        }
        return NULL;
}

static void guest_boot_log(Vm *vm) {
        const json_t *cpus = json_object_get(vm->cfg, "cpus");
        const json_t *mem = json_object_get(vm->cfg, "memory");
        const char *cmdline = cfg_str(json_object_get(vm->cfg, "payload"), "cmdline");
        char line[4200];
        vm_guest_say(
                vm,
                "Linux version 6.1.0-chsim (chsim@cloud-hypervisor) (gcc (Debian 12.2.0-14) 12.2.0) #1 SMP "
                "PREEMPT_DYNAMIC");
        snprintf(line, sizeof(line), "Command line: %s", cmdline ? cmdline : "");
        vm_guest_say(vm, line);
        vm_guest_say(vm, "x86/PVH: Booting from PVH entry point (Cloud Hypervisor)");
        vm_guest_say(vm, "DMI: Cloud Hypervisor cloud-hypervisor, BIOS 0");
        snprintf(line, sizeof(line), "smpboot: Allowing %" PRIu64 " CPUs, %" PRIu64 " hotplug CPUs",
                 cfg_u64(cpus, "max_vcpus", 1),
                 cfg_u64(cpus, "max_vcpus", 1) - cfg_u64(cpus, "boot_vcpus", 1));
        vm_guest_say(vm, line);
        snprintf(line, sizeof(line), "Memory: %" PRIu64 "K available", cfg_u64(mem, "size", 0) / 1024);
        vm_guest_say(vm, line);
        unsigned vd = 0, eth = 0;
        for (size_t i = 0; i < vm->n_devs; i++) {
                Device *d = &vm->devs[i];
                if (d->kind == DEV_DISK) {
                        struct stat st;
                        uint64_t blocks = d->lock_fd >= 0 && fstat(d->lock_fd, &st) == 0
                                                  ? (uint64_t) st.st_size / 512
                                                  : 0;
                        snprintf(line, sizeof(line),
                                 "virtio_blk virtio%u: [vd%c] %" PRIu64 " 512-byte logical blocks", d->slot,
                                 'a' + vd++, blocks);
                        vm_guest_say(vm, line);
                } else if (d->kind == DEV_NET) {
                        snprintf(line, sizeof(line), "virtio_net virtio%u eth%u: registered", d->slot,
                                 eth++);
                        vm_guest_say(vm, line);
                }
        }
        vm_guest_say(vm, "Run /sbin/init as init process");
        if (vm->boot_count > 1) {
                snprintf(line, sizeof(line), "chsim: boot #%u", vm->boot_count);
                guest_print(vm, line);
        }
        snprintf(line, sizeof(line), "chsim: guest booted, id=%s", vm->guest_id ? vm->guest_id : "");
        guest_print(vm, line);
}

static void schedule_after(Vm *vm, uint64_t *at, long delay_ms) {
        *at = delay_ms >= 0 ? vm->guest_ms + (uint64_t) delay_ms : NEVER;
}

ChErr *vm_boot(Vm *vm) {
        ChErr *e = vm_state_transition(vm->state, VM_RUNNING);
        if (e)
                return e;

        for (size_t i = 0; i < vm->n_devs; i++)
                if (vm->devs[i].kind == DEV_DISK && (e = disk_lock(&vm->devs[i])))
                        return e;
        if ((e = payload_load(vm->cfg)))
                return e;

        const char *cmdline = cfg_str(json_object_get(vm->cfg, "payload"), "cmdline");
        free(vm->guest_id);
        vm->guest_id = cmdline_value(cmdline, "metald.vm_id=");
        vm->log_serial = cmdline_has_console(cmdline, "ttyS0");
        vm->log_hvc = cmdline_has_console(cmdline, "hvc0");

        unsigned vcpus = (unsigned) cfg_u64(json_object_get(vm->cfg, "cpus"), "boot_vcpus", 1);
        for (unsigned c = 0; c < vcpus; c++) {
                char id[16];
                snprintf(id, sizeof(id), "%u", c);
                event_emit("cpu_manager", "create_vcpu", "id", id, NULL);
        }
        vm->state = VM_RUNNING;
        clock_gettime(CLOCK_MONOTONIC, &vm->last);
        guest_boot_log(vm);
        schedule_after(vm, &vm->poweroff_at, vm->s->halt_after_ms);
        schedule_after(vm, &vm->reset_at, vm->s->reboot_after_ms);
        schedule_after(vm, &vm->heartbeat_at, vm->s->heartbeat_ms > 0 ? vm->s->heartbeat_ms : -1);
        log_info("vmm", "vmm/src/vm.rs", "Booted VM (boot #%u)", vm->boot_count);
        return NULL;
}

/* Pausable::pause/resume turn a refused transition into an anyhow error:
 * "Invalid transition: InvalidStateTransition(Paused, Paused)", inside
 * MigratableError ("Failed to pause migratable component: ..."), inside the
 * VmError ("Cannot pause VM"). */
static ChErr *transition_refused(VmState from, VmState to, const char *what, const char *outer) {
        char inner[128];
        snprintf(inner, sizeof(inner), "Invalid transition: InvalidStateTransition(%s, %s)",
                 state_names[from], state_names[to]);
        ChErr *e = cherr_new(0, "%s", inner);
        e = cherr_wrap(e, "Failed to %s migratable component: %s", what, inner);
        return cherr_wrap(e, "%s", outer);
}

ChErr *vm_pause(Vm *vm) {
        event_emit("vm", "pausing", NULL);
        if (!allowed[vm->state][VM_PAUSED])
                return transition_refused(vm->state, VM_PAUSED, "pause", "Cannot pause VM");
        clock_update(vm);
        vm->state = VM_PAUSED;
        event_emit("vm", "paused", NULL);
        return NULL;
}

ChErr *vm_resume(Vm *vm) {
        event_emit("vm", "resuming", NULL);
        if (!allowed[vm->state][VM_RUNNING])
                return transition_refused(vm->state, VM_RUNNING, "resume", "Cannot resume VM");
        clock_update(vm);
        vm->state = VM_RUNNING;
        clock_gettime(CLOCK_MONOTONIC, &vm->last);
        event_emit("vm", "resumed", NULL);
        return NULL;
}

ChErr *vm_shutdown(Vm *vm) {
        ChErr *e = vm_state_transition(vm->state, VM_SHUTDOWN);
        if (e)
                return e;
        clock_update(vm);
        vm->state = VM_SHUTDOWN;
        for (size_t i = 0; i < vm->n_devs; i++)
                if (vm->devs[i].lock_fd >= 0) {
                        close(vm->devs[i].lock_fd);
                        vm->devs[i].lock_fd = -1;
                }
        vm->poweroff_at = vm->reset_at = vm->heartbeat_at = NEVER;
        return NULL;
}

ChErr *vm_power_button(Vm *vm) {
        clock_update(vm);
        if (vm->s->ignore_power_button || vm->state == VM_CREATED || vm->state == VM_SHUTDOWN)
                return NULL;
        uint64_t at =
                vm->guest_ms + (uint64_t) (vm->s->shutdown_delay_ms > 0 ? vm->s->shutdown_delay_ms : 0);
        if (at < vm->poweroff_at)
                vm->poweroff_at = at;
        return NULL;
}

ChErr *vm_nmi(Vm *vm) {
        if (vm->state == VM_RUNNING)
                vm_guest_say(vm, "Uhhuh. NMI received for unknown reason 00 on CPU 0.");
        return NULL;
}

/* ---- resize ------------------------------------------------------------------------- */

ChErr *vm_resize(Vm *vm, const json_t *desired_vcpus, const json_t *desired_ram,
                 const json_t *desired_balloon, bool *ret_busy) {
        json_t *cpus = json_object_get(vm->cfg, "cpus");
        json_t *mem = json_object_get(vm->cfg, "memory");
        *ret_busy = false;
        clock_update(vm);
        if (json_is_integer(desired_vcpus)) {
                uint64_t want = (uint64_t) json_integer_value(desired_vcpus);
                uint64_t present = cfg_u64(cpus, "boot_vcpus", 1);
                if (want != present) {
                        if (vm->removal_done_at != NEVER) {
                                *ret_busy = true;
                                return cherr_new(429, "Too Many Requests");
                        }
                        if (want == 0)
                                return cherr_wrap(cherr_new(0, "Requested zero vCPUs"),
                                                  "Error from CPU manager");
                        if (want > cfg_u64(cpus, "max_vcpus", 1))
                                return cherr_wrap(cherr_new(0, "Requested vCPUs exceed maximum"),
                                                  "Error from CPU manager");
                        if (want < present && vm->state != VM_CREATED)
                                schedule_after(vm, &vm->removal_done_at, vm->s->vcpu_removal_ms);
                        json_object_set_new(cpus, "boot_vcpus", json_integer((json_int_t) want));
                        char line[128];
                        snprintf(line, sizeof(line), "smpboot: %s CPUs: %" PRIu64 " -> %" PRIu64,
                                 want > present ? "hotplugged" : "unplugging", present, want);
                        if (vm->state == VM_RUNNING)
                                vm_guest_say(vm, line);
                }
        }
        if (json_is_integer(desired_ram)) {
                uint64_t want = (uint64_t) json_integer_value(desired_ram);
                uint64_t size = cfg_u64(mem, "size", 0), plugged = cfg_u64(mem, "hotplugged_size", 0);
                json_t *hotplug = json_object_get(mem, "hotplug_size");
                /* MemoryManager::resize(): a no-op without hotplug_size, and ACPI
                 * hotplug only grows. */
                if (json_is_integer(hotplug) && want > size + plugged) {
                        uint64_t room = (uint64_t) json_integer_value(hotplug);
                        if (want - size > room)
                                return cherr_wrap(
                                        cherr_wrap(
                                                cherr_new(0, "Not enough space in the hotplug RAM region"),
                                                "Memory manager error"),
                                        "Error from memory manager");
                        json_object_set_new(mem, "hotplugged_size",
                                            json_integer((json_int_t) (want - size)));
                }
        }
        if (json_is_integer(desired_balloon)) {
                json_t *balloon = json_object_get(vm->cfg, "balloon");
                if (!json_is_object(balloon))
                        return cherr_wrap(cherr_new(0, "Missing virtio-balloon, can't proceed as expected"),
                                          "Error from device manager");
                json_object_set(balloon, "size", (json_t *) desired_balloon);
        }
        return NULL;
}

/* ---- hotplug ------------------------------------------------------------------------ */

static json_t *pci_info(const Device *d) {
        char bdf[16];
        snprintf(bdf, sizeof(bdf), "0000:00:%02x.0", d->slot);
        return json_pack("{s:s,s:s}", "id", d->id, "bdf", bdf);
}

ChErr *vm_add_disk(Vm *vm, json_t *disk, json_t **ret_info) {
        clock_update(vm);
        Device *d = NULL;
        ChErr *e = disk_create(vm, disk, &d);
        if (e)
                return e;
        if (vm->state == VM_RUNNING || vm->state == VM_PAUSED) {
                e = disk_lock(d);
                if (e) {
                        device_release(vm, d);
                        vm->n_devs--;
                        return e;
                }
        }
        *ret_info = pci_info(d);
        return NULL;
}

ChErr *vm_add_net(Vm *vm, json_t *net, json_t **ret_info) {
        clock_update(vm);
        Device *d = NULL;
        ChErr *e = net_create(vm, net, &d);
        if (e)
                return e;
        *ret_info = pci_info(d);
        return NULL;
}

ChErr *vm_remove_device(Vm *vm, const char *id) {
        for (size_t i = 0; i < vm->n_devs; i++) {
                Device *d = &vm->devs[i];
                if (strcmp(d->id, id) != 0)
                        continue;
                if (d->kind == DEV_CONSOLE || d->kind == DEV_RNG)
                        break;
                device_release(vm, d);
                memmove(d, d + 1, (vm->n_devs - i - 1) * sizeof(*d));
                vm->n_devs--;
                return NULL;
        }
        return cherr_wrap(cherr_new(404, "Unknown device ID: %s", id), "Error from device manager");
}

/* ---- observation -------------------------------------------------------------------- */

/* Guest activity is a steady function of guest time: a disk reads 8 KiB
 * every 100 ms and writes 4 KiB every 250 ms (none when read-only) after a
 * boot burst of 48 reads; a NIC receives a 590-byte frame every 200 ms and
 * sends a 410-byte one every 250 ms, after a few at boot. */
static void append(char **buf, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char **buf, size_t *len, const char *fmt, ...) {
        char *s = NULL;
        va_list ap;
        va_start(ap, fmt);
        int n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0 || !*buf) {
                free(s);
                return;
        }
        char *p = realloc(*buf, *len + (size_t) n + 1);
        if (!p) {
                free(*buf);
                *buf = NULL;
                free(s);
                return;
        }
        memcpy(p + *len, s, (size_t) n + 1);
        *len += (size_t) n;
        *buf = p;
        free(s);
}

char *vm_counters(Vm *vm) {
        clock_update(vm);
        size_t len = 1;
        char *buf = strdup("{");
        bool first = true;
        for (size_t i = 0; i < vm->n_devs; i++) {
                Device *d = &vm->devs[i];
                uint64_t t = vm->guest_ms - d->since_ms;
                if (d->kind == DEV_DISK) {
                        uint64_t rops = (d->at_boot ? 48 : 0) + t / 100, wops = d->readonly ? 0 : t / 250;
                        uint64_t rmin = rops ? 11 : UINT64_MAX, wmin = wops ? 17 : UINT64_MAX;
                        append(&buf, &len,
                               "%s\"%s\":{\"read_bytes\":%" PRIu64 ",\"write_bytes\":%" PRIu64
                               ",\"read_ops\":%" PRIu64 ",\"write_ops\":%" PRIu64
                               ",\"read_latency_min\":%" PRIu64 ",\"read_latency_max\":%" PRIu64
                               ",\"read_latency_avg\":%" PRIu64 ",\"write_latency_min\":%" PRIu64
                               ",\"write_latency_max\":%" PRIu64 ",\"write_latency_avg\":%" PRIu64 "}",
                               first ? "" : ",", d->id, rops * 8192, wops * 4096, rops, wops, rmin,
                               rops ? (uint64_t) 930 : 0, rops ? (uint64_t) 84 : 0, wmin,
                               wops ? (uint64_t) 1210 : 0, wops ? (uint64_t) 133 : 0);
                        first = false;
                } else if (d->kind == DEV_NET) {
                        uint64_t rx = (d->at_boot ? 6 : 0) + t / 200, tx = (d->at_boot ? 4 : 0) + t / 250;
                        append(&buf, &len,
                               "%s\"%s\":{\"rx_bytes\":%" PRIu64 ",\"rx_frames\":%" PRIu64
                               ",\"tx_bytes\":%" PRIu64 ",\"tx_frames\":%" PRIu64 "}",
                               first ? "" : ",", d->id, rx * 590, rx, tx * 410, tx);
                        first = false;
                }
        }
        append(&buf, &len, "}");
        return buf;
}

json_t *vm_device_tree(Vm *vm) {
        json_t *tree = json_object();
        for (size_t i = 0; tree && i < vm->n_devs; i++) {
                Device *d = &vm->devs[i];
                char parent[160], bdf[16];
                snprintf(parent, sizeof(parent), "_virtio-pci-%s", d->id);
                snprintf(bdf, sizeof(bdf), "0000:00:%02x.0", d->slot);
                json_t *child = json_pack("{s:s,s:[],s:s,s:[],s:n}", "id", d->id, "resources", "parent",
                                          parent, "children", "pci_bdf");
                json_t *pci = json_pack("{s:s,s:[{s:{s:i,s:I,s:I,s:s,s:b}}],s:n,s:[s],s:s}", "id", parent,
                                        "resources", "PciBar", "index", 0, "base",
                                        (json_int_t) (0x3fffffe00000LL - (json_int_t) d->slot * 0x100000),
                                        "size", (json_int_t) 0x80000, "type_", "Mmio64", "prefetchable", 0,
                                        "parent", "children", d->id, "pci_bdf", bdf);
                json_object_set_new(tree, d->id, child);
                json_object_set_new(tree, parent, pci);
        }
        return tree;
}

uint64_t vm_memory_actual_size(Vm *vm) {
        const json_t *mem = json_object_get(vm->cfg, "memory");
        uint64_t size = cfg_u64(mem, "size", 0) + cfg_u64(mem, "hotplugged_size", 0);
        size_t i;
        json_t *z;
        json_array_foreach (json_object_get(mem, "zones"), i, z)
                size += cfg_u64(z, "size", 0);
        const json_t *balloon = json_object_get(vm->cfg, "balloon");
        uint64_t b = json_is_object(balloon) ? cfg_u64(balloon, "size", 0) : 0;
        return size > b ? size - b : 0;
}

/* ---- timers --------------------------------------------------------------------------- */

int vm_next_timeout_ms(Vm *vm) {
        if (vm->state != VM_RUNNING)
                return -1;
        clock_update(vm);
        uint64_t next = NEVER;
        const uint64_t ats[] = { vm->poweroff_at, vm->reset_at, vm->heartbeat_at, vm->removal_done_at };
        for (size_t i = 0; i < sizeof(ats) / sizeof(ats[0]); i++)
                if (ats[i] < next)
                        next = ats[i];
        if (next == NEVER)
                return -1;
        uint64_t wait = next > vm->guest_ms ? next - vm->guest_ms : 0;
        return wait > 60000 ? 60000 : (int) wait + 1;
}

VmEvent vm_tick(Vm *vm) {
        if (vm->state != VM_RUNNING)
                return VM_EVENT_NONE;
        clock_update(vm);
        if (vm->removal_done_at <= vm->guest_ms)
                vm->removal_done_at = NEVER;
        while (vm->heartbeat_at <= vm->guest_ms) {
                char line[256];
                snprintf(line, sizeof(line), "chsim: heartbeat id=%s uptime_ms=%" PRIu64,
                         vm->guest_id ? vm->guest_id : "", vm->guest_ms);
                guest_print(vm, line);
                vm->heartbeat_at += (uint64_t) vm->s->heartbeat_ms;
        }
        if (vm->poweroff_at <= vm->guest_ms) {
                vm->poweroff_at = NEVER;
                guest_print(vm, "chsim: guest powering off");
                vm_guest_say(vm, "reboot: Power down");
                return VM_EVENT_POWEROFF;
        }
        if (vm->reset_at <= vm->guest_ms) {
                vm->reset_at = NEVER;
                vm_guest_say(vm, "reboot: Restarting system");
                return VM_EVENT_RESET;
        }
        return VM_EVENT_NONE;
}
