/* SPDX-License-Identifier: Apache-2.0 */
/* The store: migrations yield schema/schema.sql exactly; VM rows, desired and
 * observed writes with their events; listing; durability across reopen. */
#include <sqlite3.h>
#include <sys/stat.h>

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

        rm_rf(dir);
        free(db);
        return test_done("test-store");
}
