/* SPDX-License-Identifier: Apache-2.0 */
#include "store/store.h"

#include <assert.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>

#include "store/migrations.h"
#include "store/network.h"
#include "store/store-internal.h"

#define STORE_POOL_MAX 64
#define STORE_BUSY_TIMEOUT_MS 10000

/* A caller of store_write waiting for its turn, its batch, or its result. */
typedef enum WriteState { WRITE_QUEUED, WRITE_LEAD, WRITE_DONE } WriteState;
typedef struct WriteReq {
        StoreWriteFn fn;
        void *userdata;
        int result;
        bool final; /* result known (refused, or its batch's COMMIT ended) */
        WriteState state;
        pthread_cond_t cond;
        struct WriteReq *next;
} WriteReq;

struct Store {
        char *path;
        pthread_mutex_t lock;
        StoreConn *idle[STORE_POOL_MAX]; /* connections not in use */
        size_t n_idle;

        /* Group commit (store_write): callers queue; one of them at a time leads,
         * taking the whole queue as one batch on the writer connection. */
        pthread_mutex_t wlock;
        WriteReq *wq_head, *wq_tail;
        bool leading; /* a leader runs a batch, or has been named */
        StoreConn *writer; /* only the leader touches it */
        StoreWriteStats wstats;
};

void sqlite3_finalizep(sqlite3_stmt **s) {
        if (*s)
                sqlite3_finalize(*s);
}

void sqlite3_resetp(sqlite3_stmt **s) {
        if (*s) {
                sqlite3_reset(*s);
                sqlite3_clear_bindings(*s);
        }
}

/* The one translation point from SQLite result codes to negative errno. */
int sqlite_to_errno(int rc) {
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
                return 0;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_CONSTRAINT:
                return -EEXIST;
        case SQLITE_CANTOPEN:
        case SQLITE_PERM:
        case SQLITE_READONLY:
                return -EACCES;
        default:
                return -EIO;
        }
}

void strv_free_n(char **v, size_t n) {
        if (!v)
                return;
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

VmRow *vm_row_free(VmRow *r) {
        if (!r)
                return NULL;
        free(r->id);
        free(r->customer_id);
        free(r->backend);
        free(r->config_json);
        free(r->run_dir);
        free(r->last_error);
        free(r->error_code);
        free(r->restart_policy);
        free(r->last_exit);
        return mfree(r);
}

void vm_row_array_free(VmRow **rows, size_t n) {
        if (!rows)
                return;
        for (size_t i = 0; i < n; i++)
                vm_row_free(rows[i]);
        free(rows);
}

void vm_event_array_free(VmEvent *ev, size_t n) {
        if (!ev)
                return;
        for (size_t i = 0; i < n; i++)
                free(ev[i].reason);
        free(ev);
}

/* Open one connection with the pragmas every connection needs. */
static int conn_open(const char *path, StoreConn **ret) {
        sqlite3 *db = NULL;
        int rc = sqlite3_open_v2(path, &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                                         SQLITE_OPEN_EXRESCODE,
                                 NULL);
        if (rc != SQLITE_OK) {
                int r = sqlite_to_errno(rc);
                sqlite3_close_v2(db);
                return r;
        }
        sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
        rc = sqlite3_exec(db,
                          "PRAGMA journal_mode=WAL;"
                          "PRAGMA synchronous=FULL;"
                          "PRAGMA foreign_keys=ON;"
                          "PRAGMA trusted_schema=OFF;",
                          NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
                int r = sqlite_to_errno(rc);
                sqlite3_close_v2(db);
                return r;
        }
        StoreConn *sc = calloc(1, sizeof *sc);
        if (!sc) {
                sqlite3_close_v2(db);
                return -ENOMEM;
        }
        sc->db = db;
        *ret = sc;
        return 0;
}

static void conn_close(StoreConn *sc) {
        if (!sc)
                return;
        for (size_t i = 0; i < sc->n_cache; i++)
                sqlite3_finalize(sc->cache[i].st);
        sqlite3_close_v2(sc->db);
        free(sc);
}

int prepare_cached(StoreConn *sc, const char *sql, sqlite3_stmt **ret) {
        for (size_t i = 0; i < sc->n_cache; i++)
                if (sc->cache[i].sql == sql) {
                        *ret = sc->cache[i].st;
                        return 0;
                }
        /* The same text from another call site: share it. */
        for (size_t i = 0; i < sc->n_cache; i++)
                if (streq(sc->cache[i].sql, sql)) {
                        *ret = sc->cache[i].st;
                        return 0;
                }
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v3(sc->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        if (sc->n_cache == STORE_STMT_CACHE_MAX) {
                /* Full (more distinct statements than expected): replace the oldest,
                 * which no caller holds, since none of them nests. */
                sqlite3_finalize(sc->cache[0].st);
                memmove(&sc->cache[0], &sc->cache[1], (STORE_STMT_CACHE_MAX - 1) * sizeof sc->cache[0]);
                sc->n_cache--;
        }
        sc->cache[sc->n_cache].sql = sql;
        sc->cache[sc->n_cache].st = st;
        sc->n_cache++;
        *ret = st;
        return 0;
}

/* Borrow a connection (opening a new one if none is idle). */
static int store_acquire(Store *s, StoreConn **ret) {
        pthread_mutex_lock(&s->lock);
        if (s->n_idle > 0) {
                *ret = s->idle[--s->n_idle];
                pthread_mutex_unlock(&s->lock);
                return 0;
        }
        pthread_mutex_unlock(&s->lock);
        return conn_open(s->path, ret);
}

/* Give a connection back; beyond the pool size it is closed. */
static void store_release(Store *s, StoreConn *sc) {
        if (!sc)
                return;
        pthread_mutex_lock(&s->lock);
        if (s->n_idle < STORE_POOL_MAX) {
                s->idle[s->n_idle++] = sc;
                sc = NULL;
        }
        pthread_mutex_unlock(&s->lock);
        conn_close(sc);
}

int conn_acquire(Conn *c) {
        int r = store_acquire(c->store, &c->sc);
        if (r < 0)
                return r;
        c->db = c->sc->db;
        return 0;
}

void conn_releasep(Conn *c) {
        if (!c->sc)
                return;
        if (c->in_txn)
                sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        store_release(c->store, c->sc);
}

int conn_begin(Conn *c, bool write) {
        int rc = sqlite3_exec(c->db, write ? "BEGIN IMMEDIATE" : "BEGIN", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        c->in_txn = true;
        return 0;
}

int conn_commit(Conn *c) {
        int rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc); /* conn_releasep rolls back */
        c->in_txn = false;
        return 0;
}

int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret) {
        return sqlite_to_errno(sqlite3_prepare_v2(db, sql, -1, ret, NULL));
}

/* Run a statement with no result rows. */
int step_done(sqlite3_stmt *st) {
        int rc = sqlite3_step(st);
        return rc == SQLITE_DONE ? 0 : sqlite_to_errno(rc);
}

char *column_strdup(sqlite3_stmt *st, int i) {
        const unsigned char *t = sqlite3_column_text(st, i);
        return strdup(t ? (const char *) t : "");
}

/* A statement without rows on the writer, from its cache. */
static int writer_exec(StoreConn *sc, const char *sql) {
        _cleanup_cached_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare_cached(sc, sql, &st);
        if (r < 0)
                return r;
        return step_done(st);
}

sqlite3 *store_txn_db(StoreTxn *t) {
        return t->db;
}

/*
 * Run one batch on the writer: BEGIN, each request in its own savepoint,
 * one COMMIT. A request whose function fails is rolled back to its savepoint
 * alone. If a failure aborted the whole transaction (SQLite does that for
 * e.g. SQLITE_FULL or SQLITE_IOERR), that request gets its error and the
 * others, which lost their writes with it, run again in a new transaction.
 */
static bool writer_run_batch(Store *s, WriteReq *batch) {
        StoreConn *w = s->writer;
        for (;;) {
                w->live_known = false; /* others (an operator's sqlite3) may have written meanwhile */
                int r = writer_exec(w, "BEGIN IMMEDIATE");
                if (r < 0) {
                        for (WriteReq *q = batch; q; q = q->next)
                                if (!q->final) {
                                        q->result = r;
                                        q->final = true;
                                }
                        return false;
                }
                bool aborted = false;
                for (WriteReq *q = batch; q; q = q->next) {
                        if (q->final)
                                continue;
                        r = writer_exec(w, "SAVEPOINT request");
                        if (r < 0) {
                                q->result = r;
                                q->final = true;
                                if (sqlite3_get_autocommit(w->db)) {
                                        aborted = true;
                                        break;
                                }
                                continue;
                        }
                        int k = q->fn(w, q->userdata);
                        if (sqlite3_get_autocommit(w->db)) {
                                /* The whole transaction is gone, and our neighbours' writes with it. */
                                q->result = k < 0 ? k : -EIO;
                                q->final = true;
                                aborted = true;
                                break;
                        }
                        if (k < 0) {
                                int r2 = writer_exec(w, "ROLLBACK TO request");
                                if (r2 >= 0)
                                        r2 = writer_exec(w, "RELEASE request");
                                q->result = k;
                                q->final = true;
                                if (r2 < 0) {
                                        /* Cannot undo it alone: undo everything and run the others again. */
                                        sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
                                        aborted = true;
                                        break;
                                }
                                continue;
                        }
                        q->result = k;
                        r = writer_exec(w, "RELEASE request");
                        if (r < 0) {
                                q->result = r;
                                q->final = true;
                                sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
                                aborted = true;
                                break;
                        }
                }
                if (aborted) {
                        if (!sqlite3_get_autocommit(w->db))
                                sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
                        continue; /* the ones not final yet run again */
                }
                r = writer_exec(w, "COMMIT");
                if (r < 0 && !sqlite3_get_autocommit(w->db))
                        sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
                for (WriteReq *q = batch; q; q = q->next)
                        if (!q->final) {
                                if (r < 0)
                                        q->result = r;
                                q->final = true;
                        }
                return true; /* a COMMIT was attempted */
        }
}

int store_write(Store *s, StoreWriteFn fn, void *userdata) {
        assert(s && fn);
        WriteReq me = { .fn = fn, .userdata = userdata, .state = WRITE_QUEUED };
        pthread_cond_init(&me.cond, NULL);

        pthread_mutex_lock(&s->wlock);
        if (s->wq_tail)
                s->wq_tail->next = &me;
        else
                s->wq_head = &me;
        s->wq_tail = &me;
        if (!s->leading) {
                s->leading = true;
                me.state = WRITE_LEAD;
        }
        while (me.state == WRITE_QUEUED)
                pthread_cond_wait(&me.cond, &s->wlock);
        if (me.state == WRITE_DONE) {
                pthread_mutex_unlock(&s->wlock);
                pthread_cond_destroy(&me.cond);
                return me.result;
        }

        /* We lead: everything queued so far (us included) is one batch. */
        WriteReq *batch = s->wq_head;
        s->wq_head = s->wq_tail = NULL;
        size_t n = 0;
        for (WriteReq *q = batch; q; q = q->next)
                n++;
        s->wstats.requests += n;
        if (n > s->wstats.max_batch)
                s->wstats.max_batch = n;
        pthread_mutex_unlock(&s->wlock);

        int r = 0;
        bool committed = false;
        if (!s->writer)
                r = conn_open(s->path, &s->writer);
        if (r < 0)
                for (WriteReq *q = batch; q; q = q->next) {
                        q->result = r;
                        q->final = true;
                }
        else
                committed = writer_run_batch(s, batch);

        pthread_mutex_lock(&s->wlock);
        if (committed)
                s->wstats.batches++;
        for (WriteReq *q = batch, *next; q; q = next) {
                next = q->next; /* q may return (and vanish) as soon as we unlock */
                q->state = WRITE_DONE;
                if (q != &me)
                        pthread_cond_signal(&q->cond);
        }
        /* Hand the lead to the first caller that queued meanwhile: its batch
         * is everything that queued while this one was committing. */
        if (s->wq_head) {
                s->wq_head->state = WRITE_LEAD;
                pthread_cond_signal(&s->wq_head->cond);
        } else
                s->leading = false;
        pthread_mutex_unlock(&s->wlock);
        pthread_cond_destroy(&me.cond);
        return me.result;
}

void store_write_stats(Store *s, StoreWriteStats *ret) {
        pthread_mutex_lock(&s->wlock);
        *ret = s->wstats;
        pthread_mutex_unlock(&s->wlock);
}

static int migrations_apply(sqlite3 *db, char **ret_error) {
        int rc = sqlite3_exec(db,
                              "CREATE TABLE IF NOT EXISTS schema_migrations ("
                              "name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT",
                              NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
                *ret_error = strdup_printf("creating schema_migrations: %s", sqlite3_errmsg(db));
                return sqlite_to_errno(rc);
        }
        for (const Migration *m = migrations; m->name; m++) {
                /* Both before the first goto: jumping past a cleanup variable's
                 * declaration would run its cleanup on garbage. */
                _cleanup_stmt_ sqlite3_stmt *q = NULL, *ins = NULL;
                rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
                if (rc != SQLITE_OK)
                        goto fail;
                rc = sqlite3_prepare_v2(db, "SELECT 1 FROM schema_migrations WHERE name = ?", -1, &q, NULL);
                if (rc != SQLITE_OK)
                        goto fail;
                sqlite3_bind_text(q, 1, m->name, -1, SQLITE_STATIC);
                rc = sqlite3_step(q);
                if (rc == SQLITE_ROW) {
                        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
                        continue;
                }
                rc = sqlite3_exec(db, m->sql, NULL, NULL, NULL);
                if (rc != SQLITE_OK)
                        goto fail;
                rc = sqlite3_prepare_v2(db, "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                                        -1, &ins, NULL);
                if (rc != SQLITE_OK)
                        goto fail;
                sqlite3_bind_text(ins, 1, m->name, -1, SQLITE_STATIC);
                sqlite3_bind_int64(ins, 2, now_ms());
                rc = sqlite3_step(ins);
                if (rc != SQLITE_DONE)
                        goto fail;
                rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
                if (rc != SQLITE_OK)
                        goto fail;
                continue;
        fail:
                *ret_error = strdup_printf("migration %s: %s", m->name, sqlite3_errmsg(db));
                sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
                return sqlite_to_errno(rc) < 0 ? sqlite_to_errno(rc) : -EIO;
        }
        return 0;
}

int store_open(const char *path, Store **ret, char **ret_error) {
        assert(path);
        assert(ret);
        _cleanup_(store_freep) Store *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        pthread_mutex_init(&s->lock, NULL);
        pthread_mutex_init(&s->wlock, NULL);
        s->path = strdup(path);
        if (!s->path)
                return -ENOMEM;

        /* Create the file 0600 ourselves: SQLite would use the umask. */
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
                int r = -errno;
                *ret_error = strdup_printf("cannot open database %s: %s", path, strerror(-r));
                return r;
        }
        (void) fchmod(fd, 0600);
        close(fd);

        StoreConn *sc = NULL;
        int r = conn_open(path, &sc);
        if (r < 0) {
                *ret_error = strdup_printf("cannot open database %s: %s", path, strerror(-r));
                return r;
        }
        r = migrations_apply(sc->db, ret_error);
        if (r < 0) {
                conn_close(sc);
                return r;
        }
        store_release(s, sc);
        *ret = TAKE_PTR(s);
        return 0;
}

Store *store_free(Store *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_idle; i++)
                conn_close(s->idle[i]);
        conn_close(s->writer);
        pthread_mutex_destroy(&s->lock);
        pthread_mutex_destroy(&s->wlock);
        free(s->path);
        return mfree(s);
}

int store_applied_migrations(Store *s, char ***ret_names, size_t *ret_n) {
        _cleanup_conn_ Conn c = { .store = s };
        int r = conn_acquire(&c);
        if (r < 0)
                return r;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        r = prepare(c.db, "SELECT name FROM schema_migrations ORDER BY name", &st);
        if (r < 0)
                return r;
        char **names = NULL;
        size_t n = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                char **nn = realloc(names, (n + 1) * sizeof *nn);
                if (!nn) {
                        strv_free_n(names, n);
                        return -ENOMEM;
                }
                names = nn;
                names[n] = column_strdup(st, 0);
                if (!names[n]) {
                        strv_free_n(names, n);
                        return -ENOMEM;
                }
                n++;
        }
        if (rc != SQLITE_DONE) {
                strv_free_n(names, n);
                return sqlite_to_errno(rc);
        }
        *ret_names = names;
        *ret_n = n;
        return 0;
}

#define VM_COLUMNS                                                                                          \
        "seq, id, customer_id, backend, config_json, desired_state, generation, observed_state, "           \
        "observed_generation, reboot_requested, reboot_done, shutdown_timeout_s, force_stop, "              \
        "vmm_pid, vmm_start_time, socket_path, run_dir, last_error, error_generation, "                     \
        "failed_from, attempts, next_attempt_at, created_at, updated_at, deleted_at, error_code, "          \
        "restart_policy, last_exit, restarts"

/* Build a VmRow from the current result row of a SELECT VM_COLUMNS. */
static int row_from_stmt(sqlite3_stmt *st, VmRow **ret) {
        _cleanup_(vm_row_freep) VmRow *r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;
        r->seq = sqlite3_column_int64(st, 0);
        r->id = column_strdup(st, 1);
        r->customer_id = column_strdup(st, 2);
        r->backend = column_strdup(st, 3);
        r->config_json = column_strdup(st, 4);
        r->desired = vm_phase_from_string((const char *) sqlite3_column_text(st, 5));
        r->generation = sqlite3_column_int64(st, 6);
        r->observed = vm_phase_from_string((const char *) sqlite3_column_text(st, 7));
        r->observed_generation = sqlite3_column_int64(st, 8);
        r->reboot_requested = sqlite3_column_int64(st, 9);
        r->reboot_done = sqlite3_column_int64(st, 10);
        r->shutdown_timeout_s = sqlite3_column_int(st, 11);
        r->force_stop = sqlite3_column_int(st, 12) != 0;
        r->vmm.pid = (pid_t) sqlite3_column_int64(st, 13);
        r->vmm.start_time = (uint64_t) sqlite3_column_int64(st, 14);
        const unsigned char *sock = sqlite3_column_text(st, 15);
        snprintf(r->vmm.socket_path, sizeof r->vmm.socket_path, "%s", sock ? (const char *) sock : "");
        r->run_dir = column_strdup(st, 16);
        r->last_error = column_strdup(st, 17);
        r->error_generation = sqlite3_column_int64(st, 18);
        const unsigned char *ff = sqlite3_column_text(st, 19);
        r->failed_from = ff && *ff ? vm_phase_from_string((const char *) ff) : _VM_PHASE_INVALID;
        r->attempts = sqlite3_column_int(st, 20);
        r->next_attempt_at = sqlite3_column_int64(st, 21);
        r->created_at = sqlite3_column_int64(st, 22);
        r->updated_at = sqlite3_column_int64(st, 23);
        r->deleted_at = sqlite3_column_int64(st, 24);
        r->error_code = column_strdup(st, 25);
        r->restart_policy = column_strdup(st, 26);
        r->last_exit = column_strdup(st, 27);
        r->restarts = sqlite3_column_int(st, 28);
        if (!r->restart_policy || !r->last_exit || !r->error_code || !r->id || !r->customer_id ||
            !r->backend || !r->config_json || !r->run_dir || !r->last_error)
                return -ENOMEM;
        if (r->desired < 0 || r->observed < 0)
                return -EIO; /* a state name this build does not know: refuse, do not guess */
        *ret = TAKE_PTR(r);
        return 0;
}

static int conn_get_vm(StoreConn *sc, const char *id, VmRow **ret) {
        _cleanup_cached_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare_cached(sc, "SELECT " VM_COLUMNS " FROM vms WHERE id = ?", &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return sqlite_to_errno(rc);
        return row_from_stmt(st, ret);
}

static int conn_append_event(StoreConn *sc, const char *vm_id, int64_t at, const char *kind, VmPhase from,
                             VmPhase to, int64_t generation, const char *reason) {
        _cleanup_cached_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare_cached(sc,
                               "INSERT INTO vm_events (vm_id, at, kind, from_state, to_state, generation, "
                               "reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                               &st);
        if (r < 0)
                return r;
        const char *f = vm_phase_to_string(from), *t = vm_phase_to_string(to);
        sqlite3_bind_text(st, 1, vm_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, at);
        sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, f ? f : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, t ? t : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, generation);
        sqlite3_bind_text(st, 7, reason ? reason : "", -1, SQLITE_STATIC);
        return step_done(st);
}

int store_vm_get(Store *s, const char *id, VmRow **ret) {
        assert(s && id && ret);
        _cleanup_conn_ Conn c = { .store = s };
        int r = conn_acquire(&c);
        if (r < 0)
                return r;
        return conn_get_vm(c.sc, id, ret);
}

/* Live VMs, and when sizes their vCPUs and memory (else 0), of one customer
 * or all when customer is NULL. */
static int conn_usage(sqlite3 *db, const char *customer, bool sizes, uint64_t ret[3]) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare(
                db,
                !sizes ? "SELECT count(*), 0, 0 FROM vms WHERE deleted_at IS NULL AND "
                         "(?1 IS NULL OR customer_id = ?1)"
                       : "SELECT count(*), "
                         "coalesce(sum(coalesce(json_extract(config_json, '$.cpu.maxVcpuCount'), "
                         "json_extract(config_json, '$.cpu.vcpuCount'), 0)), 0), "
                         "coalesce(sum(coalesce(json_extract(config_json, '$.memory.sizeBytes'), 0) + "
                         "coalesce(json_extract(config_json, '$.memory.hotplugSizeBytes'), 0)), 0) "
                         "FROM vms WHERE deleted_at IS NULL AND (?1 IS NULL OR customer_id = ?1)",
                &st);
        if (r < 0)
                return r;
        if (customer)
                sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW)
                return -EIO;
        for (int i = 0; i < 3; i++)
                ret[i] = (uint64_t) sqlite3_column_int64(st, i);
        return 0;
}

/* Which limit (if any) the new VM would exceed; its usage in *ret_used. */
static int conn_check_limits(sqlite3 *db, const VmRow *row, const StoreLimits *l, StoreLimitHit *ret_hit,
                             uint64_t *ret_used) {
        uint64_t u[3];
        int r;
        *ret_hit = STORE_LIMIT_NONE;
        if (l->max_live > 0 || l->host_vcpus || l->host_memory) {
                r = conn_usage(db, NULL, l->host_vcpus || l->host_memory, u);
                if (r < 0)
                        return r;
                if (l->max_live > 0 && u[0] >= l->max_live)
                        *ret_hit = STORE_LIMIT_MAX_VMS, *ret_used = u[0];
                else if (l->host_vcpus && u[1] + l->vcpus > l->host_vcpus)
                        *ret_hit = STORE_LIMIT_HOST_VCPUS, *ret_used = u[1];
                else if (l->host_memory && u[2] + l->memory > l->host_memory)
                        *ret_hit = STORE_LIMIT_HOST_MEMORY, *ret_used = u[2];
                if (*ret_hit)
                        return -EDQUOT;
        }
        if (l->tenant_vms || l->tenant_vcpus || l->tenant_memory) {
                r = conn_usage(db, row->customer_id ? row->customer_id : "",
                               l->tenant_vcpus || l->tenant_memory, u);
                if (r < 0)
                        return r;
                if (l->tenant_vms && u[0] + 1 > l->tenant_vms)
                        *ret_hit = STORE_LIMIT_TENANT_VMS, *ret_used = u[0];
                else if (l->tenant_vcpus && u[1] + l->vcpus > l->tenant_vcpus)
                        *ret_hit = STORE_LIMIT_TENANT_VCPUS, *ret_used = u[1];
                else if (l->tenant_memory && u[2] + l->memory > l->tenant_memory)
                        *ret_hit = STORE_LIMIT_TENANT_MEMORY, *ret_used = u[2];
                if (*ret_hit)
                        return -EDQUOT;
        }
        return 0;
}

typedef struct InsertCall {
        const VmRow *row;
        const StoreNicRequest *nics;
        size_t n_nics;
        StoreSameConfigFn same_config;
        void *userdata;
        const StoreLimits *limits;
        VmRow *existing;
        StoreLimitHit hit;
        uint64_t used;
        char *error; /* why an interface could not be allocated */
} InsertCall;

static int insert_fn(StoreTxn *sc, void *userdata) {
        InsertCall *call = userdata;
        const VmRow *row = call->row;
        call->existing = vm_row_free(call->existing);
        call->error = mfree(call->error);
        call->hit = STORE_LIMIT_NONE;

        _cleanup_(vm_row_freep) VmRow *existing = NULL;
        int r = conn_get_vm(sc, row->id, &existing);
        if (r >= 0) {
                bool same = !existing->deleted_at && call->same_config &&
                            call->same_config(existing, row, call->userdata);
                call->existing = TAKE_PTR(existing);
                return same ? 0 : -EEXIST;
        }
        if (r != -ENOENT)
                return r;

        /* --max-vms: counted once per batch (the transaction's count of live
         * VMs goes up with each insert kept); the other limits sum sizes. */
        StoreLimits l = *call->limits;
        if (l.max_live > 0) {
                if (!sc->live_known) {
                        _cleanup_cached_stmt_ sqlite3_stmt *cnt = NULL;
                        r = prepare_cached(sc, "SELECT count(*) FROM vms WHERE deleted_at IS NULL", &cnt);
                        if (r < 0)
                                return r;
                        if (sqlite3_step(cnt) != SQLITE_ROW)
                                return -EIO;
                        sc->live = sqlite3_column_int64(cnt, 0);
                        sc->live_known = true;
                }
                if (sc->live >= l.max_live) {
                        call->hit = STORE_LIMIT_MAX_VMS;
                        call->used = (uint64_t) sc->live;
                        return -EDQUOT;
                }
                l.max_live = 0;
        }
        r = conn_check_limits(store_txn_db(sc), row, &l, &call->hit, &call->used);
        if (r < 0)
                return r;

        int64_t now = now_ms();
        _cleanup_cached_stmt_ sqlite3_stmt *st = NULL;
        r = prepare_cached(
                sc,
                "INSERT INTO vms (id, customer_id, backend, config_json, desired_state, generation, "
                "observed_state, shutdown_timeout_s, run_dir, created_at, updated_at, "
                "restart_policy) VALUES (?, ?, ?, ?, ?, 1, 'pending', ?, ?, ?, ?, ?)",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, row->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, row->customer_id ? row->customer_id : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, row->backend, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, row->config_json, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, vm_phase_to_string(row->desired), -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 6, row->shutdown_timeout_s > 0 ? row->shutdown_timeout_s : 30);
        sqlite3_bind_text(st, 7, row->run_dir ? row->run_dir : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, now);
        sqlite3_bind_int64(st, 9, now);
        sqlite3_bind_text(st, 10, row->restart_policy ? row->restart_policy : "on-failure", -1,
                          SQLITE_STATIC);
        r = step_done(st);
        if (r < 0)
                return r;
        r = conn_append_event(sc, row->id, now, "desired", VM_PHASE_PENDING, row->desired, 1, "CreateVm");
        if (r < 0)
                return r;
        /* The addresses are allocated in the transaction that records the VM. */
        if (call->n_nics > 0) {
                r = store_vm_insert_nics(store_txn_db(sc), row->id, row->customer_id, call->nics,
                                         call->n_nics, &call->error);
                if (r < 0)
                        return r;
        }
        sc->live++; /* only now: a failure above rolls this request back */
        return 0;
}

int store_vm_insert_limited(Store *s, const VmRow *row, const StoreNicRequest *nics, size_t n_nics,
                            StoreSameConfigFn same_config, void *userdata, const StoreLimits *limits,
                            VmRow **ret_existing, StoreLimitHit *ret_hit, uint64_t *ret_used,
                            char **ret_error) {
        assert(s && row && row->id && row->backend && row->config_json && limits && ret_hit && ret_used);
        assert(n_nics == 0 || ret_error);
        InsertCall call = {
                .row = row,
                .nics = nics,
                .n_nics = n_nics,
                .same_config = same_config,
                .userdata = userdata,
                .limits = limits,
        };
        int r = store_write(s, insert_fn, &call);
        if (ret_existing)
                *ret_existing = TAKE_PTR(call.existing);
        vm_row_free(call.existing);
        *ret_hit = call.hit;
        *ret_used = call.used;
        if (ret_error)
                *ret_error = TAKE_PTR(call.error);
        free(call.error);
        return r;
}

int store_vm_insert(Store *s, const VmRow *row, StoreSameConfigFn same_config, void *userdata,
                    unsigned max_live, VmRow **ret_existing) {
        StoreLimits l = { .max_live = max_live };
        StoreLimitHit hit;
        uint64_t used;
        return store_vm_insert_limited(s, row, NULL, 0, same_config, userdata, &l, ret_existing, &hit, &used,
                                       NULL);
}

int store_vm_insert_with_nics(Store *s, const VmRow *row, const StoreNicRequest *nics, size_t n_nics,
                              StoreSameConfigFn same_config, void *userdata, unsigned max_live,
                              VmRow **ret_existing, char **ret_error) {
        StoreLimits l = { .max_live = max_live };
        StoreLimitHit hit;
        uint64_t used;
        return store_vm_insert_limited(s, row, nics, n_nics, same_config, userdata, &l, ret_existing, &hit,
                                       &used, ret_error);
}

typedef struct DesiredCall {
        const char *id;
        StoreDesiredFn fn;
        void *userdata;
        const char *reason;
        VmRow *row;
} DesiredCall;

static int desired_fn(StoreTxn *sc, void *userdata) {
        DesiredCall *call = userdata;
        const char *id = call->id;
        call->row = vm_row_free(call->row);
        _cleanup_(vm_row_freep) VmRow *row = NULL;
        int r = conn_get_vm(sc, id, &row);
        if (r < 0)
                return r;
        if (row->deleted_at)
                return -ENOENT;
        VmPhase before = row->desired;
        r = call->fn(row, call->userdata);
        if (r < 0)
                return r;
        if (r > 0) {
                assert(vm_phase_is_desirable(row->desired));
                int64_t now = now_ms();
                row->generation++;
                row->updated_at = now;
                _cleanup_cached_stmt_ sqlite3_stmt *st = NULL;
                r = prepare_cached(sc,
                                   "UPDATE vms SET desired_state = ?, generation = ?, reboot_requested = ?, "
                                   "shutdown_timeout_s = ?, force_stop = ?, deleted_at = ?, updated_at = ? "
                                   "WHERE id = ?",
                                   &st);
                if (r < 0)
                        return r;
                sqlite3_bind_text(st, 1, vm_phase_to_string(row->desired), -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 2, row->generation);
                sqlite3_bind_int64(st, 3, row->reboot_requested);
                sqlite3_bind_int(st, 4, row->shutdown_timeout_s);
                sqlite3_bind_int(st, 5, row->force_stop);
                if (row->deleted_at)
                        sqlite3_bind_int64(st, 6, row->deleted_at);
                else
                        sqlite3_bind_null(st, 6);
                sqlite3_bind_int64(st, 7, now);
                sqlite3_bind_text(st, 8, id, -1, SQLITE_STATIC);
                r = step_done(st);
                if (r < 0)
                        return r;
                r = conn_append_event(sc, id, now, "desired", before, row->desired, row->generation,
                                      call->reason);
                if (r < 0)
                        return r;
                if (row->deleted_at)
                        sc->live_known = false; /* recount at the next CreateVm of this batch */
        }
        call->row = TAKE_PTR(row);
        return 0;
}

int store_vm_update_desired(Store *s, const char *id, StoreDesiredFn fn, void *userdata, const char *reason,
                            VmRow **ret_row) {
        assert(s && id && fn);
        DesiredCall call = { .id = id, .fn = fn, .userdata = userdata, .reason = reason };
        int r = store_write(s, desired_fn, &call);
        if (r >= 0 && ret_row)
                *ret_row = TAKE_PTR(call.row);
        vm_row_free(call.row);
        return r < 0 ? r : 0;
}

typedef struct ObserveCall {
        const char *id;
        const VmObservation *o;
} ObserveCall;

static int observe_fn(StoreTxn *sc, void *userdata) {
        const ObserveCall *call = userdata;
        const char *id = call->id;
        const VmObservation *o = call->o;
        _cleanup_(vm_row_freep) VmRow *row = NULL;
        int r = conn_get_vm(sc, id, &row);
        if (r < 0)
                return r;

        int64_t now = now_ms();
        _cleanup_cached_stmt_ sqlite3_stmt *st = NULL;
        /* Each optional column is written as CASE WHEN ?flag THEN ?value ELSE column END,
         * so one statement serves every combination. */
        r = prepare_cached(
                sc,
                "UPDATE vms SET observed_state = ?1, updated_at = ?2, "
                "vmm_pid = CASE WHEN ?3 THEN ?4 ELSE vmm_pid END, "
                "vmm_start_time = CASE WHEN ?3 THEN ?5 ELSE vmm_start_time END, "
                "socket_path = CASE WHEN ?3 THEN ?6 ELSE socket_path END, "
                "run_dir = CASE WHEN ?7 THEN ?8 ELSE run_dir END, "
                "observed_generation = CASE WHEN ?9 THEN ?10 ELSE observed_generation END, "
                "last_error = CASE WHEN ?11 THEN ?12 WHEN ?16 THEN '' ELSE last_error END, "
                "error_generation = CASE WHEN ?11 THEN ?13 ELSE error_generation END, "
                "attempts = CASE WHEN ?11 THEN ?14 WHEN ?16 THEN 0 ELSE attempts END, "
                "next_attempt_at = CASE WHEN ?11 THEN ?15 WHEN ?16 THEN 0 ELSE next_attempt_at END, "
                "failed_from = CASE WHEN ?17 THEN ?18 ELSE failed_from END, "
                "reboot_done = CASE WHEN ?19 THEN ?20 ELSE reboot_done END, "
                "error_code = CASE WHEN ?11 THEN ?22 WHEN ?16 THEN '' ELSE error_code END, "
                "last_exit = CASE WHEN ?23 THEN ?24 ELSE last_exit END, "
                "restarts = CASE WHEN ?25 THEN ?26 ELSE restarts END "
                "WHERE id = ?21",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, vm_phase_to_string(o->observed), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now);
        sqlite3_bind_int(st, 3, o->set_vmm);
        sqlite3_bind_int64(st, 4, o->vmm.pid);
        sqlite3_bind_int64(st, 5, (int64_t) o->vmm.start_time);
        sqlite3_bind_text(st, 6, o->vmm.pid ? o->vmm.socket_path : "", -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 7, o->set_run_dir);
        sqlite3_bind_text(st, 8, o->run_dir ? o->run_dir : "", -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 9, o->set_converged);
        sqlite3_bind_int64(st, 10, o->converged_generation);
        sqlite3_bind_int(st, 11, o->set_error);
        sqlite3_bind_text(st, 12, o->error ? o->error : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 13, o->error_generation);
        sqlite3_bind_int(st, 14, o->attempts);
        sqlite3_bind_int64(st, 15, o->next_attempt_at);
        sqlite3_bind_int(st, 16, o->clear_error);
        sqlite3_bind_int(st, 17, o->set_failed_from);
        const char *ff = vm_phase_to_string(o->failed_from);
        sqlite3_bind_text(st, 18, o->set_failed_from && ff ? ff : "", -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 19, o->set_reboot_done);
        sqlite3_bind_int64(st, 20, o->reboot_done);
        sqlite3_bind_text(st, 21, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 22, o->error_code ? o->error_code : "internal", -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 23, o->set_last_exit);
        sqlite3_bind_text(st, 24, o->last_exit ? o->last_exit : "", -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 25, o->set_restarts);
        sqlite3_bind_int(st, 26, o->restarts);
        r = step_done(st);
        if (r < 0)
                return r;

        if (row->observed != o->observed) {
                r = conn_append_event(sc, id, now, "observed", row->observed, o->observed, row->generation,
                                      o->reason);
                if (r < 0)
                        return r;
        }
        /* Deleted for good: its interfaces' addresses are free again, in the same transaction. */
        if (o->observed == VM_PHASE_DELETED) {
                r = store_vm_release_nics(store_txn_db(sc), id);
                if (r < 0)
                        return r;
        }
        if (o->set_error) {
                r = conn_append_event(sc, id, now, "error", row->observed, o->observed, o->error_generation,
                                      o->error);
                if (r < 0)
                        return r;
        }
        return 0;
}

int store_vm_observe(Store *s, const char *id, const VmObservation *o) {
        assert(s && id && o && o->observed >= 0 && o->observed < _VM_PHASE_MAX);
        ObserveCall call = { .id = id, .o = o };
        return store_write(s, observe_fn, &call);
}

typedef struct GuestStoppedCall {
        const char *id, *last_exit, *reason;
} GuestStoppedCall;

static int guest_stopped_fn(StoreTxn *sc, void *userdata) {
        const GuestStoppedCall *call = userdata;
        const char *id = call->id;
        _cleanup_(vm_row_freep) VmRow *row = NULL;
        int r = conn_get_vm(sc, id, &row);
        if (r < 0)
                return r;
        int64_t now = now_ms();
        _cleanup_cached_stmt_ sqlite3_stmt *st = NULL;
        r = prepare_cached(sc,
                           "UPDATE vms SET desired_state = 'shutdown', generation = generation + 1, "
                           "observed_state = 'shutdown', observed_generation = generation + 1, vmm_pid = 0, "
                           "vmm_start_time = 0, socket_path = '', last_exit = ?, last_error = '', "
                           "attempts = 0, restarts = 0, next_attempt_at = 0, updated_at = ? WHERE id = ?",
                           &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, call->last_exit ? call->last_exit : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now);
        sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
        r = step_done(st);
        if (r < 0)
                return r;
        r = conn_append_event(sc, id, now, "observed", row->observed, VM_PHASE_SHUTDOWN, row->generation + 1,
                              call->reason);
        if (r >= 0)
                r = conn_append_event(sc, id, now, "desired", row->desired, VM_PHASE_SHUTDOWN,
                                      row->generation + 1, call->reason);
        return r;
}

int store_vm_guest_stopped(Store *s, const char *id, const char *last_exit, const char *reason) {
        assert(s && id);
        GuestStoppedCall call = { .id = id, .last_exit = last_exit, .reason = reason };
        return store_write(s, guest_stopped_fn, &call);
}

int store_daemon_get(Store *s, const char *key, char **ret_value) {
        _cleanup_conn_ Conn c = { .store = s };
        int r = conn_acquire(&c);
        if (r < 0)
                return r;
        _cleanup_cached_stmt_ sqlite3_stmt *st = NULL;
        r = prepare_cached(c.sc, "SELECT value FROM daemon_state WHERE key = ?", &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return sqlite_to_errno(rc);
        *ret_value = column_strdup(st, 0);
        return *ret_value ? 0 : -ENOMEM;
}

typedef struct DaemonSetCall {
        const char *key, *value;
} DaemonSetCall;

static int daemon_set_fn(StoreTxn *sc, void *userdata) {
        const DaemonSetCall *call = userdata;
        _cleanup_cached_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare_cached(sc,
                               "INSERT INTO daemon_state (key, value) VALUES (?1, ?2) "
                               "ON CONFLICT (key) DO UPDATE SET value = ?2",
                               &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, call->key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, call->value, -1, SQLITE_STATIC);
        return step_done(st);
}

int store_daemon_set(Store *s, const char *key, const char *value) {
        DaemonSetCall call = { .key = key, .value = value };
        return store_write(s, daemon_set_fn, &call);
}

int store_vm_list(Store *s, const VmListQuery *q, VmRow ***ret_rows, size_t *ret_n, bool *ret_more) {
        assert(s && q && ret_rows && ret_n);
        _cleanup_conn_ Conn c = { .store = s };
        int r = conn_acquire(&c);
        if (r < 0)
                return r;

        /* The state filter is a bitmask bound as one integer: no SQL built from input. */
        int64_t mask = 0;
        for (size_t i = 0; i < q->n_observed_in; i++)
                if (q->observed_in[i] >= 0 && q->observed_in[i] < _VM_PHASE_MAX)
                        mask |= INT64_C(1) << q->observed_in[i];
        _cleanup_cached_stmt_ sqlite3_stmt *st = NULL;
        r = prepare_cached(c.sc,
                           "SELECT " VM_COLUMNS " FROM vms WHERE seq > ?1 "
                           "AND (?2 OR deleted_at IS NULL) "
                           "AND (?3 IS NULL OR customer_id = ?3) "
                           "ORDER BY seq LIMIT ?4",
                           &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, q->after_seq);
        sqlite3_bind_int(st, 2, q->include_deleted);
        if (q->customer_id)
                sqlite3_bind_text(st, 3, q->customer_id, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(st, 3);
        /* Without a state filter, one extra row tells whether there is a next page.
         * With one, rows are filtered here and the scan continues until limit+1 match. */
        sqlite3_bind_int64(st, 4, mask ? -1 : (int64_t) q->limit + 1);

        VmRow **rows = NULL;
        size_t n = 0;
        bool more = false;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                VmRow *row = NULL;
                r = row_from_stmt(st, &row);
                if (r < 0) {
                        vm_row_array_free(rows, n);
                        return r;
                }
                if (mask && !(mask & (INT64_C(1) << row->observed))) {
                        vm_row_free(row);
                        continue;
                }
                if (n == q->limit) {
                        vm_row_free(row);
                        more = true;
                        break;
                }
                VmRow **nr = realloc(rows, (n + 1) * sizeof *nr);
                if (!nr) {
                        vm_row_free(row);
                        vm_row_array_free(rows, n);
                        return -ENOMEM;
                }
                rows = nr;
                rows[n++] = row;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                vm_row_array_free(rows, n);
                return sqlite_to_errno(rc);
        }
        *ret_rows = rows;
        *ret_n = n;
        if (ret_more)
                *ret_more = more;
        return 0;
}

int store_vm_list_active_ids(Store *s, char ***ret_ids, size_t *ret_n) {
        _cleanup_conn_ Conn c = { .store = s };
        int r = conn_acquire(&c);
        if (r < 0)
                return r;
        _cleanup_cached_stmt_ sqlite3_stmt *st = NULL;
        r = prepare_cached(c.sc,
                           "SELECT id FROM vms WHERE deleted_at IS NULL OR observed_state != 'deleted' "
                           "ORDER BY seq",
                           &st);
        if (r < 0)
                return r;
        char **ids = NULL;
        size_t n = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                char **ni = realloc(ids, (n + 1) * sizeof *ni);
                if (!ni) {
                        strv_free_n(ids, n);
                        return -ENOMEM;
                }
                ids = ni;
                if (!(ids[n] = column_strdup(st, 0))) {
                        strv_free_n(ids, n);
                        return -ENOMEM;
                }
                n++;
        }
        if (rc != SQLITE_DONE) {
                strv_free_n(ids, n);
                return sqlite_to_errno(rc);
        }
        *ret_ids = ids;
        *ret_n = n;
        return 0;
}

typedef struct EventCall {
        const char *vm_id, *kind, *reason;
        VmPhase from, to;
        int64_t generation;
} EventCall;

static int event_fn(StoreTxn *sc, void *userdata) {
        const EventCall *e = userdata;
        return conn_append_event(sc, e->vm_id, now_ms(), e->kind, e->from, e->to, e->generation, e->reason);
}

int store_event_append(Store *s, const char *vm_id, const char *kind, VmPhase from, VmPhase to,
                       int64_t generation, const char *reason) {
        EventCall e = { .vm_id = vm_id,
                        .kind = kind,
                        .reason = reason,
                        .from = from,
                        .to = to,
                        .generation = generation };
        return store_write(s, event_fn, &e);
}

int store_events_list(Store *s, const char *vm_id, int64_t after_seq, unsigned limit, VmEvent **ret,
                      size_t *ret_n) {
        _cleanup_conn_ Conn c = { .store = s };
        int r = conn_acquire(&c);
        if (r < 0)
                return r;
        _cleanup_cached_stmt_ sqlite3_stmt *st = NULL;
        r = prepare_cached(c.sc,
                           "SELECT seq, at, kind, from_state, to_state, generation, reason FROM vm_events "
                           "WHERE vm_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                           &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, vm_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, after_seq);
        sqlite3_bind_int64(st, 3, limit);
        VmEvent *ev = NULL;
        size_t n = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                VmEvent *ne = realloc(ev, (n + 1) * sizeof *ne);
                if (!ne) {
                        vm_event_array_free(ev, n);
                        return -ENOMEM;
                }
                ev = ne;
                VmEvent *e = &ev[n];
                memset(e, 0, sizeof *e);
                e->seq = sqlite3_column_int64(st, 0);
                e->at = sqlite3_column_int64(st, 1);
                snprintf(e->kind, sizeof e->kind, "%s", (const char *) sqlite3_column_text(st, 2));
                snprintf(e->from_state, sizeof e->from_state, "%s",
                         (const char *) sqlite3_column_text(st, 3));
                snprintf(e->to_state, sizeof e->to_state, "%s", (const char *) sqlite3_column_text(st, 4));
                e->generation = sqlite3_column_int64(st, 5);
                e->reason = column_strdup(st, 6);
                n++;
                if (!e->reason) {
                        vm_event_array_free(ev, n);
                        return -ENOMEM;
                }
        }
        if (rc != SQLITE_DONE) {
                vm_event_array_free(ev, n);
                return sqlite_to_errno(rc);
        }
        *ret = ev;
        *ret_n = n;
        return 0;
}
