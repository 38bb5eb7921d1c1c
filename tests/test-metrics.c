/* SPDX-License-Identifier: Apache-2.0 */
/* Metrics: the pure parsers (/proc, Firecracker metrics lines, Cloud
 * Hypervisor vm.counters, RFC 3339 times, Prometheus text), the incremental
 * metrics.json reader, the collectors' resynchronisation rules, and the
 * store's round write, rollups, totals, cursors, paging and trimming. */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "api/metrics-service.h"
#include "hv/vmm-process.h"
#include "metrics/cloud-hypervisor-counters.h"
#include "metrics/collector.h"
#include "metrics/firecracker-metrics.h"
#include "metrics/proc.h"
#include "metrics/prometheus.h"
#include "metrics/sampler.h"
#include "store/metrics.h"
#include "test.h"

static char dir[] = "/tmp/test-metrics-XXXXXX";

/* Use at least ms of CPU time (the kernel counts it in 10 ms ticks). */
static void burn_cpu_ms(unsigned ms) {
        struct timespec a, b;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
        do
                clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
        while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < (long) ms);
}

static void test_proc_parsers(void) {
        ProcStat st;
        CHECK(proc_stat_parse(
                      "1234 (firecracker) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 "
                      "987654 12345678 456 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0",
                      &st) == 0);
        CHECK(st.state == 'S');
        CHECK_INTEQ(st.utime, 250);
        CHECK_INTEQ(st.stime, 75);
        CHECK_INTEQ(st.start_time, 987654);
        /* A command name with blanks and parentheses: fields count after the last ')'. */
        CHECK(proc_stat_parse("77 (a) b) (c) R 1 77 77 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0 4242 0 0", &st) == 0);
        CHECK(st.state == 'R' && st.utime == 7 && st.stime == 8 && st.start_time == 4242);
        CHECK(proc_stat_parse("", &st) == -EINVAL);
        CHECK(proc_stat_parse("1 (x) S 1 2 3", &st) == -EINVAL);
        CHECK(proc_stat_parse("1 (x) S 1 1 1 0 -1 0 0 0 0 0 x 8 0 0 20 0 1 0 4242", &st) == -EINVAL);
        CHECK(proc_stat_parse("1 x S 1 1 1 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0 4242", &st) == -EINVAL);

        uint64_t pages;
        CHECK(proc_statm_parse("5000 1234 300 10 0 400 0\n", &pages) == 0);
        CHECK_INTEQ(pages, 1234);
        CHECK(proc_statm_parse("5000\n", &pages) == -EINVAL);
        CHECK(proc_statm_parse("a b", &pages) == -EINVAL);

        /* Our own process, and a start time that is not ours. */
        uint64_t start;
        CHECK(vmm_pid_start_time(getpid(), &start) == 0);
        ProcUsage u;
        burn_cpu_ms(30);
        CHECK(proc_usage_read(getpid(), start, &u) == 0);
        CHECK(u.rss_bytes > 1 << 20);
        CHECK(u.cpu_ns > 0);
        CHECK(proc_usage_read(getpid(), start + 1, &u) == -ESRCH);
        CHECK(proc_usage_read(0, 0, &u) == -ESRCH);
}

/* One Firecracker-shaped metrics line with the given deltas. */
static char *fc_line(unsigned rb, unsigned wb, unsigned rc, unsigned wc, unsigned exits, unsigned rx) {
        return strdup_printf(
                "{\"utc_timestamp_ms\":1700000000000,\"api_server\":{\"process_startup_time_us\":9},"
                "\"block\":{\"read_bytes\":%u,\"write_bytes\":%u,\"read_count\":%u,\"write_count\":%u,"
                "\"read_agg\":{\"min_us\":3,\"max_us\":9,\"sum_us\":40}},"
                "\"block_rootfs\":{\"read_bytes\":999999,\"write_bytes\":999999},"
                "\"net\":{\"rx_bytes_count\":%u,\"tx_bytes_count\":2,\"rx_packets_count\":3,"
                "\"tx_packets_count\":4},"
                "\"vcpu\":{\"exit_io_in\":%u,\"exit_io_out\":1,\"exit_mmio_read\":1,\"exit_mmio_write\":1,"
                "\"exit_io_in_agg\":{\"min_us\":1}},\"vmm\":{\"panic_count\":0}}\n",
                rb, wb, rc, wc, rx, exits);
}

static void test_fc_parser(void) {
        uint64_t acc[_VM_COUNTER_MAX] = { 0 };
        char *l1 = fc_line(4096, 8192, 1, 2, 10, 100);
        CHECK(fc_metrics_line_add(l1, strlen(l1) - 1, acc) == 0);
        CHECK_INTEQ(acc[VM_COUNTER_BLOCK_READ_BYTES], 4096); /* the aggregate, not block_rootfs */
        CHECK_INTEQ(acc[VM_COUNTER_BLOCK_WRITE_BYTES], 8192);
        CHECK_INTEQ(acc[VM_COUNTER_BLOCK_READ_OPS], 1);
        CHECK_INTEQ(acc[VM_COUNTER_BLOCK_WRITE_OPS], 2);
        CHECK_INTEQ(acc[VM_COUNTER_NET_RX_BYTES], 100);
        CHECK_INTEQ(acc[VM_COUNTER_NET_TX_BYTES], 2);
        CHECK_INTEQ(acc[VM_COUNTER_NET_RX_PACKETS], 3);
        CHECK_INTEQ(acc[VM_COUNTER_NET_TX_PACKETS], 4);
        CHECK_INTEQ(acc[VM_COUNTER_VCPU_EXITS], 13);
        /* Missing groups are zeros; non-objects are refused. */
        CHECK(fc_metrics_line_add("{\"block\":{\"read_bytes\":5}}", 26, acc) == 0);
        CHECK_INTEQ(acc[VM_COUNTER_BLOCK_READ_BYTES], 4101);
        CHECK(fc_metrics_line_add("[1]", 3, acc) == -EINVAL);
        CHECK(fc_metrics_line_add("{\"block\":", 9, acc) == -EINVAL);
        CHECK_INTEQ(acc[VM_COUNTER_BLOCK_READ_BYTES], 4101);

        /* The top-level walk: strings holding braces, quotes and escapes, arrays,
         * white space, groups that are not objects; and what is not one object. */
        memset(acc, 0, sizeof acc);
        const char *odd =
                " { \"x\" : \"}{\\\"]\" , \"arr\":[1,{\"block\":{\"read_bytes\":1000}},[]],"
                "\"blo\\\"ck\":{\"read_bytes\":1000}, \"net\" : 5, \"vcpu\":{\"exit_io_in\":2,"
                "\"exit_io_in_agg\":{\"min_us\":1}}, \"block\" :\t{ \"read_bytes\" : 7 , \"x\":\"}\" } } \r";
        CHECK(fc_metrics_line_add(odd, strlen(odd), acc) == 0);
        CHECK_INTEQ(acc[VM_COUNTER_BLOCK_READ_BYTES], 7);
        CHECK_INTEQ(acc[VM_COUNTER_VCPU_EXITS], 2);
        CHECK(fc_metrics_line_add("{}", 2, acc) == 0);
        const char *bad_lines[] = { "",
                                    "x",
                                    "{",
                                    "{\"a\"}",
                                    "{\"a\":}",
                                    "{\"a\":1,}",
                                    "{\"a\":1} x",
                                    "{\"a\":[1}",
                                    "{\"a\":{\"b\":1]}",
                                    "{\"block\":{\"read_bytes\":}}",
                                    "{\"a\":\"unterminated}",
                                    "{\"a\":1 \"b\":2}",
                                    "[{\"block\":{}}]" };
        for (size_t i = 0; i < ELEMENTSOF(bad_lines); i++) {
                CHECK(fc_metrics_line_add(bad_lines[i], strlen(bad_lines[i]), acc) == -EINVAL);
        }
        CHECK_INTEQ(acc[VM_COUNTER_BLOCK_READ_BYTES], 7);
        memset(acc, 0, sizeof acc);
        CHECK(fc_metrics_line_add(l1, strlen(l1) - 1, acc) == 0);
        CHECK(fc_metrics_line_add("{\"block\":{\"read_bytes\":5}}", 26, acc) == 0);

        /* Complete lines only; a bad line is skipped and counted; blank lines are nothing. */
        char *l2 = fc_line(1, 1, 1, 1, 1, 1);
        char *buf = strdup_printf("%s\n%sgarbage\n%s{\"block\":{\"read_bytes\":7", l1, l2, l1);
        uint64_t sum[_VM_COUNTER_MAX] = { 0 };
        unsigned bad = 0;
        size_t used = fc_metrics_consume(buf, strlen(buf), sum, &bad);
        CHECK_INTEQ(used, strlen(buf) - strlen("{\"block\":{\"read_bytes\":7"));
        CHECK_INTEQ(bad, 1);
        CHECK_INTEQ(sum[VM_COUNTER_BLOCK_READ_BYTES], 4096 * 2 + 1);
        CHECK_INTEQ(fc_metrics_consume("no newline", 10, sum, &bad), 0);
        free(buf);
        free(l1);
        free(l2);
}

static void append_file(const char *path, const char *text) {
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        CHECK(fd >= 0);
        CHECK(loop_write(fd, text, strlen(text)) == 0);
        close(fd);
}

static void test_fc_file(void) {
        char *path = strdup_printf("%s/metrics.json", dir);
        uint64_t off = 0, acc[_VM_COUNTER_MAX] = { 0 };
        CHECK(fc_metrics_read_file(path, &off, 1 << 20, acc, NULL) == -ENOENT);

        char *l = fc_line(100, 0, 1, 0, 0, 0);
        size_t len = strlen(l);
        append_file(path, l);
        append_file(path, l);
        append_file(path, "{\"block\":{\"read_bytes\":1"); /* a line still being written */
        CHECK(fc_metrics_read_file(path, &off, 1 << 20, acc, NULL) == 0);
        CHECK_INTEQ(off, 2 * len);
        CHECK_INTEQ(acc[VM_COUNTER_BLOCK_READ_BYTES], 200);
        /* Nothing new: nothing counted, the offset stays. */
        CHECK(fc_metrics_read_file(path, &off, 1 << 20, acc, NULL) == 0);
        CHECK_INTEQ(off, 2 * len);
        CHECK_INTEQ(acc[VM_COUNTER_BLOCK_READ_BYTES], 200);
        /* The line completes. */
        append_file(path, "000}}\n");
        CHECK(fc_metrics_read_file(path, &off, 1 << 20, acc, NULL) == 0);
        CHECK_INTEQ(acc[VM_COUNTER_BLOCK_READ_BYTES], 200 + 1000);
        CHECK_INTEQ(off, 2 * len + strlen("{\"block\":{\"read_bytes\":1000}}\n"));

        /* max_bytes: a call stops after that much (whole lines), the rest comes later. */
        append_file(path, l);
        append_file(path, l);
        uint64_t o2 = 0, a2[_VM_COUNTER_MAX] = { 0 };
        CHECK(fc_metrics_read_file(path, &o2, 1, a2, NULL) == 0);
        CHECK(o2 > 0);
        CHECK(fc_metrics_read_file(path, &o2, 1 << 20, a2, NULL) == 0);
        CHECK_INTEQ(a2[VM_COUNTER_BLOCK_READ_BYTES], 4 * 100 + 1000);

        /* A new VMM truncated the file: shorter than our offset, read from 0. */
        CHECK(truncate(path, 0) == 0);
        append_file(path, l);
        memset(acc, 0, sizeof acc);
        CHECK(fc_metrics_read_file(path, &off, 1 << 20, acc, NULL) == 0);
        CHECK_INTEQ(off, len);
        CHECK_INTEQ(acc[VM_COUNTER_BLOCK_READ_BYTES], 100);

        /* Never a FIFO. */
        char *fifo = strdup_printf("%s/fifo", dir);
        CHECK(mkfifo(fifo, 0600) == 0);
        off = 0;
        CHECK(fc_metrics_read_file(fifo, &off, 1 << 20, acc, NULL) == -EBADF);
        unlink(fifo);
        free(fifo);
        free(l);
        free(path);
}

static void test_fc_collector_resync(void) {
        /* No VMM answers on this socket, so FlushMetrics fails: the file may be
         * read only when the cursor already belongs to this VMM. */
        char *run = strdup_printf("%s/fcvm", dir);
        CHECK(mkdir(run, 0700) == 0);
        char *path = strdup_printf("%s/metrics.json", run);
        char *l = fc_line(10, 20, 1, 2, 3, 0);
        append_file(path, l);
        VmMetricTarget t = { .vm_seq = 1,
                             .vm_id = (char *) "vm-a",
                             .backend = (char *) "firecracker",
                             .run_dir = run,
                             .vmm = { .pid = 4242, .start_time = 77 },
                             .observed = VM_PHASE_RUNNING };
        snprintf(t.vmm.socket_path, sizeof t.vmm.socket_path, "%s/api.sock", run);
        MetricsCollectContext ctx = { .api_timeout_ms = 200 };
        VmMetricSource src = { .pid = 4242, .start_time = 76, .offset = 5 }; /* another VMM's */
        uint64_t d[_VM_COUNTER_MAX] = { 0 };
        CHECK(metrics_collector_firecracker.collect(&ctx, &t, &src, d) < 0);
        CHECK_INTEQ(src.offset, 5);
        CHECK_INTEQ(d[VM_COUNTER_BLOCK_READ_BYTES], 0);

        src = (VmMetricSource){ .pid = 4242, .start_time = 77, .offset = 0 };
        CHECK(metrics_collector_firecracker.collect(&ctx, &t, &src, d) == 0);
        CHECK_INTEQ(src.offset, strlen(l));
        CHECK_INTEQ(d[VM_COUNTER_BLOCK_READ_BYTES], 10);
        CHECK_INTEQ(d[VM_COUNTER_VCPU_EXITS], 6);

        /* Once committed, consumed MiBs are punched out: same size, fewer blocks,
         * zeros before the offset, the lines after it intact. */
        char *many = NULL;
        for (int i = 0; i < 64; i++) {
                char *nm = strdup_printf("%s%s", many ? many : "", l);
                free(many);
                many = nm;
        }
        for (int i = 0; i < 64; i++)
                append_file(path, many); /* 4096 lines */
        free(many);
        append_file(path, "{\"block\":{\"read_bytes\":1}}\n");
        struct stat before_st, after_st;
        CHECK(stat(path, &before_st) == 0);
        uint64_t consumed = (uint64_t) before_st.st_size - strlen("{\"block\":{\"read_bytes\":1}}\n");
        CHECK(consumed > (1u << 20));
        VmMetricSource done = { .pid = 4242, .start_time = 77, .offset = consumed };
        metrics_collector_firecracker.committed(&t, &src, &done);
        CHECK(stat(path, &after_st) == 0);
        CHECK_INTEQ(after_st.st_size, before_st.st_size);
        CHECK(after_st.st_blocks < before_st.st_blocks);
        char *text = NULL;
        size_t text_size = 0;
        CHECK(read_full_file(path, 8u << 20, &text, &text_size) == 0);
        bool zeros = text != NULL;
        for (uint64_t i = 0; zeros && i < consumed; i++)
                zeros = text[i] == 0;
        CHECK(zeros);
        free(text);
        uint64_t off = consumed;
        memset(d, 0, sizeof d);
        CHECK(fc_metrics_read_file(path, &off, 1 << 20, d, NULL) == 0);
        CHECK_INTEQ(d[VM_COUNTER_BLOCK_READ_BYTES], 1);
        CHECK_INTEQ(off, after_st.st_size);
        /* Not when less than another MiB was consumed, nor for another VMM's cursor. */
        struct stat again;
        VmMetricSource small = { .pid = 4242, .start_time = 77, .offset = consumed + 10 };
        metrics_collector_firecracker.committed(&t, &done, &small);
        VmMetricSource other = { .pid = 1, .start_time = 2, .offset = consumed };
        metrics_collector_firecracker.committed(&t, &src, &other);
        CHECK(stat(path, &again) == 0 && again.st_blocks == after_st.st_blocks);

        CHECK(metrics_collector_find("firecracker") == &metrics_collector_firecracker);
        CHECK(metrics_collector_find("cloud-hypervisor") == &metrics_collector_cloud_hypervisor);
        CHECK(metrics_collector_find("qemu") && !metrics_collector_find("qemu")->collect);
        CHECK(!metrics_collector_find("nope"));
        free(l);
        free(path);
        free(run);
}

static void test_ch_parser(void) {
        /* As chsim (and Cloud Hypervisor) answer vm.counters. */
        const char *body =
                "{\"rootfs\":{\"read_bytes\":393216,\"write_bytes\":4096,\"read_ops\":48,\"write_ops\":1,"
                "\"read_latency_min\":11,\"read_latency_max\":930,\"read_latency_avg\":84},"
                "\"disk1\":{\"read_bytes\":8192,\"write_bytes\":0,\"read_ops\":1,\"write_ops\":0},"
                "\"net0\":{\"rx_bytes\":3540,\"rx_frames\":6,\"tx_bytes\":1640,\"tx_frames\":4}}";
        uint64_t c[_VM_COUNTER_MAX];
        CHECK(ch_counters_parse(body, c) == 0);
        CHECK_INTEQ(c[VM_COUNTER_BLOCK_READ_BYTES], 393216 + 8192);
        CHECK_INTEQ(c[VM_COUNTER_BLOCK_WRITE_BYTES], 4096);
        CHECK_INTEQ(c[VM_COUNTER_BLOCK_READ_OPS], 49);
        CHECK_INTEQ(c[VM_COUNTER_BLOCK_WRITE_OPS], 1);
        CHECK_INTEQ(c[VM_COUNTER_NET_RX_BYTES], 3540);
        CHECK_INTEQ(c[VM_COUNTER_NET_RX_PACKETS], 6);
        CHECK_INTEQ(c[VM_COUNTER_NET_TX_BYTES], 1640);
        CHECK_INTEQ(c[VM_COUNTER_NET_TX_PACKETS], 4);
        CHECK_INTEQ(c[VM_COUNTER_VCPU_EXITS], 0);
        CHECK(ch_counters_parse("{}", c) == 0 && c[VM_COUNTER_BLOCK_READ_BYTES] == 0);
        CHECK(ch_counters_parse("[]", c) == -EINVAL);
        CHECK(ch_counters_parse("{\"a\":1}", c) == -EINVAL);
        CHECK(ch_counters_parse("not json", c) == -EINVAL);

        uint64_t prev[_VM_COUNTER_MAX] = { 100, 50, 10, 5 }, cur[_VM_COUNTER_MAX] = { 150, 20, 10, 6 };
        uint64_t d[_VM_COUNTER_MAX];
        ch_counters_delta(prev, cur, d);
        CHECK_INTEQ(d[0], 50);
        CHECK_INTEQ(d[1], 20); /* went down: reset, all of it is new */
        CHECK_INTEQ(d[2], 0);
        CHECK_INTEQ(d[3], 1);
}

static void test_time_parse(void) {
        int64_t t;
        CHECK(metrics_time_parse("1970-01-01T00:00:00Z", &t) == 0 && t == 0);
        CHECK(metrics_time_parse("2024-05-01T12:00:00Z", &t) == 0 && t == INT64_C(1714564800000));
        CHECK(metrics_time_parse("2024-05-01T14:00:00.250+02:00", &t) == 0 && t == INT64_C(1714564800250));
        CHECK(metrics_time_parse("2024-05-01t12:00:00.1234z", &t) == 0 && t == INT64_C(1714564800123));
        CHECK(metrics_time_parse("2024-02-29T00:00:00-01:30", &t) == 0 && t == INT64_C(1709170200000));
        CHECK(metrics_time_parse("1714564800000", &t) == 0 && t == INT64_C(1714564800000));
        CHECK(metrics_time_parse("0", &t) == 0 && t == 0);
        const char *bad[] = { "",
                              "2023-02-29T00:00:00Z",
                              "2024-13-01T00:00:00Z",
                              "2024-05-01T24:00:00Z",
                              "2024-05-01T12:00:00",
                              "2024-05-01T12:00:00.Z",
                              "2024-05-01T12:00:00Zx",
                              "2024-05-01 12:00Z",
                              "-5",
                              "12a",
                              "9999999999999999",
                              "2024-05-01T12:00:00+2:00" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                CHECK(metrics_time_parse(bad[i], &t) == -EINVAL);
}

static void test_prometheus(void) {
        PromWriter w = { 0 };
        prom_family(&w, "metald_x_total", "counter", "Help with \\ and\nnewline.");
        prom_sample_u64(&w, "metald_x_total",
                        (const char *const[]){ "vm_id", "a\"b\\c\nd", "backend", "fc", NULL },
                        18446744073709551615ull);
        prom_family(&w, "metald_y", "gauge", "Y.");
        prom_sample_u64(&w, "metald_y", NULL, 0);
        prom_sample_double(&w, "metald_y", (const char *const[]){ "k", "v", NULL }, 0.25);
        prom_sample_double(&w, "metald_y", NULL, 1.0 / 0.0);
        char *out = NULL;
        CHECK(prom_finish(&w, &out) == 0);
        CHECK_STREQ(out, "# HELP metald_x_total Help with \\\\ and\\nnewline.\n"
                         "# TYPE metald_x_total counter\n"
                         "metald_x_total{vm_id=\"a\\\"b\\\\c\\nd\",backend=\"fc\"} 18446744073709551615\n"
                         "# HELP metald_y Y.\n"
                         "# TYPE metald_y gauge\n"
                         "metald_y 0\n"
                         "metald_y{k=\"v\"} 0.25\n"
                         "metald_y +Inf\n");
        free(out);
        CHECK(w.buf == NULL);
        char *e = prom_escape_label("x\"y");
        CHECK_STREQ(e, "x\\\"y");
        free(e);
}

static bool same_cfg(const VmRow *a, const VmRow *b, void *u) {
        return true;
}

/* Insert a VM and record a VMM for it; returns its seq. */
static int64_t add_vm(Store *s, const char *id, const char *backend, pid_t pid, uint64_t start_time) {
        VmRow row = { .id = (char *) id,
                      .backend = (char *) backend,
                      .config_json = (char *) "{}",
                      .desired = VM_PHASE_RUNNING,
                      .run_dir = (char *) dir };
        CHECK(store_vm_insert(s, &row, same_cfg, NULL, 0, NULL) == 0);
        VmObservation o = { .observed = VM_PHASE_RUNNING,
                            .reason = "test",
                            .set_vmm = pid != 0,
                            .vmm = { .pid = pid, .start_time = start_time } };
        snprintf(o.vmm.socket_path, sizeof o.vmm.socket_path, "%s/nosock", dir);
        CHECK(store_vm_observe(s, id, &o) == 0);
        VmRow *r = NULL;
        CHECK(store_vm_get(s, id, &r) == 0);
        int64_t seq = r ? r->seq : 0;
        vm_row_free(r);
        return seq;
}

static VmMetricSample sample(int64_t seq, uint64_t k, int64_t at) {
        VmMetricSample x = { .vm_seq = seq,
                             .interval_ms = 1000,
                             .running = true,
                             .cpu_ns = 1000000 * k,
                             .rss_bytes = 1000 * k,
                             .uptime_ms = 10 * k };
        for (int c = 0; c < _VM_COUNTER_MAX; c++)
                x.counters[c] = k + (uint64_t) c;
        x.cursor = (VmMetricCursor){ .present = true,
                                     .at = at,
                                     .vmm_pid = 99,
                                     .vmm_start_time = 7,
                                     .vmm_cpu_ns = k,
                                     .source = { .pid = 99, .start_time = 7, .offset = 100 * k } };
        x.cursor.source.counters[VM_COUNTER_NET_TX_BYTES] = k;
        return x;
}

static int64_t sql_int(const char *db_path, const char *sql) {
        sqlite3 *db;
        sqlite3_stmt *st;
        int64_t v = -1;
        sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
        else
                fprintf(stderr, "sql_int: %s: %s\n", sql, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        sqlite3_close(db);
        return v;
}

static void test_store(Store *s, const char *db) {
        int64_t a = add_vm(s, "vm-a", "firecracker", 99, 7);
        int64_t b = add_vm(s, "vm-b", "qemu", 100, 8);
        int64_t c = add_vm(s, "vm-c", "firecracker", 0, 0); /* no VMM: not a target */

        VmMetricTarget *t = NULL;
        size_t n = 0;
        CHECK(store_metrics_targets(s, &t, &n) == 0);
        CHECK_INTEQ(n, 2);
        CHECK(n == 2 && t[0].vm_seq == a && t[1].vm_seq == b && !t[0].cursor.present);
        CHECK(n == 2 && streq(t[0].vm_id, "vm-a") && t[0].vmm.pid == 99 && t[0].vmm.start_time == 7 &&
              t[0].observed == VM_PHASE_RUNNING && streq(t[1].backend, "qemu"));
        vm_metric_targets_free(t, n);

        int64_t last = -1;
        CHECK(store_metrics_last_round(s, &last) == 0 && last == 0);

        /* Rounds at hour H + 1 s ... one per second; the third is in the next hour. */
        int64_t H = INT64_C(1700000000000) - INT64_C(1700000000000) % 3600000;
        int64_t ats[] = { H + 1000, H + 2000, H + 3600000 + 1000 };
        VmMetricTrim none = { 0 };
        for (size_t i = 0; i < ELEMENTSOF(ats); i++) {
                VmMetricSample xs[] = { sample(a, i + 1, ats[i]), sample(b, 10 * (i + 1), ats[i]) };
                CHECK(store_metrics_write_round(s, ats[i], 5, xs, 2, &none, NULL) == 0);
        }
        CHECK(store_metrics_last_round(s, &last) == 0 && last == ats[2]);
        /* The same round time again is refused whole (nothing half written). */
        VmMetricSample dup = sample(a, 1, ats[2]);
        CHECK(store_metrics_write_round(s, ats[2], 5, &dup, 1, &none, NULL) < 0);
        CHECK_INTEQ(sql_int(db, "SELECT count(*) FROM vm_metric_samples"), 6);

        /* Cursors come back with the targets. */
        CHECK(store_metrics_targets(s, &t, &n) == 0);
        CHECK(n == 2 && t[0].cursor.present && t[0].cursor.at == ats[2] && t[0].cursor.vmm_pid == 99 &&
              t[0].cursor.vmm_start_time == 7 && t[0].cursor.vmm_cpu_ns == 3 &&
              t[0].cursor.source.pid == 99 && t[0].cursor.source.offset == 300 &&
              t[0].cursor.source.counters[VM_COUNTER_NET_TX_BYTES] == 3);
        vm_metric_targets_free(t, n);

        /* Totals: the sums; the last sample alongside. */
        VmMetricTotals tot;
        CHECK(store_metrics_totals_get(s, a, &tot) == 0);
        CHECK_INTEQ(tot.cpu_ns, 6000000);
        CHECK_INTEQ(tot.counters[VM_COUNTER_BLOCK_READ_BYTES], 1 + 2 + 3);
        CHECK_INTEQ(tot.counters[VM_COUNTER_VCPU_EXITS], (1 + 8) + (2 + 8) + (3 + 8));
        CHECK_INTEQ(tot.rss_bytes, 3000);
        CHECK(tot.has_last && tot.last.at == ats[2] && tot.last.cpu_ns == 3000000 &&
              tot.last.interval_ms == 1000);
        CHECK(store_metrics_totals_get(s, c, &tot) == -ENOENT);

        /* Rollups: two hours, each equal to the raw sums of its samples. */
        CHECK_INTEQ(sql_int(db, "SELECT count(*) FROM vm_usage_hourly"), 4);
        CHECK_INTEQ(
                sql_int(db,
                        "SELECT count(*) FROM (SELECT h.vm_seq FROM vm_usage_hourly h JOIN "
                        "(SELECT at - at % 3600000 AS hour, vm_seq, sum(cpu_ns) c, max(rss_bytes) m, "
                        "sum(block_read_bytes) br, sum(vcpu_exits) v, count(*) n, sum(interval_ms) i "
                        "FROM vm_metric_samples GROUP BY 1, 2) r ON r.hour = h.hour AND r.vm_seq = h.vm_seq "
                        "WHERE h.cpu_ns = r.c AND h.max_rss_bytes = r.m AND h.block_read_bytes = r.br AND "
                        "h.vcpu_exits = r.v AND h.samples = r.n AND h.running_ms = r.i)"),
                4);
        CHECK_INTEQ(
                sql_int(db, "SELECT samples FROM vm_usage_hourly WHERE vm_seq = 1 ORDER BY hour LIMIT 1"),
                2);
        CHECK_INTEQ(sql_int(db, "SELECT count(*) FROM vm_usage_daily"), 2);
        CHECK_INTEQ(sql_int(db, "SELECT count(*) FROM vm_samples WHERE vm_id = 'vm-b'"), 3);

        /* Query: a range, paging by limit. */
        VmMetricRow *rows = NULL;
        CHECK(store_metrics_query(s, a, 0, INT64_MAX, 2, &rows, &n) == 0);
        CHECK(n == 2 && rows[0].at == ats[0] && rows[1].at == ats[1] && rows[1].cpu_ns == 2000000 &&
              rows[1].counters[VM_COUNTER_NET_TX_PACKETS] == 2 + 7 && rows[0].running);
        free(rows);
        CHECK(store_metrics_query(s, a, ats[1] + 1, INT64_MAX, 10, &rows, &n) == 0);
        CHECK(n == 1 && rows[0].at == ats[2]);
        free(rows);
        CHECK(store_metrics_query(s, a, ats[0], ats[1], 10, &rows, &n) == 0); /* [from, to) */
        CHECK(n == 1 && rows[0].at == ats[0]);
        free(rows);
        CHECK(store_metrics_query(s, c, 0, INT64_MAX, 10, &rows, &n) == 0 && n == 0);
        free(rows);

        VmMetricTotals *list = NULL;
        CHECK(store_metrics_totals_list(s, &list, &n) == 0);
        CHECK(n == 2 && streq(list[0].vm_id, "vm-a") && streq(list[1].backend, "qemu") && list[0].live);
        vm_metric_totals_array_free(list, n);

        uint64_t counts[_VM_PHASE_MAX];
        CHECK(store_vm_count_by_phase(s, counts) == 0);
        CHECK_INTEQ(counts[VM_PHASE_RUNNING], 3);
        CHECK_INTEQ(counts[VM_PHASE_PAUSED], 0);

        /* Trimming: bounded per round, whole rounds, oldest first; rounds follow. */
        VmMetricTrim trim = { .samples_before = ats[2], .rollups_before = 0, .max_rows = 1 };
        VmMetricTrimmed tr = { 0 };
        CHECK(store_metrics_write_round(s, ats[2] + 1000, 0, NULL, 0, &trim, &tr) == 0);
        CHECK_INTEQ(tr.samples, 2); /* the first round: max_rows rounded up to its end */
        CHECK_INTEQ(sql_int(db, "SELECT min(at) FROM vm_metric_samples"), ats[1]);
        CHECK_INTEQ(sql_int(db, "SELECT min(at) FROM vm_metric_rounds"), ats[1]);
        trim.max_rows = 1000;
        CHECK(store_metrics_write_round(s, ats[2] + 2000, 0, NULL, 0, &trim, &tr) == 0);
        CHECK_INTEQ(tr.samples, 2);
        CHECK_INTEQ(sql_int(db, "SELECT count(*) FROM vm_metric_rounds"), 1);
        /* Rollups and totals outlive the raw samples. */
        CHECK_INTEQ(sql_int(db, "SELECT sum(cpu_ns) FROM vm_usage_hourly WHERE vm_seq = 1"), 6000000);
        trim = (VmMetricTrim){ .rollups_before = H + 3600000, .max_rows = 1000 };
        CHECK(store_metrics_write_round(s, ats[2] + 3000, 0, NULL, 0, &trim, &tr) == 0);
        CHECK_INTEQ(tr.rollups, 2);
        CHECK_INTEQ(sql_int(db, "SELECT count(*) FROM vm_usage_hourly"), 2);
        CHECK(store_metrics_totals_get(s, a, &tot) == 0 && tot.cpu_ns == 6000000);

        /* A large batch in one round. */
        enum { N = 2000 };
        VmMetricSample *many = calloc(N, sizeof *many);
        for (int i = 0; i < N; i++)
                many[i] = sample(1000 + i, 1, ats[2] + 10000);
        CHECK(store_metrics_write_round(s, ats[2] + 10000, 0, many, N, &none, NULL) == 0);
        CHECK_INTEQ(sql_int(db, "SELECT count(*) FROM vm_metric_samples WHERE at = (SELECT max(at) FROM "
                                "vm_metric_rounds)"),
                    N);
        free(many);
}

/* The sampler over a VM whose "VMM" is this very process (backend qemu:
 * host side only): two rounds, the second a delta against the first. */
static void test_sampler(Store *s, const char *db) {
        uint64_t start;
        CHECK(vmm_pid_start_time(getpid(), &start) == 0);
        int64_t seq = add_vm(s, "vm-self", "qemu", getpid(), start);
        Sampler *sp = NULL;
        SamplerOptions so = {
                .store = s, .interval_ms = 0, .retention_ms = 3600000, .rollup_retention_ms = 0
        };
        CHECK(sampler_new(&so, &sp) == 0);
        CHECK(sampler_start(sp) == 0); /* interval 0: no thread */
        CHECK(sampler_run_round(sp) == 0);
        burn_cpu_ms(30);
        CHECK(sampler_run_round(sp) == 0);
        SamplerStats st;
        sampler_get_stats(sp, &st);
        CHECK_INTEQ(st.rounds, 2);
        CHECK(st.samples >= 2);
        CHECK_INTEQ(st.round_failures, 0);
        /* Other VMs recorded with fake pids are skipped (gone): only ours is sampled. */
        CHECK_INTEQ(st.last_vms, 1);
        VmMetricRow *rows = NULL;
        size_t n = 0;
        CHECK(store_metrics_query(s, seq, 0, INT64_MAX, 10, &rows, &n) == 0);
        CHECK_INTEQ(n, 2);
        if (n == 2) {
                /* First sample: everything since the process started, over its age. */
                CHECK(rows[0].interval_ms == (int64_t) rows[0].uptime_ms);
                /* Second: the delta since the first, over the time between rounds. */
                CHECK(rows[1].interval_ms == rows[1].at - rows[0].at);
                CHECK(rows[1].cpu_ns > 0);
                CHECK(rows[1].rss_bytes > 0 && rows[1].running);
                VmMetricTotals tot;
                CHECK(store_metrics_totals_get(s, seq, &tot) == 0);
                CHECK_INTEQ(tot.cpu_ns, rows[0].cpu_ns + rows[1].cpu_ns);
        }
        free(rows);
        sampler_free(sp);
        /* A new sampler continues after the last round, never at or before it. */
        CHECK(sampler_new(&so, &sp) == 0);
        CHECK(sampler_run_round(sp) == 0);
        CHECK_INTEQ(sql_int(db, "SELECT count(*) FROM vm_metric_samples s JOIN vms v ON v.seq = s.vm_seq "
                                "WHERE v.id = 'vm-self'"),
                    3);
        sampler_free(sp);

        /* A thread at a short interval takes rounds by itself. */
        so.interval_ms = 50;
        CHECK(sampler_new(&so, &sp) == 0);
        CHECK(sampler_start(sp) == 0);
        usleep(400000);
        sampler_stop(sp);
        sampler_get_stats(sp, &st);
        CHECK(st.rounds >= 3);
        sampler_free(sp);
}

int main(void) {
        CHECK(mkdtemp(dir) != NULL);
        test_proc_parsers();
        test_fc_parser();
        test_fc_file();
        test_fc_collector_resync();
        test_ch_parser();
        test_time_parse();
        test_prometheus();

        char *db = strdup_printf("%s/metald.db", dir);
        char *err = NULL;
        Store *s = NULL;
        CHECK(store_open(db, &s, &err) == 0);
        if (s) {
                test_store(s, db);
                test_sampler(s, db);
                store_free(s);
        }
        free(err);
        free(db);
        rm_rf(dir);
        return test_done("test-metrics");
}
