/* SPDX-License-Identifier: Apache-2.0 */
/* The store: migrations yield schema/schema.sql exactly; VM rows, desired and
 * observed writes with their events; listing; durability across reopen; group
 * commit (store_write): concurrent writers, a refused or broken request does
 * not undo its neighbours, nothing is acknowledged before its COMMIT. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "test.h"

static char dir[] = "/tmp/test-store-XXXXXX";

/* Every schema object as "type name: sql", sorted, from a database. */
static char *schema_of(sqlite3 *db) {
        sqlite3_stmt *st;
        char *out = strdup("");
        sqlite3_prepare_v2(db,
                           "SELECT type || ' ' || name || ': ' || sql FROM sqlite_schema "
                           "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
                           -1, &st, NULL);
        while (sqlite3_step(st) == SQLITE_ROW) {
                char *n = strdup_printf("%s%s\n", out, (const char *) sqlite3_column_text(st, 0));
                free(out);
                out = n;
        }
        sqlite3_finalize(st);
        return out;
}

static void test_schema_matches(const char *db_path) {
        const char *schema_path = getenv("SCHEMA_SQL");
        CHECK(schema_path != NULL);
        if (!schema_path)
                return;
        char *text = NULL;
        CHECK(read_full_file(schema_path, 1 << 20, &text, NULL) == 0);
        sqlite3 *ref, *mig;
        sqlite3_open(":memory:", &ref);
        CHECK(sqlite3_exec(ref, text, NULL, NULL, NULL) == SQLITE_OK);
        sqlite3_open(db_path, &mig);
        char *a = schema_of(ref), *b = schema_of(mig);
        CHECK(strlen(a) > 100);
        CHECK_STREQ(a, b);
        sqlite3_close(ref);
        sqlite3_close(mig);
        free(a);
        free(b);
        free(text);
}

static bool same_cfg(const VmRow *a, const VmRow *b, void *u) {
        return streq(a->config_json, b->config_json);
}

static int to_running(VmRow *row, void *u) {
        if (row->desired == VM_PHASE_RUNNING)
                return 0;
        row->desired = VM_PHASE_RUNNING;
        return 1;
}

static int refuse(VmRow *row, void *u) {
        row->desired = VM_PHASE_PAUSED; /* must not be written */
        return -1;
}

static int to_deleted(VmRow *row, void *u) {
        row->desired = VM_PHASE_DELETED;
        row->deleted_at = now_ms();
        return 1;
}

static void insert(Store *s, const char *id, const char *customer) {
        VmRow row = { .id = (char *) id,
                      .customer_id = (char *) customer,
                      .backend = (char *) "firecracker",
                      .config_json = (char *) "{\"a\":1}",
                      .desired = VM_PHASE_CREATED,
                      .run_dir = (char *) "/x" };
        CHECK(store_vm_insert(s, &row, same_cfg, NULL, 0, NULL) == 0);
}

/* ---- group commit ---- */

static char *gc_db_path;
static Store *gc_store;

/* A row in gc_test, seen from a connection of its own (what another process would see). */
static bool gc_visible(const char *k) {
        sqlite3 *db;
        sqlite3_open_v2(gc_db_path, &db, SQLITE_OPEN_READONLY, NULL);
        sqlite3_stmt *st = NULL;
        bool found = false;
        if (sqlite3_prepare_v2(db, "SELECT 1 FROM gc_test WHERE k = ?", -1, &st, NULL) == SQLITE_OK) {
                sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
                found = sqlite3_step(st) == SQLITE_ROW;
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        return found;
}

static int gc_put(sqlite3 *db, const char *k) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, "INSERT INTO gc_test (k) VALUES (?)", -1, &st, NULL) != SQLITE_OK)
                return -EIO;
        sqlite3_bind_text(st, 1, k, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? 0 : -EEXIST;
}

typedef struct GcReq {
        const char *key;
        int mode; /* 0 insert; 1 insert then refuse; 2 block until released, then insert;
                     3 sleep, look at the first request of its batch, insert; 4 abort the whole transaction */
        int result;
        atomic_bool returned; /* store_write came back */
        bool late_ran; /* (mode 0) a later neighbour's function had run when it came back */
        bool committed_before_return; /* (mode 0) its commit hook fired before it came back */
        bool visible_at_return;
} GcReq;

static atomic_bool gc_release, gc_late_ran, gc_commit_seen, gc_early_returned, gc_early_visible;
static GcReq *gc_early; /* the request whose acknowledgement must wait for its batch */

static int gc_commit_hook(void *u) {
        atomic_store(&gc_commit_seen, true);
        return 0;
}

static int gc_fn(StoreTxn *t, void *userdata) {
        GcReq *q = userdata;
        sqlite3 *db = store_txn_db(t);
        switch (q->mode) {
        case 1: {
                int r = gc_put(db, q->key);
                return r < 0 ? r : -EINVAL;
        }
        case 2:
                while (!atomic_load(&gc_release))
                        usleep(1000);
                break;
        case 3:
                usleep(100 * 1000);
                /* The first request of the batch is neither answered nor visible yet. */
                atomic_store(&gc_early_returned, atomic_load(&gc_early->returned));
                atomic_store(&gc_early_visible, gc_visible(gc_early->key));
                atomic_store(&gc_late_ran, true);
                break;
        case 4:
                gc_put(db, q->key);
                sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL); /* as SQLITE_FULL may */
                return 0;
        default:
                sqlite3_commit_hook(db, gc_commit_hook, NULL);
                break;
        }
        return gc_put(db, q->key);
}

static void *gc_thread(void *u) {
        GcReq *q = u;
        q->result = store_write(gc_store, gc_fn, q);
        if (q->mode == 0) {
                q->late_ran = atomic_load(&gc_late_ran);
                q->committed_before_return = atomic_load(&gc_commit_seen);
                q->visible_at_return = gc_visible(q->key);
        }
        atomic_store(&q->returned, true);
        return NULL;
}

static int gc_create(StoreTxn *t, void *u) {
        int rc =
                sqlite3_exec(store_txn_db(t), "CREATE TABLE gc_test (k TEXT PRIMARY KEY)", NULL, NULL, NULL);
        return rc == SQLITE_OK ? 0 : -EIO;
}

/* A blocker holds the lead while reqs queue behind it, in order: they are the next batch. */
static void gc_batch(GcReq *reqs, size_t n) {
        atomic_store(&gc_release, false);
        char *key = strdup_printf("blocker-%s", reqs[0].key);
        GcReq blocker = { .key = key, .mode = 2 };
        pthread_t bt, th[8];
        pthread_create(&bt, NULL, gc_thread, &blocker);
        usleep(100 * 1000);
        for (size_t i = 0; i < n; i++) {
                pthread_create(&th[i], NULL, gc_thread, &reqs[i]);
                usleep(50 * 1000);
        }
        atomic_store(&gc_release, true);
        pthread_join(bt, NULL);
        for (size_t i = 0; i < n; i++)
                pthread_join(th[i], NULL);
        CHECK_INTEQ(blocker.result, 0);
        free(key);
}

#define GC_THREADS 16
#define GC_PER_THREAD 50
static void *gc_many(void *u) {
        intptr_t k = (intptr_t) u;
        for (int i = 0; i < GC_PER_THREAD; i++) {
                char key[32];
                snprintf(key, sizeof key, "t%ld-%d", (long) k, i);
                GcReq q = { .key = key };
                if (store_write(gc_store, gc_fn, &q) != 0 || !gc_visible(key))
                        return (void *) 1;
        }
        return NULL;
}

static void test_group_commit(void) {
        gc_db_path = strdup_printf("%s/gc.db", dir);
        char *err = NULL;
        CHECK(store_open(gc_db_path, &gc_store, &err) == 0);
        CHECK_INTEQ(store_write(gc_store, gc_create, NULL), 0);

        /* Concurrent writers: each one acknowledged is visible at once; they share commits. */
        pthread_t th[GC_THREADS];
        for (intptr_t i = 0; i < GC_THREADS; i++)
                pthread_create(&th[i], NULL, gc_many, (void *) i);
        for (int i = 0; i < GC_THREADS; i++) {
                void *ret;
                pthread_join(th[i], &ret);
                CHECK(ret == NULL);
        }
        StoreWriteStats ws;
        store_write_stats(gc_store, &ws);
        CHECK(ws.requests >= GC_THREADS * GC_PER_THREAD);
        fprintf(stderr, "group commit: %llu requests in %llu commits (largest batch %llu)\n",
                (unsigned long long) ws.requests, (unsigned long long) ws.batches,
                (unsigned long long) ws.max_batch);

        /* One batch of four. b is answered only after the whole batch committed: d's
         * function ran after b's and saw b neither answered nor visible; b's commit
         * hook fired before b came back. c's refusal undoes c alone. */
        atomic_store(&gc_late_ran, false);
        atomic_store(&gc_commit_seen, false);
        GcReq reqs[] = {
                { .key = "b" }, { .key = "c", .mode = 1 }, { .key = "d", .mode = 3 }, { .key = "e" }
        };
        gc_early = &reqs[0];
        gc_batch(reqs, ELEMENTSOF(reqs));
        store_write_stats(gc_store, &ws);
        CHECK(ws.max_batch >= ELEMENTSOF(reqs));
        CHECK_INTEQ(reqs[0].result, 0);
        CHECK_INTEQ(reqs[1].result, -EINVAL);
        CHECK_INTEQ(reqs[2].result, 0);
        CHECK_INTEQ(reqs[3].result, 0);
        CHECK(reqs[0].late_ran);
        CHECK(reqs[0].committed_before_return);
        CHECK(reqs[0].visible_at_return);
        CHECK(!atomic_load(&gc_early_returned));
        CHECK(!atomic_load(&gc_early_visible));
        CHECK(gc_visible("b") && !gc_visible("c") && gc_visible("d") && gc_visible("e"));

        /* A request that breaks the whole transaction gets an error; the neighbours it
         * took down with it run again and are kept. */
        GcReq reqs2[] = { { .key = "f" }, { .key = "g", .mode = 4 }, { .key = "h" } };
        gc_batch(reqs2, ELEMENTSOF(reqs2));
        CHECK_INTEQ(reqs2[0].result, 0);
        CHECK_INTEQ(reqs2[1].result, -EIO);
        CHECK_INTEQ(reqs2[2].result, 0);
        CHECK(gc_visible("f") && !gc_visible("g") && gc_visible("h"));

        gc_store = store_free(gc_store);
        free(gc_db_path);
}

int main(void) {
        CHECK(mkdtemp(dir) != NULL);
        char *db = strdup_printf("%s/metald.db", dir);
        char *err = NULL;
        Store *s = NULL;
        CHECK(store_open(db, &s, &err) == 0);
        CHECK(err == NULL);
        struct stat st;
        CHECK(stat(db, &st) == 0 && (st.st_mode & 0777) == 0600);

        char **names;
        size_t n;
        CHECK(store_applied_migrations(s, &names, &n) == 0);
        CHECK(n >= 1);
        CHECK_STREQ(names[0], "0001_init");
        strv_free_n(names, n);
        test_schema_matches(db);

        /* Insert, idempotent retry, conflicting retry. */
        VmRow row = { .id = (char *) "vm-1",
                      .customer_id = (char *) "acme",
                      .backend = (char *) "firecracker",
                      .config_json = (char *) "{\"a\":1}",
                      .desired = VM_PHASE_CREATED,
                      .run_dir = (char *) "/r/vm-1" };
        VmRow *existing = NULL;
        CHECK(store_vm_insert(s, &row, same_cfg, NULL, 0, &existing) == 0);
        CHECK(existing == NULL);
        CHECK(store_vm_insert(s, &row, same_cfg, NULL, 0, &existing) == 0);
        CHECK(existing != NULL && existing->generation == 1);
        existing = vm_row_free(existing);
        row.config_json = (char *) "{\"a\":2}";
        CHECK(store_vm_insert(s, &row, same_cfg, NULL, 0, &existing) == -EEXIST);
        existing = vm_row_free(existing);
        CHECK(store_vm_insert(s,
                              &(VmRow){ .id = (char *) "vm-2",
                                        .backend = (char *) "firecracker",
                                        .config_json = (char *) "{}",
                                        .desired = VM_PHASE_CREATED },
                              same_cfg, NULL, 1, NULL) == -EDQUOT);

        VmRow *got = NULL;
        CHECK(store_vm_get(s, "vm-1", &got) == 0);
        CHECK_STREQ(got->customer_id, "acme");
        CHECK_INTEQ(got->desired, VM_PHASE_CREATED);
        CHECK_INTEQ(got->observed, VM_PHASE_PENDING);
        CHECK_STREQ(got->config_json, "{\"a\":1}");
        got = vm_row_free(got);
        CHECK(store_vm_get(s, "nope", &got) == -ENOENT);

        /* Desired side: generation bump + event; no-op; refusal writes nothing. */
        VmRow *after = NULL;
        CHECK(store_vm_update_desired(s, "vm-1", to_running, NULL, "BootVm", &after) == 0);
        CHECK_INTEQ(after->generation, 2);
        CHECK_INTEQ(after->desired, VM_PHASE_RUNNING);
        after = vm_row_free(after);
        CHECK(store_vm_update_desired(s, "vm-1", to_running, NULL, "BootVm", &after) == 0);
        CHECK_INTEQ(after->generation, 2);
        after = vm_row_free(after);
        CHECK(store_vm_update_desired(s, "vm-1", refuse, NULL, "PauseVm", NULL) == -1);
        CHECK(store_vm_get(s, "vm-1", &got) == 0);
        CHECK_INTEQ(got->desired, VM_PHASE_RUNNING);
        got = vm_row_free(got);
        CHECK(store_vm_update_desired(s, "nope", to_running, NULL, "BootVm", NULL) == -ENOENT);

        /* Observed side. */
        VmObservation o = { .observed = VM_PHASE_BOOTING, .reason = "start" };
        CHECK(store_vm_observe(s, "vm-1", &o) == 0);
        VmmHandle h = { .pid = 4242, .start_time = 99 };
        strcpy(h.socket_path, "/r/vm-1/api.sock");
        o = (VmObservation){ .observed = VM_PHASE_RUNNING,
                             .reason = "done",
                             .set_vmm = true,
                             .vmm = h,
                             .set_converged = true,
                             .converged_generation = 2 };
        CHECK(store_vm_observe(s, "vm-1", &o) == 0);
        o = (VmObservation){ .observed = VM_PHASE_RUNNING,
                             .set_error = true,
                             .error = "boom",
                             .error_code = "unavailable",
                             .error_generation = 2,
                             .attempts = 3 };
        CHECK(store_vm_observe(s, "vm-1", &o) == 0);
        CHECK(store_vm_get(s, "vm-1", &got) == 0);
        CHECK_INTEQ(got->observed, VM_PHASE_RUNNING);
        CHECK_INTEQ(got->observed_generation, 2);
        CHECK_INTEQ(got->vmm.pid, 4242);
        CHECK_INTEQ(got->vmm.start_time, 99);
        CHECK_STREQ(got->vmm.socket_path, "/r/vm-1/api.sock");
        CHECK_STREQ(got->last_error, "boom");
        CHECK_STREQ(got->error_code, "unavailable");
        CHECK_INTEQ(got->attempts, 3);
        got = vm_row_free(got);
        o = (VmObservation){ .observed = VM_PHASE_RUNNING, .clear_error = true };
        CHECK(store_vm_observe(s, "vm-1", &o) == 0);
        CHECK(store_vm_get(s, "vm-1", &got) == 0);
        CHECK_STREQ(got->last_error, "");
        CHECK_INTEQ(got->attempts, 0);
        CHECK_INTEQ(got->vmm.pid, 4242); /* untouched without set_vmm */
        got = vm_row_free(got);

        /* The events tell the story in order. */
        VmEvent *ev;
        size_t nev;
        CHECK(store_events_list(s, "vm-1", 0, 100, &ev, &nev) == 0);
        CHECK_INTEQ(nev, 5);
        if (nev == 5) {
                CHECK_STREQ(ev[0].kind, "desired");
                CHECK_STREQ(ev[0].to_state, "created");
                CHECK_STREQ(ev[1].kind, "desired");
                CHECK_STREQ(ev[1].to_state, "running");
                CHECK_STREQ(ev[1].reason, "BootVm");
                CHECK_STREQ(ev[2].to_state, "booting");
                CHECK_STREQ(ev[3].from_state, "booting");
                CHECK_STREQ(ev[3].to_state, "running");
                CHECK_STREQ(ev[4].kind, "error");
                CHECK_STREQ(ev[4].reason, "boom");
        }
        vm_event_array_free(ev, nev);

        /* Events are append-only, enforced by the database itself. */
        sqlite3 *raw;
        sqlite3_open(db, &raw);
        CHECK(sqlite3_exec(raw, "UPDATE vm_events SET reason = 'x'", NULL, NULL, NULL) != SQLITE_OK);
        CHECK(sqlite3_exec(raw, "DELETE FROM vm_events", NULL, NULL, NULL) != SQLITE_OK);
        sqlite3_close(raw);

        /* Listing: keyset pages, filters, deleted rows hidden by default. */
        char id[16];
        for (int i = 2; i <= 7; i++) {
                snprintf(id, sizeof id, "vm-%d", i);
                insert(s, id, i % 2 ? "odd" : "even");
        }
        CHECK(store_vm_update_desired(s, "vm-3", to_deleted, NULL, "DeleteVm", NULL) == 0);
        CHECK(store_vm_update_desired(s, "vm-3", to_running, NULL, "BootVm", NULL) == -ENOENT);
        VmRow **rows;
        bool more;
        VmListQuery q = { .limit = 4 };
        CHECK(store_vm_list(s, &q, &rows, &n, &more) == 0);
        CHECK_INTEQ(n, 4);
        CHECK(more);
        CHECK_STREQ(rows[0]->id, "vm-1");
        CHECK_STREQ(rows[2]->id, "vm-4"); /* vm-3 is deleted */
        q.after_seq = rows[3]->seq;
        vm_row_array_free(rows, n);
        CHECK(store_vm_list(s, &q, &rows, &n, &more) == 0);
        CHECK_INTEQ(n, 2);
        CHECK(!more);
        vm_row_array_free(rows, n);
        q = (VmListQuery){ .limit = 100, .include_deleted = true, .customer_id = "odd" };
        CHECK(store_vm_list(s, &q, &rows, &n, &more) == 0);
        CHECK_INTEQ(n, 3); /* vm-3, vm-5, vm-7 */
        vm_row_array_free(rows, n);
        VmPhase running[] = { VM_PHASE_RUNNING };
        q = (VmListQuery){ .limit = 100, .observed_in = running, .n_observed_in = 1 };
        CHECK(store_vm_list(s, &q, &rows, &n, &more) == 0);
        CHECK_INTEQ(n, 1);
        CHECK(n == 1 && streq(rows[0]->id, "vm-1"));
        vm_row_array_free(rows, n);

        /* A deleted id is not reused. */
        VmRow again = { .id = (char *) "vm-3",
                        .backend = (char *) "firecracker",
                        .config_json = (char *) "{\"a\":1}",
                        .desired = VM_PHASE_CREATED };
        existing = NULL;
        CHECK(store_vm_insert(s, &again, same_cfg, NULL, 0, &existing) == -EEXIST);
        CHECK(existing && existing->deleted_at > 0);
        existing = vm_row_free(existing);

        char **ids;
        CHECK(store_vm_list_active_ids(s, &ids, &n) == 0);
        CHECK_INTEQ(n, 7); /* vm-3 is deleted but not yet cleaned up (observed != deleted) */
        strv_free_n(ids, n);

        /* Durable across close and reopen; migrations are not applied twice. */
        s = store_free(s);
        CHECK(store_open(db, &s, &err) == 0);
        CHECK(store_applied_migrations(s, &names, &n) == 0);
        CHECK_INTEQ(n, 5);
        CHECK(n == 5 && streq(names[1], "0002_restart_policy") && streq(names[3], "0004_usage_history") &&
              streq(names[4], "0005_networks"));
        strv_free_n(names, n);
        CHECK(store_vm_get(s, "vm-1", &got) == 0);
        CHECK(got && got->generation == 2 && got->observed == VM_PHASE_RUNNING);
        got = vm_row_free(got);
        s = store_free(s);

        test_group_commit();

        rm_rf(dir);
        free(db);
        return test_done("test-store");
}
