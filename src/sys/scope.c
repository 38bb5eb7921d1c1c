/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Transient scope units for VMMs over sd-bus (see scope.h).
 *
 * One connection to the system bus, owned by the ScopeManager and used only
 * under its mutex (an sd_bus object is not thread-safe). It is never attached
 * to an event loop: every call is synchronous with a timeout, and the
 * JobRemoved signals a call waits for are dispatched by the caller's own
 * sd_bus_process() loop while it still holds the mutex.
 */
#include "sys/scope.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "util/log.h"

/* Bound on one method call, and on one job from its request to JobRemoved. */
#define SCOPE_CALL_TIMEOUT_US (5ULL * 1000 * 1000)
#define SCOPE_JOB_TIMEOUT_US (5ULL * 1000 * 1000)
/* How long a stopped stale scope may take to be garbage-collected. */
#define SCOPE_GONE_TIMEOUT_US (2ULL * 1000 * 1000)
#define SCOPE_GONE_POLL_US (20ULL * 1000)
/* Most queued messages dropped after a call (the rest wait for the next one). */
#define SCOPE_DRAIN_MAX 1024

#define SYSTEMD_SERVICE "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"
#define ERROR_UNIT_EXISTS "org.freedesktop.systemd1.UnitExists"
#define ERROR_NO_SUCH_UNIT "org.freedesktop.systemd1.NoSuchUnit"

struct ScopeManager {
        bool active; /* systemd is init and answered on the system bus at start */
        pthread_mutex_t lock; /* serialises every use of bus */
        sd_bus *bus; /* NULL: not connected (fallback, or lost and not yet reopened) */
};

/* The JobRemoved signal of one job: filled in by on_job_removed. */
typedef struct JobWait {
        const char *job; /* object path of the job we wait for; NULL until the reply named it */
        bool removed;
        char result[32]; /* "done", "failed", "canceled", "timeout", ... */
} JobWait;

/* True for errors that mean the bus connection itself is gone (a broker
 * restart, say): worth one reconnect. */
static bool bus_error_is_disconnect(int r) {
        return r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE || r == -ESHUTDOWN || r == -ECONNREFUSED;
}

/*
 * Turn a failed call into negative errno and *ret_error: "<what> <unit>: <systemd's
 * message> (<D-Bus error name>)". Returns the errno systemd's error maps to, or r.
 */
static int call_failed(int r, const sd_bus_error *e, const char *what, const char *unit, char **ret_error) {
        assert(r < 0);
        if (sd_bus_error_is_set(e)) {
                *ret_error = strdup_printf("%s %s: %s (%s)", what, unit, e->message ? e->message : e->name,
                                           e->name);
                int k = sd_bus_error_get_errno(e);
                return k > 0 ? -k : r;
        }
        *ret_error = strdup_printf("%s %s: %s", what, unit, strerror(-r));
        return r;
}

/*
 * Open the system bus and ping systemd on it. On success *ret owns the
 * connection; on failure *ret_error says why (the caller owns it).
 */
static int bus_open(sd_bus **ret, char **ret_error) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

        int r = sd_bus_open_system(&bus);
        if (r < 0) {
                *ret_error = strdup_printf("cannot connect to the system bus: %s", strerror(-r));
                return r;
        }
        r = sd_bus_set_method_call_timeout(bus, SCOPE_CALL_TIMEOUT_US);
        if (r < 0) {
                *ret_error = strdup_printf("cannot set the bus call timeout: %s", strerror(-r));
                return r;
        }
        r = sd_bus_call_method(bus, SYSTEMD_SERVICE, SYSTEMD_PATH, "org.freedesktop.DBus.Peer", "Ping", &e,
                               &reply, "");
        if (r < 0)
                return call_failed(r, &e, "cannot ping", "systemd on the system bus", ret_error);
        *ret = TAKE_PTR(bus);
        return 0;
}

/* Make sure m->bus is an open connection (reopening a lost one). Caller holds m->lock. */
static int bus_ensure(ScopeManager *m, char **ret_error) {
        if (m->bus && sd_bus_is_open(m->bus) > 0)
                return 0;
        m->bus = sd_bus_flush_close_unref(m->bus);
        return bus_open(&m->bus, ret_error);
}

int scope_manager_new(ScopeManager **ret) {
        _cleanup_(scope_manager_freep) ScopeManager *m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        int r = pthread_mutex_init(&m->lock, NULL);
        if (r != 0) {
                free(TAKE_PTR(m));
                return -r;
        }

        if (sd_booted() <= 0) {
                log_info("no systemd: VMMs run in detached sessions only");
                *ret = TAKE_PTR(m);
                return 0;
        }
        _cleanup_free_ char *why = NULL;
        r = bus_open(&m->bus, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_warning("no systemd: VMMs run in detached sessions only (%s)", why ? why : strerror(-r));
                *ret = TAKE_PTR(m);
                return 0;
        }
        m->active = true;
        log_info("systemd: each VMM runs in its own scope unit, metald-vm-<id>.scope");
        *ret = TAKE_PTR(m);
        return 1;
}

ScopeManager *scope_manager_free(ScopeManager *m) {
        if (!m)
                return NULL;
        m->bus = sd_bus_flush_close_unref(m->bus);
        (void) pthread_mutex_destroy(&m->lock);
        return mfree(m);
}

bool scope_manager_active(const ScopeManager *m) {
        return m && m->active;
}

void scope_unit_name(const char *vm_id, char *buf, size_t size) {
        snprintf(buf, size, "metald-vm-%s.scope", vm_id);
}

/* JobRemoved(u id, o job, s unit, s result): note the result of the job we wait for. */
static int on_job_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        JobWait *w = userdata;
        uint32_t id;
        const char *path, *unit, *result;
        if (sd_bus_message_read(msg, "uoss", &id, &path, &unit, &result) < 0)
                return 0; /* not ours to judge; keep dispatching */
        if (w->job && !w->removed && streq(path, w->job)) {
                w->removed = true;
                snprintf(w->result, sizeof w->result, "%s", result);
        }
        return 0;
}

/* Subscribe *ret_slot to systemd's JobRemoved signals, feeding w. Caller holds m->lock. */
static int watch_jobs(ScopeManager *m, JobWait *w, sd_bus_slot **ret_slot, const char *unit,
                      char **ret_error) {
        int r = sd_bus_match_signal(m->bus, ret_slot, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                    "JobRemoved", on_job_removed, w);
        if (r < 0)
                *ret_error = strdup_printf("cannot watch systemd's jobs for %s: %s", unit, strerror(-r));
        return r;
}

/*
 * Dispatch bus messages until w's job is removed or SCOPE_JOB_TIMEOUT_US
 * passed. 0 if the job ended "done"; otherwise an error naming the unit and
 * the job's result. Caller holds m->lock and set w->job.
 */
static int job_wait(ScopeManager *m, JobWait *w, const char *verb, const char *unit, char **ret_error) {
        assert(w->job);
        uint64_t deadline = now_mono_us() + SCOPE_JOB_TIMEOUT_US;
        for (;;) {
                int r = sd_bus_process(m->bus, NULL);
                if (r >= 0 && w->removed)
                        break;
                uint64_t now = now_mono_us();
                if (r >= 0 && now >= deadline) {
                        *ret_error =
                                strdup_printf("systemd did not finish the job to %s %s (%s) within %llu s",
                                              verb, unit, w->job, SCOPE_JOB_TIMEOUT_US / 1000000ULL);
                        return -ETIMEDOUT;
                }
                if (r == 0)
                        r = sd_bus_wait(m->bus, deadline - now);
                if (r < 0 && r != -EINTR) {
                        *ret_error =
                                strdup_printf("lost the system bus while waiting for systemd to %s %s: %s",
                                              verb, unit, strerror(-r));
                        return r;
                }
        }
        if (streq(w->result, "done"))
                return 0;
        *ret_error = strdup_printf("systemd's job to %s %s ended with result \"%s\"", verb, unit, w->result);
        return streq(w->result, "timeout") ? -ETIMEDOUT : streq(w->result, "canceled") ? -ECANCELED : -EIO;
}

/*
 * Ask systemd to start `unit` as a transient scope holding pid, and wait for
 * the job. When systemd refuses because a unit of that name is loaded,
 * *ret_exists is set (and the error returned as any other). Caller holds m->lock.
 */
static int scope_start(ScopeManager *m, const char *unit, const char *vm_id, pid_t pid, uint64_t memory_max,
                       unsigned cpu_quota_percent, bool *ret_exists, char **ret_error) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        JobWait w = { 0 };

        /* Before the call: the job may end before its reply reaches us. */
        int r = watch_jobs(m, &w, &slot, unit, ret_error);
        if (r < 0)
                return r;

        _cleanup_free_ char *description = strdup_printf("metald VM %s", vm_id);
        if (!description)
                return -ENOMEM;
        r = sd_bus_message_new_method_call(m->bus, &req, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                           "StartTransientUnit");
        /* "fail": never replace a job queued for a unit of the same name. */
        if (r >= 0)
                r = sd_bus_message_append(req, "ss", unit, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(req, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(req, "(sv)", "Description", "s", description);
        if (r >= 0)
                r = sd_bus_message_append(req, "(sv)", "PIDs", "au", 1, (uint32_t) pid);
        /* Gone from systemd's tables once the VMM exits, however it exits: the
         * next start of this VM reuses the name. */
        if (r >= 0)
                r = sd_bus_message_append(req, "(sv)", "CollectMode", "s", "inactive-or-failed");
        if (r >= 0 && memory_max > 0)
                r = sd_bus_message_append(req, "(sv)", "MemoryMax", "t", memory_max);
        if (r >= 0 && cpu_quota_percent > 0)
                /* 1% of one CPU is 10 ms of CPU time per second. */
                r = sd_bus_message_append(req, "(sv)", "CPUQuotaPerSecUSec", "t",
                                          (uint64_t) cpu_quota_percent * 10000ULL);
        if (r >= 0)
                r = sd_bus_message_close_container(req);
        if (r >= 0)
                r = sd_bus_message_append(req, "a(sa(sv))", 0); /* no auxiliary units */
        if (r < 0) {
                *ret_error = strdup_printf("cannot build the request to start %s: %s", unit, strerror(-r));
                return r;
        }

        r = sd_bus_call(m->bus, req, SCOPE_CALL_TIMEOUT_US, &e, &reply);
        if (r < 0) {
                *ret_exists = sd_bus_error_has_name(&e, ERROR_UNIT_EXISTS);
                return call_failed(r, &e, "systemd cannot start", unit, ret_error);
        }
        r = sd_bus_message_read(reply, "o", &w.job);
        if (r < 0) {
                *ret_error =
                        strdup_printf("systemd's answer to starting %s has no job: %s", unit, strerror(-r));
                return r;
        }
        return job_wait(m, &w, "start", unit, ret_error);
}

/*
 * The end of a GetUnit/GetUnitByPID call (r, e, reply): 1 and *ret_path
 * (owned by the caller) if systemd named a unit, 0 if it knows none.
 */
static int unit_path_read(int r, const sd_bus_error *e, sd_bus_message *reply, const char *unit,
                          char **ret_path, char **ret_error) {
        const char *path;
        if (r < 0) {
                if (sd_bus_error_has_names(e, ERROR_NO_SUCH_UNIT, "org.freedesktop.systemd1.NoUnitForPID"))
                        return 0;
                return call_failed(r, e, "systemd cannot look up", unit, ret_error);
        }
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0) {
                *ret_error = strdup_printf("systemd's answer when looking up %s: %s", unit, strerror(-r));
                return r;
        }
        *ret_path = strdup(path);
        return *ret_path ? 1 : -ENOMEM;
}

/* The object path of the unit named `unit`, if loaded (see unit_path_read). Caller holds m->lock. */
static int unit_path_by_name(ScopeManager *m, const char *unit, char **ret_path, char **ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_call_method(m->bus, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER, "GetUnit", &e,
                                   &reply, "s", unit);
        return unit_path_read(r, &e, reply, unit, ret_path, ret_error);
}

/* The object path of the unit pid is in (see unit_path_read). Caller holds m->lock. */
static int unit_path_by_pid(ScopeManager *m, pid_t pid, const char *unit, char **ret_path,
                            char **ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_call_method(m->bus, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER, "GetUnitByPID",
                                   &e, &reply, "u", (uint32_t) pid);
        return unit_path_read(r, &e, reply, unit, ret_path, ret_error);
}

/*
 * Get rid of a stale scope of this name (what is left of a VMM that is gone,
 * or not yet collected after it exited): stop it, reset it if it failed, and
 * wait (bounded) until systemd has forgotten it. Caller holds m->lock.
 */
static int scope_remove_stale(ScopeManager *m, const char *unit, char **ret_error) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        JobWait w = { 0 };

        int r = watch_jobs(m, &w, &slot, unit, ret_error);
        if (r < 0)
                return r;
        r = sd_bus_call_method(m->bus, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER, "StopUnit", &e,
                               &reply, "ss", unit, "replace");
        if (r < 0 && !sd_bus_error_has_name(&e, ERROR_NO_SUCH_UNIT))
                return call_failed(r, &e, "systemd cannot stop the stale", unit, ret_error);
        if (r >= 0) {
                r = sd_bus_message_read(reply, "o", &w.job);
                if (r < 0) {
                        *ret_error = strdup_printf("systemd's answer to stopping %s has no job: %s", unit,
                                                   strerror(-r));
                        return r;
                }
                r = job_wait(m, &w, "stop the stale", unit, ret_error);
                if (r < 0)
                        return r;
        }
        sd_bus_error_free(&e);
        /* A failed unit stays loaded until reset; the error only says it was not failed. */
        (void) sd_bus_call_method(m->bus, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER, "ResetFailedUnit",
                                  &e, NULL, "s", unit);

        /* An inactive unit is collected from systemd's idle queue, a moment later. */
        uint64_t deadline = now_mono_us() + SCOPE_GONE_TIMEOUT_US;
        for (;;) {
                _cleanup_free_ char *path = NULL;
                r = unit_path_by_name(m, unit, &path, ret_error);
                if (r <= 0)
                        return r;
                if (now_mono_us() >= deadline)
                        return 0; /* the retry's own error will say what is left */
                usleep(SCOPE_GONE_POLL_US);
        }
}

/*
 * 1 if pid already is in `unit` (a start whose reply was lost with the bus
 * connection), 0 if not. Caller holds m->lock.
 */
static int scope_holds_pid(ScopeManager *m, const char *unit, pid_t pid, char **ret_error) {
        _cleanup_free_ char *unit_obj = NULL, *pid_obj = NULL;
        int r = unit_path_by_name(m, unit, &unit_obj, ret_error);
        if (r <= 0)
                return r;
        r = unit_path_by_pid(m, pid, unit, &pid_obj, ret_error);
        if (r <= 0)
                return r;
        return streq(unit_obj, pid_obj);
}

/* Start the scope; on a stale unit of the same name, remove it and try once
 * more. Caller holds m->lock. */
static int adopt_locked(ScopeManager *m, const char *unit, const char *vm_id, pid_t pid, uint64_t memory_max,
                        unsigned cpu_quota_percent, char **ret_error) {
        _cleanup_free_ char *first = NULL;
        bool exists = false;
        int r = bus_ensure(m, ret_error);
        if (r < 0)
                return r;
        r = scope_start(m, unit, vm_id, pid, memory_max, cpu_quota_percent, &exists, &first);
        if (r >= 0 || !exists) {
                *ret_error = TAKE_PTR(first);
                return r;
        }
        /* Never stop a scope that already holds this very VMM: that would kill it. */
        r = scope_holds_pid(m, unit, pid, ret_error);
        if (r != 0)
                return r < 0 ? r : 0;
        r = scope_remove_stale(m, unit, ret_error);
        if (r < 0)
                return r;
        return scope_start(m, unit, vm_id, pid, memory_max, cpu_quota_percent, &exists, ret_error);
}

int scope_manager_adopt(ScopeManager *m, const char *vm_id, pid_t pid, uint64_t memory_max,
                        unsigned cpu_quota_percent, char **ret_error) {
        assert(vm_id);
        assert(pid > 0);
        assert(ret_error);
        if (!scope_manager_active(m))
                return 0;

        char unit[sizeof("metald-vm-.scope") + 64];
        scope_unit_name(vm_id, unit, sizeof unit);

        pthread_mutex_lock(&m->lock);
        _cleanup_free_ char *err = NULL;
        int r = adopt_locked(m, unit, vm_id, pid, memory_max, cpu_quota_percent, &err);
        if (r < 0 && bus_error_is_disconnect(r)) {
                /* The broker went away under us (restarted?): one fresh connection, one more try. */
                log_info("%s: the system bus connection was lost (%s); retrying on a new one", unit,
                         err ? err : strerror(-r));
                m->bus = sd_bus_flush_close_unref(m->bus);
                err = mfree(err);
                r = adopt_locked(m, unit, vm_id, pid, memory_max, cpu_quota_percent, &err);
        }
        /* Drop what arrived meanwhile (other jobs' signals, until the broker has
         * removed our match) so that it does not pile up between calls. */
        for (unsigned i = 0; m->bus && i < SCOPE_DRAIN_MAX && sd_bus_process(m->bus, NULL) > 0; i++)
                ;
        if (m->bus)
                (void) sd_bus_flush(m->bus);
        pthread_mutex_unlock(&m->lock);

        if (r < 0)
                *ret_error = TAKE_PTR(err);
        return r;
}
