/* SPDX-License-Identifier: Apache-2.0 */
#include "metrics/collector.h"

#include <assert.h>

#include "metrics/proc.h"

/* QEMU: host side only for now (QMP query-blockstats would be its counters). */
const MetricsCollector metrics_collector_qemu = {
        .backend = "qemu",
        .collect = NULL,
};

const MetricsCollector *const metrics_collectors[] = {
        &metrics_collector_firecracker,
        &metrics_collector_cloud_hypervisor,
        &metrics_collector_qemu,
        NULL,
};

const MetricsCollector *metrics_collector_find(const char *backend) {
        if (!backend)
                return NULL;
        for (const MetricsCollector *const *c = metrics_collectors; *c; c++)
                if (streq((*c)->backend, backend))
                        return *c;
        return NULL;
}

bool metrics_source_is_current(const VmMetricSource *source, const VmMetricTarget *t) {
        return source->pid != 0 && source->pid == t->vmm.pid && source->start_time == t->vmm.start_time;
}

int metrics_collect_vm(const MetricsCollectContext *ctx, const VmMetricTarget *t, int64_t at,
                       VmMetricSample *ret, int *ret_backend_error) {
        assert(ctx && t && ret && ret_backend_error);
        *ret_backend_error = 0;

        ProcUsage u;
        int r = proc_usage_read(t->vmm.pid, t->vmm.start_time, &u);
        if (r < 0)
                return r;

        const VmMetricCursor *prev = &t->cursor;
        bool same_vmm =
                prev->present && prev->vmm_pid == t->vmm.pid && prev->vmm_start_time == t->vmm.start_time;
        VmState public_state = vm_phase_to_public(t->observed);
        VmMetricSample x = {
                .vm_seq = t->vm_seq,
                .running = public_state == VM_STATE_RUNNING,
                .rss_bytes = u.rss_bytes,
                .uptime_ms = u.uptime_ms,
                .cursor = *prev,
        };
        if (same_vmm) {
                /* CPU time of one process never goes down; be safe anyway. */
                x.cpu_ns = u.cpu_ns >= prev->vmm_cpu_ns ? u.cpu_ns - prev->vmm_cpu_ns : u.cpu_ns;
                x.interval_ms = at > prev->at ? at - prev->at : 0;
        } else {
                /* A VMM not seen before: everything it used so far, over its age. */
                x.cpu_ns = u.cpu_ns;
                x.interval_ms = (int64_t) u.uptime_ms;
        }
        x.cursor.present = true;
        x.cursor.at = at;
        x.cursor.vmm_pid = t->vmm.pid;
        x.cursor.vmm_start_time = t->vmm.start_time;
        x.cursor.vmm_cpu_ns = u.cpu_ns;

        /* The backend's counters exist once the guest is booted. */
        const MetricsCollector *c = metrics_collector_find(t->backend);
        if (c && c->collect && (public_state == VM_STATE_RUNNING || public_state == VM_STATE_PAUSED)) {
                VmMetricSource source = prev->source;
                uint64_t delta[_VM_COUNTER_MAX] = { 0 };
                r = c->collect(ctx, t, &source, delta);
                if (r >= 0) {
                        memcpy(x.counters, delta, sizeof delta);
                        x.cursor.source = source;
                } else
                        *ret_backend_error = r;
        }
        *ret = x;
        return 0;
}
