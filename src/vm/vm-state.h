/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Lifecycle states. One enum serves both columns: the API writes a desired
 * state (only the stable ones), the reconciler writes the observed state
 * (any of them). The public API shows a coarser VmState enum plus the exact
 * lifecycle name; the mapping lives here, in one table.
 */

#include "util/util.h"

typedef enum VmPhase {
        VM_PHASE_PENDING,
        VM_PHASE_CREATING,
        VM_PHASE_CREATED,
        VM_PHASE_BOOTING,
        VM_PHASE_RUNNING,
        VM_PHASE_PAUSING,
        VM_PHASE_PAUSED,
        VM_PHASE_RESUMING,
        VM_PHASE_REBOOTING,
        VM_PHASE_SHUTTING_DOWN,
        VM_PHASE_SHUTDOWN,
        VM_PHASE_DELETING,
        VM_PHASE_DELETED,
        VM_PHASE_FAILED,
        _VM_PHASE_MAX,
        _VM_PHASE_INVALID = -EINVAL,
} VmPhase;

/* The public enum of schema/vmprovisioner/v1/vm.proto. */
typedef enum VmState {
        VM_STATE_UNSPECIFIED = 0,
        VM_STATE_CREATED = 1,
        VM_STATE_RUNNING = 2,
        VM_STATE_PAUSED = 3,
        VM_STATE_SHUTDOWN = 4,
        VM_STATE_FAILED = 5,
        VM_STATE_DELETED = 6,
        _VM_STATE_MAX,
} VmState;

/* "pending", "creating", ... (the database's spelling). NULL if out of range. */
const char *vm_phase_to_string(VmPhase p);
VmPhase vm_phase_from_string(const char *s);

/* True for the states a step passes through (creating, booting, ...). */
bool vm_phase_is_transitional(VmPhase p);
/* True for the states the API may ask for (created, running, paused, shutdown, deleted). */
bool vm_phase_is_desirable(VmPhase p);

/* The public state shown for an observed phase: transitional phases show the
 * stable state they are leaving (pending/creating show UNSPECIFIED). */
VmState vm_phase_to_public(VmPhase p);

/* "VM_STATE_RUNNING", ...; NULL if out of range. */
const char *vm_state_to_string(VmState s);
/* Accepts "VM_STATE_RUNNING" or the enum number as a string; -EINVAL otherwise. */
int vm_state_from_string(const char *s, VmState *ret);
/* The desired phase a public state names (CREATED->created, ...); -EINVAL for
 * UNSPECIFIED/FAILED. */
VmPhase vm_state_to_phase(VmState s);
