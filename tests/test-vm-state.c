/* SPDX-License-Identifier: Apache-2.0 */
/* The state names, the public mapping, the transition table, and the Connect codec. */
#include "api/connect.h"
#include "reconcile/lifecycle.h"
#include "test.h"
#include "vm/vm-state.h"

static void test_phase_names(void) {
        for (int p = 0; p < _VM_PHASE_MAX; p++) {
                const char *n = vm_phase_to_string((VmPhase) p);
                CHECK(n != NULL);
                CHECK_INTEQ(vm_phase_from_string(n), p);
        }
        CHECK_INTEQ(vm_phase_from_string("bogus"), _VM_PHASE_INVALID);
        CHECK(vm_phase_to_string(_VM_PHASE_MAX) == NULL);
        CHECK(vm_phase_is_transitional(VM_PHASE_BOOTING));
        CHECK(!vm_phase_is_transitional(VM_PHASE_RUNNING));
        CHECK(vm_phase_is_desirable(VM_PHASE_PAUSED));
        CHECK(!vm_phase_is_desirable(VM_PHASE_FAILED));
        CHECK(!vm_phase_is_desirable(VM_PHASE_BOOTING));
        CHECK_INTEQ(vm_phase_to_public(VM_PHASE_PAUSING), VM_STATE_RUNNING);
        CHECK_INTEQ(vm_phase_to_public(VM_PHASE_FAILED), VM_STATE_FAILED);
        CHECK_INTEQ(vm_phase_to_public(VM_PHASE_PENDING), VM_STATE_UNSPECIFIED);

        VmState s;
        CHECK(vm_state_from_string("VM_STATE_PAUSED", &s) == 0 && s == VM_STATE_PAUSED);
        CHECK(vm_state_from_string("2", &s) == 0 && s == VM_STATE_RUNNING);
        CHECK(vm_state_from_string("VM_STATE_NOPE", &s) < 0);
        CHECK(vm_state_from_string("99", &s) < 0);
        CHECK_STREQ(vm_state_to_string(VM_STATE_SHUTDOWN), "VM_STATE_SHUTDOWN");
        CHECK_INTEQ(vm_state_to_phase(VM_STATE_FAILED), _VM_PHASE_INVALID);
}

/* Walk the table as the reconciler does: from any observed phase, following
 * each action's target, every desired phase is reached in a few steps. */
static void test_table_converges(void) {
        static const VmPhase desirable[] = { VM_PHASE_CREATED, VM_PHASE_RUNNING, VM_PHASE_PAUSED,
                                             VM_PHASE_SHUTDOWN, VM_PHASE_DELETED };
        for (int start = 0; start < _VM_PHASE_MAX; start++) {
                if (start == VM_PHASE_FAILED || start == VM_PHASE_DELETED)
                        continue;
                for (size_t d = 0; d < sizeof desirable / sizeof desirable[0]; d++) {
                        VmPhase want = desirable[d];
                        /* Never asked of a VM that has booted (the API refuses). */
                        if (want == VM_PHASE_CREATED && start >= VM_PHASE_BOOTING)
                                continue;
                        /* Deletion is final: nothing else is ever wanted after it. */
                        if (start == VM_PHASE_DELETING && want != VM_PHASE_DELETED)
                                continue;
                        VmPhase cur = (VmPhase) start;
                        int steps = 0;
                        for (; steps < 6; steps++) {
                                LifecycleAction a = lifecycle_next(cur, want, false);
                                if (a == ACTION_NONE)
                                        break;
                                LifecycleStep st = lifecycle_step(a);
                                CHECK(st.intent >= 0 && st.target >= 0);
                                CHECK(vm_phase_is_transitional(st.intent));
                                cur = st.target;
                        }
                        if (!lifecycle_converged(cur, want, false))
                                fprintf(stderr, "from %s want %s ended in %s\n",
                                        vm_phase_to_string((VmPhase) start), vm_phase_to_string(want),
                                        vm_phase_to_string(cur));
                        CHECK(lifecycle_converged(cur, want, false));
                        CHECK(steps <= 3);
                }
        }
}

static void test_table_rules(void) {
        /* Intent before action: every side-effecting action names its transitional state. */
        CHECK_INTEQ(lifecycle_step(ACTION_START).intent, VM_PHASE_BOOTING);
        CHECK_INTEQ(lifecycle_step(ACTION_STOP).intent, VM_PHASE_SHUTTING_DOWN);
        CHECK_INTEQ(lifecycle_step(ACTION_DELETE).intent, VM_PHASE_DELETING);
        /* Caught mid-shutdown: finish it even if running is wanted again. */
        CHECK_INTEQ(lifecycle_next(VM_PHASE_SHUTTING_DOWN, VM_PHASE_RUNNING, false), ACTION_STOP);
        /* Caught mid-boot: boot again. */
        CHECK_INTEQ(lifecycle_next(VM_PHASE_BOOTING, VM_PHASE_RUNNING, false), ACTION_START);
        /* Mid-delete: finish it whatever else is wanted. */
        CHECK_INTEQ(lifecycle_next(VM_PHASE_DELETING, VM_PHASE_RUNNING, false), ACTION_DELETE);
        CHECK_INTEQ(lifecycle_next(VM_PHASE_FAILED, VM_PHASE_RUNNING, false), ACTION_RECOVER);
        CHECK_INTEQ(lifecycle_next(VM_PHASE_FAILED, VM_PHASE_DELETED, false), ACTION_DELETE);
        CHECK_INTEQ(lifecycle_next(VM_PHASE_RUNNING, VM_PHASE_RUNNING, true), ACTION_REBOOT);
        CHECK_INTEQ(lifecycle_next(VM_PHASE_RUNNING, VM_PHASE_RUNNING, false), ACTION_NONE);
        CHECK(!lifecycle_converged(VM_PHASE_RUNNING, VM_PHASE_RUNNING, true));
        CHECK(lifecycle_converged(VM_PHASE_CREATED, VM_PHASE_SHUTDOWN, false));
        /* Desired must be a desirable phase. */
        CHECK_INTEQ(lifecycle_next(VM_PHASE_RUNNING, VM_PHASE_BOOTING, false), ACTION_NONE);
}

typedef struct Req {
        char *vm_id;
        bool force;
        int32_t n32;
        int64_t n64;
        VmStateList states;
} Req;

static const FieldSpec fields[] = {
        { "vm_id", FIELD_STRING, offsetof(Req, vm_id) },
        { "force", FIELD_BOOL, offsetof(Req, force) },
        { "timeout_seconds", FIELD_INT32, offsetof(Req, n32) },
        { "size_bytes", FIELD_INT64, offsetof(Req, n64) },
        { "state_filter", FIELD_VMSTATES, offsetof(Req, states) },
};

static int decode(const char *text, Req *req, ConnectError *e) {
        json_t *j = json_loads(text, 0, NULL);
        memset(req, 0, sizeof *req);
        int r = connect_decode(j, fields, 5, req, e);
        json_decref(j);
        return r;
}

static void test_connect_codec(void) {
        Req req;
        ConnectError e;
        CHECK(decode("{\"vm_id\":\"a\",\"force\":true,\"timeoutSeconds\":\"7\",\"sizeBytes\":134217728}",
                     &req, &e) == 0);
        CHECK_STREQ(req.vm_id, "a");
        CHECK(req.force);
        CHECK_INTEQ(req.n32, 7);
        CHECK_INTEQ(req.n64, 134217728);
        connect_request_free(fields, 5, &req);

        CHECK(decode("{\"vmId\":\"b\",\"size_bytes\":\"9007199254740993\",\"stateFilter\":[\"VM_STATE_"
                     "RUNNING\",3]}",
                     &req, &e) == 0);
        CHECK_STREQ(req.vm_id, "b");
        CHECK_INTEQ(req.n64, 9007199254740993LL);
        CHECK_INTEQ(req.states.n, 2);
        CHECK_INTEQ(req.states.items[1], VM_STATE_PAUSED);
        connect_request_free(fields, 5, &req);

        CHECK(decode("{\"bogus\":1}", &req, &e) < 0);
        CHECK(strstr(e.message, "unknown field \"bogus\"") != NULL);
        CHECK_INTEQ(e.code, CONNECT_INVALID_ARGUMENT);
        connect_request_free(fields, 5, &req);
        CHECK(decode("{\"vm_id\":\"a\",\"vmId\":\"b\"}", &req, &e) < 0);
        CHECK(strstr(e.message, "given twice") != NULL);
        connect_request_free(fields, 5, &req);
        CHECK(decode("{\"force\":\"yes\"}", &req, &e) < 0);
        CHECK(strstr(e.message, "force") != NULL);
        CHECK(decode("{\"timeout_seconds\":1.5}", &req, &e) < 0);
        CHECK(strstr(e.message, "timeout_seconds") != NULL);
        CHECK(decode("{\"timeout_seconds\":3000000000}", &req, &e) < 0);
        CHECK(strstr(e.message, "out of range") != NULL);
        CHECK(decode("{\"timeout_seconds\":2.0}", &req, &e) == 0 && req.n32 == 2);
        CHECK(decode("{\"vm_id\":5}", &req, &e) < 0);
        CHECK(decode("{\"state_filter\":[\"RUNNING\"]}", &req, &e) < 0);
        CHECK(decode("[1]", &req, &e) < 0);
        CHECK(decode("{\"vm_id\":null}", &req, &e) == 0 && req.vm_id == NULL);

        CHECK_INTEQ(connect_code_http_status(CONNECT_NOT_FOUND), 404);
        CHECK_INTEQ(connect_code_http_status(CONNECT_ALREADY_EXISTS), 409);
        CHECK_INTEQ(connect_code_http_status(CONNECT_FAILED_PRECONDITION), 400);
        CHECK_INTEQ(connect_code_http_status(CONNECT_UNAVAILABLE), 503);
        connect_error(&e, CONNECT_NOT_FOUND, "vm \"%s\" not found", "x");
        char *body = connect_error_body(&e);
        CHECK_STREQ(body, "{\"code\":\"not_found\",\"message\":\"vm \\\"x\\\" not found\"}");
        free(body);
        char camel[32];
        snake_to_camel("is_root_device", camel, sizeof camel);
        CHECK_STREQ(camel, "isRootDevice");
}

int main(void) {
        test_phase_names();
        test_table_converges();
        test_table_rules();
        test_connect_codec();
        return test_done("test-vm-state");
}
