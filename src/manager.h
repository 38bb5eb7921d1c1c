/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The Manager owns everything the daemon runs: options, store, reconciler,
 * API server and the event loop (signals, periodic resync, watchdog). It is
 * passed explicitly; there is no global daemon object.
 */

#include <systemd/sd-event.h>

#include "api/http-server.h"
#include "metrics/sampler.h"
#include "options.h"
#include "reconcile/reconciler.h"
#include "store/store.h"

typedef struct Manager {
        const Options *options;
        Store *store;
        Reconciler *reconciler;
        Sampler *sampler;
        ScopeManager *scopes;
        HttpServer *http;
        BackendOptions backend_options;
        VmmUser vmm_user; /* --vmm-user, resolved; backend_options points here */
        char *jailer_binary; /* absolute; NULL without --jailer-binary */
        char *jailer_chroot_base; /* realpath'ed */
        unsigned jailer_cgroup_version;
        HostNetOptions net; /* TAP owner (the VMM user; root until set), firewall on/off */
        RpcMethod *methods; /* vm_service_methods + network_service_methods */
        size_t n_methods;
        char *asset_roots[OPTIONS_ASSET_ROOTS_MAX]; /* realpath'ed */
        size_t n_asset_roots;
        uint64_t host_memory_bytes;
        Auth *auth; /* who callers are (tokens reloaded on SIGHUP) */
        /* Host capacity for CreateVm (vCPUs and bytes after overcommit); 0 = unchecked. */
        uint64_t capacity_vcpus;
        uint64_t capacity_memory;
        char *vms_dir; /* <data-dir>/vms */
        sd_event *event;
} Manager;

/* Open the data directory and database, start the reconciler. Logs nothing;
 * on failure *ret_error says what went wrong. */
int manager_new(const Options *o, Manager **ret, char **ret_error);
/* Reattach to VMMs, start serving, arm the event loop. */
int manager_startup(Manager *m, char **ret_error);
/* Run until SIGTERM/SIGINT; then stop serving, finish in-flight requests. */
int manager_run(Manager *m);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Plain GET routes (/healthz, /metrics). */
extern const RawRoute manager_raw_routes[];
extern const size_t manager_n_raw_routes;

/* The VmService handlers (api/vm-service.c). */
extern const RpcMethod vm_service_methods[];
extern const size_t vm_service_n_methods;
#define VM_SERVICE_PREFIX "/vmprovisioner.v1.VmService/"
