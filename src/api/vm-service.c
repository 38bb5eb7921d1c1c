/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmprovisioner.v1.VmService: request decoding, validation, the desired-state
 * write, and answers. The lifecycle verbs share one ceremony
 * (lifecycle_call); each verb is a row in lifecycle_verbs[] with the rule
 * that turns the current row into the wanted one.
 */
#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>

#include "api/metrics-service.h"
#include "api/vm-service-requests.h"
#include "api/network-service.h"
#include "hv/backend-util.h"
#include "hv/hypervisor.h"
#include "manager.h"
#include "reconcile/lifecycle.h"
#include "util/crash-point.h"
#include "util/log.h"
#include "vm/console.h"
#include "vm/vm-config.h"

#define LIST_PAGE_DEFAULT 100
#define LIST_PAGE_MAX 1000
#define SHUTDOWN_TIMEOUT_MAX 600

static json_t *state_json(VmState s) {
        return json_string(vm_state_to_string(s));
}

/* Translate a store error that is not a domain answer. */
static int store_failure(ConnectError *e, int r, const char *what) {
        if (r == -EBUSY)
                return connect_error(e, CONNECT_UNAVAILABLE, "%s: the database is busy, retry", what);
        if (r == -ENOSPC)
                return connect_error(e, CONNECT_RESOURCE_EXHAUSTED, "%s: the database disk is full", what);
        if (r == -EIO)
                return connect_error(e, CONNECT_UNAVAILABLE,
                                     "%s: the database cannot be written (I/O error), retry", what);
        return connect_error(e, CONNECT_INTERNAL, "%s: database error: %s", what, strerror(-r));
}

static int not_found(ConnectError *e, const char *id) {
        return connect_error(e, CONNECT_NOT_FOUND, "vm \"%s\" not found", id);
}

static int require_vm_id(const char *id, ConnectError *e) {
        if (isempty(id))
                return connect_error(e, CONNECT_INVALID_ARGUMENT, "vm_id: required");
        if (!vm_id_is_valid(id))
                return connect_error(e, CONNECT_INVALID_ARGUMENT,
                                     "vm_id: \"%s\" is not a valid id (1-64 of A-Z a-z 0-9 -)", id);
        return 0;
}

/* Answer a lifecycle request from the outcome of waiting for it. */
static int answer_outcome(Manager *m, const char *id, WaitOutcome out, const VmRow *row, const char *verb,
                          ConnectError *e) {
        const char *want = vm_phase_to_string(row->desired);
        switch (out) {
        case WAIT_DONE:
                return 0;
        case WAIT_FAILED: {
                ConnectCode code = CONNECT_INTERNAL;
                if (streq(row->error_code, "failed_precondition"))
                        code = CONNECT_FAILED_PRECONDITION;
                else if (streq(row->error_code, "unavailable"))
                        code = CONNECT_UNAVAILABLE;
                return connect_error(e, code, "%s of vm \"%s\" failed: %s", verb, id, row->last_error);
        }
        case WAIT_SUPERSEDED:
                return connect_error(e, CONNECT_ABORTED,
                                     "%s of vm \"%s\" was superseded by a later request (now wanted: %s)",
                                     verb, id, want);
        case WAIT_STOPPING:
                return connect_error(e, CONNECT_UNAVAILABLE,
                                     "metald is stopping; %s of vm \"%s\" is recorded and is carried out "
                                     "after it restarts",
                                     verb, id);
        case WAIT_TIMEOUT:
        default:
                return connect_error(e, CONNECT_DEADLINE_EXCEEDED,
                                     "vm \"%s\" did not reach %s within %u s; the request is recorded and "
                                     "still being carried out (observed: %s)",
                                     id, want, m->options->request_timeout_s,
                                     vm_phase_to_string(row->observed));
        }
}

/* ---- CreateVm --------------------------------------------------------------- */

typedef struct CreateVmRequest {
        char *vm_id;
        const json_t *config;
        char *customer_id;
        char *backend;
        bool boot;
        char *restart_policy;
} CreateVmRequest;

static const FieldSpec create_fields[] = {
        { "vm_id", FIELD_STRING, offsetof(CreateVmRequest, vm_id) },
        { "config", FIELD_OBJECT, offsetof(CreateVmRequest, config) },
        { "customer_id", FIELD_STRING, offsetof(CreateVmRequest, customer_id) },
        { "backend", FIELD_STRING, offsetof(CreateVmRequest, backend) },
        { "boot", FIELD_BOOL, offsetof(CreateVmRequest, boot) },
        { "restart_policy", FIELD_STRING, offsetof(CreateVmRequest, restart_policy) },
};

static const char *const restart_policies[] = { "never", "on-failure", "always" };

static bool same_vm(const VmRow *existing, const VmRow *requested, void *userdata) {
        return streq(existing->config_json, requested->config_json) &&
               streq(existing->backend, requested->backend) &&
               streq(existing->customer_id, requested->customer_id) &&
               streq(existing->restart_policy, requested->restart_policy);
}

/* Backend capabilities are checked here, not discovered at boot. */
static int check_capabilities(const Backend *b, const VmConfig *c, ConnectError *e) {
        if (c->max_vcpu_count > c->vcpu_count && !(b->caps & BACKEND_CAP_CPU_HOTPLUG))
                return connect_error(e, CONNECT_INVALID_ARGUMENT,
                                     "config.cpu.max_vcpu_count: backend %s does not support CPU hotplug; "
                                     "max_vcpu_count must equal vcpu_count (%u)",
                                     b->name, c->vcpu_count);
        /* metald appends ip=... (about 80 bytes) for the first interface: keep the
         * command line within the kernel's 2048 bytes. */
        if (c->n_nics > 0 && c->kernel_args && strlen(c->kernel_args) > VM_KERNEL_ARGS_MAX - 128)
                return connect_error(e, CONNECT_INVALID_ARGUMENT,
                                     "config.boot.kernel_args: at most %d bytes when the VM has network "
                                     "interfaces (metald appends ip=), got %zu",
                                     VM_KERNEL_ARGS_MAX - 128, strlen(c->kernel_args));
        /* QEMU's tap netdev has no rate limiter: refuse rather than ignore one. */
        for (size_t i = 0; i < c->n_nics; i++)
                if (streq(b->name, "qemu") &&
                    (c->nics[i].rx.bandwidth_bytes_per_second || c->nics[i].rx.ops_per_second ||
                     c->nics[i].tx.bandwidth_bytes_per_second || c->nics[i].tx.ops_per_second))
                        return connect_error(
                                e, CONNECT_INVALID_ARGUMENT,
                                "config.network[%zu]: backend qemu has no network rate limiter; "
                                "leave rx_rate_limit/tx_rate_limit unset",
                                i);
        if (c->hotplug_bytes > 0 && !(b->caps & BACKEND_CAP_MEMORY_HOTPLUG))
                return connect_error(e, CONNECT_INVALID_ARGUMENT,
                                     "config.memory.hotplug_size_bytes: backend %s does not support memory "
                                     "hotplug; use 0",
                                     b->name);
        return 0;
}

/* The tenant's quota, or NULL. */
static const TenantQuota *tenant_quota(const Manager *m, const char *tenant) {
        for (size_t i = 0; tenant && i < m->options->n_tenant_quotas; i++)
                if (streq(m->options->tenant_quotas[i].tenant, tenant))
                        return &m->options->tenant_quotas[i];
        return NULL;
}

/* resource_exhausted naming the limit a new VM would exceed. */
static int over_limit(Manager *m, const VmRow *row, StoreLimitHit hit, uint64_t used, const StoreLimits *l,
                      ConnectError *e) {
        const char *t = row->customer_id;
        switch (hit) {
        case STORE_LIMIT_HOST_VCPUS:
                return connect_error(e, CONNECT_RESOURCE_EXHAUSTED,
                                     "host capacity: %" PRIu64 " of %" PRIu64 " vCPUs are in use; %" PRIu64
                                     " more do not fit (--host-vcpus x --overcommit)",
                                     used, l->host_vcpus, l->vcpus);
        case STORE_LIMIT_HOST_MEMORY:
                return connect_error(e, CONNECT_RESOURCE_EXHAUSTED,
                                     "host capacity: %" PRIu64 " of %" PRIu64 " bytes of memory are in use; "
                                     "%" PRIu64 " more do not fit (--host-memory x --overcommit)",
                                     used, l->host_memory, l->memory);
        case STORE_LIMIT_TENANT_VMS:
                return connect_error(e, CONNECT_RESOURCE_EXHAUSTED,
                                     "quota of tenant \"%s\": it has %" PRIu64 " of at most %" PRIu64 " VMs",
                                     t, used, l->tenant_vms);
        case STORE_LIMIT_TENANT_VCPUS:
                return connect_error(e, CONNECT_RESOURCE_EXHAUSTED,
                                     "quota of tenant \"%s\": %" PRIu64 " of %" PRIu64
                                     " vCPUs are in use; %" PRIu64 " more exceed it",
                                     t, used, l->tenant_vcpus, l->vcpus);
        case STORE_LIMIT_TENANT_MEMORY:
                return connect_error(e, CONNECT_RESOURCE_EXHAUSTED,
                                     "quota of tenant \"%s\": %" PRIu64 " of %" PRIu64
                                     " bytes of memory are in "
                                     "use; %" PRIu64 " more exceed it",
                                     t, used, l->tenant_memory, l->memory);
        case STORE_LIMIT_MAX_VMS:
        default:
                return connect_error(e, CONNECT_RESOURCE_EXHAUSTED,
                                     "this host already has %u VMs (--max-vms)", m->options->max_vms);
        }
}

static int create_vm_impl(Manager *m, const RpcCaller *caller, CreateVmRequest *req, json_t **ret,
                          ConnectError *e) {
        _cleanup_free_ char *id = NULL;
        if (isempty(req->vm_id)) {
                if (vm_id_generate(&id) < 0)
                        return connect_error(e, CONNECT_INTERNAL, "cannot generate a vm_id");
        } else {
                if (require_vm_id(req->vm_id, e) < 0)
                        return -1;
                id = TAKE_PTR(req->vm_id);
        }
        if (req->customer_id && strlen(req->customer_id) > 128)
                return connect_error(e, CONNECT_INVALID_ARGUMENT, "customer_id: at most 128 characters");
        /* A tenant's VMs belong to it: customer_id comes from the credentials.
         * Naming another tenant is refused rather than silently replaced. */
        if (caller->tenant[0]) {
                if (!isempty(req->customer_id) && !streq(req->customer_id, caller->tenant))
                        return connect_error(e, CONNECT_PERMISSION_DENIED,
                                             "customer_id: \"%s\" is not your tenant (\"%s\"); leave it "
                                             "empty or give your own",
                                             req->customer_id, caller->tenant);
                free(req->customer_id);
                if (!(req->customer_id = strdup(caller->tenant)))
                        return connect_error(e, CONNECT_INTERNAL, "out of memory");
        }

        const char *policy = isempty(req->restart_policy) ? "on-failure" : req->restart_policy;
        bool policy_ok = false;
        for (size_t i = 0; i < ELEMENTSOF(restart_policies); i++)
                policy_ok = policy_ok || streq(policy, restart_policies[i]);
        if (!policy_ok)
                return connect_error(e, CONNECT_INVALID_ARGUMENT,
                                     "restart_policy: \"%s\" is not never, on-failure or always", policy);

        const char *bname = isempty(req->backend) ? m->options->default_backend : req->backend;
        const Backend *b = backend_find(bname);
        if (!b) {
                char known[256] = "";
                for (const Backend *const *p = backend_table; *p; p++)
                        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                                 p == backend_table ? "" : ", ", (*p)->name);
                return connect_error(e, CONNECT_INVALID_ARGUMENT,
                                     "backend: unknown backend \"%s\" (known: %s)", bname, known);
        }

        if (!req->config)
                return connect_error(e, CONNECT_INVALID_ARGUMENT, "config: required");
        _cleanup_(vm_config_freep) VmConfig *cfg = NULL;
        VmError verr = { 0 };
        if (vm_config_from_json(req->config, "config", &cfg, &verr) < 0 ||
            vm_config_validate(cfg, m->asset_roots, m->n_asset_roots, m->host_memory_bytes, &verr) < 0)
                return connect_error(e, CONNECT_INVALID_ARGUMENT, "%s: %s", verr.field, verr.message);
        if (check_capabilities(b, cfg, e) < 0)
                return -1;
        _cleanup_free_ char *avail_err = NULL;
        if (b->check_available(&m->backend_options, &avail_err) < 0)
                return connect_error(e, CONNECT_FAILED_PRECONDITION,
                                     "backend %s is not available on this host: %s", b->name,
                                     avail_err ? avail_err : "unknown reason");

        json_t *cj = vm_config_to_json(cfg);
        _cleanup_free_ char *config_json = cj ? json_dumps(cj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(cj);
        _cleanup_free_ char *run_dir = strdup_printf("%s/%s", m->vms_dir, id);
        if (!config_json || !run_dir)
                return connect_error(e, CONNECT_INTERNAL, "out of memory");

        VmRow row = {
                .id = id,
                .customer_id = req->customer_id ? req->customer_id : (char *) "",
                .backend = (char *) b->name,
                .config_json = config_json,
                .desired = req->boot ? VM_PHASE_RUNNING : VM_PHASE_CREATED,
                .shutdown_timeout_s = 30,
                .run_dir = run_dir,
                .restart_policy = (char *) policy,
        };
        const TenantQuota *q = tenant_quota(m, row.customer_id);
        StoreLimits limits = {
                .max_live = m->options->max_vms,
                .host_vcpus = m->capacity_vcpus,
                .host_memory = m->capacity_memory,
                .tenant_vms = q ? q->vms : 0,
                .tenant_vcpus = q ? q->vcpus : 0,
                .tenant_memory = q ? q->memory_bytes : 0,
                .vcpus = cfg->max_vcpu_count > cfg->vcpu_count ? cfg->max_vcpu_count : cfg->vcpu_count,
                .memory = cfg->memory_bytes + cfg->hotplug_bytes,
        };
        _cleanup_(vm_row_freep) VmRow *existing = NULL;
        StoreLimitHit hit = STORE_LIMIT_NONE;
        uint64_t used = 0;
        StoreNicRequest nics[VM_NETWORK_MAX];
        char macs[VM_NETWORK_MAX][18], taps[VM_NETWORK_MAX][16];
        network_service_nic_requests(id, cfg, nics, macs, taps);
        _cleanup_free_ char *nic_err = NULL;
        int r = store_vm_insert_limited(m->store, &row, nics, cfg->n_nics, same_vm, NULL, &limits, &existing,
                                        &hit, &used, &nic_err);
        if (nic_err) {
                /* An interface could not be allocated (the VM is not recorded). */
                ConnectCode code = r == -EADDRNOTAVAIL ? CONNECT_RESOURCE_EXHAUSTED
                                   : r == -EINVAL      ? CONNECT_INVALID_ARGUMENT
                                   : r == -EACCES      ? CONNECT_PERMISSION_DENIED
                                                       : CONNECT_FAILED_PRECONDITION;
                return connect_error(e, code, "%s", nic_err);
        }
        if (r == -EEXIST && caller->tenant[0])
                /* The same answer whoever holds the id: a tenant learns only that it is taken. */
                return connect_error(
                        e, CONNECT_ALREADY_EXISTS,
                        "vm_id \"%s\" is already in use with a different configuration (ids are "
                        "unique on the host and never reused)",
                        id);
        if (r == -EEXIST)
                return connect_error(e, CONNECT_ALREADY_EXISTS,
                                     existing && existing->deleted_at
                                             ? "vm_id \"%s\" belonged to a deleted VM; ids are not reused"
                                             : "vm_id \"%s\" already exists with a different configuration",
                                     id);
        if (r == -EDQUOT)
                return over_limit(m, &row, hit, used, &limits, e);
        if (r < 0)
                return store_failure(e, r, "CreateVm");

        if (existing) {
                /* An idempotent retry: answer with the VM as it is. */
                *ret = json_pack("{s:s, s:o}", "vmId", id, "state",
                                 state_json(vm_phase_to_public(existing->observed)));
                return *ret ? 0 : connect_error(e, CONNECT_INTERNAL, "out of memory");
        }
        crash_point("api-after-commit");
        /* A fresh id: no VMM of an earlier run can hold its socket. */
        _cleanup_free_ char *sock = strdup_printf("%s/api.sock", run_dir);
        if (sock)
                backend_socket_mark_known(sock);
        log_vm_info(id, b->name, NULL, "vm %s: created (backend %s)", id, b->name);
        reconciler_enqueue(m->reconciler, id);
        WaitOutcome out;
        _cleanup_(vm_row_freep) VmRow *now = NULL;
        r = reconciler_wait(m->reconciler, id, 1, m->options->request_timeout_s * 1000, &out, &now);
        if (r < 0)
                return store_failure(e, r, "CreateVm");
        if (answer_outcome(m, id, out, now, "CreateVm", e) < 0)
                return -1;
        *ret = json_pack("{s:s, s:o}", "vmId", id, "state", state_json(vm_phase_to_public(now->observed)));
        return *ret ? 0 : connect_error(e, CONNECT_INTERNAL, "out of memory");
}

static int create_vm(void *userdata, const RpcCaller *caller, const json_t *in, json_t **ret,
                     ConnectError *e) {
        CreateVmRequest req = { 0 };
        int r = connect_decode(in, create_fields, ELEMENTSOF(create_fields), &req, e);
        if (r >= 0)
                r = create_vm_impl(userdata, caller, &req, ret, e);
        connect_request_free(create_fields, ELEMENTSOF(create_fields), &req);
        return r;
}

/* ---- lifecycle verbs ---------------------------------------------------------- */

typedef struct LifecycleRequest {
        char *vm_id;
        bool force;
        int32_t timeout_seconds;
} LifecycleRequest;

static const FieldSpec lifecycle_fields_id[] = {
        { "vm_id", FIELD_STRING, offsetof(LifecycleRequest, vm_id) },
};
static const FieldSpec lifecycle_fields_force[] = {
        { "vm_id", FIELD_STRING, offsetof(LifecycleRequest, vm_id) },
        { "force", FIELD_BOOL, offsetof(LifecycleRequest, force) },
};
static const FieldSpec lifecycle_fields_shutdown[] = {
        { "vm_id", FIELD_STRING, offsetof(LifecycleRequest, vm_id) },
        { "force", FIELD_BOOL, offsetof(LifecycleRequest, force) },
        { "timeout_seconds", FIELD_INT32, offsetof(LifecycleRequest, timeout_seconds) },
};

/* What the verb's rule sees: the request and where to put a refusal. */
typedef struct VerbContext {
        const LifecycleRequest *req;
        const RpcCaller *caller;
        ConnectError *e;
} VerbContext;

/* A rule: check preconditions on the row and set its desired side.
 * < 0 refuse (e filled), 0 nothing to change, 1 commit. */
typedef int (*VerbRule)(VmRow *row, VerbContext *v);

/* Asking again for what a VM already wants is a retry when it is not there:
 * a failed VM, or one whose VMM died and waits for its restart backoff. */
static bool needs_retry(const VmRow *row) {
        return row->observed == VM_PHASE_FAILED ||
               !lifecycle_converged(row->observed, row->desired, vm_row_reboot_pending(row));
}

static int refuse_state(VerbContext *v, const VmRow *row, const char *what) {
        return connect_error(
                v->e, CONNECT_FAILED_PRECONDITION, "vm \"%s\" %s (state: %s)", row->id, what,
                vm_phase_to_string(row->desired == row->observed ? row->observed : row->desired));
}

static int rule_boot(VmRow *row, VerbContext *v) {
        if (row->desired == VM_PHASE_PAUSED)
                return refuse_state(v, row, "is paused; use ResumeVm");
        if (row->desired == VM_PHASE_RUNNING && !needs_retry(row))
                return 0;
        row->desired = VM_PHASE_RUNNING;
        return 1;
}

static int rule_shutdown(VmRow *row, VerbContext *v) {
        if (row->desired == VM_PHASE_CREATED)
                return refuse_state(v, row, "has never been booted");
        if (v->req->timeout_seconds < 0 || v->req->timeout_seconds > SHUTDOWN_TIMEOUT_MAX)
                return connect_error(v->e, CONNECT_INVALID_ARGUMENT,
                                     "timeout_seconds: must be between 0 and %d (0 = default 30)",
                                     SHUTDOWN_TIMEOUT_MAX);
        if (row->desired == VM_PHASE_SHUTDOWN && !needs_retry(row))
                return 0;
        row->desired = VM_PHASE_SHUTDOWN;
        row->reboot_requested = row->reboot_done; /* a pending reboot is superseded */
        row->force_stop = v->req->force;
        row->shutdown_timeout_s = v->req->timeout_seconds > 0 ? v->req->timeout_seconds : 30;
        return 1;
}

static int rule_pause(VmRow *row, VerbContext *v) {
        if (row->desired != VM_PHASE_RUNNING && row->desired != VM_PHASE_PAUSED)
                return refuse_state(v, row, "is not running");
        if (row->desired == VM_PHASE_PAUSED && !needs_retry(row))
                return 0;
        row->desired = VM_PHASE_PAUSED;
        row->reboot_requested = row->reboot_done; /* a pending reboot is superseded */
        return 1;
}

static int rule_resume(VmRow *row, VerbContext *v) {
        if (row->desired != VM_PHASE_PAUSED && row->desired != VM_PHASE_RUNNING)
                return refuse_state(v, row, "is not paused");
        if (row->desired == VM_PHASE_RUNNING && !needs_retry(row))
                return 0;
        row->desired = VM_PHASE_RUNNING;
        return 1;
}

static int rule_reboot(VmRow *row, VerbContext *v) {
        if (row->desired != VM_PHASE_RUNNING)
                return refuse_state(v, row, "is not running");
        row->reboot_requested = row->reboot_done + 1;
        row->force_stop = v->req->force;
        row->shutdown_timeout_s = 30;
        return 1;
}

static int rule_delete(VmRow *row, VerbContext *v) {
        row->desired = VM_PHASE_DELETED;
        row->reboot_requested = row->reboot_done;
        row->deleted_at = now_ms();
        row->force_stop = true;
        return 1;
}

typedef struct LifecycleVerb {
        const char *rpc;
        const FieldSpec *fields;
        size_t n_fields;
        VerbRule rule;
        bool answers_state; /* DeleteVm answers {success} only */
} LifecycleVerb;

static const LifecycleVerb verb_boot = { "BootVm", lifecycle_fields_id, 1, rule_boot, true };
static const LifecycleVerb verb_shutdown = { "ShutdownVm", lifecycle_fields_shutdown, 3, rule_shutdown,
                                             true };
static const LifecycleVerb verb_pause = { "PauseVm", lifecycle_fields_id, 1, rule_pause, true };
static const LifecycleVerb verb_resume = { "ResumeVm", lifecycle_fields_id, 1, rule_resume, true };
static const LifecycleVerb verb_reboot = { "RebootVm", lifecycle_fields_force, 2, rule_reboot, true };
static const LifecycleVerb verb_delete = { "DeleteVm", lifecycle_fields_force, 2, rule_delete, false };

typedef struct RuleCall {
        VerbRule rule;
        VerbContext ctx;
} RuleCall;

static int rule_call(VmRow *row, void *userdata) {
        RuleCall *c = userdata;
        /* Another tenant's VM is refused exactly as a missing one. */
        if (!rpc_caller_sees(c->ctx.caller, row->customer_id))
                return not_found(c->ctx.e, row->id);
        return c->rule(row, &c->ctx);
}

/* The one ceremony of every lifecycle verb, after decoding: validate the id,
 * apply the verb's rule in one transaction, wake the reconciler, wait, answer. */
static int lifecycle_run(Manager *m, const RpcCaller *caller, const LifecycleVerb *verb,
                         const LifecycleRequest *req, json_t **ret, ConnectError *e) {
        if (require_vm_id(req->vm_id, e) < 0)
                return -1;
        RuleCall call = { .rule = verb->rule, .ctx = { .req = req, .caller = caller, .e = e } };
        _cleanup_(vm_row_freep) VmRow *row = NULL;
        int r = store_vm_update_desired(m->store, req->vm_id, rule_call, &call, verb->rpc, &row);
        if (r == -ENOENT)
                return not_found(e, req->vm_id);
        if (r == -1)
                return -1; /* refused by the rule; e is filled */
        if (r < 0)
                return store_failure(e, r, verb->rpc);
        crash_point("api-after-commit");
        log_vm_info(req->vm_id, row->backend, NULL, "vm %s: %s: desired %s (generation %" PRId64 ")",
                    req->vm_id, verb->rpc, vm_phase_to_string(row->desired), row->generation);
        reconciler_enqueue(m->reconciler, req->vm_id);
        WaitOutcome outcome;
        _cleanup_(vm_row_freep) VmRow *now = NULL;
        r = reconciler_wait(m->reconciler, req->vm_id, row->generation, m->options->request_timeout_s * 1000,
                            &outcome, &now);
        if (r < 0)
                return store_failure(e, r, verb->rpc);
        if (answer_outcome(m, req->vm_id, outcome, now, verb->rpc, e) < 0)
                return -1;
        if (verb->answers_state)
                *ret = json_pack("{s:b, s:o}", "success", 1, "state",
                                 state_json(vm_phase_to_public(now->observed)));
        else
                *ret = json_pack("{s:b}", "success", 1);
        return *ret ? 0 : connect_error(e, CONNECT_INTERNAL, "out of memory");
}

static int lifecycle_call(Manager *m, const RpcCaller *caller, const LifecycleVerb *verb, const json_t *in,
                          json_t **ret, ConnectError *e) {
        LifecycleRequest req = { 0 };
        int r = connect_decode(in, verb->fields, verb->n_fields, &req, e);
        if (r >= 0)
                r = lifecycle_run(m, caller, verb, &req, ret, e);
        connect_request_free(verb->fields, verb->n_fields, &req);
        return r;
}

#define LIFECYCLE_HANDLER(fn, verb)                                                                         \
        static int fn(void *userdata, const RpcCaller *caller, const json_t *in, json_t **ret,              \
                      ConnectError *e) {                                                                    \
                return lifecycle_call(userdata, caller, &(verb), in, ret, e);                               \
        }
LIFECYCLE_HANDLER(boot_vm, verb_boot)
LIFECYCLE_HANDLER(shutdown_vm, verb_shutdown)
LIFECYCLE_HANDLER(pause_vm, verb_pause)
LIFECYCLE_HANDLER(resume_vm, verb_resume)
LIFECYCLE_HANDLER(reboot_vm, verb_reboot)
LIFECYCLE_HANDLER(delete_vm, verb_delete)

/* ---- reads ------------------------------------------------------------------ */

static json_t *time_json(int64_t ms) {
        char buf[40];
        return json_string(format_rfc3339(ms, buf, sizeof buf));
}

/* int64 fields are strings in the protobuf JSON mapping. */
static json_t *int64_json(int64_t v) {
        char buf[24];
        snprintf(buf, sizeof buf, "%" PRId64, v);
        return json_string(buf);
}

/* The config as the API shows it: canonical JSON with int64 as strings. */
static json_t *config_for_api(const char *config_json, json_t **ret_metadata) {
        json_t *c = json_loads(config_json, 0, NULL);
        if (!c)
                return NULL;
        json_t *mem = json_object_get(c, "memory");
        const char *k;
        json_t *v;
        json_object_foreach (mem, k, v)
                if (json_is_integer(v))
                        json_object_set_new(mem, k, int64_json(json_integer_value(v)));
        if (ret_metadata) {
                json_t *md = json_object_get(c, "metadata");
                *ret_metadata = md ? json_incref(md) : json_object();
        }
        return c;
}

static int get_vm_info(void *userdata, const RpcCaller *caller, const json_t *in, json_t **ret,
                       ConnectError *e) {
        Manager *m = userdata;
        LifecycleRequest req = { 0 };
        int r = connect_decode(in, lifecycle_fields_id, 1, &req, e);
        if (r >= 0)
                r = require_vm_id(req.vm_id, e);
        _cleanup_(vm_row_freep) VmRow *row = NULL;
        if (r >= 0) {
                r = store_vm_get(m->store, req.vm_id, &row);
                if (r == -ENOENT ||
                    (r >= 0 && (row->deleted_at || !rpc_caller_sees(caller, row->customer_id))))
                        r = not_found(e, req.vm_id);
                else if (r < 0)
                        r = store_failure(e, r, "GetVmInfo");
        }
        if (r < 0) {
                connect_request_free(lifecycle_fields_id, 1, &req);
                return r;
        }
        connect_request_free(lifecycle_fields_id, 1, &req);

        _cleanup_free_ char *console = strdup_printf("%s/console.log", row->run_dir);
        json_t *config = config_for_api(row->config_json, NULL);
        bool transitioning =
                vm_phase_is_transitional(row->observed) ||
                (row->observed != VM_PHASE_FAILED &&
                 (row->observed_generation < row->generation ||
                  !lifecycle_converged(row->observed, row->desired, vm_row_reboot_pending(row))));
        *ret = json_pack("{s:s, s:o, s:o, s:o, s:b, s:s, s:s, s:s, s:o, s:o, s:s, s:i, s:o, s:o, "
                         "s:{s:s, s:i, s:s, s:s, s:s}}",
                         "vmId", row->id, "config", config ? config : json_object(), "state",
                         state_json(vm_phase_to_public(row->observed)), "desiredState",
                         state_json(vm_phase_to_public(row->desired)), "transitioning", transitioning,
                         "lifecycleState", vm_phase_to_string(row->observed), "customerId", row->customer_id,
                         "backend", row->backend, "generation", int64_json(row->generation),
                         "observedGeneration", int64_json(row->observed_generation), "lastError",
                         row->last_error, "attempts", row->attempts, "createdAt", time_json(row->created_at),
                         "updatedAt", time_json(row->updated_at), "backendInfo", "backend", row->backend,
                         "vmmPid", (int) row->vmm.pid, "apiSocketPath", row->vmm.socket_path,
                         "consoleLogPath", console ? console : "", "runDir", row->run_dir);
        if (*ret) {
                json_object_set_new(*ret, "restartPolicy", json_string(row->restart_policy));
                json_object_set_new(*ret, "restarts", json_integer(row->restarts));
                json_object_set_new(*ret, "lastExit", json_string(row->last_exit));
                metrics_service_add_vm_info(m, row, *ret);
                /* Host paths and pids are the operator's business, not a tenant's. */
                if (caller->tenant[0])
                        json_object_set_new(*ret, "backendInfo",
                                            json_pack("{s:s}", "backend", row->backend));
                network_service_add_vm_info(m, row->id, *ret);
        }
        return *ret ? 0 : connect_error(e, CONNECT_INTERNAL, "out of memory");
}

typedef struct ListVmsRequest {
        int32_t page_size;
        char *page_token;
        VmStateList state_filter;
        char *customer_id;
        bool include_deleted;
} ListVmsRequest;

static const FieldSpec list_fields[] = {
        { "page_size", FIELD_INT32, offsetof(ListVmsRequest, page_size) },
        { "page_token", FIELD_STRING, offsetof(ListVmsRequest, page_token) },
        { "state_filter", FIELD_VMSTATES, offsetof(ListVmsRequest, state_filter) },
        { "customer_id", FIELD_STRING, offsetof(ListVmsRequest, customer_id) },
        { "include_deleted", FIELD_BOOL, offsetof(ListVmsRequest, include_deleted) },
};

/* Page tokens are "p" + the last seq in hex: opaque to clients, checked here. */
static int parse_page_token(const char *t, int64_t *ret) {
        if (isempty(t)) {
                *ret = 0;
                return 0;
        }
        if (t[0] != 'p' || !t[1] || strlen(t) > 17)
                return -EINVAL;
        char *end;
        unsigned long long v = strtoull(t + 1, &end, 16);
        if (*end)
                return -EINVAL;
        *ret = (int64_t) v;
        return 0;
}

static json_t *vm_info_json(const VmRow *row) {
        json_t *md = NULL;
        json_t *config = config_for_api(row->config_json, &md);
        json_t *cpu = json_object_get(config, "cpu");
        json_t *mem = json_object_get(config, "memory");
        json_t *size = json_object_get(mem, "sizeBytes");
        json_t *o = json_pack("{s:s, s:o, s:o, s:b, s:s, s:O, s:O, s:s, s:s, s:o, s:o, s:o}", "vmId",
                              row->id, "state", state_json(vm_phase_to_public(row->observed)),
                              "desiredState", state_json(vm_phase_to_public(row->desired)), "transitioning",
                              vm_phase_is_transitional(row->observed), "lifecycleState",
                              vm_phase_to_string(row->observed), "vcpuCount",
                              json_object_get(cpu, "vcpuCount") ? json_object_get(cpu, "vcpuCount")
                                                                : json_null(),
                              "memorySizeBytes", size ? size : json_null(), "customerId", row->customer_id,
                              "backend", row->backend, "createdAt", time_json(row->created_at), "updatedAt",
                              time_json(row->updated_at), "metadata", md ? md : json_object());
        json_decref(config);
        return o;
}

static int list_vms(void *userdata, const RpcCaller *caller, const json_t *in, json_t **ret,
                    ConnectError *e) {
        Manager *m = userdata;
        ListVmsRequest req = { 0 };
        int r = connect_decode(in, list_fields, ELEMENTSOF(list_fields), &req, e);
        int64_t after = 0;
        if (r >= 0 && req.page_size < 0)
                r = connect_error(e, CONNECT_INVALID_ARGUMENT, "page_size: must not be negative");
        if (r >= 0 && parse_page_token(req.page_token, &after) < 0)
                r = connect_error(e, CONNECT_INVALID_ARGUMENT,
                                  "page_token: not a token returned by ListVms (\"%s\")", req.page_token);
        if (r >= 0 && caller->tenant[0] && !isempty(req.customer_id) &&
            !streq(req.customer_id, caller->tenant))
                r = connect_error(e, CONNECT_PERMISSION_DENIED,
                                  "customer_id: \"%s\" is not your tenant (\"%s\")", req.customer_id,
                                  caller->tenant);
        VmPhase phases[_VM_PHASE_MAX];
        size_t n_phases = 0;
        for (size_t i = 0; r >= 0 && i < req.state_filter.n; i++) {
                if (req.state_filter.items[i] == VM_STATE_UNSPECIFIED)
                        continue;
                for (int p = 0; p < _VM_PHASE_MAX; p++)
                        if (vm_phase_to_public((VmPhase) p) == req.state_filter.items[i])
                                phases[n_phases++ % _VM_PHASE_MAX] = (VmPhase) p;
        }
        if (r < 0) {
                connect_request_free(list_fields, ELEMENTSOF(list_fields), &req);
                return r;
        }
        VmListQuery q = {
                .observed_in = n_phases ? phases : NULL,
                .n_observed_in = n_phases < _VM_PHASE_MAX ? n_phases : _VM_PHASE_MAX,
                .customer_id = caller->tenant[0]          ? caller->tenant
                               : isempty(req.customer_id) ? NULL
                                                          : req.customer_id,
                .include_deleted = req.include_deleted,
                .after_seq = after,
                .limit = req.page_size == 0              ? LIST_PAGE_DEFAULT
                         : req.page_size > LIST_PAGE_MAX ? LIST_PAGE_MAX
                                                         : (unsigned) req.page_size,
        };
        VmRow **rows = NULL;
        size_t n = 0;
        bool more = false;
        r = store_vm_list(m->store, &q, &rows, &n, &more);
        connect_request_free(list_fields, ELEMENTSOF(list_fields), &req);
        if (r < 0)
                return store_failure(e, r, "ListVms");
        json_t *vms = json_array();
        for (size_t i = 0; vms && i < n; i++)
                json_array_append_new(vms, vm_info_json(rows[i]));
        char token[24] = "";
        if (more && n > 0)
                snprintf(token, sizeof token, "p%" PRIx64, (uint64_t) rows[n - 1]->seq);
        vm_row_array_free(rows, n);
        *ret = json_pack("{s:o, s:s}", "vms", vms ? vms : json_array(), "nextPageToken", token);
        return *ret ? 0 : connect_error(e, CONNECT_INTERNAL, "out of memory");
}

/* ---- console and history ------------------------------------------------------ */

typedef struct ConsoleRequest {
        char *vm_id;
        int64_t offset;
        int32_t max_bytes;
} ConsoleRequest;

static const FieldSpec console_fields[] = {
        { "vm_id", FIELD_STRING, offsetof(ConsoleRequest, vm_id) },
        { "offset", FIELD_INT64, offsetof(ConsoleRequest, offset) },
        { "max_bytes", FIELD_INT32, offsetof(ConsoleRequest, max_bytes) },
};

/* A live VM by id for a read: not_found for unknown and deleted ones. */
static int load_live_vm(Manager *m, const RpcCaller *caller, const char *id, VmRow **ret, ConnectError *e) {
        if (require_vm_id(id, e) < 0)
                return -1;
        int r = store_vm_get(m->store, id, ret);
        if (r == -ENOENT ||
            (r >= 0 && ((*ret)->deleted_at || !rpc_caller_sees(caller, (*ret)->customer_id)))) {
                *ret = vm_row_free(*ret);
                return not_found(e, id);
        }
        if (r < 0)
                return store_failure(e, r, "read");
        return 0;
}

/* Console bytes as a JSON string: invalid UTF-8 becomes U+FFFD, so a client
 * always gets valid JSON whatever the guest printed. */
static json_t *console_text_json(const char *data, size_t n) {
        _cleanup_free_ char *out = malloc(n * 3 + 1);
        if (!out)
                return NULL;
        size_t j = 0;
        for (size_t i = 0; i < n;) {
                unsigned char c = (unsigned char) data[i];
                size_t len = c < 0x80             ? 1
                             : (c & 0xe0) == 0xc0 ? 2
                             : (c & 0xf0) == 0xe0 ? 3
                             : (c & 0xf8) == 0xf0 ? 4
                                                  : 0;
                bool valid = len > 0 && i + len <= n && !(len == 1 && c == 0);
                for (size_t k = 1; valid && k < len; k++)
                        valid = ((unsigned char) data[i + k] & 0xc0) == 0x80;
                if (valid && len > 1) {
                        /* Reject overlong forms and surrogates, as jansson does. */
                        json_t *probe = json_stringn(data + i, len);
                        valid = probe != NULL;
                        json_decref(probe);
                }
                if (!valid) {
                        memcpy(out + j, "\xef\xbf\xbd", 3);
                        j += 3;
                        i++;
                        continue;
                }
                memcpy(out + j, data + i, len);
                j += len;
                i += len;
        }
        return json_stringn(out, j);
}

static int get_vm_console(void *userdata, const RpcCaller *caller, const json_t *in, json_t **ret,
                          ConnectError *e) {
        Manager *m = userdata;
        ConsoleRequest req = { 0 };
        _cleanup_(vm_row_freep) VmRow *row = NULL;
        int r = connect_decode(in, console_fields, ELEMENTSOF(console_fields), &req, e);
        if (r >= 0 && req.offset < 0)
                r = connect_error(e, CONNECT_INVALID_ARGUMENT, "offset: must not be negative");
        if (r >= 0 && (req.max_bytes < 0 || req.max_bytes > (int32_t) CONSOLE_READ_MAX))
                r = connect_error(e, CONNECT_INVALID_ARGUMENT,
                                  "max_bytes: must be between 0 and %u (0 = 65536)", CONSOLE_READ_MAX);
        if (r >= 0)
                r = load_live_vm(m, caller, req.vm_id, &row, e);
        connect_request_free(console_fields, ELEMENTSOF(console_fields), &req);
        if (r < 0)
                return r;
        ConsoleChunk chunk;
        r = console_read(row->run_dir, (uint64_t) req.offset, req.max_bytes ? (size_t) req.max_bytes : 65536,
                         &chunk);
        if (r < 0)
                return connect_error(e, CONNECT_INTERNAL, "cannot read the console log: %s", strerror(-r));
        json_t *text = console_text_json(chunk.data, chunk.size);
        char off[24], next[24];
        snprintf(off, sizeof off, "%" PRIu64, chunk.offset);
        snprintf(next, sizeof next, "%" PRIu64, chunk.next_offset);
        *ret = json_pack("{s:o, s:s, s:s, s:b}", "data", text ? text : json_string(""), "offset", off,
                         "nextOffset", next, "skipped", chunk.skipped);
        console_chunk_done(&chunk);
        return *ret ? 0 : connect_error(e, CONNECT_INTERNAL, "out of memory");
}

typedef struct HistoryRequest {
        char *vm_id;
        int32_t page_size;
        char *page_token;
} HistoryRequest;

static const FieldSpec history_fields[] = {
        { "vm_id", FIELD_STRING, offsetof(HistoryRequest, vm_id) },
        { "page_size", FIELD_INT32, offsetof(HistoryRequest, page_size) },
        { "page_token", FIELD_STRING, offsetof(HistoryRequest, page_token) },
};

/* Every event of a VM in order, deleted VMs included: history outlives the VM. */
static int get_vm_history(void *userdata, const RpcCaller *caller, const json_t *in, json_t **ret,
                          ConnectError *e) {
        Manager *m = userdata;
        HistoryRequest req = { 0 };
        int64_t after = 0;
        int r = connect_decode(in, history_fields, ELEMENTSOF(history_fields), &req, e);
        if (r >= 0)
                r = require_vm_id(req.vm_id, e);
        if (r >= 0 && req.page_size < 0)
                r = connect_error(e, CONNECT_INVALID_ARGUMENT, "page_size: must not be negative");
        if (r >= 0 && parse_page_token(req.page_token, &after) < 0)
                r = connect_error(e, CONNECT_INVALID_ARGUMENT,
                                  "page_token: not a token returned by GetVmHistory (\"%s\")",
                                  req.page_token);
        _cleanup_(vm_row_freep) VmRow *row = NULL;
        if (r >= 0) {
                r = store_vm_get(m->store, req.vm_id, &row);
                if (r == -ENOENT || (r >= 0 && !rpc_caller_sees(caller, row->customer_id)))
                        r = not_found(e, req.vm_id);
                else if (r < 0)
                        r = store_failure(e, r, "GetVmHistory");
        }
        unsigned limit = req.page_size == 0              ? LIST_PAGE_DEFAULT
                         : req.page_size > LIST_PAGE_MAX ? LIST_PAGE_MAX
                                                         : (unsigned) req.page_size;
        VmEvent *ev = NULL;
        size_t n = 0;
        if (r >= 0) {
                r = store_events_list(m->store, req.vm_id, after, limit + 1, &ev, &n);
                if (r < 0)
                        r = store_failure(e, r, "GetVmHistory");
        }
        connect_request_free(history_fields, ELEMENTSOF(history_fields), &req);
        if (r < 0)
                return r;
        json_t *events = json_array();
        for (size_t i = 0; events && i < n && i < limit; i++)
                json_array_append_new(events,
                                      json_pack("{s:o, s:o, s:s, s:s, s:s, s:o, s:s}", "seq",
                                                int64_json(ev[i].seq), "at", time_json(ev[i].at), "kind",
                                                ev[i].kind, "fromState", ev[i].from_state, "toState",
                                                ev[i].to_state, "generation", int64_json(ev[i].generation),
                                                "reason", ev[i].reason));
        char token[24] = "";
        if (n > limit)
                snprintf(token, sizeof token, "p%" PRIx64, (uint64_t) ev[limit - 1].seq);
        vm_event_array_free(ev, n);
        *ret = json_pack("{s:o, s:s}", "events", events ? events : json_array(), "nextPageToken", token);
        return *ret ? 0 : connect_error(e, CONNECT_INTERNAL, "out of memory");
}

const RpcMethod vm_service_methods[] = {
        { "CreateVm", create_vm, .no_side_effects = false, .access = RPC_WRITE },
        { "BootVm", boot_vm, .no_side_effects = false, .access = RPC_WRITE },
        { "ShutdownVm", shutdown_vm, .no_side_effects = false, .access = RPC_WRITE },
        { "PauseVm", pause_vm, .no_side_effects = false, .access = RPC_WRITE },
        { "ResumeVm", resume_vm, .no_side_effects = false, .access = RPC_WRITE },
        { "RebootVm", reboot_vm, .no_side_effects = false, .access = RPC_WRITE },
        { "DeleteVm", delete_vm, .no_side_effects = false, .access = RPC_WRITE },
        { "GetVmInfo", get_vm_info, .no_side_effects = true, .access = RPC_READ },
        { "ListVms", list_vms, .no_side_effects = true, .access = RPC_READ },
        { "GetVmConsole", get_vm_console, .no_side_effects = true, .access = RPC_READ },
        { "GetVmHistory", get_vm_history, .no_side_effects = true, .access = RPC_READ },
        { "GetVmMetrics", metrics_service_get_vm_metrics, .no_side_effects = true, .access = RPC_READ },
};
const size_t vm_service_n_methods = ELEMENTSOF(vm_service_methods);

const RpcRequestSpec vm_service_requests[] = {
        { "CreateVm", create_fields, ELEMENTSOF(create_fields), sizeof(CreateVmRequest) },
        { "BootVm", lifecycle_fields_id, ELEMENTSOF(lifecycle_fields_id), sizeof(LifecycleRequest) },
        { "ShutdownVm", lifecycle_fields_shutdown, ELEMENTSOF(lifecycle_fields_shutdown),
          sizeof(LifecycleRequest) },
        { "PauseVm", lifecycle_fields_id, ELEMENTSOF(lifecycle_fields_id), sizeof(LifecycleRequest) },
        { "ResumeVm", lifecycle_fields_id, ELEMENTSOF(lifecycle_fields_id), sizeof(LifecycleRequest) },
        { "RebootVm", lifecycle_fields_force, ELEMENTSOF(lifecycle_fields_force), sizeof(LifecycleRequest) },
        { "DeleteVm", lifecycle_fields_force, ELEMENTSOF(lifecycle_fields_force), sizeof(LifecycleRequest) },
        { "GetVmInfo", lifecycle_fields_id, ELEMENTSOF(lifecycle_fields_id), sizeof(LifecycleRequest) },
        { "ListVms", list_fields, ELEMENTSOF(list_fields), sizeof(ListVmsRequest) },
        { "GetVmConsole", console_fields, ELEMENTSOF(console_fields), sizeof(ConsoleRequest) },
        { "GetVmHistory", history_fields, ELEMENTSOF(history_fields), sizeof(HistoryRequest) },
};
const size_t vm_service_n_requests = ELEMENTSOF(vm_service_requests);
