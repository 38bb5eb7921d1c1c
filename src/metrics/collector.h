/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Collecting one sample of one VM: the host side (every backend: the VMM
 * process's CPU time, memory and age from /proc) and the backend's own
 * counters, through a table of collectors keyed by backend name. Adding a
 * backend's counters is adding a file and a line in metrics_collectors[].
 *
 * Collectors talk to the VMM over its API socket (hv/unix-http.h) with a
 * short timeout; they never change the VM's state (Firecracker's
 * FlushMetrics only writes the metrics file), so they may run beside the
 * reconciler's calls for the same VM, which the VMM serves one at a time.
 * They keep no state of their own: where they resume is the VmMetricSource
 * stored with each sample.
 */

#include "store/metrics.h"

typedef struct MetricsCollectContext {
        unsigned api_timeout_ms; /* for each VMM API call */
} MetricsCollectContext;

typedef struct MetricsCollector {
        const char *backend; /* "firecracker" */
        /*
         * Read the VMM's counters as deltas since *source into ret_delta, and
         * move *source on. Called only while t's VMM process is alive and its
         * guest booted (running or paused). source->pid/start_time say which
         * VMM *source belongs to (0: none yet): a collector resynchronises when
         * they are not t->vmm's. On failure returns negative errno and leaves
         * *source and ret_delta alone (the next round catches up).
         */
        int (*collect)(const MetricsCollectContext *ctx, const VmMetricTarget *t, VmMetricSource *source,
                       uint64_t ret_delta[_VM_COUNTER_MAX]);
        /*
         * Optional: the sample whose source moved from *before to *after is
         * committed (durable), so what it consumed may be released. Best effort:
         * failures are ignored.
         */
        void (*committed)(const VmMetricTarget *t, const VmMetricSource *before,
                          const VmMetricSource *after);
} MetricsCollector;

/* NULL-terminated. A backend without an entry (or with collect NULL) gets
 * host-side samples only. */
extern const MetricsCollector *const metrics_collectors[];
const MetricsCollector *metrics_collector_find(const char *backend);

extern const MetricsCollector metrics_collector_firecracker;
extern const MetricsCollector metrics_collector_cloud_hypervisor;
extern const MetricsCollector metrics_collector_qemu;

/* Is source synchronised with t's current VMM? */
bool metrics_source_is_current(const VmMetricSource *source, const VmMetricTarget *t);

/*
 * One sample of t at round time `at`: host side first (-ESRCH, no sample,
 * when the VMM is gone or is another process than t->vmm), then the
 * backend's counters when the guest is booted. A backend failure still
 * gives a sample (host side, zero deltas) and sets *ret_backend_error to its
 * errno; the backend's cursor then stays where it was.
 */
int metrics_collect_vm(const MetricsCollectContext *ctx, const VmMetricTarget *t, int64_t at,
                       VmMetricSample *ret, int *ret_backend_error);
