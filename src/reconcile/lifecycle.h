/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The transition table: for an observed phase and a desired phase, the one
 * step the reconciler takes next. Every step commits the transitional phase
 * it enters (its "intent") before it acts, and ends in its target phase.
 * Pure data + lookups, no I/O: unit-tested on its own (tests/test-vm-state.c).
 */

#include "vm/vm-state.h"

typedef enum LifecycleAction {
        ACTION_NONE, /* converged (or nothing sensible to do) */
        ACTION_PREPARE, /* -> creating -> created: make the run directory */
        ACTION_START, /* -> booting -> running: spawn the VMM, configure, boot */
        ACTION_PAUSE, /* -> pausing -> paused */
        ACTION_RESUME, /* -> resuming -> running */
        ACTION_REBOOT, /* -> rebooting -> running: stop the VMM, start it again */
        ACTION_STOP, /* -> shutting_down -> shutdown: ask the guest, kill after timeout */
        ACTION_DELETE, /* -> deleting -> deleted: kill, remove the run directory */
        ACTION_RECOVER, /* failed -> whatever the VMM really is: probe, then go on */
        _ACTION_MAX,
} LifecycleAction;

typedef struct LifecycleStep {
        VmPhase intent; /* committed before the side effect */
        VmPhase target; /* committed after it succeeded */
} LifecycleStep;

/* The next action for (observed, desired). reboot_pending is true when a
 * RebootVm was accepted and not yet carried out. */
LifecycleAction lifecycle_next(VmPhase observed, VmPhase desired, bool reboot_pending);

/* The intent/target phases of an action (ACTION_NONE/RECOVER: both _VM_PHASE_INVALID). */
LifecycleStep lifecycle_step(LifecycleAction a);

const char *lifecycle_action_to_string(LifecycleAction a);

/* True when observed satisfies desired: nothing left to do for this generation. */
bool lifecycle_converged(VmPhase observed, VmPhase desired, bool reboot_pending);
