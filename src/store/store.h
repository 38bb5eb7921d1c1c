/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The durable state: SQLite in WAL mode with synchronous=FULL, so a function
 * here that returned 0 after a write has committed it to disk. Thread-safe:
 * each call borrows a connection from a small pool (one SQLite connection
 * is never used by two threads at once).
 *
 * Column ownership (the invariant "desired and observed are separate"):
 * the API writes desired_state, generation, reboot_requested, shutdown
 * parameters and deleted_at (store_vm_insert, store_vm_update_desired); the
 * reconciler writes everything observed (store_vm_observe). Every change
 * appends to vm_events in the same transaction.
 *
 * SQLite result codes are translated to negative errno in exactly one place
 * (store.c: sqlite_to_errno): SQLITE_BUSY -> -EBUSY, SQLITE_FULL -> -ENOSPC,
 * SQLITE_NOMEM -> -ENOMEM, SQLITE_CONSTRAINT -> -EEXIST, others -> -EIO.
 */

#include "hv/hypervisor.h"
#include "vm/vm-state.h"

typedef struct Store Store;
typedef struct sqlite3 sqlite3;

typedef struct VmRow {
        int64_t seq;
        char *id;
        char *customer_id;
        char *backend;
        char *config_json;
        VmPhase desired;
        int64_t generation;
        VmPhase observed;
        int64_t observed_generation;
        int64_t reboot_requested;
        int64_t reboot_done;
        int shutdown_timeout_s;
        bool force_stop;
        VmmHandle vmm; /* pid 0: none recorded */
        char *run_dir;
        char *last_error;
        char *error_code; /* Connect code name for last_error, e.g. "failed_precondition" */
        int64_t error_generation;
        VmPhase failed_from;
        int attempts;
        int64_t next_attempt_at;
        int64_t created_at;
        int64_t updated_at;
        int64_t deleted_at; /* 0: not deleted */
        char *restart_policy; /* "never", "on-failure", "always" */
        char *last_exit; /* how the last VMM ended on its own, "" if it did not */
        int restarts; /* automatic restarts in a row */
} VmRow;

/* A RebootVm was accepted and not yet carried out, and running is still what is
 * wanted (a later shutdown, pause or delete supersedes a pending reboot). */
static inline bool vm_row_reboot_pending(const VmRow *r) {
        return r->desired == VM_PHASE_RUNNING && r->reboot_requested > r->reboot_done;
}

VmRow *vm_row_free(VmRow *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(VmRow *, vm_row_free);
void vm_row_array_free(VmRow **rows, size_t n);

/* Open (creating if needed) the database at path, mode 0600, apply pending
 * migrations, each in its own transaction. ret_error gets a message on failure. */
int store_open(const char *path, Store **ret, char **ret_error);
Store *store_free(Store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_free);

/*
 * Group commit: the one way API and reconciler writes reach the database.
 *
 * fn runs inside a write transaction, in a SAVEPOINT of its own, with the
 * transaction's connection (store_txn_db): it may read and write any table.
 * Concurrent callers' functions are batched into one transaction and one
 * COMMIT (one fsync for the whole batch). fn returns < 0 to refuse: its
 * savepoint is rolled back, the others in the batch are unaffected, and
 * store_write returns that value. Otherwise store_write returns fn's value
 * only once the COMMIT that contains its writes is durable (synchronous=FULL),
 * so "acknowledged means durable" holds for whatever fn wrote; if that COMMIT
 * fails, every caller in the batch gets the error and nothing of it is kept.
 *
 * fn runs on whichever caller's thread leads the batch: it must use only
 * store_txn_db (no other Store call: that would deadlock), must not block for
 * long (the batch waits for it), and must leave no statement un-reset. It may
 * be called again if a neighbour's failure aborted the whole transaction
 * (e.g. SQLITE_FULL), so it must set its outputs from scratch on each call.
 */
typedef struct StoreConn StoreTxn;
typedef int (*StoreWriteFn)(StoreTxn *t, void *userdata);
int store_write(Store *s, StoreWriteFn fn, void *userdata);
sqlite3 *store_txn_db(StoreTxn *t);

/* Counters of the group commit (for tests and the benchmarks). */
typedef struct StoreWriteStats {
        uint64_t requests; /* store_write calls that reached a transaction */
        uint64_t batches; /* COMMITs attempted */
        uint64_t max_batch; /* largest batch so far */
} StoreWriteStats;
void store_write_stats(Store *s, StoreWriteStats *ret);

/* Names of migrations applied so far, in order (for tests and --version). */
int store_applied_migrations(Store *s, char ***ret_names, size_t *ret_n);

/*
 * Insert a new VM (desired + generation 1, observed pending) and its
 * "created" event. If a live VM with the same id exists: when same_config
 * says its config equals row->config_json (and backend/customer match),
 * returns 0 with *ret_existing set to the existing row (an idempotent retry);
 * otherwise -EEXIST with *ret_existing set. Deleted VMs keep their id
 * reserved: reusing it is -EEXIST too (history stays unambiguous).
 * When max_live (> 0) VMs that are not deleted exist already: -EDQUOT.
 */
typedef bool (*StoreSameConfigFn)(const VmRow *existing, const VmRow *requested, void *userdata);

/* Limits store_vm_insert_limited checks inside its write transaction, over
 * the VMs that are not deleted (so two concurrent inserts cannot both pass).
 * A VM's size is its most vCPUs (maxVcpuCount) and most memory (sizeBytes +
 * hotplugSizeBytes) from config_json. 0 = no limit. */
typedef struct StoreLimits {
        unsigned max_live; /* VMs on the host (--max-vms) */
        uint64_t host_vcpus, host_memory; /* host capacity after overcommit */
        uint64_t tenant_vms, tenant_vcpus, tenant_memory; /* of row->customer_id */
        uint64_t vcpus, memory; /* the new VM's size */
} StoreLimits;

typedef enum StoreLimitHit {
        STORE_LIMIT_NONE,
        STORE_LIMIT_MAX_VMS,
        STORE_LIMIT_HOST_VCPUS,
        STORE_LIMIT_HOST_MEMORY,
        STORE_LIMIT_TENANT_VMS,
        STORE_LIMIT_TENANT_VCPUS,
        STORE_LIMIT_TENANT_MEMORY,
} StoreLimitHit;

int store_vm_insert(Store *s, const VmRow *row, StoreSameConfigFn same_config, void *userdata,
                    unsigned max_live, VmRow **ret_existing);
/* The same, also allocating the VM's network interfaces (store/network.h:
 * store_vm_insert_nics, whose errors and *ret_error it returns) in the same
 * transaction. */
struct StoreNicRequest;
int store_vm_insert_with_nics(Store *s, const VmRow *row, const struct StoreNicRequest *nics, size_t n_nics,
                              StoreSameConfigFn same_config, void *userdata, unsigned max_live,
                              VmRow **ret_existing, char **ret_error);
/* Both, with limits: -EDQUOT with *ret_hit naming the first limit the new VM
 * would exceed and *ret_used what is in use of it already. Quotas, capacity
 * and the addresses are all decided in the one transaction that records the VM. */
int store_vm_insert_limited(Store *s, const VmRow *row, const struct StoreNicRequest *nics, size_t n_nics,
                            StoreSameConfigFn same_config, void *userdata, const StoreLimits *limits,
                            VmRow **ret_existing, StoreLimitHit *ret_hit, uint64_t *ret_used,
                            char **ret_error);

/* Load one VM by id, deleted or not. -ENOENT if there is none. */
int store_vm_get(Store *s, const char *id, VmRow **ret);

/*
 * Read-modify-write of the desired side in one IMMEDIATE transaction. fn gets
 * the current row (never a deleted one: those are -ENOENT) and may change
 * desired, reboot_requested, shutdown_timeout_s, force_stop and deleted_at.
 * fn returns < 0 to refuse (nothing is written; the value is returned),
 * 0 for "nothing to change", 1 to commit: generation is bumped and a
 * "desired" event with reason is appended. *ret_row (optional) gets the row
 * as committed.
 */
typedef int (*StoreDesiredFn)(VmRow *row, void *userdata);
int store_vm_update_desired(Store *s, const char *id, StoreDesiredFn fn, void *userdata, const char *reason,
                            VmRow **ret_row);

/* What the reconciler records; fields with their set_* flag false are left alone. */
typedef struct VmObservation {
        VmPhase observed; /* always written; an "observed" event if it changed */
        const char *reason; /* event reason */
        bool set_vmm; /* write vmm (pid 0 clears it) */
        VmmHandle vmm;
        bool set_run_dir;
        const char *run_dir;
        bool set_converged; /* observed_generation = converged_generation */
        int64_t converged_generation;
        bool set_error; /* write last_error/error_generation/attempts/next_attempt_at;
                                  an "error" event */
        const char *error;
        const char *error_code;
        int64_t error_generation;
        int attempts;
        int64_t next_attempt_at;
        bool clear_error; /* last_error = '', attempts = 0 */
        bool set_failed_from;
        VmPhase failed_from;
        bool set_reboot_done;
        int64_t reboot_done;
        bool set_last_exit;
        const char *last_exit;
        bool set_restarts;
        int restarts;
} VmObservation;
int store_vm_observe(Store *s, const char *id, const VmObservation *o);

/*
 * The guest powered itself off and its restart policy says to leave it so:
 * the one case where the reconciler changes the desired state, because the
 * guest (the VM's owner) asked for it. In one transaction: desired and
 * observed become shutdown, the generation is bumped (so waiting requests see
 * they were superseded), the VMM record is cleared, last_exit is written, and
 * both events are appended with reason.
 */
int store_vm_guest_stopped(Store *s, const char *id, const char *last_exit, const char *reason);

/* Small facts the daemon keeps about itself (e.g. "boot_id"). get: -ENOENT if unset. */
int store_daemon_get(Store *s, const char *key, char **ret_value);
int store_daemon_set(Store *s, const char *key, const char *value);

/* Filtering and keyset pagination for ListVms. */
typedef struct VmListQuery {
        const VmPhase *observed_in; /* NULL: any */
        size_t n_observed_in;
        const char *customer_id; /* NULL: any */
        bool include_deleted;
        int64_t after_seq; /* 0: from the start */
        unsigned limit;
} VmListQuery;
/* Rows in seq order; *ret_more tells whether another page exists. */
int store_vm_list(Store *s, const VmListQuery *q, VmRow ***ret_rows, size_t *ret_n, bool *ret_more);

/* Ids of every VM the reconciler must look at: not deleted, or deleted but
 * not yet cleaned up (observed != deleted). */
int store_vm_list_active_ids(Store *s, char ***ret_ids, size_t *ret_n);

/* Append an event outside any other change (e.g. "vmm exited" facts). */
int store_event_append(Store *s, const char *vm_id, const char *kind, VmPhase from, VmPhase to,
                       int64_t generation, const char *reason);

typedef struct VmEvent {
        int64_t seq;
        int64_t at;
        char kind[16];
        char from_state[24];
        char to_state[24];
        int64_t generation;
        char *reason;
} VmEvent;
void vm_event_array_free(VmEvent *ev, size_t n);
/* Events of one VM in order, after event seq after_seq (0: from the first), at most limit. */
int store_events_list(Store *s, const char *vm_id, int64_t after_seq, unsigned limit, VmEvent **ret,
                      size_t *ret_n);

void strv_free_n(char **v, size_t n);
