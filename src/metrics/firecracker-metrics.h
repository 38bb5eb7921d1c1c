/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Firecracker's metrics: newline-delimited JSON objects that Firecracker
 * appends to <run_dir>/metrics.json (a regular file, truncated when a VMM
 * boots) right after boot, every 60 s, on FlushMetrics and on exit. Counters
 * are deltas since the previous line, so a reader sums the lines it has not
 * read yet (specs/VMM-BEHAVIOUR.md "Metrics").
 *
 * The parsers are pure and unit-tested; fc_metrics_read_file does the I/O.
 */

#include "store/metrics.h"

/* The Firecracker counters summed, and where they go. */
typedef struct FcMetricField {
        const char *group; /* "block": the aggregate over every drive */
        const char *field; /* "read_bytes" */
        VmCounter counter;
} FcMetricField;
extern const FcMetricField fc_metric_fields[];
extern const size_t fc_metric_fields_n;

/* Add the counters of one metrics line (a JSON object, without its newline)
 * to acc. -EINVAL if the line is not a JSON object; missing or non-integer
 * fields count as 0. */
int fc_metrics_line_add(const char *line, size_t len, uint64_t acc[_VM_COUNTER_MAX]);

/* Sum the complete lines of buf[0, len) into acc; a last line without its
 * newline is left for later. Returns the bytes consumed (up to and including
 * the last newline). Lines that do not parse are skipped and counted in
 * *ret_bad (may be NULL). Empty lines are skipped silently. */
size_t fc_metrics_consume(const char *buf, size_t len, uint64_t acc[_VM_COUNTER_MAX], unsigned *ret_bad);

/* Read the complete lines of the regular file at path from *offset on into
 * acc, and advance *offset past them; a call stops once it consumed
 * max_bytes or more (a backlog is read over several calls).
 * A file shorter than *offset was truncated by a new VMM: it is read from 0.
 * -ENOENT when there is no file, -EBADF when it is not a regular file. */
int fc_metrics_read_file(const char *path, uint64_t *offset, uint64_t max_bytes,
                         uint64_t acc[_VM_COUNTER_MAX], unsigned *ret_bad);
