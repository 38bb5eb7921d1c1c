/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * vmm: the VMM side of the API (Cloud Hypervisor's Vmm and its
 * RequestHandler in vmm/src/lib.rs): one optional VmConfig (vm.create), one
 * optional running Vm (vm.boot), the console devices, and what happens
 * when the guest powers off or resets.
 *
 * Each vmm_* action returns NULL on success or the error chain up to, not
 * including, the ApiError level ("The VM could not boot"), which api.c adds
 * with "Error from API". The states follow Cloud Hypervisor:
 *   - vm.create stores the config (validating nothing) and creates the
 *     console devices;
 *   - vm.boot validates, creates the Vm and boots it; a Vm whose boot failed
 *     after it was created (payload errors) stays, in state Created;
 *   - vm.shutdown drops the Vm and keeps the config: vm.info says Created
 *     and vm.boot works again; a guest power-off does the same with
 *     --no-shutdown, and otherwise ends the VMM;
 *   - vm.delete drops both; vmm.shutdown also ends the VMM.
 * Single-threaded.
 */

#include <jansson.h>
#include <stdbool.h>

#include "reply.h"
#include "vm.h"

#define CH_BUILD_VERSION "v53.0.0"
#define CH_VERSION "53.0.0"

typedef struct VmmSettings {
        bool no_shutdown; /* --no-shutdown */
        SimSettings sim;
} VmmSettings;

typedef struct Vmm Vmm;

int vmm_new(const VmmSettings *s, Vmm **ret);
Vmm *vmm_free(Vmm *v);

/* Marks a chain that is already at the ApiError level (api.c adds only
 * "Error from API"), e.g. the VMM thread died while answering. */
bool vmm_error_is_api_level(const ChErr *e);

ChErr *vmm_vm_create(Vmm *v, json_t *cfg); /* steals cfg */
ChErr *vmm_vm_boot(Vmm *v);
ChErr *vmm_vm_shutdown(Vmm *v);
ChErr *vmm_vm_reboot(Vmm *v);
ChErr *vmm_vm_pause(Vmm *v);
ChErr *vmm_vm_resume(Vmm *v);
ChErr *vmm_vm_power_button(Vmm *v);
ChErr *vmm_vm_nmi(Vmm *v);
ChErr *vmm_vm_delete(Vmm *v);
ChErr *vmm_vmm_shutdown(Vmm *v);
ChErr *vmm_vm_info(Vmm *v, json_t **ret);
json_t *vmm_ping(Vmm *v);
ChErr *vmm_vm_counters(Vmm *v, char **ret_body);
/* *ret_busy: the HTTP layer answers 429 "Too Many Requests". */
ChErr *vmm_vm_resize(Vmm *v, const json_t *body, bool *ret_busy);
/* kind: "disks" or "net". dev is stolen. *ret_info is {"id","bdf"} when
 * the VM exists (hotplug: HTTP 200), NULL otherwise (cold plug: 204). */
ChErr *vmm_vm_add_device(Vmm *v, const char *kind, json_t *dev, json_t **ret_info);
ChErr *vmm_vm_remove_device(Vmm *v, const char *id);
/* Endpoints chsim does not simulate past their state checks. */
ChErr *vmm_not_simulated(Vmm *v, bool needs_vm, bool needs_config);

/* Guest timers and events (power-off, reset). */
int vmm_next_timeout_ms(Vmm *v);
void vmm_tick(Vmm *v);

/* SIGTERM/SIGINT: Cloud Hypervisor's exit event (vmm_shutdown, then exit). */
void vmm_request_exit(Vmm *v);

/* True once the VMM has ended; *ret_code is the process exit code and
 * *ret_error (may be NULL) the error chain to print. */
bool vmm_exited(Vmm *v, int *ret_code, ChErr **ret_error);
