/* SPDX-License-Identifier: Apache-2.0 */
#include "vm/vm-state.h"

#include <stdio.h>
#include <stdlib.h>

/* One row per phase: its name, whether a step passes through it, whether the
 * API may ask for it, and what the public API shows for it. */
static const struct {
        const char *name;
        bool transitional;
        bool desirable;
        VmState public_state;
} phase_table[_VM_PHASE_MAX] = {
        [VM_PHASE_PENDING] = { "pending", true, false, VM_STATE_UNSPECIFIED },
        [VM_PHASE_CREATING] = { "creating", true, false, VM_STATE_UNSPECIFIED },
        [VM_PHASE_CREATED] = { "created", false, true, VM_STATE_CREATED },
        [VM_PHASE_BOOTING] = { "booting", true, false, VM_STATE_CREATED },
        [VM_PHASE_RUNNING] = { "running", false, true, VM_STATE_RUNNING },
        [VM_PHASE_PAUSING] = { "pausing", true, false, VM_STATE_RUNNING },
        [VM_PHASE_PAUSED] = { "paused", false, true, VM_STATE_PAUSED },
        [VM_PHASE_RESUMING] = { "resuming", true, false, VM_STATE_PAUSED },
        [VM_PHASE_REBOOTING] = { "rebooting", true, false, VM_STATE_RUNNING },
        [VM_PHASE_SHUTTING_DOWN] = { "shutting_down", true, false, VM_STATE_RUNNING },
        [VM_PHASE_SHUTDOWN] = { "shutdown", false, true, VM_STATE_SHUTDOWN },
        [VM_PHASE_DELETING] = { "deleting", true, false, VM_STATE_DELETED },
        [VM_PHASE_DELETED] = { "deleted", false, true, VM_STATE_DELETED },
        [VM_PHASE_FAILED] = { "failed", false, false, VM_STATE_FAILED },
};

static const char *const state_names[_VM_STATE_MAX] = {
        [VM_STATE_UNSPECIFIED] = "VM_STATE_UNSPECIFIED", [VM_STATE_CREATED] = "VM_STATE_CREATED",
        [VM_STATE_RUNNING] = "VM_STATE_RUNNING",         [VM_STATE_PAUSED] = "VM_STATE_PAUSED",
        [VM_STATE_SHUTDOWN] = "VM_STATE_SHUTDOWN",       [VM_STATE_FAILED] = "VM_STATE_FAILED",
        [VM_STATE_DELETED] = "VM_STATE_DELETED",
};

const char *vm_phase_to_string(VmPhase p) {
        if (p < 0 || p >= _VM_PHASE_MAX)
                return NULL;
        return phase_table[p].name;
}

VmPhase vm_phase_from_string(const char *s) {
        if (!s)
                return _VM_PHASE_INVALID;
        for (int i = 0; i < _VM_PHASE_MAX; i++)
                if (streq(phase_table[i].name, s))
                        return (VmPhase) i;
        return _VM_PHASE_INVALID;
}

bool vm_phase_is_transitional(VmPhase p) {
        return p >= 0 && p < _VM_PHASE_MAX && phase_table[p].transitional;
}

bool vm_phase_is_desirable(VmPhase p) {
        return p >= 0 && p < _VM_PHASE_MAX && phase_table[p].desirable;
}

VmState vm_phase_to_public(VmPhase p) {
        if (p < 0 || p >= _VM_PHASE_MAX)
                return VM_STATE_UNSPECIFIED;
        return phase_table[p].public_state;
}

const char *vm_state_to_string(VmState s) {
        if ((int) s < 0 || s >= _VM_STATE_MAX)
                return NULL;
        return state_names[s];
}

int vm_state_from_string(const char *s, VmState *ret) {
        for (int i = 0; i < _VM_STATE_MAX; i++)
                if (streq(state_names[i], s)) {
                        *ret = (VmState) i;
                        return 0;
                }
        char *end;
        long v = strtol(s, &end, 10);
        if (*s && !*end && v >= 0 && v < _VM_STATE_MAX) {
                *ret = (VmState) v;
                return 0;
        }
        return -EINVAL;
}

VmPhase vm_state_to_phase(VmState s) {
        switch (s) {
        case VM_STATE_CREATED:
                return VM_PHASE_CREATED;
        case VM_STATE_RUNNING:
                return VM_PHASE_RUNNING;
        case VM_STATE_PAUSED:
                return VM_PHASE_PAUSED;
        case VM_STATE_SHUTDOWN:
                return VM_PHASE_SHUTDOWN;
        case VM_STATE_DELETED:
                return VM_PHASE_DELETED;
        default:
                return _VM_PHASE_INVALID;
        }
}
