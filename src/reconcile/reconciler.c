/* SPDX-License-Identifier: Apache-2.0 */
#include "reconcile/reconciler.h"

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "hv/backend-util.h"
#include "hv/vmm-process.h"
#include "reconcile/exit-watch.h"
#include "reconcile/lifecycle.h"
#include "util/crash-point.h"
#include "util/strset.h"
#include "vm/console.h"
#include "util/log.h"

#define RECONCILER_WORKERS_MAX 64
#define BACKOFF_CAP_MS 30000
#define STEPS_PER_PASS 16
#define RESTART_BACKOFF_CAP_MS 60000
/* A VMM that ran this long before it died starts a fresh backoff sequence. */
#define RESTART_STABLE_S 60
#define REATTACH_TIMEOUT_MS 10000
/* A scope's MemoryMax is the guest's memory plus this, for the VMM's own use. */
#define VMM_MEMORY_OVERHEAD (256ULL << 20)

typedef struct Delayed {
        char *id;
        uint64_t due_us; /* monotonic */
} Delayed;

struct Reconciler {
        Store *store;
        const BackendOptions *bo;
        unsigned max_attempts;
        unsigned backoff_ms;
        char *const *asset_roots;
        size_t n_asset_roots;
        uint64_t host_memory_bytes;
        ScopeManager *scopes;
        uint64_t console_max_bytes;
        HostNetOptions net;
        ExitWatch *watch;
        /* During reattach: the host rebooted since the last run (every VMM is
         * gone, none crashed), and the ids still to probe. */
        bool host_rebooted;
        StrSet to_probe;

        pthread_mutex_t lock;
        pthread_cond_t work; /* signalled when the queue gets an item, or on stop */
        pthread_cond_t changed; /* broadcast for reattach_all's wait */
        uint64_t change_seq;
        /* Requests waiting in reconciler_wait, each woken only by its own VM's
         * changes (a broadcast to all would make every waiter re-read its row
         * on every commit: quadratic in the number of requests in flight). */
        struct Waiter *waiters;
        /* Queue: ids in FIFO order (an id appears at most once), the ids a worker
         * is on, and delayed retries. Linear scans: the queue is short. */
        char **ready; /* FIFO: live entries are ready[head .. n_ready) */
        size_t head, n_ready, cap_ready;
        StrSet queued; /* the ids in ready[], for O(1) "already queued?" */
        char **busy;
        size_t n_busy;
        Delayed *delayed;
        size_t n_delayed;
        atomic_bool stopping;
        atomic_uint_fast64_t n_errors; /* error observations, for reconciler_get_stats */

        pthread_t workers[RECONCILER_WORKERS_MAX];
        unsigned n_workers;
};

typedef struct Waiter {
        const char *vm_id;
        uint64_t seq; /* bumped on each change of vm_id */
        pthread_cond_t cond;
        struct Waiter *next;
} Waiter;

static void wake_waiters_locked(Reconciler *r, const char *vm_id) {
        for (Waiter *w = r->waiters; w; w = w->next)
                if (!vm_id || streq(w->vm_id, vm_id)) {
                        w->seq++;
                        pthread_cond_signal(&w->cond);
                }
}

/* Wake everyone waiting: something was committed (reattach, stop). */
static void notify_changed(Reconciler *r) {
        pthread_mutex_lock(&r->lock);
        r->change_seq++;
        pthread_cond_broadcast(&r->changed);
        wake_waiters_locked(r, NULL);
        pthread_mutex_unlock(&r->lock);
}

/* Wake the requests waiting for this VM: its row changed. */
static void notify_vm(Reconciler *r, const char *vm_id) {
        pthread_mutex_lock(&r->lock);
        wake_waiters_locked(r, vm_id);
        pthread_mutex_unlock(&r->lock);
}

static bool strv_contains(char **v, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (streq(v[i], s))
                        return true;
        return false;
}

/* Caller holds the lock. Appends id to the ready FIFO unless it is there. */
static void enqueue_locked(Reconciler *r, const char *id) {
        if (strset_contains(&r->queued, id))
                return;
        if (r->head > 0 && r->head == r->n_ready) {
                r->head = r->n_ready = 0; /* empty: start over at the front */
        } else if (r->n_ready == r->cap_ready && r->head > r->cap_ready / 2) {
                memmove(r->ready, r->ready + r->head, (r->n_ready - r->head) * sizeof(char *));
                r->n_ready -= r->head;
                r->head = 0;
        }
        if (r->n_ready == r->cap_ready) {
                size_t cap = r->cap_ready ? r->cap_ready * 2 : 64;
                char **nr = realloc(r->ready, cap * sizeof *nr);
                if (!nr)
                        return; /* the periodic resync picks the VM up later */
                r->ready = nr;
                r->cap_ready = cap;
        }
        char *copy = strdup(id);
        if (!copy || strset_add(&r->queued, id) < 0) {
                free(copy);
                return;
        }
        r->ready[r->n_ready++] = copy;
        pthread_cond_signal(&r->work);
}

void reconciler_enqueue(Reconciler *r, const char *vm_id) {
        pthread_mutex_lock(&r->lock);
        enqueue_locked(r, vm_id);
        /* A request changed the desired side: earlier waiters may be superseded. */
        wake_waiters_locked(r, vm_id);
        pthread_mutex_unlock(&r->lock);
}

int reconciler_enqueue_all(Reconciler *r) {
        char **ids = NULL;
        size_t n = 0;
        int k = store_vm_list_active_ids(r->store, &ids, &n);
        if (k < 0)
                return k;
        pthread_mutex_lock(&r->lock);
        for (size_t i = 0; i < n; i++)
                enqueue_locked(r, ids[i]);
        pthread_mutex_unlock(&r->lock);
        strv_free_n(ids, n);
        return (int) n;
}

void reconciler_get_stats(Reconciler *r, ReconcilerStats *ret) {
        pthread_mutex_lock(&r->lock);
        *ret = (ReconcilerStats){ .queued = r->n_ready - r->head,
                                  .delayed = r->n_delayed,
                                  .busy = r->n_busy };
        pthread_mutex_unlock(&r->lock);
        ret->errors = atomic_load(&r->n_errors);
}

/* Retry id no earlier than delay_ms from now. */
static void enqueue_delayed(Reconciler *r, const char *id, uint64_t delay_ms) {
        pthread_mutex_lock(&r->lock);
        Delayed *nd = realloc(r->delayed, (r->n_delayed + 1) * sizeof *nd);
        char *copy = strdup(id);
        if (nd)
                r->delayed = nd;
        if (nd && copy) {
                r->delayed[r->n_delayed++] = (Delayed){ copy, now_mono_us() + delay_ms * 1000 };
                pthread_cond_signal(&r->work);
        } else
                free(copy);
        pthread_mutex_unlock(&r->lock);
}

/* A VMM exited (exit-watch thread): look at its VM now. */
static void on_vmm_exit(void *userdata, const char *vm_id, pid_t pid) {
        reconciler_enqueue(userdata, vm_id);
}

void reconciler_child_exited(Reconciler *r, pid_t pid, int status) {
        exit_watch_child_exited(r->watch, pid, status);
}

/* Caller holds the lock. Removes id from the ids still to probe; true if it was there. */
static bool take_probe_locked(Reconciler *r, const char *id) {
        return strset_remove(&r->to_probe, id);
}

/* ---- steps ---------------------------------------------------------------- */

/* Per-pass context of one VM being reconciled by one worker. */
typedef struct Pass {
        Reconciler *r;
        VmRow *row;
        const Backend *backend;
        VmPhase last_logged; /* the state observe() last logged (starts as the row's) */
} Pass;

static int observe(Pass *p, const VmObservation *o) {
        int k = store_vm_observe(p->r->store, p->row->id, o);
        /* The VM's story in the log (and the journal, by VM_ID): every state it enters. */
        if (k >= 0 && o->observed != p->last_logged)
                log_vm_info(p->row->id, p->row->backend, vm_phase_to_string(o->observed), "vm %s: %s%s%s",
                            p->row->id, vm_phase_to_string(o->observed), o->reason ? ": " : "",
                            o->reason ? o->reason : "");
        if (k >= 0)
                p->last_logged = o->observed;
        if (o->set_error)
                atomic_fetch_add(&p->r->n_errors, 1);
        if (k < 0)
                log_vm_error(p->row->id, p->row->backend, vm_phase_to_string(o->observed),
                             "vm %s: recording state %s failed: %s", p->row->id,
                             vm_phase_to_string(o->observed), strerror(-k));
        notify_vm(p->r, p->row->id);
        return k;
}

/* Commit the transitional phase a step enters, before its side effect. */
static int commit_intent(Pass *p, VmPhase intent, const char *reason) {
        if (p->row->observed == intent)
                return 0;
        VmObservation o = { .observed = intent, .reason = reason };
        return observe(p, &o);
}

/* Connect code for a backend error: the VMM said no (permanent), it did not
 * answer (try later), or something local broke. */
static const char *error_code_for(int err) {
        switch (err) {
        case -EBADMSG:
                return "failed_precondition";
        case -ETIMEDOUT:
        case -ECONNREFUSED:
        case -ENOENT:
        case -ESRCH:
        case -EAGAIN:
                return "unavailable";
        default:
                return "internal";
        }
}

static bool error_is_permanent(int err) {
        return err == -EBADMSG || err == -ENOEXEC || err == -EACCES || err == -ENAMETOOLONG;
}

static bool vmm_alive(const VmmHandle *h) {
        return h->pid > 0 && vmm_is_alive(h->pid, h->start_time, h->socket_path);
}

/* Kill the recorded VMM if it is still the one we started; forget it. */
static void vmm_destroy(const VmmHandle *h) {
        if (h->pid > 0)
                (void) vmm_kill(h->pid, h->start_time, h->socket_path, 5000);
}

/*
 * Kill every VMM of this VM that the database does not know about: one
 * spawned just before a crash, whose pid was never recorded. It is found by
 * its API socket path (<run_dir>/api.sock) in its command line. Steps that
 * end with no VMM (stop, delete) call this, so none can outlive them.
 */
static void kill_unrecorded_vmms(const VmRow *row) {
        if (isempty(row->run_dir))
                return;
        _cleanup_free_ char *sock = strdup_printf("%s/api.sock", row->run_dir);
        if (!sock)
                return;
        if (backend_socket_is_known(sock, false))
                return; /* no VMM of an earlier run can hold it: no /proc scan */
        for (int i = 0; i < 8; i++) {
                pid_t pid;
                uint64_t st;
                if (vmm_find_by_cmdline(sock, &pid) < 0) {
                        backend_socket_mark_known(sock);
                        return;
                }
                if (vmm_pid_start_time(pid, &st) < 0)
                        continue;
                log_vm_warning(row->id, row->backend, vm_phase_to_string(row->observed),
                               "vm %s: killing VMM pid %d that no record knows (spawned before a crash)",
                               row->id, (int) pid);
                (void) vmm_kill(pid, st, sock, 5000);
        }
}

/*
 * A step failed with err (message msg, may be NULL). Transient failures are
 * retried with capped exponential backoff; a permanent one, or too many
 * attempts, settles the VM in "failed" with the reason. A VMM that a failed
 * start left behind is killed: never a half-configured VMM.
 */
static void step_failed(Pass *p, LifecycleAction a, int err, const char *msg, const VmmHandle *spawned) {
        VmRow *row = p->row;
        int attempts = (row->error_generation == row->generation ? row->attempts : 0) + 1;
        bool settle = error_is_permanent(err) || (unsigned) attempts >= p->r->max_attempts;
        _cleanup_free_ char *text =
                strdup_printf("%s: %s", lifecycle_action_to_string(a), msg ? msg : strerror(-err));
        VmObservation o = {
                .observed = row->observed,
                .reason = text,
                .set_error = true,
                .error = text,
                .error_code = error_code_for(err),
                .error_generation = row->generation,
                .attempts = attempts,
        };
        if (settle) {
                if (spawned && spawned->pid > 0)
                        vmm_destroy(spawned);
                if (a == ACTION_START || a == ACTION_REBOOT) {
                        /* Nothing of the failed start may keep running. */
                        if (row->vmm.pid > 0)
                                vmm_destroy(&row->vmm);
                        kill_unrecorded_vmms(row);
                        o.set_vmm = true;
                }
                o.observed = VM_PHASE_FAILED;
                o.set_failed_from = true;
                o.failed_from = row->observed == VM_PHASE_FAILED ? row->failed_from : row->observed;
                log_vm_warning(row->id, row->backend, vm_phase_to_string(row->observed),
                               "vm %s: %s failed for good after %d attempt(s): %s", row->id,
                               lifecycle_action_to_string(a), attempts, text ? text : "");
        } else {
                uint64_t delay = (uint64_t) p->r->backoff_ms << (attempts - 1);
                if (delay > BACKOFF_CAP_MS)
                        delay = BACKOFF_CAP_MS;
                o.next_attempt_at = now_ms() + (int64_t) delay;
                if (spawned && spawned->pid > 0) {
                        vmm_destroy(spawned);
                        o.set_vmm = true;
                }
                log_vm_info(row->id, row->backend, vm_phase_to_string(row->observed),
                            "vm %s: %s failed (attempt %d, retry in %" PRIu64 " ms): %s", row->id,
                            lifecycle_action_to_string(a), attempts, delay, text ? text : "");
                enqueue_delayed(p->r, row->id, delay);
        }
        (void) observe(p, &o);
}

/* The stored config, with its paths checked again against the asset roots
 * (they were checked at CreateVm, but files can change since). A config that
 * no longer passes is a permanent failure (-EBADMSG) until it is fixed. */
static int load_config(Pass *p, VmConfig **ret, char **ret_error) {
        _cleanup_(vm_config_freep) VmConfig *c = NULL;
        int k = vm_config_from_canonical(p->row->config_json, &c);
        if (k < 0) {
                *ret_error = strdup_printf("stored configuration is unreadable: %s", strerror(-k));
                return k;
        }
        if (p->r->n_asset_roots > 0) {
                VmError err = { 0 };
                k = vm_config_validate(c, p->r->asset_roots, p->r->n_asset_roots, p->r->host_memory_bytes,
                                       &err);
                if (k == -EINVAL) {
                        *ret_error = strdup_printf("%s: %s", err.field, err.message);
                        return -EBADMSG;
                }
                if (k < 0)
                        return k;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

/*
 * The host side of the VM's interfaces, as an ordinary idempotent step of a
 * start: bridges, firewall, TAPs (recreated after a host reboot, reused after
 * a daemon restart). Fills nics (the backend's view, pointing into snics) and
 * appends the guest's ip= argument to cfg's kernel command line unless the
 * client gave one.
 */
static int setup_network(Pass *p, VmConfig *cfg, StoreNic **snics, VmmNic **nics, char **ret_error) {
        size_t n = 0;
        int k = host_net_setup_vm(p->r->store, &p->r->net, p->row->id, snics, &n, ret_error);
        if (k < 0)
                return k;
        if (n != cfg->n_nics) {
                *ret_error = strdup_printf("the VM has %zu interface(s) allocated but %zu configured", n,
                                           cfg->n_nics);
                return -EBADMSG;
        }
        if (n == 0)
                return 0;
        *nics = calloc(n, sizeof **nics);
        if (!*nics)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                (*nics)[i] = (VmmNic){ .id = cfg->nics[i].id,
                                       .tap = (*snics)[i].tap,
                                       .mac = (*snics)[i].mac,
                                       .rx = cfg->nics[i].rx,
                                       .tx = cfg->nics[i].tx };
        const char *args = cfg->kernel_args ? cfg->kernel_args : "";
        if (strncmp(args, "ip=", 3) == 0 || strstr(args, " ip="))
                return 0;
        _cleanup_free_ char *ip = host_net_kernel_args(&(*snics)[0]);
        char *joined = ip ? strdup_printf("%s%s%s", args, *args ? " " : "", ip) : NULL;
        if (!joined)
                return -ENOMEM;
        free(cfg->kernel_args);
        cfg->kernel_args = joined;
        return 0;
}

/* Spawn the VMM, record it at once (so a crash cannot orphan it), boot it. */
static int start_vmm(Pass *p, VmmHandle *ret_h, char **ret_error) {
        VmRow *row = p->row;
        _cleanup_(vm_config_freep) VmConfig *cfg = NULL;
        _cleanup_free_ StoreNic *snics = NULL;
        _cleanup_free_ VmmNic *nics = NULL;
        int k = load_config(p, &cfg, ret_error);
        if (k < 0)
                return k;
        k = setup_network(p, cfg, &snics, &nics, ret_error);
        if (k < 0)
                return k;
        k = mkdir_p(row->run_dir, 0700);
        if (k < 0) {
                *ret_error = strdup_printf("cannot create run directory %s: %s", row->run_dir, strerror(-k));
                return k;
        }
        VmmSpec spec = {
                .vm_id = row->id, .run_dir = row->run_dir, .config = cfg, .nics = nics, .n_nics = cfg->n_nics
        };
        VmmHandle h = { 0 };
        k = p->backend->spawn(p->r->bo, &spec, &h, ret_error);
        if (k < 0)
                return k;
        crash_point("after-spawn");
        if (scope_manager_active(p->r->scopes)) {
                /* The VM's limits, plus room for the VMM itself. */
                uint64_t mem = cfg->memory_bytes + cfg->hotplug_bytes + VMM_MEMORY_OVERHEAD;
                unsigned cpus =
                        cfg->max_vcpu_count > cfg->vcpu_count ? cfg->max_vcpu_count : cfg->vcpu_count;
                _cleanup_free_ char *serr = NULL;
                k = scope_manager_adopt(p->r->scopes, row->id, h.pid, mem, cpus * 100, &serr);
                if (k < 0) {
                        vmm_destroy(&h);
                        *ret_error = strdup_printf("cannot put the VMM into its scope: %s",
                                                   serr ? serr : strerror(-k));
                        return k;
                }
        }
        _cleanup_free_ char *why = strdup_printf("%s started, pid %d", p->backend->name, (int) h.pid);
        VmObservation o = { .observed = row->observed, .reason = why, .set_vmm = true, .vmm = h };
        k = observe(p, &o);
        if (k < 0) {
                vmm_destroy(&h);
                *ret_error = strdup_printf("cannot record the VMM: %s", strerror(-k));
                return k;
        }
        row->vmm = h;
        *ret_h = h;
        backend_socket_mark_known(h.socket_path); /* recorded: known */
        crash_point("after-vmm-recorded");
        return p->backend->boot(p->r->bo, &spec, &h, ret_error);
}

/* Stop the VMM: ask the guest unless force, wait up to the timeout, then kill.
 * *ret_how says which of these ended it (for the event). */
static int stop_vmm(Pass *p, bool force, const char **ret_how, char **ret_error) {
        VmRow *row = p->row;
        *ret_how = "the VMM was already gone";
        if (!vmm_alive(&row->vmm))
                return 0;
        VmmState st = VMM_STATE_GONE;
        if (!force) {
                _cleanup_free_ char *qerr = NULL;
                if (p->backend->query(p->r->bo, &row->vmm, &st, &qerr) < 0)
                        st = VMM_STATE_GONE;
        }
        if (!force && st == VMM_STATE_RUNNING) {
                _cleanup_free_ char *serr = NULL;
                int k = p->backend->request_shutdown(p->r->bo, &row->vmm, &serr);
                if (k >= 0) {
                        unsigned ms =
                                (unsigned) (row->shutdown_timeout_s > 0 ? row->shutdown_timeout_s : 30) *
                                1000u;
                        k = vmm_wait_exit(row->vmm.pid, row->vmm.start_time, ms,
                                          (const volatile bool *) &p->r->stopping);
                        if (k == -EINTR) {
                                *ret_error =
                                        strdup("metald is stopping; the shutdown resumes at next start");
                                return -EINTR;
                        }
                        if (k == 0) {
                                *ret_how = "the guest powered off";
                                return 0;
                        }
                        *ret_how = "the guest did not power off in time; VMM killed";
                        log_vm_info(row->id, row->backend, vm_phase_to_string(row->observed),
                                    "vm %s: guest did not power off within %d s; killing the VMM", row->id,
                                    row->shutdown_timeout_s);
                } else {
                        *ret_how = "graceful shutdown refused; VMM killed";
                        log_vm_info(row->id, row->backend, vm_phase_to_string(row->observed),
                                    "vm %s: graceful shutdown refused (%s); killing the VMM", row->id,
                                    serr ? serr : strerror(-k));
                }
        } else
                *ret_how = force ? "VMM killed (forced)" : "VMM killed (guest not running)";
        int k = vmm_kill(row->vmm.pid, row->vmm.start_time, row->vmm.socket_path, 5000);
        if (k < 0)
                *ret_error = strdup_printf("cannot kill VMM pid %d: %s", (int) row->vmm.pid, strerror(-k));
        return k;
}

static int handle_vmm_exit(Pass *p, const char *why);

/* Run one action; 0 on success (the row's observed state then is the step's
 * target, in the database and in p->row), or < 0 after recording the failure. */
static int run_action(Pass *p, LifecycleAction a) {
        VmRow *row = p->row;
        LifecycleStep step = lifecycle_step(a);
        _cleanup_free_ char *err = NULL;
        _cleanup_free_ char *reason = NULL;
        VmmHandle spawned = { 0 };
        int k;

        if (step.intent >= 0) {
                reason = strdup_printf("%s (generation %" PRId64 ")", lifecycle_action_to_string(a),
                                       row->generation);
                k = commit_intent(p, step.intent, reason);
                if (k < 0)
                        return k;
                row->observed = step.intent;
                crash_point("after-intent");
        }

        /* Exits we cause are not news: stop watching before acting. */
        if (a == ACTION_START || a == ACTION_STOP || a == ACTION_REBOOT || a == ACTION_DELETE)
                exit_watch_remove(p->r->watch, row->id);
        const char *how = NULL;
        _cleanup_free_ char *done_reason = strdup_printf("%s done", lifecycle_action_to_string(a));
        VmObservation done = { .observed = step.target, .reason = done_reason, .clear_error = true };
        switch (a) {
        case ACTION_PREPARE:
                k = mkdir_p(row->run_dir, 0700);
                if (k < 0)
                        err = strdup_printf("cannot create run directory %s: %s", row->run_dir,
                                            strerror(-k));
                break;
        case ACTION_START:
                /* Caught mid-boot or retrying: whatever runs is killed, then a fresh start. */
                vmm_destroy(&row->vmm);
                k = start_vmm(p, &spawned, &err);
                done.set_reboot_done = true;
                done.reboot_done = row->reboot_requested;
                break;
        case ACTION_PAUSE:
        case ACTION_RESUME:
                if (!vmm_alive(&row->vmm)) {
                        /* Not a failure of this step: the VMM died; that has its own rules. */
                        (void) handle_vmm_exit(p, a == ACTION_PAUSE ? "when pausing" : "when resuming");
                        return -ESRCH;
                }
                k = (a == ACTION_PAUSE ? p->backend->pause : p->backend->resume)(p->r->bo, &row->vmm, &err);
                break;
        case ACTION_REBOOT:
                k = stop_vmm(p, row->force_stop, &how, &err);
                if (k >= 0) {
                        err = mfree(err);
                        k = start_vmm(p, &spawned, &err);
                }
                done.set_reboot_done = true;
                done.reboot_done = row->reboot_requested;
                break;
        case ACTION_STOP:
                k = stop_vmm(p, row->force_stop, &how, &err);
                if (k >= 0)
                        kill_unrecorded_vmms(row);
                done.set_vmm = true; /* clears the record */
                done.reason = how;
                break;
        case ACTION_DELETE:
                k = vmm_alive(&row->vmm)
                            ? vmm_kill(row->vmm.pid, row->vmm.start_time, row->vmm.socket_path, 5000)
                            : 0;
                if (k >= 0)
                        kill_unrecorded_vmms(row);
                if (k >= 0 && !isempty(row->run_dir))
                        k = rm_rf(row->run_dir);
                /* What the backend keeps elsewhere (Firecracker's jail). */
                if (k >= 0 && p->backend->remove) {
                        k = p->backend->remove(p->r->bo, row->id, &err);
                        if (k < 0 && err)
                                break;
                }
                if (k < 0)
                        err = strdup_printf("cannot remove the VM: %s", strerror(-k));
                /* Its TAPs go before its addresses are released (observing "deleted"). */
                if (k >= 0)
                        k = host_net_teardown_vm(p->r->store, row->id, &err);
                done.set_vmm = true;
                break;
        default:
                return -EINVAL;
        }
        if (k == -EINTR)
                return k; /* daemon stopping: leave the intent for the next start */
        if (k < 0) {
                step_failed(p, a, k, err, spawned.pid > 0 ? &spawned : NULL);
                return k;
        }
        crash_point("after-side-effect");
        _cleanup_free_ char *started = NULL;
        if (a == ACTION_START || a == ACTION_REBOOT) {
                done.set_vmm = true;
                done.vmm = spawned;
                started = strdup_printf("guest booted by %s pid %d", p->backend->name, (int) spawned.pid);
                if (started)
                        done.reason = started;
        }
        k = observe(p, &done);
        if (k < 0)
                return k;
        row->observed = step.target;
        if (done.set_vmm)
                row->vmm = done.vmm;
        if ((a == ACTION_START || a == ACTION_REBOOT) && row->vmm.pid > 0) {
                k = exit_watch_add(p->r->watch, row->id, row->vmm.pid, row->vmm.start_time);
                if (k < 0)
                        log_vm_warning(row->id, row->backend, vm_phase_to_string(row->observed),
                                       "vm %s: cannot watch VMM pid %d: %s (the periodic check still will)",
                                       row->id, (int) row->vmm.pid, strerror(-k));
        }
        return 0;
}

/* The last lines of the VM's console, bounded, for the exit record. */
static char *console_tail(const char *run_dir, size_t max) {
        _cleanup_free_ char *path = strdup_printf("%s/console.log", run_dir);
        _cleanup_close_ int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -EBADF;
        if (fd < 0)
                return strdup("(no console log)");
        struct stat st;
        if (fstat(fd, &st) < 0)
                return strdup("");
        off_t from = st.st_size > (off_t) max ? st.st_size - (off_t) max : 0;
        char *buf = calloc(1, max + 1);
        if (!buf)
                return NULL;
        ssize_t n = pread(fd, buf, max, from);
        if (n < 0)
                n = 0;
        buf[n] = 0;
        for (ssize_t i = 0; i < n; i++)
                if (buf[i] == '\n')
                        buf[i] = '|';
                else if ((unsigned char) buf[i] < 0x20)
                        buf[i] = ' ';
        return buf;
}

/* Seconds a process that started at start_time (clock ticks since boot) has run. */
static double process_uptime_s(uint64_t start_time) {
        _cleanup_free_ char *text = NULL;
        if (read_full_file("/proc/uptime", 256, &text, NULL) < 0)
                return 0;
        double up = strtod(text, NULL);
        return up - (double) start_time / (double) sysconf(_SC_CLK_TCK);
}

/*
 * The VMM of a VM that should run is gone, and nobody here stopped it: record
 * how it ended (exit status when it was our child, and the console's last
 * lines) as a "crashed" or "exited" event, then follow the restart policy:
 *   - the guest powered off cleanly (exit 0) and the policy is not "always":
 *     the guest's wish stands, desired becomes shutdown;
 *   - "never": the VM settles in failed, with the reason;
 *   - otherwise: restart after a capped backoff (1 s, 2 s, ... 60 s).
 * After a host reboot no VMM crashed: the VM is only marked shut down, and
 * started again if it should run.
 */
static int handle_vmm_exit(Pass *p, const char *why) {
        VmRow *row = p->row;
        Reconciler *r = p->r;
        exit_watch_remove(r->watch, row->id);
        if (r->host_rebooted) {
                VmObservation o = { .observed = VM_PHASE_SHUTDOWN,
                                    .reason = "the host rebooted",
                                    .set_vmm = true };
                int k = observe(p, &o);
                row->observed = o.observed;
                row->vmm = (VmmHandle){ 0 };
                return k;
        }
        int status = 0;
        bool known = row->vmm.pid > 0 && exit_watch_status(r->watch, row->vmm.pid, &status) == 0;
        bool clean = known && WIFEXITED(status) && WEXITSTATUS(status) == 0;
        char how[160], when[40];
        exit_status_describe(known, status, how, sizeof how);
        format_rfc3339(now_ms(), when, sizeof when);
        _cleanup_free_ char *tail = console_tail(row->run_dir, 400);
        _cleanup_free_ char *detail = strdup_printf("VMM pid %d %s; noticed %s at %s; console: %s",
                                                    (int) row->vmm.pid, how, why, when, tail ? tail : "");
        (void) store_event_append(r->store, row->id, clean ? "exited" : "crashed", row->observed,
                                  row->observed, row->generation, detail);
        _cleanup_free_ char *last_exit = strdup_printf("pid %d %s at %s", (int) row->vmm.pid, how, when);
        log_vm_info(row->id, row->backend, vm_phase_to_string(row->observed), "vm %s: %s", row->id,
                    detail ? detail : how);

        if (clean && !streq(row->restart_policy, "always")) {
                _cleanup_free_ char *reason =
                        strdup_printf("the guest powered off (restart policy %s)", row->restart_policy);
                int k = store_vm_guest_stopped(r->store, row->id, last_exit, reason);
                notify_vm(r, row->id);
                row->observed = VM_PHASE_SHUTDOWN;
                row->vmm = (VmmHandle){ 0 };
                return k;
        }

        VmObservation o = {
                .reason = clean ? "exited" : "crashed",
                .set_vmm = true,
                .set_error = true,
                .error_code = "unavailable",
                .error_generation = row->generation,
                .set_last_exit = true,
                .last_exit = last_exit,
        };
        _cleanup_free_ char *msg = NULL;
        if (streq(row->restart_policy, "never")) {
                msg = strdup_printf("VMM pid %d %s (restart policy never)", (int) row->vmm.pid, how);
                o.observed = VM_PHASE_FAILED;
                o.set_failed_from = true;
                o.failed_from = row->observed;
                o.attempts = 1;
        } else {
                int restarts = process_uptime_s(row->vmm.start_time) >= RESTART_STABLE_S ? 0 : row->restarts;
                uint64_t delay = 1000ull << (restarts < 6 ? restarts : 6);
                if (delay > RESTART_BACKOFF_CAP_MS)
                        delay = RESTART_BACKOFF_CAP_MS;
                msg = strdup_printf("VMM pid %d %s; restart %d in %" PRIu64 " ms (restart policy %s)",
                                    (int) row->vmm.pid, how, restarts + 1, delay, row->restart_policy);
                o.observed = VM_PHASE_SHUTDOWN;
                o.attempts = 0;
                o.next_attempt_at = now_ms() + (int64_t) delay;
                o.set_restarts = true;
                o.restarts = restarts + 1;
                enqueue_delayed(r, row->id, delay);
        }
        o.error = msg;
        int k = observe(p, &o);
        row->observed = o.observed;
        row->vmm = (VmmHandle){ 0 };
        row->error_generation = row->generation;
        return k;
}

/* A live VMM that is not in its scope (spawned by a metald without systemd, or
 * one that died between spawn and adoption) is adopted now, so that it too
 * outlives the next `systemctl restart metald`. */
static void adopt_if_outside_scope(Pass *p) {
        VmRow *row = p->row;
        if (!scope_manager_active(p->r->scopes))
                return;
        char unit[128], path[64];
        scope_unit_name(row->id, unit, sizeof unit);
        snprintf(path, sizeof path, "/proc/%d/cgroup", (int) row->vmm.pid);
        _cleanup_free_ char *cg = NULL;
        if (read_full_file(path, 64 * 1024, &cg, NULL) < 0 || strstr(cg, unit))
                return;
        _cleanup_(vm_config_freep) VmConfig *cfg = NULL;
        if (vm_config_from_canonical(row->config_json, &cfg) < 0)
                return;
        unsigned cpus = cfg->max_vcpu_count > cfg->vcpu_count ? cfg->max_vcpu_count : cfg->vcpu_count;
        _cleanup_free_ char *err = NULL;
        int k = scope_manager_adopt(p->r->scopes, row->id, row->vmm.pid,
                                    cfg->memory_bytes + cfg->hotplug_bytes + VMM_MEMORY_OVERHEAD, cpus * 100,
                                    &err);
        if (k < 0)
                log_vm_warning(row->id, row->backend, vm_phase_to_string(row->observed),
                               "vm %s: VMM pid %d is outside its scope and cannot be moved: %s", row->id,
                               (int) row->vmm.pid, err ? err : strerror(-k));
        else
                log_vm_info(row->id, row->backend, vm_phase_to_string(row->observed),
                            "vm %s: VMM pid %d moved into %s", row->id, (int) row->vmm.pid, unit);
}

/*
 * Find out what a VM whose VMM we are unsure about really is, and record it:
 * used after a failure (ACTION_RECOVER) and when reattaching at start.
 * A live VMM is asked; one whose API does not answer is a failure (never
 * spawn a second VMM over it); a gone one leaves the VM stopped.
 */
static int probe_vm(Pass *p, const char *why) {
        VmRow *row = p->row;
        VmObservation o = { .observed = row->observed, .reason = why };
        if (vmm_alive(&row->vmm)) {
                VmmState st;
                _cleanup_free_ char *err = NULL;
                int k = p->backend->query(p->r->bo, &row->vmm, &st, &err);
                if (k == -ESRCH && !vmm_alive(&row->vmm))
                        return probe_vm(p, why); /* it died while we asked: the gone path */
                if (k < 0) {
                        _cleanup_free_ char *msg =
                                strdup_printf("VMM pid %d is alive but its API does not answer: %s",
                                              (int) row->vmm.pid, err ? err : strerror(-k));
                        o.observed = VM_PHASE_FAILED;
                        o.set_failed_from = true;
                        o.failed_from = row->observed;
                        o.set_error = true;
                        o.error = msg;
                        o.error_code = "unavailable";
                        o.error_generation = row->generation;
                        o.attempts = 1;
                        (void) observe(p, &o);
                        row->observed = VM_PHASE_FAILED;
                        return -EIO;
                }
                if (st == VMM_STATE_RUNNING || st == VMM_STATE_PAUSED) {
                        adopt_if_outside_scope(p);
                        int w = exit_watch_add(p->r->watch, row->id, row->vmm.pid, row->vmm.start_time);
                        if (w < 0)
                                log_vm_warning(row->id, row->backend, vm_phase_to_string(row->observed),
                                               "vm %s: cannot watch VMM pid %d: %s", row->id,
                                               (int) row->vmm.pid, strerror(-w));
                        VmPhase seen = st == VMM_STATE_RUNNING ? VM_PHASE_RUNNING : VM_PHASE_PAUSED;
                        /* Transitional phases keep their intent: the step re-runs idempotently. */
                        if (!vm_phase_is_transitional(row->observed))
                                o.observed = seen;
                } else if (!vm_phase_is_transitional(row->observed)) {
                        /* A VMM that never booted its guest: not a state we leave around. */
                        vmm_destroy(&row->vmm);
                        o.set_vmm = true;
                        o.observed = VM_PHASE_CREATED;
                }
        } else {
                if (row->vmm.pid > 0)
                        o.set_vmm = true; /* forget the dead one */
                VmPhase from = row->observed == VM_PHASE_FAILED ? row->failed_from : row->observed;
                if (row->observed == VM_PHASE_FAILED) {
                        o.observed = from == VM_PHASE_PENDING || from == VM_PHASE_CREATING ? VM_PHASE_PENDING
                                     : from == VM_PHASE_CREATED || from == VM_PHASE_BOOTING
                                             ? VM_PHASE_CREATED
                                             : VM_PHASE_SHUTDOWN;
                } else if (from == VM_PHASE_RUNNING || from == VM_PHASE_PAUSED || from == VM_PHASE_PAUSING ||
                           from == VM_PHASE_RESUMING) {
                        return handle_vmm_exit(p, why);
                }
        }
        if (o.observed == row->observed && !o.set_vmm)
                return 0;
        int k = observe(p, &o);
        row->observed = o.observed;
        if (o.set_vmm)
                row->vmm = o.vmm;
        return k;
}

/* Drive one VM as far as it goes now. Runs on a worker; the VM is ours alone. */
static void reconcile_vm(Reconciler *r, const char *id) {
        for (int i = 0; i < STEPS_PER_PASS && !atomic_load(&r->stopping); i++) {
                _cleanup_(vm_row_freep) VmRow *row = NULL;
                int k = store_vm_get(r->store, id, &row);
                if (k < 0) {
                        if (k != -ENOENT)
                                log_vm_error(id, NULL, NULL, "vm %s: cannot load: %s", id, strerror(-k));
                        return;
                }
                Pass p = { .r = r,
                           .row = row,
                           .backend = backend_find(row->backend),
                           .last_logged = row->observed };
                if (!p.backend) {
                        log_vm_error(id, row->backend, vm_phase_to_string(row->observed),
                                     "vm %s: unknown backend %s", id, row->backend);
                        return;
                }
                pthread_mutex_lock(&r->lock);
                bool probe = r->to_probe.n > 0 && strset_contains(&r->to_probe, id);
                pthread_mutex_unlock(&r->lock);
                if (probe) {
                        /* Reattach: what is really there, before anything else. Only
                         * then is the VM off the list reattach_all waits on. */
                        if (row->observed != VM_PHASE_FAILED)
                                (void) probe_vm(&p, "at metald start");
                        pthread_mutex_lock(&r->lock);
                        (void) take_probe_locked(r, id);
                        pthread_mutex_unlock(&r->lock);
                        notify_changed(r);
                        continue;
                }
                bool same_gen = row->error_generation == row->generation;
                if (row->observed == VM_PHASE_FAILED && same_gen && row->desired != VM_PHASE_DELETED)
                        return; /* settled: waits for a new request */
                if (same_gen && row->next_attempt_at > now_ms() && row->observed != VM_PHASE_FAILED)
                        return; /* a retry is scheduled */

                bool reboot_pending = vm_row_reboot_pending(row);
                LifecycleAction a = lifecycle_next(row->observed, row->desired, reboot_pending);
                if (a == ACTION_RECOVER) {
                        if (probe_vm(&p, "recovering from failure") < 0)
                                return;
                        continue;
                }
                if (a == ACTION_NONE) {
                        /* Converged. Running VMs: is the VMM still there? */
                        if ((row->observed == VM_PHASE_RUNNING || row->observed == VM_PHASE_PAUSED) &&
                            !vmm_alive(&row->vmm)) {
                                (void) handle_vmm_exit(&p, "by the periodic check");
                                return;
                        }
                        if (r->console_max_bytes > 0 && vm_phase_is_desirable(row->observed) &&
                            row->observed != VM_PHASE_DELETED && !isempty(row->run_dir)) {
                                int c = console_cap(row->run_dir, r->console_max_bytes);
                                if (c < 0)
                                        log_vm_warning(id, row->backend, vm_phase_to_string(row->observed),
                                                       "vm %s: cannot cap the console log: %s", id,
                                                       strerror(-c));
                        }
                        if (row->observed_generation != row->generation) {
                                VmObservation o = { .observed = row->observed,
                                                    .set_converged = true,
                                                    .converged_generation = row->generation,
                                                    .clear_error = true };
                                (void) observe(&p, &o);
                        }
                        return;
                }
                log_vm_debug(id, row->backend, vm_phase_to_string(row->observed), "vm %s: %s -> %s: %s", id,
                             vm_phase_to_string(row->observed), vm_phase_to_string(row->desired),
                             lifecycle_action_to_string(a));
                if (run_action(&p, a) < 0)
                        return;
        }
}

static void *worker_main(void *userdata) {
        Reconciler *r = userdata;
        pthread_mutex_lock(&r->lock);
        while (!atomic_load(&r->stopping)) {
                /* Move due retries to the ready queue. */
                uint64_t now = now_mono_us(), next_due = UINT64_MAX;
                for (size_t i = 0; i < r->n_delayed;) {
                        if (r->delayed[i].due_us <= now) {
                                enqueue_locked(r, r->delayed[i].id);
                                free(r->delayed[i].id);
                                r->delayed[i] = r->delayed[--r->n_delayed];
                                continue;
                        }
                        if (r->delayed[i].due_us < next_due)
                                next_due = r->delayed[i].due_us;
                        i++;
                }
                /* The first queued id no other worker is on. */
                /* At most n_workers queued ids are busy, so this scan is short. */
                size_t pick = SIZE_MAX;
                for (size_t i = r->head; i < r->n_ready; i++)
                        if (!strv_contains(r->busy, r->n_busy, r->ready[i])) {
                                pick = i;
                                break;
                        }
                if (pick == SIZE_MAX) {
                        struct timespec ts;
                        clock_gettime(CLOCK_MONOTONIC, &ts);
                        uint64_t wait_us = next_due == UINT64_MAX ? 1000000 : next_due - now;
                        if (wait_us > 1000000)
                                wait_us = 1000000;
                        uint64_t ns = (uint64_t) ts.tv_nsec + wait_us * 1000;
                        ts.tv_sec += (time_t) (ns / 1000000000u);
                        ts.tv_nsec = (long) (ns % 1000000000u);
                        pthread_cond_timedwait(&r->work, &r->lock, &ts);
                        continue;
                }
                char *id = r->ready[pick];
                /* Close the gap by moving the (few, busy) entries before it up one. */
                memmove(&r->ready[r->head + 1], &r->ready[r->head], (pick - r->head) * sizeof(char *));
                r->head++;
                strset_remove(&r->queued, id);
                r->busy[r->n_busy++] = id;
                pthread_mutex_unlock(&r->lock);

                reconcile_vm(r, id);

                pthread_mutex_lock(&r->lock);
                for (size_t i = 0; i < r->n_busy; i++)
                        if (r->busy[i] == id) {
                                r->busy[i] = r->busy[--r->n_busy];
                                break;
                        }
                free(id);
                /* The VM may have been queued again while we were on it. */
                pthread_cond_signal(&r->work);
        }
        pthread_mutex_unlock(&r->lock);
        return NULL;
}

int reconciler_new(const ReconcilerOptions *o, Reconciler **ret) {
        assert(o && o->store && o->backend_options && ret);
        _cleanup_(reconciler_freep) Reconciler *r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;
        r->store = o->store;
        r->bo = o->backend_options;
        r->max_attempts = o->max_attempts ? o->max_attempts : 5;
        r->backoff_ms = o->backoff_ms ? o->backoff_ms : 250;
        r->asset_roots = o->asset_roots;
        r->n_asset_roots = o->n_asset_roots;
        r->host_memory_bytes = o->host_memory_bytes;
        r->scopes = o->scopes;
        r->console_max_bytes = o->console_max_bytes;
        r->net = o->net ? *o->net : (HostNetOptions){ .firewall = true };
        int w = exit_watch_new(on_vmm_exit, r, &r->watch);
        if (w < 0)
                return w;
        unsigned n = o->n_workers ? o->n_workers : 4;
        if (n > RECONCILER_WORKERS_MAX)
                n = RECONCILER_WORKERS_MAX;
        r->busy = calloc(n, sizeof *r->busy);
        if (!r->busy)
                return -ENOMEM;
        pthread_mutex_init(&r->lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&r->work, &ca);
        pthread_cond_init(&r->changed, &ca);
        pthread_condattr_destroy(&ca);
        for (unsigned i = 0; i < n; i++) {
                int k = pthread_create(&r->workers[i], NULL, worker_main, r);
                if (k != 0)
                        return -k;
                r->n_workers++;
        }
        *ret = TAKE_PTR(r);
        return 0;
}

void reconciler_stop(Reconciler *r) {
        if (!r)
                return;
        pthread_mutex_lock(&r->lock);
        atomic_store(&r->stopping, true);
        pthread_cond_broadcast(&r->work);
        pthread_cond_broadcast(&r->changed);
        wake_waiters_locked(r, NULL);
        pthread_mutex_unlock(&r->lock);
        for (unsigned i = 0; i < r->n_workers; i++)
                pthread_join(r->workers[i], NULL);
        r->n_workers = 0;
}

Reconciler *reconciler_free(Reconciler *r) {
        if (!r)
                return NULL;
        reconciler_stop(r);
        r->watch = exit_watch_free(r->watch);
        for (size_t i = r->head; i < r->n_ready; i++)
                free(r->ready[i]);
        free(r->ready);
        strset_clear(&r->queued);
        strset_clear(&r->to_probe);
        for (size_t i = 0; i < r->n_delayed; i++)
                free(r->delayed[i].id);
        free(r->delayed);
        free(r->busy);
        pthread_cond_destroy(&r->work);
        pthread_cond_destroy(&r->changed);
        pthread_mutex_destroy(&r->lock);
        return mfree(r);
}

/* The kernel's boot id: differs after every host reboot. */
static int read_boot_id(char **ret) {
        char *text = NULL;
        int k = read_full_file("/proc/sys/kernel/random/boot_id", 128, &text, NULL);
        if (k < 0)
                return k;
        text[strcspn(text, "\n")] = 0;
        *ret = text;
        return 0;
}

int reconciler_reattach_all(Reconciler *r, ReattachStats *ret_stats) {
        _cleanup_free_ char *boot_id = NULL, *last_boot_id = NULL;
        int k = read_boot_id(&boot_id);
        if (k < 0)
                return k;
        k = store_daemon_get(r->store, "boot_id", &last_boot_id);
        if (k < 0 && k != -ENOENT)
                return k;
        r->host_rebooted = last_boot_id && !streq(last_boot_id, boot_id);

        char **ids = NULL;
        size_t n = 0;
        k = store_vm_list_active_ids(r->store, &ids, &n);
        if (k < 0)
                return k;
        /* The workers probe every VM first (in parallel, one worker per VM); wait
         * until they are done, bounded: READY=1 means "reattached". */
        uint64_t t0 = now_mono_us();
        pthread_mutex_lock(&r->lock);
        for (size_t i = 0; i < n; i++)
                if (strset_add(&r->to_probe, ids[i]) >= 0)
                        enqueue_locked(r, ids[i]);
        strv_free_n(ids, n);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += REATTACH_TIMEOUT_MS / 1000;
        while (r->to_probe.n > 0 && !atomic_load(&r->stopping))
                if (pthread_cond_timedwait(&r->changed, &r->lock, &ts) != 0)
                        break;
        size_t left = r->to_probe.n;
        strset_clear(&r->to_probe);
        bool rebooted = r->host_rebooted;
        r->host_rebooted = false;
        pthread_mutex_unlock(&r->lock);

        k = store_daemon_set(r->store, "boot_id", boot_id);
        if (k < 0)
                return k;
        if (ret_stats)
                *ret_stats = (ReattachStats){
                        .vms = n, .unprobed = left, .host_rebooted = rebooted, .usec = now_mono_us() - t0
                };
        return 0;
}

/* Has the request at generation reached an outcome in this row? */
static bool wait_outcome(const VmRow *row, int64_t generation, WaitOutcome *ret) {
        if (row->generation > generation) {
                *ret = WAIT_SUPERSEDED;
                return true;
        }
        if (row->observed_generation >= generation) {
                *ret = WAIT_DONE;
                return true;
        }
        if (row->observed == VM_PHASE_FAILED && row->error_generation >= generation) {
                *ret = WAIT_FAILED;
                return true;
        }
        return false;
}

int reconciler_wait(Reconciler *r, const char *vm_id, int64_t generation, unsigned timeout_ms,
                    WaitOutcome *ret_outcome, VmRow **ret_row) {
        uint64_t deadline = now_mono_us() + (uint64_t) timeout_ms * 1000;
        Waiter w = { .vm_id = vm_id };
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&w.cond, &ca);
        pthread_condattr_destroy(&ca);
        pthread_mutex_lock(&r->lock);
        w.next = r->waiters;
        r->waiters = &w;
        pthread_mutex_unlock(&r->lock);

        int k = 0;
        for (;;) {
                pthread_mutex_lock(&r->lock);
                uint64_t seen = w.seq;
                pthread_mutex_unlock(&r->lock);

                _cleanup_(vm_row_freep) VmRow *row = NULL;
                k = store_vm_get(r->store, vm_id, &row);
                if (k < 0)
                        break;
                WaitOutcome out;
                bool done = wait_outcome(row, generation, &out);
                uint64_t now = now_mono_us();
                if (!done && (now >= deadline || atomic_load(&r->stopping))) {
                        out = atomic_load(&r->stopping) ? WAIT_STOPPING : WAIT_TIMEOUT;
                        done = true;
                }
                if (done) {
                        *ret_outcome = out;
                        if (ret_row)
                                *ret_row = TAKE_PTR(row);
                        break;
                }

                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                uint64_t ns = (uint64_t) ts.tv_nsec + (deadline - now) * 1000;
                ts.tv_sec += (time_t) (ns / 1000000000u);
                ts.tv_nsec = (long) (ns % 1000000000u);
                pthread_mutex_lock(&r->lock);
                while (w.seq == seen && !atomic_load(&r->stopping))
                        if (pthread_cond_timedwait(&w.cond, &r->lock, &ts) != 0)
                                break;
                pthread_mutex_unlock(&r->lock);
        }

        pthread_mutex_lock(&r->lock);
        for (Waiter **pw = &r->waiters; *pw; pw = &(*pw)->next)
                if (*pw == &w) {
                        *pw = w.next;
                        break;
                }
        pthread_mutex_unlock(&r->lock);
        pthread_cond_destroy(&w.cond);
        return k < 0 ? k : 0;
}
