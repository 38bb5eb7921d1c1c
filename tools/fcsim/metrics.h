/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * metrics: Firecracker's metrics system. One JSON object per flush, written as
 * one line to the metrics path (file or FIFO, opened O_NONBLOCK|O_CREAT, never
 * truncated; a regular file is written at its end). Counters ("SharedIncMetric")
 * are deltas since the previous flush and reset when written; a few values are
 * absolute ("SharedStoreMetric": latencies_us.*, api_server.*, *_agg.min/max).
 *
 * Groups are the top-level keys (api_server, block, vcpu, ...); per-device
 * groups (block_<drive_id>, net_<iface_id>) are added as devices are configured
 * and carry the same fields as their aggregate. Field names may contain one dot
 * for nested objects ("read_agg.min_us"). Depends on jansson.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct Metrics Metrics;

int metrics_new(Metrics **ret);
Metrics *metrics_free(Metrics *m);

/* Open the output; -EALREADY if already initialized ("Reinitialization of
 * metrics not allowed."), else 0 or a negative errno from open(). */
int metrics_open(Metrics *m, const char *path);
bool metrics_is_open(const Metrics *m);
const char *metrics_path(const Metrics *m);

/* Add a per-device group named key (e.g. "block_rootfs") shaped like the
 * aggregate group kind ("block" or "net"). Idempotent. 0 or -ENOMEM. */
int metrics_add_device(Metrics *m, const char *kind, const char *key);

/* Add delta to group.field (no-op for unknown names). Absolute fields are set. */
void metrics_add(Metrics *m, const char *group, const char *field, uint64_t delta);
void metrics_set(Metrics *m, const char *group, const char *field, uint64_t value);

/* Write one line now (when open) and reset the deltas. Returns 0, or a
 * negative errno when the line could not be written (it is then counted in
 * logger.missed_metrics_count, as Firecracker does). */
int metrics_flush(Metrics *m);
