/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-metrics: sampling rounds for 10,000 simulated VMs written the way the
 * sampler writes them (store_metrics_write_round: samples, totals and
 * cursors, hourly rollups, retention trimming, one transaction per round,
 * synchronous=FULL), while clients call GetVmInfo over HTTP on the real
 * handlers. Prints each figure beside its limit:
 *   - samples written per second (limit: at least 50,000),
 *   - database bytes per VM-day: raw samples at a 10 s interval, and hourly
 *     rollups (limit: raw at most 1 MiB per VM-day, so 24 h of raw samples
 *     for 10,000 VMs fit in 10 GiB),
 *   - GetVmInfo p99 while rounds are written, and without (limit: 50 ms).
 *
 * Built by meson, not run by `meson test`:
 *   build/tests/bench-metrics [VMS [ROUNDS]]     (default 10000 30: 29 measured alone,
 *                                                 then 10 under GetVmInfo load)
 * BENCH_DIR chooses where the database goes (default /var/tmp; not a tmpfs,
 * so that fsync costs what it costs).
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>

#include "api/http-server.h"
#include "manager.h"
#include "metrics/firecracker-metrics.h"
#include "store/metrics.h"

#define LIMIT_SAMPLES_PER_S 50000.0
#define LIMIT_RAW_BYTES_PER_VM_DAY (1024.0 * 1024)
#define LIMIT_P99_MS 50.0
#define CLIENTS 2
#define LAT_MAX 200000

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state;
}

static void die(const char *what, int r) {
        fprintf(stderr, "bench-metrics: %s: %s\n", what, strerror(r < 0 ? -r : r));
        exit(1);
}

/* 10,000 VM rows in one transaction, straight into SQLite (the API would
 * take one fsync each). Each looks like a running Firecracker VM. */
static void seed_vms(const char *db_path, unsigned n) {
        sqlite3 *db;
        if (sqlite3_open(db_path, &db) != SQLITE_OK)
                die("open", EIO);
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        sqlite3_stmt *st;
        sqlite3_prepare_v2(
                db,
                "INSERT INTO vms (id, backend, config_json, desired_state, observed_state, vmm_pid, "
                "vmm_start_time, socket_path, run_dir, created_at, updated_at) "
                "VALUES (?, 'firecracker', '{\"cpu\":{\"vcpuCount\":1}}', 'running', 'running', ?, ?, "
                "'/nonexistent/api.sock', '/nonexistent', ?, ?)",
                -1, &st, NULL);
        int64_t now = now_ms();
        for (unsigned i = 0; i < n; i++) {
                char id[40];
                snprintf(id, sizeof id, "vm-bench%018u", i);
                sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int64(st, 2, 100000 + i);
                sqlite3_bind_int64(st, 3, 5000 + i);
                sqlite3_bind_int64(st, 4, now - 86400000);
                sqlite3_bind_int64(st, 5, now);
                if (sqlite3_step(st) != SQLITE_DONE)
                        die("seeding vms", EIO);
                sqlite3_reset(st);
        }
        sqlite3_finalize(st);
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        sqlite3_close(db);
}

/* What a 10 s sample of a busy-ish VM looks like: varied, realistic magnitudes. */
static void fill_round(VmMetricSample *x, unsigned n, int64_t at, unsigned round) {
        for (unsigned i = 0; i < n; i++) {
                VmMetricSample *s = &x[i];
                uint64_t cpu = rnd() % 4000000000ull; /* up to 40 % of a core over 10 s */
                *s = (VmMetricSample){
                        .vm_seq = (int64_t) i + 1,
                        .interval_ms = 10000 + (int64_t) (rnd() % 40),
                        .running = true,
                        .cpu_ns = cpu,
                        .rss_bytes = (128ull << 20) + (rnd() % (384ull << 20)),
                        .uptime_ms = 86400000ull + (uint64_t) round * 10000,
                };
                s->counters[VM_COUNTER_BLOCK_READ_OPS] = rnd() % 400;
                s->counters[VM_COUNTER_BLOCK_READ_BYTES] = s->counters[VM_COUNTER_BLOCK_READ_OPS] * 4096;
                s->counters[VM_COUNTER_BLOCK_WRITE_OPS] = rnd() % 100;
                s->counters[VM_COUNTER_BLOCK_WRITE_BYTES] = s->counters[VM_COUNTER_BLOCK_WRITE_OPS] * 4096;
                s->counters[VM_COUNTER_NET_RX_PACKETS] = rnd() % 2000;
                s->counters[VM_COUNTER_NET_RX_BYTES] = s->counters[VM_COUNTER_NET_RX_PACKETS] * 600;
                s->counters[VM_COUNTER_NET_TX_PACKETS] = rnd() % 1500;
                s->counters[VM_COUNTER_NET_TX_BYTES] = s->counters[VM_COUNTER_NET_TX_PACKETS] * 400;
                s->counters[VM_COUNTER_VCPU_EXITS] = rnd() % 50000;
                s->cursor = (VmMetricCursor){
                        .present = true,
                        .at = at,
                        .vmm_pid = 100000 + (pid_t) i,
                        .vmm_start_time = 5000 + i,
                        .vmm_cpu_ns = (uint64_t) round * 2000000000ull + cpu,
                        .source = { .pid = 100000 + (pid_t) i,
                                    .start_time = 5000 + i,
                                    .offset = (uint64_t) round * 6000 + 6000 },
                };
        }
}

/* ---- GetVmInfo clients --------------------------------------------------------------------- */

typedef struct Clients {
        unsigned port;
        unsigned n_vms;
        atomic_bool stop;
        atomic_bool in_round; /* a round is being written */
        pthread_mutex_t lock;
        double lat_round[LAT_MAX], lat_idle[LAT_MAX]; /* ms */
        size_t n_round, n_idle;
        atomic_uint_fast64_t failures;
} Clients;

static size_t discard(char *p, size_t sz, size_t n, void *u) {
        return sz * n;
}

static void *client_main(void *userdata) {
        Clients *c = userdata;
        CURL *curl = curl_easy_init();
        char url[128];
        snprintf(url, sizeof url, "http://127.0.0.1:%u" VM_SERVICE_PREFIX "GetVmInfo", c->port);
        struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
        uint64_t seed = (uint64_t) (uintptr_t) &curl;
        while (!atomic_load(&c->stop)) {
                seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                char body[80];
                snprintf(body, sizeof body, "{\"vm_id\":\"vm-bench%018u\"}",
                         (unsigned) ((seed >> 33) % c->n_vms));
                curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
                bool during = atomic_load(&c->in_round);
                uint64_t t0 = now_mono_us();
                CURLcode rc = curl_easy_perform(curl);
                double ms = (double) (now_mono_us() - t0) / 1000;
                long status = 0;
                curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
                if (rc != CURLE_OK || status != 200) {
                        atomic_fetch_add(&c->failures, 1);
                        continue;
                }
                during = during || atomic_load(&c->in_round);
                pthread_mutex_lock(&c->lock);
                if (during && c->n_round < LAT_MAX)
                        c->lat_round[c->n_round++] = ms;
                else if (!during && c->n_idle < LAT_MAX)
                        c->lat_idle[c->n_idle++] = ms;
                pthread_mutex_unlock(&c->lock);
        }
        curl_slist_free_all(h);
        curl_easy_cleanup(curl);
        return NULL;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p) {
        if (n == 0)
                return 0;
        qsort(v, n, sizeof *v, cmp_double);
        size_t i = (size_t) (p * (double) (n - 1) + 0.5);
        return v[i];
}

/* Bytes and rows of one table (its B-tree), from dbstat. */
static void table_size(const char *db_path, const char *table, double *ret_bytes, double *ret_rows) {
        sqlite3 *db;
        sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL);
        sqlite3_stmt *st;
        char *sql = strdup_printf("SELECT (SELECT sum(pgsize) FROM dbstat WHERE name = '%s'), "
                                  "(SELECT count(*) FROM %s)",
                                  table, table);
        *ret_bytes = *ret_rows = 0;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
                *ret_bytes = sqlite3_column_double(st, 0);
                *ret_rows = sqlite3_column_double(st, 1);
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        free(sql);
}

static const char *verdict(bool ok) {
        return ok ? "ok" : "OVER THE LIMIT";
}

/* A Firecracker metrics line of the usual size: every group, two drives, one NIC. */
static char *fc_line(void) {
        static const char *const groups[] = { "api_server",
                                              "balloon",
                                              "block",
                                              "block_rootfs",
                                              "block_data",
                                              "deprecated_api",
                                              "entropy",
                                              "get_api_requests",
                                              "i8042",
                                              "interrupts",
                                              "latencies_us",
                                              "logger",
                                              "mmds",
                                              "net",
                                              "net_eth0",
                                              "patch_api_requests",
                                              "put_api_requests",
                                              "rtc",
                                              "seccomp",
                                              "signals",
                                              "uart",
                                              "vcpu",
                                              "vmm",
                                              "vsock" };
        char *line = strdup("{\"utc_timestamp_ms\":1700000000000");
        for (size_t g = 0; g < ELEMENTSOF(groups); g++) {
                char *n = strdup_printf(
                        "%s,\"%s\":{\"read_bytes\":%u,\"write_bytes\":%u,\"read_count\":7,"
                        "\"write_count\":3,\"rx_bytes_count\":100,\"tx_bytes_count\":200,"
                        "\"rx_packets_count\":1,\"tx_packets_count\":2,\"exit_io_in\":40,"
                        "\"exit_io_out\":40,\"exit_mmio_read\":25,\"exit_mmio_write\":25,"
                        "\"activate_fails\":0,\"cfg_fails\":0,\"event_fails\":0,"
                        "\"queue_event_count\":12,\"read_agg\":{\"min_us\":3,\"max_us\":90,"
                        "\"sum_us\":400},\"write_agg\":{\"min_us\":3,\"max_us\":90,\"sum_us\":400}}",
                        line, groups[g], 4096 * (unsigned) g, 512 * (unsigned) g);
                free(line);
                line = n;
        }
        char *n = strdup_printf("%s}\n", line);
        free(line);
        return n;
}

/* Lines parsed per second: a round reads at least one line per Firecracker VM. */
static double fc_parse_rate(size_t *ret_line_bytes) {
        char *line = fc_line();
        size_t len = strlen(line), n = 2000;
        char *buf = malloc(len * n);
        for (size_t i = 0; i < n; i++)
                memcpy(buf + i * len, line, len);
        uint64_t acc[_VM_COUNTER_MAX] = { 0 };
        uint64_t t = now_mono_us();
        size_t used = fc_metrics_consume(buf, len * n, acc, NULL);
        double s = (double) (now_mono_us() - t) / 1e6;
        if (used != len * n || acc[VM_COUNTER_VCPU_EXITS] != 130 * n)
                die("parsing Firecracker lines", EINVAL);
        free(buf);
        free(line);
        *ret_line_bytes = len;
        return (double) n / s;
}

int main(int argc, char *argv[]) {
        unsigned n_vms = argc > 1 ? (unsigned) strtoul(argv[1], NULL, 10) : 10000;
        unsigned rounds = argc > 2 ? (unsigned) strtoul(argv[2], NULL, 10) : 30;
        if (n_vms == 0 || rounds < 2)
                die("usage: bench-metrics [VMS [ROUNDS >= 2]]", EINVAL);
        curl_global_init(CURL_GLOBAL_DEFAULT);

        const char *base = getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "/var/tmp";
        char *dir = strdup_printf("%s/bench-metrics-XXXXXX", base);
        if (!mkdtemp(dir))
                die("mkdtemp", errno);
        char *db_path = strdup_printf("%s/metald.db", dir);
        Store *store = NULL;
        char *err = NULL;
        int r = store_open(db_path, &store, &err);
        if (r < 0)
                die(err ? err : "store_open", r);
        seed_vms(db_path, n_vms);

        /* The real GetVmInfo handler behind the real HTTP server. */
        Manager *m = calloc(1, sizeof *m);
        m->store = store;
        HttpServerConfig hc = {
                .listen_address = "127.0.0.1:0",
                .listen_fd = -1,
                .prefix = VM_SERVICE_PREFIX,
                .methods = vm_service_methods,
                .n_methods = vm_service_n_methods,
                .userdata = m,
        };
        r = http_server_start(&hc, &m->http, &err);
        if (r < 0)
                die(err ? err : "http_server_start", r);
        static Clients clients;
        clients.port = http_server_port(m->http);
        clients.n_vms = n_vms;
        pthread_mutex_init(&clients.lock, NULL);

        VmMetricSample *samples = calloc(n_vms, sizeof *samples);
        /* 10 s apart, crossing an hour boundary halfway (new rollup rows). */
        int64_t now = now_ms();
        int64_t hour = now - now % 3600000;
        int64_t t0_at = hour - (int64_t) (rounds / 2) * 10000 - 5000;
        /* Steady state: raw samples are kept for RETAIN rounds, so once that many
         * exist each round also trims the oldest round, as at the retention limit. */
        enum { RETAIN = 5 };
        VmMetricTrim trim = { .rollups_before = t0_at - 90 * INT64_C(86400000),
                              .max_rows = 2 * n_vms + 1000 };
        /* Round 0 creates every totals row; not measured (first sight of each VM). */
        fill_round(samples, n_vms, t0_at, 0);
        trim.samples_before = t0_at - RETAIN * 10000;
        r = store_metrics_write_round(store, t0_at, 0, samples, n_vms, &trim, NULL);
        if (r < 0)
                die("first round", r);
        uint64_t trimmed_total = 0;

        /* Throughput alone: nothing else runs (the machine has 2 cores). */
        double write_s = 0, worst_s = 0;
        unsigned k = 1;
        for (; k < rounds; k++) {
                int64_t at = t0_at + (int64_t) k * 10000;
                fill_round(samples, n_vms, at, k);
                trim.samples_before = at - RETAIN * 10000 + 1;
                VmMetricTrimmed tr = { 0 };
                uint64_t t = now_mono_us();
                r = store_metrics_write_round(store, at, 0, samples, n_vms, &trim, &tr);
                double s = (double) (now_mono_us() - t) / 1e6;
                trimmed_total += tr.samples;
                if (r < 0)
                        die("round", r);
                write_s += s;
                if (s > worst_s)
                        worst_s = s;
        }

        /* Then GetVmInfo latency from 2 clients, between rounds and during rounds. */
        pthread_t tids[CLIENTS];
        for (int i = 0; i < CLIENTS; i++)
                pthread_create(&tids[i], NULL, client_main, &clients);
        usleep(500000);
        double busy_write_s = 0;
        unsigned busy_rounds = 10;
        for (unsigned j = 0; j < busy_rounds; j++, k++) {
                int64_t at = t0_at + (int64_t) k * 10000;
                fill_round(samples, n_vms, at, k);
                trim.samples_before = at - RETAIN * 10000 + 1;
                atomic_store(&clients.in_round, true);
                uint64_t t = now_mono_us();
                r = store_metrics_write_round(store, at, 0, samples, n_vms, &trim, NULL);
                busy_write_s += (double) (now_mono_us() - t) / 1e6;
                atomic_store(&clients.in_round, false);
                if (r < 0)
                        die("round", r);
                usleep(200000);
        }
        rounds = k;

        usleep(300000);
        atomic_store(&clients.stop, true);
        for (int i = 0; i < CLIENTS; i++)
                pthread_join(tids[i], NULL);

        /* Sizes, after a checkpoint so that the WAL is in the database. */
        sqlite3 *db;
        sqlite3_open(db_path, &db);
        sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
        sqlite3_close(db);
        double s_bytes, s_rows, h_bytes, h_rows, t_bytes, t_rows;
        table_size(db_path, "vm_metric_samples", &s_bytes, &s_rows);
        table_size(db_path, "vm_usage_hourly", &h_bytes, &h_rows);
        table_size(db_path, "vm_metric_totals", &t_bytes, &t_rows);
        double raw_per_vm_day = s_bytes / s_rows * 8640; /* one sample per 10 s */
        double rollup_per_vm_day = h_bytes / h_rows * 24;

        unsigned measured = rounds - busy_rounds - 1;
        double rate = (double) measured * n_vms / write_s;
        double busy_rate = (double) busy_rounds * n_vms / busy_write_s;
        double p99_round = percentile(clients.lat_round, clients.n_round, 0.99);
        double p50_round = percentile(clients.lat_round, clients.n_round, 0.50);
        double p99_idle = percentile(clients.lat_idle, clients.n_idle, 0.99);
        double p50_idle = percentile(clients.lat_idle, clients.n_idle, 0.50);

        printf("bench-metrics: %u VMs, %u rounds alone + %u under GetVmInfo load, each inserting %u "
               "samples and trimming a round's worth, synchronous=FULL, %s\n",
               n_vms, measured, busy_rounds, n_vms, dir);
        printf("  %-44s %12.0f   limit >= %.0f   %s\n", "samples/s (one transaction per round)", rate,
               LIMIT_SAMPLES_PER_S, verdict(rate >= LIMIT_SAMPLES_PER_S));
        printf("  %-44s %12.3f s (worst %.3f s)\n", "round, mean", write_s / measured, worst_s);
        printf("  %-44s %12.0f\n", "samples/s with 2 GetVmInfo clients running", busy_rate);
        printf("  %-44s %12.0f\n", "samples trimmed per round, mean", (double) trimmed_total / measured);
        printf("  %-44s %12.1f B\n", "raw sample, on disk", s_bytes / s_rows);
        printf("  %-44s %12.0f B   limit <= %.0f   %s\n", "raw samples per VM-day (10 s interval)",
               raw_per_vm_day, LIMIT_RAW_BYTES_PER_VM_DAY,
               verdict(raw_per_vm_day <= LIMIT_RAW_BYTES_PER_VM_DAY));
        printf("  %-44s %12.0f B (%.1f B a row)\n", "hourly rollups per VM-day", rollup_per_vm_day,
               h_bytes / h_rows);
        printf("  %-44s %12.0f B\n", "totals and cursors per VM", t_bytes / t_rows);
        printf("  %-44s %12.2f GiB\n", "10,000 VMs: 24 h raw + 90 d rollups",
               (10000 * (raw_per_vm_day + 90 * rollup_per_vm_day + t_bytes / t_rows)) / (1 << 30));
        printf("  %-44s %12.2f ms (p50 %.2f ms, %zu calls)   limit <= %.0f   %s\n",
               "GetVmInfo p99 during rounds", p99_round, p50_round, clients.n_round, LIMIT_P99_MS,
               verdict(p99_round <= LIMIT_P99_MS));
        printf("  %-44s %12.2f ms (p50 %.2f ms, %zu calls)\n", "GetVmInfo p99 between rounds", p99_idle,
               p50_idle, clients.n_idle);
        size_t line_bytes;
        double lines = fc_parse_rate(&line_bytes);
        printf("  %-44s %12.0f (%zu-byte lines: %.2f s of one core for 10,000 VMs)\n",
               "Firecracker metrics lines parsed/s", lines, line_bytes, 10000 / lines);
        if (atomic_load(&clients.failures))
                printf("  GetVmInfo failures: %" PRIu64 "\n", (uint64_t) atomic_load(&clients.failures));

        m->http = http_server_stop(m->http);
        store_free(store);
        free(m);
        free(samples);
        rm_rf(dir);
        free(dir);
        free(db_path);
        curl_global_cleanup();
        bool ok = rate >= LIMIT_SAMPLES_PER_S && raw_per_vm_day <= LIMIT_RAW_BYTES_PER_VM_DAY &&
                  p99_round <= LIMIT_P99_MS && !atomic_load(&clients.failures);
        return ok ? 0 : 1;
}
