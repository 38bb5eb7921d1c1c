/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * What the API shows of the metrics (src/metrics/, store/metrics.h):
 * GetVmMetrics (samples over a time range, paged), the "metrics" of a
 * GetVmInfo answer, and GET /metrics in Prometheus text format. Everything
 * is read from SQLite; nothing here waits on a VMM.
 */

#include <jansson.h>

#include "manager.h"

/* vmprovisioner.v1.VmService/GetVmMetrics (an RpcHandler; userdata is the Manager). */
int metrics_service_get_vm_metrics(void *userdata, const RpcCaller *caller, const json_t *request,
                                   json_t **ret_response, ConnectError *e);

/* Add "metrics" to a GetVmInfo answer for row: usage at the last sample and
 * lifetime totals. Adds nothing for a VM never sampled, or when the read
 * fails (GetVmInfo answers anyway). */
void metrics_service_add_vm_info(Manager *m, const VmRow *row, json_t *info);

/* GET /metrics (a RawGetHandler; userdata is the Manager). */
int metrics_service_prometheus(void *userdata, char **ret_body, const char **ret_content_type);

/* A time as the API takes it: RFC 3339 ("2024-05-01T12:00:00Z",
 * "2024-05-01T14:00:00.250+02:00"), or milliseconds since the epoch as
 * decimal digits. -EINVAL otherwise. */
int metrics_time_parse(const char *s, int64_t *ret_ms);
