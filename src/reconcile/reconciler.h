/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The reconciler: worker threads fed by a queue of VM ids drive each VM from
 * its observed state to its desired state, one lifecycle step at a time
 * (reconcile/lifecycle.h), through the backend table (hv/hypervisor.h).
 * One worker per VM at a time, so VMM calls for one VM are serialised.
 *
 * Woken by the API (reconciler_enqueue), by retry timers, and by a periodic
 * resync (reconciler_enqueue_all). API threads wait for a request's outcome
 * with reconciler_wait.
 */

#include "net/host-net.h"
#include "store/store.h"
#include "sys/scope.h"

typedef struct Reconciler Reconciler;

typedef struct ReconcilerOptions {
        Store *store;
        const BackendOptions *backend_options;
        unsigned n_workers; /* default 4 */
        unsigned max_attempts; /* transient failures before "failed"; default 5 */
        unsigned backoff_ms; /* first retry delay; doubles, capped at 30 s; default 250 */
        /* Paths are checked again just before a VMM opens them: a file swapped
         * for a symlink after CreateVm must not lead out of the asset roots. */
        char *const *asset_roots;
        size_t n_asset_roots;
        uint64_t host_memory_bytes;
        ScopeManager *scopes; /* may be NULL: no scopes */
        uint64_t console_max_bytes; /* 0: no cap */
        const HostNetOptions *net; /* NULL: defaults (TAPs owned by root, firewall on) */
} ReconcilerOptions;

int reconciler_new(const ReconcilerOptions *o, Reconciler **ret);
/* Stop the workers: steps in flight finish or are cut short at a safe point
 * (a wait for a guest to power off is abandoned; the VM stays in its
 * transitional state, which the next start resolves). Idempotent. */
void reconciler_stop(Reconciler *r);
Reconciler *reconciler_free(Reconciler *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Reconciler *, reconciler_free);

typedef struct ReattachStats {
        size_t vms; /* active VMs looked at */
        size_t unprobed; /* not probed within the time bound (they are, later) */
        bool host_rebooted; /* the boot id changed since the last run */
        uint64_t usec;
} ReattachStats;

/*
 * Re-derive the observed state of every VM from the hypervisors (never trust
 * the database after a restart), on the workers in parallel, and wait for it
 * (bounded): a recorded VMM that is alive is asked for its state and watched
 * again; one whose API is dead is an error (never a second VMM); one that is
 * gone is handled by the VM's restart policy, unless the host rebooted since
 * the last run (told apart by the kernel's boot id), when VMs that should run
 * are simply started again. Called once at start, before READY=1.
 */
int reconciler_reattach_all(Reconciler *r, ReattachStats *ret_stats);

/* The daemon's SIGCHLD reaper hands in what waitpid said about a child. */
void reconciler_child_exited(Reconciler *r, pid_t pid, int status);

void reconciler_enqueue(Reconciler *r, const char *vm_id);
/* Queue every active VM (periodic resync: notices VMMs that died). */
int reconciler_enqueue_all(Reconciler *r);

typedef enum WaitOutcome {
        WAIT_DONE, /* reached the desired state of that generation */
        WAIT_FAILED, /* the step failed for good; row->last_error says why */
        WAIT_SUPERSEDED, /* a later request changed the desired state first */
        WAIT_TIMEOUT, /* still under way */
        WAIT_STOPPING, /* metald is stopping; the request resumes after restart */
} WaitOutcome;

/* Wait (bounded by timeout_ms) until VM vm_id has reached, failed or been
 * superseded at generation. *ret_row gets the last row read. */
int reconciler_wait(Reconciler *r, const char *vm_id, int64_t generation, unsigned timeout_ms,
                    WaitOutcome *ret_outcome, VmRow **ret_row);

/* For GET /metrics: work waiting and errors recorded since start. */
typedef struct ReconcilerStats {
        size_t queued; /* VM ids ready for a worker */
        size_t delayed; /* retries waiting for their time */
        size_t busy; /* VMs a worker is on */
        uint64_t errors; /* error observations recorded (failed steps, crashed VMMs) */
} ReconcilerStats;
void reconciler_get_stats(Reconciler *r, ReconcilerStats *ret);
