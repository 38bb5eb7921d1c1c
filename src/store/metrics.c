/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Usage samples, rollups and totals (store/metrics.h). The SQL lives here;
 * the tables are described in migrations/0003_metrics.sql.
 *
 * The write path is the hot one (a round over 10,000 VMs): its statements are
 * prepared once per round and reset per row, and every table it writes is
 * keyed so that a round touches one contiguous run of pages (samples and
 * rollups by time first; totals by vm seq, all of them every round).
 */
#include "store/metrics.h"

#include <assert.h>
#include <stdio.h>

#include "store/store-internal.h"

_Static_assert(_VM_COUNTER_MAX == 9, "the SQL below names nine counter columns");

#define COUNTER_COLUMNS                                                                                     \
        "block_read_bytes, block_write_bytes, block_read_ops, block_write_ops, net_rx_bytes, "              \
        "net_tx_bytes, "                                                                                    \
        "net_rx_packets, net_tx_packets, vcpu_exits"

const VmCounterInfo vm_counter_info[_VM_COUNTER_MAX] = {
        [VM_COUNTER_BLOCK_READ_BYTES] = { "block_read_bytes", "blockReadBytes",
                                          "metald_vm_block_read_bytes_total",
                                          "Bytes the guest read from its disks." },
        [VM_COUNTER_BLOCK_WRITE_BYTES] = { "block_write_bytes", "blockWriteBytes",
                                           "metald_vm_block_write_bytes_total",
                                           "Bytes the guest wrote to its disks." },
        [VM_COUNTER_BLOCK_READ_OPS] = { "block_read_ops", "blockReadOps", "metald_vm_block_read_ops_total",
                                        "Read requests of the guest's disks." },
        [VM_COUNTER_BLOCK_WRITE_OPS] = { "block_write_ops", "blockWriteOps",
                                         "metald_vm_block_write_ops_total",
                                         "Write requests of the guest's disks." },
        [VM_COUNTER_NET_RX_BYTES] = { "net_rx_bytes", "netRxBytes", "metald_vm_net_rx_bytes_total",
                                      "Bytes the guest received." },
        [VM_COUNTER_NET_TX_BYTES] = { "net_tx_bytes", "netTxBytes", "metald_vm_net_tx_bytes_total",
                                      "Bytes the guest sent." },
        [VM_COUNTER_NET_RX_PACKETS] = { "net_rx_packets", "netRxPackets", "metald_vm_net_rx_packets_total",
                                        "Packets the guest received." },
        [VM_COUNTER_NET_TX_PACKETS] = { "net_tx_packets", "netTxPackets", "metald_vm_net_tx_packets_total",
                                        "Packets the guest sent." },
        [VM_COUNTER_VCPU_EXITS] = { "vcpu_exits", "vcpuExits", "metald_vm_vcpu_exits_total",
                                    "vCPU exits to the VMM (I/O and MMIO), where the backend reports "
                                    "them." },
};

/* SQLite integers are signed: clamp rather than wrap (no counter gets there). */
static void bind_u64(sqlite3_stmt *st, int i, uint64_t v) {
        sqlite3_bind_int64(st, i, v > (uint64_t) INT64_MAX ? INT64_MAX : (int64_t) v);
}

static uint64_t column_u64(sqlite3_stmt *st, int i) {
        int64_t v = sqlite3_column_int64(st, i);
        return v < 0 ? 0 : (uint64_t) v;
}

/* Run a prepared statement once with its current bindings, then reset it. */
static int step_reset(sqlite3_stmt *st) {
        int r = step_done(st);
        sqlite3_reset(st);
        return r;
}

void vm_metric_targets_free(VmMetricTarget *t, size_t n) {
        if (!t)
                return;
        for (size_t i = 0; i < n; i++) {
                free(t[i].vm_id);
                free(t[i].backend);
                free(t[i].run_dir);
        }
        free(t);
}

int store_metrics_targets(Store *s, VmMetricTarget **ret, size_t *ret_n) {
        assert(s && ret && ret_n);
        _cleanup_conn_ Conn c = { .store = s };
        int r = conn_acquire(&c);
        if (r < 0)
                return r;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        r = prepare(
                c.db,
                "SELECT v.seq, v.id, v.backend, v.run_dir, v.vmm_pid, v.vmm_start_time, v.socket_path, "
                "v.observed_state, t.vm_seq IS NOT NULL, t.at, t.vmm_pid, t.vmm_start_time, t.vmm_cpu_ns, "
                "t.source_pid, t.source_start_time, t.source_offset, t.src_block_read_bytes, "
                "t.src_block_write_bytes, t.src_block_read_ops, t.src_block_write_ops, t.src_net_rx_bytes, "
                "t.src_net_tx_bytes, t.src_net_rx_packets, t.src_net_tx_packets, t.src_vcpu_exits "
                "FROM vms v LEFT JOIN vm_metric_totals t ON t.vm_seq = v.seq "
                "WHERE v.vmm_pid != 0 AND v.deleted_at IS NULL ORDER BY v.seq",
                &st);
        if (r < 0)
                return r;
        VmMetricTarget *t = NULL;
        size_t n = 0, cap = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (GROW_ARRAY(t, cap, n, 64) < 0) {
                        vm_metric_targets_free(t, n);
                        return -ENOMEM;
                }
                VmMetricTarget *x = &t[n++];
                *x = (VmMetricTarget){
                        .vm_seq = sqlite3_column_int64(st, 0),
                        .vm_id = column_strdup(st, 1),
                        .backend = column_strdup(st, 2),
                        .run_dir = column_strdup(st, 3),
                        .vmm.pid = (pid_t) sqlite3_column_int64(st, 4),
                        .vmm.start_time = column_u64(st, 5),
                        .observed = vm_phase_from_string((const char *) sqlite3_column_text(st, 7)),
                };
                const unsigned char *sock = sqlite3_column_text(st, 6);
                snprintf(x->vmm.socket_path, sizeof x->vmm.socket_path, "%s",
                         sock ? (const char *) sock : "");
                if (!x->vm_id || !x->backend || !x->run_dir) {
                        vm_metric_targets_free(t, n);
                        return -ENOMEM;
                }
                if (sqlite3_column_int(st, 8)) {
                        VmMetricCursor *cur = &x->cursor;
                        cur->present = true;
                        cur->at = sqlite3_column_int64(st, 9);
                        cur->vmm_pid = (pid_t) sqlite3_column_int64(st, 10);
                        cur->vmm_start_time = column_u64(st, 11);
                        cur->vmm_cpu_ns = column_u64(st, 12);
                        cur->source.pid = (pid_t) sqlite3_column_int64(st, 13);
                        cur->source.start_time = column_u64(st, 14);
                        cur->source.offset = column_u64(st, 15);
                        for (int k = 0; k < _VM_COUNTER_MAX; k++)
                                cur->source.counters[k] = column_u64(st, 16 + k);
                }
        }
        if (rc != SQLITE_DONE) {
                vm_metric_targets_free(t, n);
                return sqlite_to_errno(rc);
        }
        *ret = t;
        *ret_n = n;
        return 0;
}

int store_metrics_last_round(Store *s, int64_t *ret_at) {
        assert(s && ret_at);
        _cleanup_conn_ Conn c = { .store = s };
        int r = conn_acquire(&c);
        if (r < 0)
                return r;
        _cleanup_cached_stmt_ sqlite3_stmt *st = NULL;
        r = prepare_cached(c.sc, "SELECT coalesce(max(at), 0) FROM vm_metric_rounds", &st);
        if (r < 0)
                return r;
        int rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return sqlite_to_errno(rc) < 0 ? sqlite_to_errno(rc) : -EIO;
        *ret_at = sqlite3_column_int64(st, 0);
        return 0;
}

/* The statements of one round's write, prepared once per round. */
typedef struct RoundStatements {
        sqlite3_stmt *sample, *totals, *hourly;
} RoundStatements;

static void round_statements_done(RoundStatements *rs) {
        sqlite3_finalize(rs->sample);
        sqlite3_finalize(rs->totals);
        sqlite3_finalize(rs->hourly);
}

static int round_statements_prepare(sqlite3 *db, RoundStatements *rs) {
        int r = prepare(
                db,
                "INSERT INTO vm_metric_samples (at, vm_seq, interval_ms, running, cpu_ns, rss_bytes, "
                "uptime_ms, " COUNTER_COLUMNS ") "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                &rs->sample);
        if (r < 0)
                return r;
        /* Totals add the deltas; the cursors are replaced. */
        r = prepare(
                db,
                "INSERT INTO vm_metric_totals (vm_seq, at, rss_bytes, cpu_ns, " COUNTER_COLUMNS ", "
                "vmm_pid, vmm_start_time, vmm_cpu_ns, source_pid, source_start_time, source_offset, "
                "src_block_read_bytes, src_block_write_bytes, src_block_read_ops, src_block_write_ops, "
                "src_net_rx_bytes, src_net_tx_bytes, src_net_rx_packets, src_net_tx_packets, "
                "src_vcpu_exits) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
                "?19, "
                "?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28) "
                "ON CONFLICT (vm_seq) DO UPDATE SET at = excluded.at, rss_bytes = excluded.rss_bytes, "
                "cpu_ns = cpu_ns + excluded.cpu_ns, "
                "block_read_bytes = block_read_bytes + excluded.block_read_bytes, "
                "block_write_bytes = block_write_bytes + excluded.block_write_bytes, "
                "block_read_ops = block_read_ops + excluded.block_read_ops, "
                "block_write_ops = block_write_ops + excluded.block_write_ops, "
                "net_rx_bytes = net_rx_bytes + excluded.net_rx_bytes, "
                "net_tx_bytes = net_tx_bytes + excluded.net_tx_bytes, "
                "net_rx_packets = net_rx_packets + excluded.net_rx_packets, "
                "net_tx_packets = net_tx_packets + excluded.net_tx_packets, "
                "vcpu_exits = vcpu_exits + excluded.vcpu_exits, "
                "vmm_pid = excluded.vmm_pid, vmm_start_time = excluded.vmm_start_time, "
                "vmm_cpu_ns = excluded.vmm_cpu_ns, source_pid = excluded.source_pid, "
                "source_start_time = excluded.source_start_time, source_offset = excluded.source_offset, "
                "src_block_read_bytes = excluded.src_block_read_bytes, "
                "src_block_write_bytes = excluded.src_block_write_bytes, "
                "src_block_read_ops = excluded.src_block_read_ops, "
                "src_block_write_ops = excluded.src_block_write_ops, "
                "src_net_rx_bytes = excluded.src_net_rx_bytes, src_net_tx_bytes = "
                "excluded.src_net_tx_bytes, "
                "src_net_rx_packets = excluded.src_net_rx_packets, "
                "src_net_tx_packets = excluded.src_net_tx_packets, src_vcpu_exits = excluded.src_vcpu_exits",
                &rs->totals);
        if (r < 0)
                return r;
        /* running_ms is capped at the hour's length: the first sample of a VMM
         * covers its whole age, which may be longer. */
        return prepare(
                db,
                "INSERT INTO vm_usage_hourly (hour, vm_seq, cpu_ns, max_rss_bytes, " COUNTER_COLUMNS ", "
                "samples, running_ms) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 1, min(?14, 3600000)) "
                "ON CONFLICT (hour, vm_seq) DO UPDATE SET cpu_ns = cpu_ns + excluded.cpu_ns, "
                "max_rss_bytes = max(max_rss_bytes, excluded.max_rss_bytes), "
                "block_read_bytes = block_read_bytes + excluded.block_read_bytes, "
                "block_write_bytes = block_write_bytes + excluded.block_write_bytes, "
                "block_read_ops = block_read_ops + excluded.block_read_ops, "
                "block_write_ops = block_write_ops + excluded.block_write_ops, "
                "net_rx_bytes = net_rx_bytes + excluded.net_rx_bytes, "
                "net_tx_bytes = net_tx_bytes + excluded.net_tx_bytes, "
                "net_rx_packets = net_rx_packets + excluded.net_rx_packets, "
                "net_tx_packets = net_tx_packets + excluded.net_tx_packets, "
                "vcpu_exits = vcpu_exits + excluded.vcpu_exits, samples = samples + 1, "
                "running_ms = min(running_ms + excluded.running_ms, 3600000)",
                &rs->hourly);
}

/* Write one sample: its row, its VM's totals and cursor, its hour's rollup. */
static int write_sample(RoundStatements *rs, int64_t at, const VmMetricSample *x) {
        sqlite3_stmt *st = rs->sample;
        sqlite3_bind_int64(st, 1, at);
        sqlite3_bind_int64(st, 2, x->vm_seq);
        sqlite3_bind_int64(st, 3, x->interval_ms);
        sqlite3_bind_int(st, 4, x->running);
        bind_u64(st, 5, x->cpu_ns);
        bind_u64(st, 6, x->rss_bytes);
        bind_u64(st, 7, x->uptime_ms);
        for (int k = 0; k < _VM_COUNTER_MAX; k++)
                bind_u64(st, 8 + k, x->counters[k]);
        int r = step_reset(st);
        if (r < 0)
                return r;

        st = rs->totals;
        sqlite3_bind_int64(st, 1, x->vm_seq);
        sqlite3_bind_int64(st, 2, at);
        bind_u64(st, 3, x->rss_bytes);
        bind_u64(st, 4, x->cpu_ns);
        for (int k = 0; k < _VM_COUNTER_MAX; k++)
                bind_u64(st, 5 + k, x->counters[k]);
        sqlite3_bind_int64(st, 14, x->cursor.vmm_pid);
        bind_u64(st, 15, x->cursor.vmm_start_time);
        bind_u64(st, 16, x->cursor.vmm_cpu_ns);
        sqlite3_bind_int64(st, 17, x->cursor.source.pid);
        bind_u64(st, 18, x->cursor.source.start_time);
        bind_u64(st, 19, x->cursor.source.offset);
        for (int k = 0; k < _VM_COUNTER_MAX; k++)
                bind_u64(st, 20 + k, x->cursor.source.counters[k]);
        r = step_reset(st);
        if (r < 0)
                return r;

        st = rs->hourly;
        sqlite3_bind_int64(st, 1, at - at % 3600000);
        sqlite3_bind_int64(st, 2, x->vm_seq);
        bind_u64(st, 3, x->cpu_ns);
        bind_u64(st, 4, x->rss_bytes);
        for (int k = 0; k < _VM_COUNTER_MAX; k++)
                bind_u64(st, 5 + k, x->counters[k]);
        sqlite3_bind_int64(st, 14, x->running ? x->interval_ms : 0);
        return step_reset(st);
}

/* Delete rows older than cutoff from the oldest on: at most about max_rows,
 * rounded up to whole values of the leading key column (a round, an hour). */
static int trim_table(sqlite3 *db, const char *sql, int64_t cutoff, unsigned max_rows,
                      uint64_t *ret_deleted) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare(db, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, cutoff);
        sqlite3_bind_int64(st, 2, max_rows);
        r = step_done(st);
        if (r < 0)
                return r;
        *ret_deleted = (uint64_t) sqlite3_changes64(db);
        return 0;
}

static int trim(sqlite3 *db, const VmMetricTrim *t, VmMetricTrimmed *ret) {
        int r;
        if (t->samples_before > 0) {
                r = trim_table(db,
                               "DELETE FROM vm_metric_samples WHERE at < ?1 AND at <= coalesce("
                               "(SELECT at FROM vm_metric_samples WHERE at < ?1 ORDER BY at LIMIT 1 OFFSET "
                               "?2), ?1)",
                               t->samples_before, t->max_rows, &ret->samples);
                if (r < 0)
                        return r;
                /* Rounds whose samples are all gone. */
                uint64_t ignored;
                r = trim_table(db,
                               "DELETE FROM vm_metric_rounds WHERE at < ?1 AND at < "
                               "coalesce((SELECT min(at) FROM vm_metric_samples), ?1)",
                               t->samples_before, 0, &ignored);
                if (r < 0)
                        return r;
        }
        if (t->rollups_before > 0) {
                r = trim_table(db,
                               "DELETE FROM vm_usage_hourly WHERE hour < ?1 AND hour <= coalesce("
                               "(SELECT hour FROM vm_usage_hourly WHERE hour < ?1 ORDER BY hour LIMIT 1 "
                               "OFFSET ?2), "
                               "?1)",
                               t->rollups_before, t->max_rows, &ret->rollups);
                if (r < 0)
                        return r;
        }
        return 0;
}

int store_metrics_write_round(Store *s, int64_t at, unsigned collect_ms, const VmMetricSample *samples,
                              size_t n, const VmMetricTrim *trim_spec, VmMetricTrimmed *ret_trimmed) {
        assert(s && (samples || n == 0) && trim_spec);
        _cleanup_conn_ Conn c = { .store = s };
        int r = conn_acquire(&c);
        if (r < 0)
                return r;
        r = conn_begin(&c, true);
        if (r < 0)
                return r;
        if (n > 0) {
                _cleanup_stmt_ sqlite3_stmt *round = NULL;
                r = prepare(c.db, "INSERT INTO vm_metric_rounds (at, vms, collect_ms) VALUES (?, ?, ?)",
                            &round);
                if (r < 0)
                        return r;
                sqlite3_bind_int64(round, 1, at);
                sqlite3_bind_int64(round, 2, (int64_t) n);
                sqlite3_bind_int64(round, 3, collect_ms);
                r = step_done(round);
                if (r < 0)
                        return r;

                RoundStatements rs = { 0 };
                r = round_statements_prepare(c.db, &rs);
                for (size_t i = 0; r >= 0 && i < n; i++)
                        r = write_sample(&rs, at, &samples[i]);
                round_statements_done(&rs);
                if (r < 0)
                        return r;
        }
        VmMetricTrimmed trimmed = { 0 };
        r = trim(c.db, trim_spec, &trimmed);
        if (r < 0)
                return r;
        r = conn_commit(&c);
        if (r < 0)
                return r;
        if (ret_trimmed)
                *ret_trimmed = trimmed;
        return 0;
}

#define ROW_COLUMNS                                                                                         \
        "s.at, s.interval_ms, s.running, s.cpu_ns, s.rss_bytes, s.uptime_ms, "                              \
        "s.block_read_bytes, s.block_write_bytes, s.block_read_ops, s.block_write_ops, "                    \
        "s.net_rx_bytes, s.net_tx_bytes, s.net_rx_packets, s.net_tx_packets, s.vcpu_exits"

/* A VmMetricRow from ROW_COLUMNS starting at column i. */
static void row_from_stmt(sqlite3_stmt *st, int i, VmMetricRow *ret) {
        ret->at = sqlite3_column_int64(st, i);
        ret->interval_ms = sqlite3_column_int64(st, i + 1);
        ret->running = sqlite3_column_int(st, i + 2) != 0;
        ret->cpu_ns = column_u64(st, i + 3);
        ret->rss_bytes = column_u64(st, i + 4);
        ret->uptime_ms = column_u64(st, i + 5);
        for (int k = 0; k < _VM_COUNTER_MAX; k++)
                ret->counters[k] = column_u64(st, i + 6 + k);
}

int store_metrics_query(Store *s, int64_t vm_seq, int64_t from, int64_t to, unsigned limit,
                        VmMetricRow **ret, size_t *ret_n) {
        assert(s && ret && ret_n);
        _cleanup_conn_ Conn c = { .store = s };
        int r = conn_acquire(&c);
        if (r < 0)
                return r;
        /* Walk the rounds in the range and look each sample up by its key:
         * the samples are keyed by time first, so a scan would read every VM's. */
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        r = prepare(c.db,
                    "SELECT " ROW_COLUMNS " FROM vm_metric_rounds r CROSS JOIN vm_metric_samples s "
                    "ON s.at = r.at AND s.vm_seq = ?1 WHERE r.at >= ?2 AND r.at < ?3 ORDER BY r.at LIMIT ?4",
                    &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, vm_seq);
        sqlite3_bind_int64(st, 2, from);
        sqlite3_bind_int64(st, 3, to);
        sqlite3_bind_int64(st, 4, limit);
        _cleanup_free_ VmMetricRow *rows = limit ? calloc(limit, sizeof *rows) : NULL;
        if (limit && !rows)
                return -ENOMEM;
        size_t n = 0;
        int rc = SQLITE_DONE;
        while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
                row_from_stmt(st, 0, &rows[n++]);
        if (n < limit && rc != SQLITE_DONE)
                return sqlite_to_errno(rc);
        *ret = TAKE_PTR(rows);
        *ret_n = n;
        return 0;
}

#define TOTALS_COLUMNS                                                                                      \
        "t.vm_seq, t.at, t.vmm_pid, t.vmm_start_time, t.rss_bytes, t.cpu_ns, t.block_read_bytes, "          \
        "t.block_write_bytes, t.block_read_ops, t.block_write_ops, t.net_rx_bytes, t.net_tx_bytes, "        \
        "t.net_rx_packets, t.net_tx_packets, t.vcpu_exits"
#define TOTALS_N 15

static void totals_from_stmt(sqlite3_stmt *st, VmMetricTotals *ret) {
        ret->vm_seq = sqlite3_column_int64(st, 0);
        ret->at = sqlite3_column_int64(st, 1);
        ret->vmm_pid = (pid_t) sqlite3_column_int64(st, 2);
        ret->vmm_start_time = column_u64(st, 3);
        ret->rss_bytes = column_u64(st, 4);
        ret->cpu_ns = column_u64(st, 5);
        for (int k = 0; k < _VM_COUNTER_MAX; k++)
                ret->counters[k] = column_u64(st, 6 + k);
}

int store_metrics_totals_get(Store *s, int64_t vm_seq, VmMetricTotals *ret) {
        assert(s && ret);
        _cleanup_conn_ Conn c = { .store = s };
        int r = conn_acquire(&c);
        if (r < 0)
                return r;
        _cleanup_cached_stmt_ sqlite3_stmt *st = NULL;
        r = prepare_cached(
                c.sc,
                "SELECT " TOTALS_COLUMNS ", s.at IS NOT NULL, " ROW_COLUMNS " FROM vm_metric_totals t "
                "LEFT JOIN vm_metric_samples s ON s.at = t.at AND s.vm_seq = t.vm_seq WHERE t.vm_seq = ?",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, vm_seq);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return sqlite_to_errno(rc);
        VmMetricTotals t = { 0 };
        totals_from_stmt(st, &t);
        t.has_last = sqlite3_column_int(st, TOTALS_N) != 0;
        if (t.has_last)
                row_from_stmt(st, TOTALS_N + 1, &t.last);
        *ret = t;
        return 0;
}

void vm_metric_totals_array_free(VmMetricTotals *t, size_t n) {
        if (!t)
                return;
        for (size_t i = 0; i < n; i++) {
                free(t[i].vm_id);
                free(t[i].backend);
        }
        free(t);
}

int store_metrics_totals_list(Store *s, VmMetricTotals **ret, size_t *ret_n) {
        assert(s && ret && ret_n);
        _cleanup_conn_ Conn c = { .store = s };
        int r = conn_acquire(&c);
        if (r < 0)
                return r;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        r = prepare(c.db,
                    "SELECT " TOTALS_COLUMNS
                    ", v.id, v.backend, v.vmm_pid != 0 AND v.vmm_pid = t.vmm_pid AND "
                    "v.vmm_start_time = t.vmm_start_time FROM vm_metric_totals t "
                    "JOIN vms v ON v.seq = t.vm_seq WHERE v.deleted_at IS NULL ORDER BY t.vm_seq",
                    &st);
        if (r < 0)
                return r;
        VmMetricTotals *t = NULL;
        size_t n = 0, cap = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (GROW_ARRAY(t, cap, n, 64) < 0) {
                        vm_metric_totals_array_free(t, n);
                        return -ENOMEM;
                }
                VmMetricTotals *x = &t[n++];
                *x = (VmMetricTotals){ 0 };
                totals_from_stmt(st, x);
                x->vm_id = column_strdup(st, TOTALS_N);
                x->backend = column_strdup(st, TOTALS_N + 1);
                x->live = sqlite3_column_int(st, TOTALS_N + 2) != 0;
                if (!x->vm_id || !x->backend) {
                        vm_metric_totals_array_free(t, n);
                        return -ENOMEM;
                }
        }
        if (rc != SQLITE_DONE) {
                vm_metric_totals_array_free(t, n);
                return sqlite_to_errno(rc);
        }
        *ret = t;
        *ret_n = n;
        return 0;
}

int store_vm_count_by_phase(Store *s, uint64_t ret_counts[_VM_PHASE_MAX]) {
        assert(s && ret_counts);
        _cleanup_conn_ Conn c = { .store = s };
        int r = conn_acquire(&c);
        if (r < 0)
                return r;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        r = prepare(c.db, "SELECT observed_state, count(*) FROM vms WHERE deleted_at IS NULL GROUP BY 1",
                    &st);
        if (r < 0)
                return r;
        uint64_t counts[_VM_PHASE_MAX] = { 0 };
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                VmPhase p = vm_phase_from_string((const char *) sqlite3_column_text(st, 0));
                if (p >= 0 && p < _VM_PHASE_MAX)
                        counts[p] = column_u64(st, 1);
        }
        if (rc != SQLITE_DONE)
                return sqlite_to_errno(rc);
        memcpy(ret_counts, counts, sizeof counts);
        return 0;
}
