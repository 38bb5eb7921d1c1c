/* SPDX-License-Identifier: Apache-2.0 */
#include "reconcile/lifecycle.h"

#define N ACTION_NONE
#define P ACTION_PREPARE
#define S ACTION_START
#define PA ACTION_PAUSE
#define R ACTION_RESUME
#define ST ACTION_STOP
#define D ACTION_DELETE
#define RC ACTION_RECOVER

/*
 * next[observed][desired]. Columns: the desirable phases. A transitional
 * observed phase means a step was interrupted (by a crash or a failure): the
 * same step runs again, which is safe because every step is idempotent, or
 * the step that now leads to the new desired phase runs instead.
 * Entries the API never lets happen (e.g. desired=created on a running VM)
 * are ACTION_NONE. (Kept in columns: clang-format is off for the table.)
 */
/* clang-format off */
static const LifecycleAction next_table[_VM_PHASE_MAX][_VM_PHASE_MAX] = {
        /*                            created running paused shutdown deleted */
        [VM_PHASE_PENDING] = { [VM_PHASE_CREATED] = P, [VM_PHASE_RUNNING] = P, [VM_PHASE_PAUSED] = P,
                               [VM_PHASE_SHUTDOWN] = P, [VM_PHASE_DELETED] = D },
        [VM_PHASE_CREATING] = { [VM_PHASE_CREATED] = P, [VM_PHASE_RUNNING] = P, [VM_PHASE_PAUSED] = P,
                                [VM_PHASE_SHUTDOWN] = P, [VM_PHASE_DELETED] = D },
        [VM_PHASE_CREATED] = { [VM_PHASE_CREATED] = N, [VM_PHASE_RUNNING] = S, [VM_PHASE_PAUSED] = S,
                               [VM_PHASE_SHUTDOWN] = N, [VM_PHASE_DELETED] = D },
        /* Caught mid-boot: boot again from scratch (START kills what is there). */
        [VM_PHASE_BOOTING] = { [VM_PHASE_CREATED] = ST, [VM_PHASE_RUNNING] = S, [VM_PHASE_PAUSED] = S,
                               [VM_PHASE_SHUTDOWN] = ST, [VM_PHASE_DELETED] = D },
        [VM_PHASE_RUNNING] = { [VM_PHASE_CREATED] = N, [VM_PHASE_RUNNING] = N, [VM_PHASE_PAUSED] = PA,
                               [VM_PHASE_SHUTDOWN] = ST, [VM_PHASE_DELETED] = D },
        [VM_PHASE_PAUSING] = { [VM_PHASE_CREATED] = N, [VM_PHASE_RUNNING] = R, [VM_PHASE_PAUSED] = PA,
                               [VM_PHASE_SHUTDOWN] = ST, [VM_PHASE_DELETED] = D },
        [VM_PHASE_PAUSED] = { [VM_PHASE_CREATED] = N, [VM_PHASE_RUNNING] = R, [VM_PHASE_PAUSED] = N,
                              [VM_PHASE_SHUTDOWN] = ST, [VM_PHASE_DELETED] = D },
        [VM_PHASE_RESUMING] = { [VM_PHASE_CREATED] = N, [VM_PHASE_RUNNING] = R, [VM_PHASE_PAUSED] = PA,
                                [VM_PHASE_SHUTDOWN] = ST, [VM_PHASE_DELETED] = D },
        [VM_PHASE_REBOOTING] = { [VM_PHASE_CREATED] = N, [VM_PHASE_RUNNING] = ACTION_REBOOT,
                                 [VM_PHASE_PAUSED] = ACTION_REBOOT, [VM_PHASE_SHUTDOWN] = ST,
                                 [VM_PHASE_DELETED] = D },
        /* Caught mid-shutdown: finish it first, whatever is wanted next. */
        [VM_PHASE_SHUTTING_DOWN] = { [VM_PHASE_CREATED] = ST, [VM_PHASE_RUNNING] = ST,
                                     [VM_PHASE_PAUSED] = ST, [VM_PHASE_SHUTDOWN] = ST,
                                     [VM_PHASE_DELETED] = D },
        [VM_PHASE_SHUTDOWN] = { [VM_PHASE_CREATED] = N, [VM_PHASE_RUNNING] = S, [VM_PHASE_PAUSED] = S,
                                [VM_PHASE_SHUTDOWN] = N, [VM_PHASE_DELETED] = D },
        /* Caught mid-delete: finish it. */
        [VM_PHASE_DELETING] = { [VM_PHASE_CREATED] = D, [VM_PHASE_RUNNING] = D, [VM_PHASE_PAUSED] = D,
                                [VM_PHASE_SHUTDOWN] = D, [VM_PHASE_DELETED] = D },
        [VM_PHASE_DELETED] = { [VM_PHASE_CREATED] = N },
        [VM_PHASE_FAILED] = { [VM_PHASE_CREATED] = RC, [VM_PHASE_RUNNING] = RC, [VM_PHASE_PAUSED] = RC,
                              [VM_PHASE_SHUTDOWN] = RC, [VM_PHASE_DELETED] = D },
};
/* clang-format on */

static const struct {
        const char *name;
        LifecycleStep step;
} action_table[_ACTION_MAX] = {
        [ACTION_NONE] = { "none", { _VM_PHASE_INVALID, _VM_PHASE_INVALID } },
        [ACTION_PREPARE] = { "prepare", { VM_PHASE_CREATING, VM_PHASE_CREATED } },
        [ACTION_START] = { "start", { VM_PHASE_BOOTING, VM_PHASE_RUNNING } },
        [ACTION_PAUSE] = { "pause", { VM_PHASE_PAUSING, VM_PHASE_PAUSED } },
        [ACTION_RESUME] = { "resume", { VM_PHASE_RESUMING, VM_PHASE_RUNNING } },
        [ACTION_REBOOT] = { "reboot", { VM_PHASE_REBOOTING, VM_PHASE_RUNNING } },
        [ACTION_STOP] = { "stop", { VM_PHASE_SHUTTING_DOWN, VM_PHASE_SHUTDOWN } },
        [ACTION_DELETE] = { "delete", { VM_PHASE_DELETING, VM_PHASE_DELETED } },
        [ACTION_RECOVER] = { "recover", { _VM_PHASE_INVALID, _VM_PHASE_INVALID } },
};

LifecycleAction lifecycle_next(VmPhase observed, VmPhase desired, bool reboot_pending) {
        if (observed < 0 || observed >= _VM_PHASE_MAX || !vm_phase_is_desirable(desired))
                return ACTION_NONE;
        /* A pending reboot turns "running, nothing to do" into a reboot. */
        if (reboot_pending && desired == VM_PHASE_RUNNING && observed == VM_PHASE_RUNNING)
                return ACTION_REBOOT;
        return next_table[observed][desired];
}

LifecycleStep lifecycle_step(LifecycleAction a) {
        if (a < 0 || a >= _ACTION_MAX)
                return action_table[ACTION_NONE].step;
        return action_table[a].step;
}

const char *lifecycle_action_to_string(LifecycleAction a) {
        if (a < 0 || a >= _ACTION_MAX)
                return NULL;
        return action_table[a].name;
}

bool lifecycle_converged(VmPhase observed, VmPhase desired, bool reboot_pending) {
        if (reboot_pending)
                return false;
        if (observed == desired)
                return true;
        /* Never booted and asked to be shut down: nothing runs, which is what was asked. */
        return desired == VM_PHASE_SHUTDOWN && observed == VM_PHASE_CREATED;
}
