/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metrics as the API shows them: GetVmMetrics, GetVmInfo's "metrics",
 * and GET /metrics (Prometheus). Read from SQLite only.
 */
#include "api/metrics-service.h"

#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>

#include "metrics/prometheus.h"
#include "store/metrics.h"
#include "vm/vm-config.h"

#define METRICS_PAGE_DEFAULT 100
#define METRICS_PAGE_MAX 1000

/* ---- times ------------------------------------------------------------------ */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        unsigned yoe = (unsigned) (y - era * 400);
        unsigned doy = (153 * (m + (m > 2 ? (unsigned) -3 : 9)) + 2) / 5 + d - 1;
        unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int64_t) doe - 719468;
}

/* n decimal digits at *p into *ret; *p moves past them. */
static bool digits(const char **p, int n, unsigned *ret) {
        unsigned v = 0;
        for (int i = 0; i < n; i++) {
                char c = (*p)[i];
                if (c < '0' || c > '9')
                        return false;
                v = v * 10 + (unsigned) (c - '0');
        }
        *p += n;
        *ret = v;
        return true;
}

int metrics_time_parse(const char *s, int64_t *ret_ms) {
        assert(ret_ms);
        if (isempty(s))
                return -EINVAL;
        /* Milliseconds since the epoch. */
        if (strspn(s, "0123456789") == strlen(s)) {
                if (strlen(s) > 15) /* beyond year 33658: surely a mistake */
                        return -EINVAL;
                *ret_ms = strtoll(s, NULL, 10);
                return 0;
        }
        static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        const char *p = s;
        unsigned y, mo, d, h, mi, sec, frac_ms = 0;
        if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' || !digits(&p, 2, &d))
                return -EINVAL;
        if (*p != 'T' && *p != 't' && *p != ' ')
                return -EINVAL;
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' || !digits(&p, 2, &sec))
                return -EINVAL;
        if (*p == '.') {
                p++;
                int n = 0;
                for (; *p >= '0' && *p <= '9'; p++, n++)
                        if (n < 3)
                                frac_ms = frac_ms * 10 + (unsigned) (*p - '0');
                if (n == 0)
                        return -EINVAL;
                for (; n < 3; n++)
                        frac_ms *= 10;
        }
        int64_t offset_min = 0;
        if (*p == 'Z' || *p == 'z')
                p++;
        else if (*p == '+' || *p == '-') {
                int sign = *p++ == '-' ? -1 : 1;
                unsigned oh, om;
                if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) || oh > 23 || om > 59)
                        return -EINVAL;
                offset_min = sign * (int64_t) (oh * 60 + om);
        } else
                return -EINVAL;
        if (*p)
                return -EINVAL;
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) || h > 23 ||
            mi > 59 || sec > 60)
                return -EINVAL;
        int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
        *ret_ms = t * 1000 + frac_ms;
        return 0;
}

static json_t *time_json(int64_t ms) {
        char buf[40];
        return json_string(format_rfc3339(ms, buf, sizeof buf));
}

/* int64 fields are strings in the protobuf JSON mapping. */
static json_t *u64_json(uint64_t v) {
        char buf[24];
        snprintf(buf, sizeof buf, "%" PRIu64, v);
        return json_string(buf);
}

/* Percent of one core over the interval, to two decimals. */
static double cpu_percent(uint64_t cpu_ns, int64_t interval_ms) {
        if (interval_ms <= 0)
                return 0;
        double p = 100.0 * (double) cpu_ns / ((double) interval_ms * 1e6);
        return (double) (int64_t) (p * 100 + 0.5) / 100;
}

/* ---- GetVmMetrics ----------------------------------------------------------- */

typedef struct MetricsRequest {
        char *vm_id;
        char *from;
        char *to;
        int32_t page_size;
        char *page_token;
} MetricsRequest;

static const FieldSpec metrics_fields[] = {
        { "vm_id", FIELD_STRING, offsetof(MetricsRequest, vm_id) },
        { "from", FIELD_STRING, offsetof(MetricsRequest, from) },
        { "to", FIELD_STRING, offsetof(MetricsRequest, to) },
        { "page_size", FIELD_INT32, offsetof(MetricsRequest, page_size) },
        { "page_token", FIELD_STRING, offsetof(MetricsRequest, page_token) },
};

/* from and to may also be JSON numbers (milliseconds): the request with them
 * as decimal strings, which the decoder takes. A new reference. */
static json_t *times_as_strings(const json_t *in) {
        json_t *copy = json_is_object(in) ? json_copy((json_t *) in) : json_incref((json_t *) in);
        if (!json_is_object(copy))
                return copy;
        static const char *const keys[] = { "from", "to" };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                json_t *v = json_object_get(copy, keys[i]);
                if (json_is_integer(v)) {
                        char buf[24];
                        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                        json_object_set_new(copy, keys[i], json_string(buf));
                }
        }
        return copy;
}

/* Page tokens are "p" + the last sample's time in hex, as ListVms' are. */
static int parse_page_token(const char *t, int64_t *ret) {
        if (isempty(t)) {
                *ret = -1;
                return 0;
        }
        if (t[0] != 'p' || !t[1] || strlen(t) > 17)
                return -EINVAL;
        char *end;
        unsigned long long v = strtoull(t + 1, &end, 16);
        if (*end || v > INT64_MAX)
                return -EINVAL;
        *ret = (int64_t) v;
        return 0;
}

static json_t *sample_json(const VmMetricRow *x) {
        json_t *o = json_pack("{s:o, s:o, s:b, s:o, s:f, s:o, s:o}", "at", time_json(x->at), "intervalMs",
                              u64_json((uint64_t) x->interval_ms), "running", x->running, "cpuNs",
                              u64_json(x->cpu_ns), "cpuUsagePercent", cpu_percent(x->cpu_ns, x->interval_ms),
                              "rssBytes", u64_json(x->rss_bytes), "uptimeMs", u64_json(x->uptime_ms));
        for (int k = 0; o && k < _VM_COUNTER_MAX; k++)
                json_object_set_new(o, vm_counter_info[k].json, u64_json(x->counters[k]));
        return o;
}

static int decode_metrics_request(const json_t *in, MetricsRequest *req, int64_t *ret_from, int64_t *ret_to,
                                  int64_t *ret_after, ConnectError *e) {
        json_t *norm = times_as_strings(in);
        int r = connect_decode(norm, metrics_fields, ELEMENTSOF(metrics_fields), req, e);
        json_decref(norm);
        if (r < 0)
                return r;
        if (isempty(req->vm_id))
                return connect_error(e, CONNECT_INVALID_ARGUMENT, "vm_id: required");
        if (!vm_id_is_valid(req->vm_id))
                return connect_error(e, CONNECT_INVALID_ARGUMENT,
                                     "vm_id: \"%s\" is not a valid id (1-64 of A-Z a-z 0-9 -)", req->vm_id);
        *ret_from = 0;
        *ret_to = INT64_MAX;
        if (!isempty(req->from) && metrics_time_parse(req->from, ret_from) < 0)
                return connect_error(
                        e, CONNECT_INVALID_ARGUMENT,
                        "from: \"%s\" is neither an RFC 3339 time nor milliseconds since the epoch",
                        req->from);
        if (!isempty(req->to) && metrics_time_parse(req->to, ret_to) < 0)
                return connect_error(
                        e, CONNECT_INVALID_ARGUMENT,
                        "to: \"%s\" is neither an RFC 3339 time nor milliseconds since the epoch", req->to);
        if (*ret_to < *ret_from)
                return connect_error(e, CONNECT_INVALID_ARGUMENT, "to: must not be before from");
        if (req->page_size < 0)
                return connect_error(e, CONNECT_INVALID_ARGUMENT, "page_size: must not be negative");
        if (parse_page_token(req->page_token, ret_after) < 0)
                return connect_error(e, CONNECT_INVALID_ARGUMENT,
                                     "page_token: not a token returned by GetVmMetrics (\"%s\")",
                                     req->page_token);
        return 0;
}

int metrics_service_get_vm_metrics(void *userdata, const RpcCaller *caller, const json_t *in, json_t **ret,
                                   ConnectError *e) {
        Manager *m = userdata;
        MetricsRequest req = { 0 };
        int64_t from = 0, to = INT64_MAX, after = -1;
        int r = decode_metrics_request(in, &req, &from, &to, &after, e);
        _cleanup_(vm_row_freep) VmRow *row = NULL;
        if (r >= 0) {
                /* Deleted VMs too: their samples outlive them until retention. */
                r = store_vm_get(m->store, req.vm_id, &row);
                /* Another tenant's VM answers exactly as a missing one. */
                if (r == -ENOENT || (r >= 0 && !rpc_caller_sees(caller, row->customer_id)))
                        r = connect_error(e, CONNECT_NOT_FOUND, "vm \"%s\" not found", req.vm_id);
                else if (r < 0)
                        r = connect_error(e, CONNECT_INTERNAL, "GetVmMetrics: database error: %s",
                                          strerror(-r));
        }
        unsigned limit = req.page_size == 0                 ? METRICS_PAGE_DEFAULT
                         : req.page_size > METRICS_PAGE_MAX ? METRICS_PAGE_MAX
                                                            : (unsigned) req.page_size;
        connect_request_free(metrics_fields, ELEMENTSOF(metrics_fields), &req);
        if (r < 0)
                return r;

        /* No sample predates the VM: start the walk over rounds there. */
        if (from < row->created_at - 1000)
                from = row->created_at - 1000;
        if (after >= from)
                from = after + 1;
        _cleanup_free_ VmMetricRow *rows = NULL;
        size_t n = 0;
        if (from < to) {
                r = store_metrics_query(m->store, row->seq, from, to, limit + 1, &rows, &n);
                if (r < 0)
                        return connect_error(e, r == -EBUSY ? CONNECT_UNAVAILABLE : CONNECT_INTERNAL,
                                             "GetVmMetrics: database error: %s", strerror(-r));
        }
        json_t *samples = json_array();
        for (size_t i = 0; samples && i < n && i < limit; i++)
                json_array_append_new(samples, sample_json(&rows[i]));
        char token[24] = "";
        if (n > limit)
                snprintf(token, sizeof token, "p%" PRIx64, (uint64_t) rows[limit - 1].at);
        *ret = json_pack("{s:s, s:o, s:s}", "vmId", row->id, "samples", samples ? samples : json_array(),
                         "nextPageToken", token);
        return *ret ? 0 : connect_error(e, CONNECT_INTERNAL, "out of memory");
}

/* ---- GetVmInfo -------------------------------------------------------------- */

void metrics_service_add_vm_info(Manager *m, const VmRow *row, json_t *info) {
        assert(m && row && info);
        VmMetricTotals t;
        if (store_metrics_totals_get(m->store, row->seq, &t) < 0)
                return;
        /* Usage "now" only while the sampled VMM is still the VM's VMM. */
        bool live = t.has_last && row->vmm.pid != 0 && row->vmm.pid == t.vmm_pid &&
                    row->vmm.start_time == t.vmm_start_time;
        int64_t now = now_ms();
        uint64_t uptime_ms = live ? t.last.uptime_ms + (uint64_t) (now > t.at ? now - t.at : 0) : 0;
        json_t *o = json_pack("{s:o, s:f, s:o, s:o, s:f, s:o, s:o, s:o, s:o}", "sampledAt", time_json(t.at),
                              "cpuUsagePercent", live ? cpu_percent(t.last.cpu_ns, t.last.interval_ms) : 0.0,
                              "memoryBytes", u64_json(live ? t.last.rss_bytes : 0), "uptimeSeconds",
                              u64_json(uptime_ms / 1000), "cpuSeconds", (double) t.cpu_ns / 1e9,
                              "networkRxBytes", u64_json(t.counters[VM_COUNTER_NET_RX_BYTES]),
                              "networkTxBytes", u64_json(t.counters[VM_COUNTER_NET_TX_BYTES]),
                              "storageReadBytes", u64_json(t.counters[VM_COUNTER_BLOCK_READ_BYTES]),
                              "storageWriteBytes", u64_json(t.counters[VM_COUNTER_BLOCK_WRITE_BYTES]));
        if (o)
                json_object_set_new(info, "metrics", o);
}

/* ---- GET /metrics ------------------------------------------------------------ */

static void per_vm_families(PromWriter *w, const VmMetricTotals *t, size_t n) {
        prom_family(w, "metald_vm_cpu_seconds_total", "counter",
                    "CPU time (user + system) of the VM's VMM processes, over the VM's life.");
        for (size_t i = 0; i < n; i++) {
                const char *labels[] = { "vm_id", t[i].vm_id, "backend", t[i].backend, NULL };
                prom_sample_double(w, "metald_vm_cpu_seconds_total", labels, (double) t[i].cpu_ns / 1e9);
        }
        prom_family(w, "metald_vm_memory_rss_bytes", "gauge",
                    "Resident memory of the VM's VMM process at the last sample (0 when it has none).");
        for (size_t i = 0; i < n; i++) {
                const char *labels[] = { "vm_id", t[i].vm_id, "backend", t[i].backend, NULL };
                prom_sample_u64(w, "metald_vm_memory_rss_bytes", labels, t[i].live ? t[i].rss_bytes : 0);
        }
        for (int k = 0; k < _VM_COUNTER_MAX; k++) {
                prom_family(w, vm_counter_info[k].prometheus, "counter", vm_counter_info[k].help);
                for (size_t i = 0; i < n; i++) {
                        const char *labels[] = { "vm_id", t[i].vm_id, "backend", t[i].backend, NULL };
                        prom_sample_u64(w, vm_counter_info[k].prometheus, labels, t[i].counters[k]);
                }
        }
}

static void api_families(PromWriter *w, const HttpMethodStats *st, size_t n) {
        prom_family(w, "metald_api_requests_total", "counter", "Connect API requests answered, per method.");
        for (size_t i = 0; i < n; i++) {
                const char *labels[] = { "method", st[i].method, NULL };
                prom_sample_u64(w, "metald_api_requests_total", labels, st[i].buckets[HTTP_LATENCY_BUCKETS]);
        }
        prom_family(w, "metald_api_errors_total", "counter",
                    "Connect API requests answered with an error, per method.");
        for (size_t i = 0; i < n; i++) {
                const char *labels[] = { "method", st[i].method, NULL };
                prom_sample_u64(w, "metald_api_errors_total", labels, st[i].errors);
        }
        prom_family(w, "metald_api_request_duration_seconds", "histogram",
                    "Time from a request's arrival to its answer, per method.");
        for (size_t i = 0; i < n; i++) {
                for (size_t b = 0; b <= HTTP_LATENCY_BUCKETS; b++) {
                        char le[32];
                        if (b < HTTP_LATENCY_BUCKETS)
                                snprintf(le, sizeof le, "%g", http_latency_bounds_s[b]);
                        else
                                snprintf(le, sizeof le, "+Inf");
                        const char *labels[] = { "method", st[i].method, "le", le, NULL };
                        prom_sample_u64(w, "metald_api_request_duration_seconds_bucket", labels,
                                        st[i].buckets[b]);
                }
                const char *labels[] = { "method", st[i].method, NULL };
                prom_sample_double(w, "metald_api_request_duration_seconds_sum", labels, st[i].sum_s);
                /* The +Inf bucket, so that _count and it agree even while requests finish. */
                prom_sample_u64(w, "metald_api_request_duration_seconds_count", labels,
                                st[i].buckets[HTTP_LATENCY_BUCKETS]);
        }
}

static void daemon_families(PromWriter *w, Manager *m, const uint64_t counts[_VM_PHASE_MAX]) {
        prom_family(w, "metald_vms", "gauge", "VMs that are not deleted, per observed lifecycle state.");
        for (int p = 0; p < _VM_PHASE_MAX; p++) {
                if (p == VM_PHASE_DELETED)
                        continue;
                const char *labels[] = { "state", vm_phase_to_string((VmPhase) p), NULL };
                prom_sample_u64(w, "metald_vms", labels, counts[p]);
        }
        ReconcilerStats rs = { 0 };
        if (m->reconciler)
                reconciler_get_stats(m->reconciler, &rs);
        prom_family(w, "metald_reconcile_queue_depth", "gauge",
                    "VMs waiting for a reconcile worker (ready now, or waiting for a retry).");
        prom_sample_u64(w, "metald_reconcile_queue_depth", (const char *const[]){ "queue", "ready", NULL },
                        rs.queued);
        prom_sample_u64(w, "metald_reconcile_queue_depth", (const char *const[]){ "queue", "retry", NULL },
                        rs.delayed);
        prom_family(w, "metald_reconcile_in_progress", "gauge", "VMs a reconcile worker is on.");
        prom_sample_u64(w, "metald_reconcile_in_progress", NULL, rs.busy);
        prom_family(w, "metald_reconcile_errors_total", "counter",
                    "Failed reconcile steps and VMM exits recorded as errors since metald started.");
        prom_sample_u64(w, "metald_reconcile_errors_total", NULL, rs.errors);

        SamplerStats ss = { 0 };
        if (m->sampler)
                sampler_get_stats(m->sampler, &ss);
        prom_family(w, "metald_metrics_rounds_total", "counter", "Metrics sampling rounds committed.");
        prom_sample_u64(w, "metald_metrics_rounds_total", NULL, ss.rounds);
        prom_family(w, "metald_metrics_round_failures_total", "counter",
                    "Metrics sampling rounds whose write failed (taken again at the next round).");
        prom_sample_u64(w, "metald_metrics_round_failures_total", NULL, ss.round_failures);
        prom_family(w, "metald_metrics_samples_total", "counter", "VM usage samples committed.");
        prom_sample_u64(w, "metald_metrics_samples_total", NULL, ss.samples);
        prom_family(w, "metald_metrics_backend_errors_total", "counter",
                    "Samples taken without the hypervisor's own counters (it did not answer in time).");
        prom_sample_u64(w, "metald_metrics_backend_errors_total", NULL, ss.backend_errors);
        prom_family(w, "metald_metrics_round_duration_seconds", "gauge",
                    "Duration of the last sampling round, collection and write.");
        prom_sample_double(w, "metald_metrics_round_duration_seconds", NULL,
                           (double) ss.last_round_us / 1e6);
}

int metrics_service_prometheus(void *userdata, char **ret_body, const char **ret_content_type) {
        Manager *m = userdata;
        assert(m && ret_body && ret_content_type);
        uint64_t counts[_VM_PHASE_MAX];
        int r = store_vm_count_by_phase(m->store, counts);
        if (r < 0)
                return r;
        VmMetricTotals *t = NULL;
        size_t n = 0;
        r = store_metrics_totals_list(m->store, &t, &n);
        if (r < 0)
                return r;
        HttpMethodStats *st = NULL;
        size_t n_st = 0;
        if (m->http && http_server_stats(m->http, &st, &n_st) < 0)
                n_st = 0;

        PromWriter w = { 0 };
        per_vm_families(&w, t, n);
        daemon_families(&w, m, counts);
        api_families(&w, st, n_st);
        vm_metric_totals_array_free(t, n);
        free(st);
        r = prom_finish(&w, ret_body);
        if (r < 0)
                return r;
        *ret_content_type = PROMETHEUS_CONTENT_TYPE;
        return 0;
}
