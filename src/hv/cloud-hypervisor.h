/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The pure parts of the Cloud Hypervisor backend (cloud-hypervisor.c),
 * exposed for unit tests: the vm.create body, and decoders for vm.info,
 * vmm.ping and error answers. No I/O, no state. Field names and values follow
 * specs/cloud-hypervisor.yaml; see also specs/VMM-BEHAVIOUR.md, section
 * Cloud Hypervisor.
 *
 * Builders return a new reference the caller must json_decref() (or a
 * malloc'ed string), NULL on OOM. They do not validate (vm_config_validate did).
 */

#include <jansson.h>

#include "hv/hypervisor.h"

/* What vm.info says about the VM, plus "no VM created" (a 404 there). */
typedef enum ChVmState {
        CH_VM_NONE, /* no vm.create yet (or vm.delete'd) */
        CH_VM_CREATED, /* a config, not booted (also after vm.shutdown) */
        CH_VM_RUNNING,
        CH_VM_PAUSED,
        CH_VM_SHUTDOWN, /* the guest stopped but the VM object is kept */
} ChVmState;

/*
 * The guest kernel command line. Cloud Hypervisor adds no root= (Firecracker
 * does): with a root disk, "root=/dev/vda rw" ("ro" for a read-only root) is
 * put first, unless the caller's kernel_args already name a root= (theirs
 * wins); the root disk is the first disk (ch_vm_config_json), hence vda.
 * Prepended rather than appended, so it never lands after a "--" (which
 * hands the rest to init). "pci=off" is dropped: every Cloud Hypervisor
 * device is virtio-pci, so such a guest would find none of its disks
 * (Firecracker-style arguments like the seed's work unchanged).
 * Returns "" when there is nothing to pass.
 */
char *ch_cmdline(const VmConfig *c);

/*
 * The vm.create body:
 *   cpus    {"boot_vcpus", "max_vcpus"} (max = max_vcpu_count, or vcpu_count when 0)
 *   memory  {"size", "hotplug_size"?} in bytes (hotplug only when > 0)
 *   payload {"kernel", "cmdline"? (ch_cmdline, when not empty), "initramfs"?}
 *   disks   [{"path", "readonly", "id"}] the root disk first, then the others
 *           in config order; ids are ours (stable, so vm.counters and errors
 *           name them); omitted when there are none
 *   serial  {"mode": "Tty"}  the guest's ttyS0 on the VMM's stdout, which is
 *                            console.log (cloud-hypervisor.c says why)
 *   console {"mode": "Off"}  no virtio-console
 */
json_t *ch_vm_config_json(const VmConfig *c);
/* Add "net": [{"tap", "mac", "id", "rate_limiter_config"?}] for nics to cfg
 * (nothing when n is 0). 0 or -ENOMEM. One rate limiter serves both
 * directions in Cloud Hypervisor: the tighter of rx/tx per bucket. */
int ch_vm_config_add_net(json_t *cfg, const VmmNic *nics, size_t n);

/*
 * Decode the answer of GET vm.info: "state" is "Created", "Running", "Paused"
 * or "Shutdown". -EPROTO for anything else ("BreakPoint" only exists under a
 * debugger metald never attaches). *ret written only on success.
 */
int ch_vm_state_from_json(const json_t *info, ChVmState *ret);

/* What the backend reports for a ChVmState: NONE, CREATED and SHUTDOWN are
 * VMM_STATE_NOT_STARTED (the VMM is up, the guest is not running). */
VmmState ch_vmm_state(ChVmState s);

/*
 * The "pid" of a vmm.ping answer: 0 and *ret (> 0); -ENODATA if the answer is
 * an object without "pid" (older releases); -EPROTO if it is not an object or
 * the pid is not a positive integer that fits pid_t.
 */
int ch_ping_pid_from_json(const json_t *ping, pid_t *ret);

/*
 * Cloud Hypervisor's own words from an error answer: the body is a JSON array
 * of messages, outermost first (["Error from API", "The VM could not boot",
 * "..."]), joined with ": "; non-string items as compact JSON. Anything else:
 * the raw body (control characters replaced); "(no body)" if empty. At most
 * 1024 bytes. A malloc'ed string, or NULL on OOM.
 */
char *ch_error_text(const char *body);

/*
 * The errno for a non-2xx answer, given its words (may be NULL):
 *   400 (bad request), 404 (no VM / unknown path), 405, 409 (duplicate):
 *       -EBADMSG, permanent.
 *   429 (a vCPU removal is pending): -EAGAIN.
 *   500: every other refusal ("VM is not running", "The VM could not boot:
 *       Cannot open kernel file: ...", a disk image locked by another VM):
 *       -EBADMSG, since the same request on the same config fails again;
 *       except when the words show a host resource shortage that may pass
 *       ("(os error 11)" EAGAIN, 12 ENOMEM, 23 ENFILE, 24 EMFILE, 4 EINTR):
 *       -EIO, retried.
 *   anything else: -EIO.
 */
int ch_status_errno(long status, const char *text);
