/* SPDX-License-Identifier: Apache-2.0 */
#include "metrics/firecracker-metrics.h"

#include <assert.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <jansson.h>
#include <stdio.h>
#include <sys/stat.h>

#include "hv/unix-http.h"
#include "metrics/collector.h"

/* Longest metrics line accepted (Firecracker's are a few KiB); a longer one
 * is skipped as bad. Also the read size. */
#define FC_LINE_MAX (256u * 1024)
/* Read at most this much of the file per round and VM (a long backlog, such
 * as after metald was down for days, is read over several rounds). */
#define FC_READ_PER_ROUND (16u << 20)
/* Free consumed bytes each time another 2^FC_PUNCH_SHIFT were consumed. */
#define FC_PUNCH_SHIFT 20

const FcMetricField fc_metric_fields[] = {
        { "block", "read_bytes", VM_COUNTER_BLOCK_READ_BYTES },
        { "block", "write_bytes", VM_COUNTER_BLOCK_WRITE_BYTES },
        { "block", "read_count", VM_COUNTER_BLOCK_READ_OPS },
        { "block", "write_count", VM_COUNTER_BLOCK_WRITE_OPS },
        { "net", "rx_bytes_count", VM_COUNTER_NET_RX_BYTES },
        { "net", "tx_bytes_count", VM_COUNTER_NET_TX_BYTES },
        { "net", "rx_packets_count", VM_COUNTER_NET_RX_PACKETS },
        { "net", "tx_packets_count", VM_COUNTER_NET_TX_PACKETS },
        { "vcpu", "exit_io_in", VM_COUNTER_VCPU_EXITS },
        { "vcpu", "exit_io_out", VM_COUNTER_VCPU_EXITS },
        { "vcpu", "exit_mmio_read", VM_COUNTER_VCPU_EXITS },
        { "vcpu", "exit_mmio_write", VM_COUNTER_VCPU_EXITS },
};
const size_t fc_metric_fields_n = ELEMENTSOF(fc_metric_fields);

/* Skip JSON white space from i. */
static size_t skip_ws(const char *s, size_t n, size_t i) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
                i++;
        return i;
}

/* i is at a '"': the index after the closing quote, or n when there is none. */
static size_t skip_string(const char *s, size_t n, size_t i) {
        for (i++; i < n; i++) {
                if (s[i] == '\\')
                        i++;
                else if (s[i] == '"')
                        return i + 1;
        }
        return n;
}

/* The index after the value starting at i, or n when it does not end. Only
 * the nesting is checked here; the values we use go through jansson. */
static size_t skip_value(const char *s, size_t n, size_t i) {
        if (i >= n)
                return n;
        if (s[i] == '"')
                return skip_string(s, n, i);
        if (s[i] != '{' && s[i] != '[') {
                while (i < n && !strchr(",}] \t\r\n", s[i]))
                        i++;
                return i;
        }
        char stack[64];
        size_t depth = 0;
        while (i < n) {
                char c = s[i];
                if (c == '"') {
                        i = skip_string(s, n, i);
                        continue;
                }
                if (c == '{' || c == '[') {
                        if (depth == sizeof stack)
                                return n;
                        stack[depth++] = c == '{' ? '}' : ']';
                } else if (c == '}' || c == ']') {
                        if (depth == 0 || stack[depth - 1] != c)
                                return n;
                        if (--depth == 0)
                                return i + 1;
                }
                i++;
        }
        return n;
}

/* Is key (key_len bytes, as in the line) a group we sum fields of? */
static bool is_summed_group(const char *key, size_t key_len) {
        for (size_t i = 0; i < ELEMENTSOF(fc_metric_fields); i++)
                if (strlen(fc_metric_fields[i].group) == key_len &&
                    memcmp(fc_metric_fields[i].group, key, key_len) == 0)
                        return true;
        return false;
}

/* Add the summed fields of one group object (its JSON text) to sum. */
static int add_group(const char *key, size_t key_len, const char *value, size_t value_len,
                     uint64_t sum[_VM_COUNTER_MAX]) {
        _cleanup_(json_decrefp) json_t *o = json_loadb(value, value_len, JSON_DISABLE_EOF_CHECK, NULL);
        if (!o)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(fc_metric_fields); i++) {
                const FcMetricField *f = &fc_metric_fields[i];
                if (strlen(f->group) != key_len || memcmp(f->group, key, key_len) != 0)
                        continue;
                json_t *v = json_object_get(o, f->field);
                if (json_is_integer(v) && json_integer_value(v) > 0)
                        sum[f->counter] += (uint64_t) json_integer_value(v);
        }
        return 0;
}

/*
 * A line is one object with a few dozen groups, of which we sum three: walk
 * its top level without building it, and hand only those groups to jansson
 * (a whole ~10 KiB line through jansson costs ten times more, and a round
 * reads one line per VM).
 */
int fc_metrics_line_add(const char *line, size_t len, uint64_t acc[_VM_COUNTER_MAX]) {
        assert(line || len == 0);
        assert(acc);
        uint64_t sum[_VM_COUNTER_MAX] = { 0 };
        size_t i = skip_ws(line, len, 0);
        if (i >= len || line[i] != '{')
                return -EINVAL;
        i = skip_ws(line, len, i + 1);
        if (i < len && line[i] == '}')
                i++;
        else
                for (;;) {
                        if (i >= len || line[i] != '"')
                                return -EINVAL;
                        size_t key = i + 1, key_end = skip_string(line, len, i);
                        if (key_end >= len)
                                return -EINVAL;
                        i = skip_ws(line, len, key_end);
                        if (i >= len || line[i] != ':')
                                return -EINVAL;
                        size_t value = skip_ws(line, len, i + 1);
                        size_t value_end = skip_value(line, len, value);
                        if (value_end >= len || value_end == value)
                                return -EINVAL;
                        size_t key_len = key_end - 1 - key;
                        if (line[value] == '{' && is_summed_group(line + key, key_len) &&
                            add_group(line + key, key_len, line + value, value_end - value, sum) < 0)
                                return -EINVAL;
                        i = skip_ws(line, len, value_end);
                        if (i < len && line[i] == ',') {
                                i = skip_ws(line, len, i + 1);
                                continue;
                        }
                        if (i < len && line[i] == '}') {
                                i++;
                                break;
                        }
                        return -EINVAL;
                }
        if (skip_ws(line, len, i) != len)
                return -EINVAL;
        for (int k = 0; k < _VM_COUNTER_MAX; k++)
                acc[k] += sum[k];
        return 0;
}

size_t fc_metrics_consume(const char *buf, size_t len, uint64_t acc[_VM_COUNTER_MAX], unsigned *ret_bad) {
        assert(buf || len == 0);
        size_t done = 0;
        while (done < len) {
                const char *nl = memchr(buf + done, '\n', len - done);
                if (!nl)
                        break;
                size_t n = (size_t) (nl - (buf + done));
                bool blank = true;
                for (size_t i = 0; blank && i < n; i++)
                        blank = buf[done + i] == ' ' || buf[done + i] == '\r' || buf[done + i] == '\t';
                if (!blank && fc_metrics_line_add(buf + done, n, acc) < 0 && ret_bad)
                        (*ret_bad)++;
                done += n + 1;
        }
        return done;
}

int fc_metrics_read_file(const char *path, uint64_t *offset, uint64_t max_bytes,
                         uint64_t acc[_VM_COUNTER_MAX], unsigned *ret_bad) {
        assert(path && offset && acc);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        /* Never read a FIFO: the bytes taken would be lost to nobody's benefit,
         * and its "offset" means nothing. */
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        uint64_t off = *offset;
        if ((uint64_t) st.st_size < off)
                off = 0; /* truncated: a new VMM started writing from 0 */

        _cleanup_free_ char *buf = malloc(FC_LINE_MAX);
        if (!buf)
                return -ENOMEM;
        uint64_t sum[_VM_COUNTER_MAX] = { 0 }, read_total = 0;
        unsigned bad = 0;
        while (read_total < max_bytes) {
                ssize_t n = pread(fd, buf, FC_LINE_MAX, (off_t) off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                size_t used = fc_metrics_consume(buf, (size_t) n, sum, &bad);
                if (used == 0) {
                        if ((size_t) n < FC_LINE_MAX)
                                break; /* a line still being written */
                        used = (size_t) n; /* no newline in FC_LINE_MAX bytes: skip them */
                        bad++;
                }
                off += used;
                read_total += used;
        }
        for (int k = 0; k < _VM_COUNTER_MAX; k++)
                acc[k] += sum[k];
        if (ret_bad)
                *ret_bad += bad;
        *offset = off;
        return 0;
}

/* PUT /actions FlushMetrics: Firecracker writes a line before it answers. */
static int fc_flush(const MetricsCollectContext *ctx, const VmMetricTarget *t) {
        UnixHttpResponse resp = { 0 };
        int r = unix_http_request(t->vmm.socket_path, "PUT", "/actions",
                                  "{\"action_type\":\"FlushMetrics\"}", ctx->api_timeout_ms, &resp, NULL);
        if (r < 0)
                return r;
        long status = resp.status;
        unix_http_response_done(&resp);
        return status >= 200 && status < 300 ? 0 : -EBADMSG;
}

static int fc_collect(const MetricsCollectContext *ctx, const VmMetricTarget *t, VmMetricSource *source,
                      uint64_t ret_delta[_VM_COUNTER_MAX]) {
        bool current = metrics_source_is_current(source, t);
        int r = fc_flush(ctx, t);
        /* Without a successful flush, the file is only known to be this VMM's
         * when we read it for this VMM before: a VMM that is not booted yet
         * (FlushMetrics is refused before boot) has not truncated the previous
         * VMM's file, whose lines were counted already. */
        if (r < 0 && !current)
                return r;

        _cleanup_free_ char *path = strdup_printf("%s/metrics.json", t->run_dir);
        if (!path)
                return -ENOMEM;
        uint64_t offset = current ? source->offset : 0;
        uint64_t delta[_VM_COUNTER_MAX] = { 0 };
        r = fc_metrics_read_file(path, &offset, FC_READ_PER_ROUND, delta, NULL);
        if (r < 0)
                return r;
        *source = (VmMetricSource){ .pid = t->vmm.pid, .start_time = t->vmm.start_time, .offset = offset };
        memcpy(ret_delta, delta, sizeof delta);
        return 0;
}

/*
 * Firecracker appends a line per flush for as long as the VMM lives (a round
 * every 10 s is ~40-80 MiB a day) and the file is only truncated when a new
 * VMM boots. Once lines are consumed and the offset past them committed, their
 * disk blocks are freed by punching a hole over [0, offset): the size stays
 * (offsets and the truncation check keep working), the range reads as NUL
 * bytes and is never read again, and Firecracker, which writes at its own file
 * position (no O_APPEND), is not disturbed. Done each time another MiB was
 * consumed.
 */
static void fc_committed(const VmMetricTarget *t, const VmMetricSource *before,
                         const VmMetricSource *after) {
        if (!metrics_source_is_current(after, t))
                return;
        bool same = before->pid == after->pid && before->start_time == after->start_time;
        uint64_t prev = same ? before->offset : 0;
        if (after->offset >> FC_PUNCH_SHIFT == prev >> FC_PUNCH_SHIFT)
                return;
        _cleanup_free_ char *path = strdup_printf("%s/metrics.json", t->run_dir);
        if (!path)
                return;
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t) st.st_size < after->offset)
                return;
        (void) fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t) after->offset);
}

const MetricsCollector metrics_collector_firecracker = {
        .backend = "firecracker",
        .collect = fc_collect,
        .committed = fc_committed,
};
