/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Cloud Hypervisor's counters: GET /api/v1/vm.counters answers
 * {"<device id>": {"<counter>": u64, ...}, ...}, cumulative since the VMM
 * created its devices (specs/VMM-BEHAVIOUR.md). Deltas are taken against the
 * values read at the previous sample, which are stored with it.
 *
 * The parser and the delta rule are pure and unit-tested.
 */

#include "store/metrics.h"

/* Which device counters are summed, and where they go. */
typedef struct ChCounterField {
        const char *name; /* "read_bytes" (block), "rx_frames" (net) */
        VmCounter counter;
} ChCounterField;
extern const ChCounterField ch_counter_fields[];
extern const size_t ch_counter_fields_n;

/* Sum each counter over every device of a vm.counters answer into ret
 * (overwritten). -EINVAL if body is not a JSON object of objects. */
int ch_counters_parse(const char *body, uint64_t ret[_VM_COUNTER_MAX]);

/* Deltas from prev to cur. A counter that went down was reset (the VMM
 * rebooted the guest or was replaced): its delta is its current value. */
void ch_counters_delta(const uint64_t prev[_VM_COUNTER_MAX], const uint64_t cur[_VM_COUNTER_MAX],
                       uint64_t ret[_VM_COUNTER_MAX]);
