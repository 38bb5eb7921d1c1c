/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "console.h"
#include "event.h"
#include "logger.h"
#include "schema.h"

struct Vmm {
        VmmSettings s;
        json_t *config; /* vm_config: NULL before vm.create / after vm.delete */
        Consoles *consoles; /* console_info */
        Vm *vm; /* NULL unless booted (or a boot failed late) */
        unsigned boot_count;
        bool exited;
        int exit_code;
        ChErr *exit_error;
};

/* A chain already at the ApiError level carries this status marker. */
#define API_LEVEL_STATUS 599

int vmm_new(const VmmSettings *s, Vmm **ret) {
        Vmm *v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        v->s = *s;
        *ret = v;
        return 0;
}

Vmm *vmm_free(Vmm *v) {
        if (!v)
                return NULL;
        vm_free(v->vm);
        consoles_free(v->consoles);
        json_decref(v->config);
        cherr_free(v->exit_error);
        free(v);
        return NULL;
}

bool vmm_error_is_api_level(const ChErr *e) {
        return e && e->status == API_LEVEL_STATUS;
}

static ChErr *not_created(void) {
        return cherr_new(404, "VM is not created");
}

static ChErr *not_running(void) {
        return cherr_new(0, "VM is not running");
}

static void end_vmm(Vmm *v, int code, ChErr *error) {
        v->exited = true;
        v->exit_code = code;
        v->exit_error = error;
}

/* pre_create_console_devices(). A File or Socket console without its path
 * makes Cloud Hypervisor unwrap() a None and its VMM thread panic: the API
 * client then gets "API response receive error" and the process exits 1. */
static ChErr *create_consoles(Vmm *v) {
        static const char *const sections[] = { "console", "serial" };
        for (size_t i = 0; i < 2; i++) {
                const json_t *c = json_object_get(v->config, sections[i]);
                const char *mode = cfg_str(c, "mode");
                bool file = mode && strcmp(mode, "File") == 0 && !cfg_str(c, "file");
                bool sock = mode && strcmp(mode, "Socket") == 0 && !cfg_str(c, "socket");
                if (file || sock) {
                        fprintf(stderr, "\nthread 'vmm' panicked at vmm/src/console_devices.rs:\n"
                                        "called `Option::unwrap()` on a `None` value\n"
                                        "note: run with `RUST_BACKTRACE=1` environment variable to display "
                                        "a backtrace\n");
                        end_vmm(v, 1,
                                cherr_wrap(cherr_new(0, "Failed to join on VMM thread: Any { .. }"),
                                           "Failed to join on VMM thread"));
                        ChErr *e = cherr_wrap(cherr_new(API_LEVEL_STATUS, "receiving on a closed channel"),
                                              "API response receive error");
                        return e;
                }
        }
        consoles_free(v->consoles);
        v->consoles = NULL;
        ChErr *e = consoles_create(v->config, &v->consoles);
        return e ? cherr_wrap(e, "Error creating console devices") : NULL;
}

ChErr *vmm_vm_create(Vmm *v, json_t *cfg) {
        if (v->config) {
                json_decref(cfg);
                return cherr_new(0, "VM is already created");
        }
        if (config_fill(&schema_vm_config, cfg) < 0) {
                json_decref(cfg);
                return cherr_new(0, "out of memory");
        }
        /* The config is kept even if the consoles fail below. */
        v->config = cfg;
        return create_consoles(v);
}

ChErr *vmm_vm_boot(Vmm *v) {
        if (v->vm)
                return cherr_new(0, "VM is already created");
        log_info("vmm", "vmm/src/lib.rs", "Booting VM");
        event_emit("vm", "booting", NULL);
        if (!v->config)
                return cherr_new(404, "VM config is missing");
        ChErr *e = NULL;
        if (!v->consoles && (e = create_consoles(v)))
                return e;
        Vm *vm = NULL;
        if ((e = vm_new(v->config, v->consoles, &v->s.sim, v->boot_count + 1, &vm)))
                return e;
        v->boot_count++;
        e = vm_boot(vm);
        v->vm = vm;
        if (e)
                return e;
        if (v->s.sim.boot_delay_ms > 0) {
                struct timespec ts = { v->s.sim.boot_delay_ms / 1000,
                                       (v->s.sim.boot_delay_ms % 1000) * 1000000 };
                while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                        ;
        }
        event_emit("vm", "booted", NULL);
        return NULL;
}

/* Vmm::vm_shutdown(): the Vm is dropped whatever Vm::shutdown() says. */
ChErr *vmm_vm_shutdown(Vmm *v) {
        if (!v->vm)
                return not_running();
        Vm *vm = v->vm;
        v->vm = NULL;
        v->consoles = consoles_free(v->consoles);
        ChErr *e = vm_shutdown(vm);
        vm_free(vm);
        if (!e)
                event_emit("vm", "shutdown", NULL);
        return e;
}

ChErr *vmm_vm_reboot(Vmm *v) {
        event_emit("vm", "rebooting", NULL);
        if (!v->vm)
                return not_created();
        Vm *old = v->vm;
        v->vm = NULL;
        ChErr *e = vm_shutdown(old);
        vm_free(old);
        if (e)
                return e;
        v->consoles = consoles_free(v->consoles);
        if ((e = create_consoles(v)))
                return e;
        Vm *vm = NULL;
        if ((e = vm_new(v->config, v->consoles, &v->s.sim, v->boot_count + 1, &vm)))
                return e;
        v->boot_count++;
        if ((e = vm_boot(vm))) {
                vm_free(vm);
                return e;
        }
        v->vm = vm;
        event_emit("vm", "rebooted", NULL);
        return NULL;
}

ChErr *vmm_vm_pause(Vmm *v) {
        return v->vm ? vm_pause(v->vm) : not_running();
}

ChErr *vmm_vm_resume(Vmm *v) {
        return v->vm ? vm_resume(v->vm) : not_running();
}

ChErr *vmm_vm_power_button(Vmm *v) {
        return v->vm ? vm_power_button(v->vm) : not_running();
}

ChErr *vmm_vm_nmi(Vmm *v) {
        return v->vm ? vm_nmi(v->vm) : not_running();
}

ChErr *vmm_vm_delete(Vmm *v) {
        if (!v->config)
                return NULL;
        ChErr *e;
        if (v->vm && (e = vmm_vm_shutdown(v)))
                return e;
        v->consoles = consoles_free(v->consoles);
        json_decref(v->config);
        v->config = NULL;
        event_emit("vm", "deleted", NULL);
        return NULL;
}

ChErr *vmm_vmm_shutdown(Vmm *v) {
        ChErr *e = vmm_vm_delete(v);
        if (e)
                return e;
        event_emit("vmm", "shutdown", NULL);
        end_vmm(v, 0, NULL);
        return NULL;
}

ChErr *vmm_vm_info(Vmm *v, json_t **ret) {
        if (!v->config)
                return not_created();
        json_t *cfg = json_deep_copy(v->config);
        uint64_t mem;
        json_t *tree = NULL;
        if (v->vm) {
                mem = vm_memory_actual_size(v->vm);
                tree = vm_device_tree(v->vm);
        } else {
                const json_t *m = json_object_get(v->config, "memory");
                mem = cfg_u64(m, "size", 0);
                size_t i;
                json_t *z;
                json_array_foreach (json_object_get(m, "zones"), i, z)
                        mem += cfg_u64(z, "size", 0);
        }
        json_t *info = json_object();
        if (!cfg || !info) {
                json_decref(cfg);
                json_decref(info);
                json_decref(tree);
                return cherr_new(0, "out of memory");
        }
        json_object_set_new(info, "config", cfg);
        json_object_set_new(info, "state", json_string(vm_state_name(v->vm ? vm_state(v->vm) : VM_CREATED)));
        json_object_set_new(info, "memory_actual_size", json_integer((json_int_t) mem));
        /* serde_with::skip_serializing_none: no "device_tree" without a Vm. */
        if (tree)
                json_object_set_new(info, "device_tree", tree);
        *ret = info;
        return NULL;
}

json_t *vmm_ping(Vmm *v) {
        (void) v;
        return json_pack("{s:s,s:s,s:I,s:[s,s]}", "build_version", CH_BUILD_VERSION, "version", CH_VERSION,
                         "pid", (json_int_t) getpid(), "features", "io_uring", "kvm");
}

ChErr *vmm_vm_counters(Vmm *v, char **ret_body) {
        if (!v->vm)
                return not_running();
        char *body = vm_counters(v->vm);
        if (!body)
                return cherr_new(0, "out of memory");
        *ret_body = body;
        return NULL;
}

ChErr *vmm_vm_resize(Vmm *v, const json_t *body, bool *ret_busy) {
        *ret_busy = false;
        if (!v->config)
                return not_created();
        const json_t *vcpus = json_object_get(body, "desired_vcpus"),
                     *ram = json_object_get(body, "desired_ram"),
                     *balloon = json_object_get(body, "desired_balloon");
        if (v->vm)
                return vm_resize(v->vm, vcpus, ram, balloon, ret_busy);
        /* Not booted: the config is updated, unchecked. */
        if (json_is_integer(vcpus))
                json_object_set(json_object_get(v->config, "cpus"), "boot_vcpus", (json_t *) vcpus);
        if (json_is_integer(ram))
                json_object_set(json_object_get(v->config, "memory"), "size", (json_t *) ram);
        json_t *b = json_object_get(v->config, "balloon");
        if (json_is_integer(balloon) && json_is_object(b))
                json_object_set(b, "size", (json_t *) balloon);
        return NULL;
}

static json_t *list_of(json_t *cfg, const char *kind) {
        json_t *list = json_object_get(cfg, kind);
        if (!json_is_array(list)) {
                list = json_array();
                if (json_object_set_new(cfg, kind, list) < 0)
                        return NULL;
        }
        return list;
}

ChErr *vmm_vm_add_device(Vmm *v, const char *kind, json_t *dev, json_t **ret_info) {
        *ret_info = NULL;
        if (!v->config) {
                json_decref(dev);
                return not_created();
        }
        const DeType *t = strcmp(kind, "disks") == 0 ? &schema_disk_config : &schema_net_config;
        if (config_fill(t, dev) < 0) {
                json_decref(dev);
                return cherr_new(0, "out of memory");
        }
        ChErr *e = NULL;
        /* A second disk on the same image (see README: the notes ask 409). */
        const char *path = cfg_str(dev, "path");
        size_t i;
        json_t *other;
        if (strcmp(kind, "disks") == 0 && path)
                json_array_foreach (json_object_get(v->config, "disks"), i, other)
                        if (cfg_str(other, "path") && strcmp(cfg_str(other, "path"), path) == 0) {
                                json_decref(dev);
                                return cherr_wrap(cherr_new(409, "Duplicated device path: %s", path),
                                                  "Failed to validate config");
                        }
        /* Validate the change on a copy of the config. */
        json_t *copy = json_deep_copy(v->config);
        json_t *list = copy ? list_of(copy, kind) : NULL;
        if (!list || json_array_append(list, dev) < 0) {
                json_decref(copy);
                json_decref(dev);
                return cherr_new(0, "out of memory");
        }
        e = config_validate(copy);
        json_decref(copy);
        if (e) {
                json_decref(dev);
                return cherr_wrap(e, "Failed to validate config");
        }
        if (v->vm) {
                e = strcmp(kind, "disks") == 0 ? vm_add_disk(v->vm, dev, ret_info)
                                               : vm_add_net(v->vm, dev, ret_info);
                if (e) {
                        json_decref(dev);
                        return e;
                }
        }
        list = list_of(v->config, kind);
        if (!list || json_array_append_new(list, dev) < 0) {
                json_decref(*ret_info);
                *ret_info = NULL;
                return cherr_new(0, "out of memory");
        }
        return NULL;
}

/* VmConfig::remove_device() */
static bool config_remove_device(json_t *cfg, const char *id) {
        static const char *const lists[] = {
                "disks", "net", "fs", "pmem", "devices", "user_devices", "vdpa"
        };
        for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
                json_t *list = json_object_get(cfg, lists[l]);
                size_t i;
                json_t *d;
                json_array_foreach (list, i, d) {
                        const char *other = cfg_str(d, "id");
                        if (other && strcmp(other, id) == 0) {
                                json_array_remove(list, i);
                                return true;
                        }
                }
        }
        return false;
}

ChErr *vmm_vm_remove_device(Vmm *v, const char *id) {
        if (v->vm) {
                ChErr *e = vm_remove_device(v->vm, id);
                if (e)
                        return e;
                config_remove_device(v->config, id);
                return NULL;
        }
        if (!v->config)
                return not_created();
        if (!config_remove_device(v->config, id))
                return cherr_new(404, "No device with id \"%s\" to remove", id);
        return NULL;
}

ChErr *vmm_not_simulated(Vmm *v, bool needs_vm, bool needs_config) {
        if (needs_config && !v->config)
                return not_created();
        if (needs_vm && !v->vm)
                return not_running();
        return cherr_new(0, "chsim does not simulate this request");
}

/* ---- the guest's own events ------------------------------------------------------ */

int vmm_next_timeout_ms(Vmm *v) {
        return v->vm ? vm_next_timeout_ms(v->vm) : -1;
}

void vmm_tick(Vmm *v) {
        if (!v->vm || v->exited)
                return;
        switch (vm_tick(v->vm)) {
        case VM_EVENT_NONE:
                break;
        case VM_EVENT_POWEROFF: {
                log_info("vmm", "vmm/src/lib.rs", "VM guest exit event");
                ChErr *e = v->s.no_shutdown ? vmm_vm_shutdown(v) : vmm_vmm_shutdown(v);
                if (e)
                        end_vmm(v, 1,
                                cherr_wrap(cherr_wrap(e, v->s.no_shutdown ? "Error shutting down VM"
                                                                          : "Error shutting down VMM"),
                                           "VMM thread exited with error"));
                break;
        }
        case VM_EVENT_RESET: {
                log_info("vmm", "vmm/src/lib.rs", "VM reset event");
                ChErr *e = vmm_vm_reboot(v);
                if (e)
                        end_vmm(v, 1,
                                cherr_wrap(cherr_wrap(e, "Error rebooting VM"),
                                           "VMM thread exited with error"));
                break;
        }
        }
}

void vmm_request_exit(Vmm *v) {
        if (v->exited)
                return;
        log_info("vmm", "vmm/src/lib.rs", "VM exit event");
        ChErr *e = vmm_vmm_shutdown(v);
        if (e)
                end_vmm(v, 1,
                        cherr_wrap(cherr_wrap(e, "Error shutting down VMM"),
                                   "VMM thread exited with error"));
}

bool vmm_exited(Vmm *v, int *ret_code, ChErr **ret_error) {
        if (!v->exited)
                return false;
        *ret_code = v->exit_code;
        *ret_error = v->exit_error;
        v->exit_error = NULL;
        return true;
}
