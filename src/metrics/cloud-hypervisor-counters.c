/* SPDX-License-Identifier: Apache-2.0 */
#include "metrics/cloud-hypervisor-counters.h"

#include <assert.h>
#include <jansson.h>

#include "hv/unix-http.h"
#include "metrics/collector.h"

const ChCounterField ch_counter_fields[] = {
        { "read_bytes", VM_COUNTER_BLOCK_READ_BYTES }, { "write_bytes", VM_COUNTER_BLOCK_WRITE_BYTES },
        { "read_ops", VM_COUNTER_BLOCK_READ_OPS },     { "write_ops", VM_COUNTER_BLOCK_WRITE_OPS },
        { "rx_bytes", VM_COUNTER_NET_RX_BYTES },       { "tx_bytes", VM_COUNTER_NET_TX_BYTES },
        { "rx_frames", VM_COUNTER_NET_RX_PACKETS },    { "tx_frames", VM_COUNTER_NET_TX_PACKETS },
};
const size_t ch_counter_fields_n = ELEMENTSOF(ch_counter_fields);

int ch_counters_parse(const char *body, uint64_t ret[_VM_COUNTER_MAX]) {
        assert(body && ret);
        _cleanup_(json_decrefp) json_t *o = json_loads(body, 0, NULL);
        if (!json_is_object(o))
                return -EINVAL;
        uint64_t sum[_VM_COUNTER_MAX] = { 0 };
        const char *id;
        json_t *dev;
        json_object_foreach (o, id, dev) {
                if (!json_is_object(dev))
                        return -EINVAL;
                for (size_t i = 0; i < ELEMENTSOF(ch_counter_fields); i++) {
                        json_t *v = json_object_get(dev, ch_counter_fields[i].name);
                        if (json_is_integer(v) && json_integer_value(v) > 0)
                                sum[ch_counter_fields[i].counter] += (uint64_t) json_integer_value(v);
                }
        }
        memcpy(ret, sum, sizeof sum);
        return 0;
}

void ch_counters_delta(const uint64_t prev[_VM_COUNTER_MAX], const uint64_t cur[_VM_COUNTER_MAX],
                       uint64_t ret[_VM_COUNTER_MAX]) {
        for (int k = 0; k < _VM_COUNTER_MAX; k++)
                ret[k] = cur[k] >= prev[k] ? cur[k] - prev[k] : cur[k];
}

static int ch_collect(const MetricsCollectContext *ctx, const VmMetricTarget *t, VmMetricSource *source,
                      uint64_t ret_delta[_VM_COUNTER_MAX]) {
        UnixHttpResponse resp = { 0 };
        int r = unix_http_request(t->vmm.socket_path, "GET", "/api/v1/vm.counters", NULL,
                                  ctx->api_timeout_ms, &resp, NULL);
        if (r < 0)
                return r;
        uint64_t cur[_VM_COUNTER_MAX];
        r = resp.status == 200 ? ch_counters_parse(resp.body, cur) : -EBADMSG;
        unix_http_response_done(&resp);
        if (r < 0)
                return r;
        /* A VMM we have not read before counted from zero. */
        static const uint64_t zero[_VM_COUNTER_MAX] = { 0 };
        ch_counters_delta(metrics_source_is_current(source, t) ? source->counters : zero, cur, ret_delta);
        *source = (VmMetricSource){ .pid = t->vmm.pid, .start_time = t->vmm.start_time };
        memcpy(source->counters, cur, sizeof cur);
        return 0;
}

const MetricsCollector metrics_collector_cloud_hypervisor = {
        .backend = "cloud-hypervisor",
        .collect = ch_collect,
};
