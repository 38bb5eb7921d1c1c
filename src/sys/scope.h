/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Transient systemd scope units for VMMs: under systemd, each VMM is moved
 * into its own `metald-vm-<id>.scope` (sd-bus StartTransientUnit on the
 * system bus), with the VM's memory and CPU limits as unit properties, so
 * that stopping or restarting metald.service never touches the VMs.
 * Without systemd (tests, containers), every call is a no-op and the
 * fallback (a detached session, see hv/vmm-process.c) is logged once.
 *
 * Thread-safe: calls are serialised on the manager's own bus connection.
 */

#include <sys/types.h>

#include "util/util.h"

typedef struct ScopeManager ScopeManager;

/* Connect when systemd is the init system and the system bus answers.
 * Returns 1 with scopes available, 0 in fallback mode (*ret is still a valid
 * manager), < 0 on OOM. */
int scope_manager_new(ScopeManager **ret);
ScopeManager *scope_manager_free(ScopeManager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(ScopeManager *, scope_manager_free);

/* True if VMMs go into scopes. */
bool scope_manager_active(const ScopeManager *m);

/* "metald-vm-<vm_id>.scope" into buf. */
void scope_unit_name(const char *vm_id, char *buf, size_t size);

/*
 * Move pid into a new transient scope for vm_id, with MemoryMax=memory_max
 * (bytes, 0 = no limit) and CPUQuota=cpu_quota_percent (0 = none), and wait
 * (bounded) for systemd to finish the job. A stale scope of the same name (a
 * VMM that died) is stopped first. No-op returning 0 in fallback mode.
 */
int scope_manager_adopt(ScopeManager *m, const char *vm_id, pid_t pid, uint64_t memory_max,
                        unsigned cpu_quota_percent, char **ret_error);
