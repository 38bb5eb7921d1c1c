/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Usage samples, their hourly rollups and each VM's lifetime totals
 * (migrations/0003_metrics.sql). The metrics sampler (src/metrics/) writes a
 * whole round in one transaction (store_metrics_write_round); the API reads.
 *
 * VMs are named by vms.seq in these tables (a small integer key keeps rows
 * small); the functions here take and give both where callers need them.
 * Errors are negative errno, as everywhere in the store.
 */

#include "store/store.h"

/* The counters every backend may report, as deltas per sample. The order is
 * the column order in vm_metric_samples, vm_usage_hourly and vm_metric_totals. */
typedef enum VmCounter {
        VM_COUNTER_BLOCK_READ_BYTES,
        VM_COUNTER_BLOCK_WRITE_BYTES,
        VM_COUNTER_BLOCK_READ_OPS,
        VM_COUNTER_BLOCK_WRITE_OPS,
        VM_COUNTER_NET_RX_BYTES,
        VM_COUNTER_NET_TX_BYTES,
        VM_COUNTER_NET_RX_PACKETS,
        VM_COUNTER_NET_TX_PACKETS,
        VM_COUNTER_VCPU_EXITS,
        _VM_COUNTER_MAX,
} VmCounter;

/* Names of a counter: the column ("block_read_bytes"), the API's JSON field
 * ("blockReadBytes") and the Prometheus family ("metald_vm_block_read_bytes_total"). */
typedef struct VmCounterInfo {
        const char *column;
        const char *json;
        const char *prometheus;
        const char *help;
} VmCounterInfo;
extern const VmCounterInfo vm_counter_info[_VM_COUNTER_MAX];

/* Where a backend's own counters resume: they belong to one VMM process. */
typedef struct VmMetricSource {
        pid_t pid; /* 0: not synchronised with any VMM yet */
        uint64_t start_time;
        uint64_t offset; /* firecracker: bytes of metrics.json consumed */
        uint64_t counters[_VM_COUNTER_MAX]; /* cloud-hypervisor: cumulative values read last */
} VmMetricSource;

/* Where sampling of one VM resumes (vm_metric_totals). */
typedef struct VmMetricCursor {
        bool present; /* false: never sampled */
        int64_t at; /* the last sample */
        pid_t vmm_pid; /* the VMM process the host side last read */
        uint64_t vmm_start_time;
        uint64_t vmm_cpu_ns; /* its cumulative CPU time then */
        VmMetricSource source;
} VmMetricCursor;

/* A VM the sampler looks at: not deleted, with a VMM recorded. */
typedef struct VmMetricTarget {
        int64_t vm_seq;
        char *vm_id;
        char *backend;
        char *run_dir;
        VmmHandle vmm;
        VmPhase observed;
        VmMetricCursor cursor;
} VmMetricTarget;
void vm_metric_targets_free(VmMetricTarget *t, size_t n);

int store_metrics_targets(Store *s, VmMetricTarget **ret, size_t *ret_n);

/* One sample, and the cursor to store with it. */
typedef struct VmMetricSample {
        int64_t vm_seq;
        int64_t interval_ms;
        bool running;
        uint64_t cpu_ns; /* delta */
        uint64_t rss_bytes;
        uint64_t uptime_ms;
        uint64_t counters[_VM_COUNTER_MAX]; /* deltas */
        VmMetricCursor cursor; /* after this sample; its `at` is ignored (the round's) */
} VmMetricSample;

/* What a round also trims: rows older than the cutoffs (ms since the epoch;
 * 0: none), at most about max_rows of each kind per round (a whole round or
 * hour more at most), so a large backlog drains over several rounds. */
typedef struct VmMetricTrim {
        int64_t samples_before;
        int64_t rollups_before;
        unsigned max_rows;
} VmMetricTrim;
typedef struct VmMetricTrimmed {
        uint64_t samples;
        uint64_t rollups;
} VmMetricTrimmed;

/*
 * In one transaction: record the round (when n > 0), insert the n samples at
 * `at`, add them to the VMs' totals and cursors and to the rollup of at's
 * hour, then trim. at must be later than every earlier round's. Returns 0,
 * or negative errno with nothing written. ret_trimmed may be NULL.
 */
int store_metrics_write_round(Store *s, int64_t at, unsigned collect_ms, const VmMetricSample *samples,
                              size_t n, const VmMetricTrim *trim, VmMetricTrimmed *ret_trimmed);

/* The time of the last round (0 if none): the next must be later. */
int store_metrics_last_round(Store *s, int64_t *ret_at);

/* A stored sample. */
typedef struct VmMetricRow {
        int64_t at;
        int64_t interval_ms;
        bool running;
        uint64_t cpu_ns;
        uint64_t rss_bytes;
        uint64_t uptime_ms;
        uint64_t counters[_VM_COUNTER_MAX];
} VmMetricRow;

/* Samples of VM vm_seq with from <= at < to, oldest first, at most limit. */
int store_metrics_query(Store *s, int64_t vm_seq, int64_t from, int64_t to, unsigned limit,
                        VmMetricRow **ret, size_t *ret_n);

/* A VM's lifetime totals and its last sample (GetVmInfo, /metrics). */
typedef struct VmMetricTotals {
        int64_t vm_seq;
        char *vm_id; /* store_metrics_totals_list only */
        char *backend; /* store_metrics_totals_list only */
        int64_t at; /* the last sample */
        pid_t vmm_pid; /* the VMM it came from */
        uint64_t vmm_start_time;
        bool live; /* store_metrics_totals_list: that VMM is still the VM's */
        uint64_t rss_bytes;
        uint64_t cpu_ns;
        uint64_t counters[_VM_COUNTER_MAX];
        bool has_last; /* the last sample is still kept: */
        VmMetricRow last;
} VmMetricTotals;

/* -ENOENT if the VM was never sampled. */
int store_metrics_totals_get(Store *s, int64_t vm_seq, VmMetricTotals *ret);
/* Every VM that is not deleted and has totals, in seq order. */
int store_metrics_totals_list(Store *s, VmMetricTotals **ret, size_t *ret_n);
void vm_metric_totals_array_free(VmMetricTotals *t, size_t n);

/* Live (not deleted) VMs per observed phase. */
int store_vm_count_by_phase(Store *s, uint64_t ret_counts[_VM_PHASE_MAX]);
