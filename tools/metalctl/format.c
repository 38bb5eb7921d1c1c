/* SPDX-License-Identifier: Apache-2.0 */
#include "format.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>

char *format_size(uint64_t bytes, char buf[static FORMAT_SIZE_MAX]) {
        static const struct {
                unsigned shift;
                const char *suffix;
        } units[] = { { 40, "T" }, { 30, "G" }, { 20, "M" }, { 10, "K" } };
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                unsigned shift = units[i].shift;
                if (bytes < (UINT64_C(1) << shift))
                        continue;
                uint64_t whole = bytes >> shift, rem = bytes & ((UINT64_C(1) << shift) - 1);
                /* Tenths, rounded half up; rem < 2^40, so rem * 10 cannot overflow. */
                uint64_t tenths = (rem * 10 + (UINT64_C(1) << (shift - 1))) >> shift;
                if (tenths == 10) {
                        whole++;
                        tenths = 0;
                }
                if (whole == 1024 && i > 0) { /* 1023.96M rounds to 1G, not 1024M */
                        whole = 1;
                        shift = units[i - 1].shift;
                        i--;
                }
                if (tenths == 0)
                        snprintf(buf, FORMAT_SIZE_MAX, "%" PRIu64 "%s", whole, units[i].suffix);
                else
                        snprintf(buf, FORMAT_SIZE_MAX, "%" PRIu64 ".%" PRIu64 "%s", whole, tenths,
                                 units[i].suffix);
                return buf;
        }
        snprintf(buf, FORMAT_SIZE_MAX, "%" PRIu64 "B", bytes);
        return buf;
}

char *format_duration(uint64_t seconds, char buf[static FORMAT_SIZE_MAX]) {
        if (seconds < 60)
                snprintf(buf, FORMAT_SIZE_MAX, "%" PRIu64 "s", seconds);
        else if (seconds < 3600)
                snprintf(buf, FORMAT_SIZE_MAX, "%" PRIu64 "m%02" PRIu64 "s", seconds / 60, seconds % 60);
        else if (seconds < 86400)
                snprintf(buf, FORMAT_SIZE_MAX, "%" PRIu64 "h%02" PRIu64 "m", seconds / 3600,
                         seconds % 3600 / 60);
        else
                snprintf(buf, FORMAT_SIZE_MAX, "%" PRIu64 "d%02" PRIu64 "h", seconds / 86400,
                         seconds % 86400 / 3600);
        return buf;
}

static const struct {
        const char *enum_name;
        const char *label;
} state_labels[] = {
        { "VM_STATE_UNSPECIFIED", "-" },     { "VM_STATE_CREATED", "created" },
        { "VM_STATE_RUNNING", "running" },   { "VM_STATE_PAUSED", "paused" },
        { "VM_STATE_SHUTDOWN", "shutdown" }, { "VM_STATE_FAILED", "failed" },
        { "VM_STATE_DELETED", "deleted" },
};

const char *state_label(const char *enum_name) {
        if (isempty(enum_name))
                return "-";
        for (size_t i = 0; i < ELEMENTSOF(state_labels); i++)
                if (streq(enum_name, state_labels[i].enum_name))
                        return state_labels[i].label;
        return enum_name;
}

int json_int64(const json_t *v, int64_t *ret) {
        if (json_is_integer(v)) {
                *ret = (int64_t) json_integer_value(v);
                return 0;
        }
        const char *s = json_string_value(v);
        if (isempty(s))
                return -EINVAL;
        char *end;
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (*end || errno || !((s[0] >= '0' && s[0] <= '9') || s[0] == '-'))
                return -EINVAL;
        *ret = (int64_t) x;
        return 0;
}

char *format_time(const char *rfc3339, char *buf, size_t size) {
        assert(buf && size > 0);
        if (isempty(rfc3339)) {
                snprintf(buf, size, "-");
                return buf;
        }
        /* YYYY-MM-DDTHH:MM:SS.mmmZ: keep the seconds and the zone. */
        size_t n = strlen(rfc3339);
        const char *dot = strchr(rfc3339, '.');
        if (n >= 20 && dot && dot - rfc3339 == 19 && rfc3339[n - 1] == 'Z')
                snprintf(buf, size, "%.19sZ", rfc3339);
        else
                snprintf(buf, size, "%s", rfc3339);
        return buf;
}

/* A copy of s fit for a terminal: control characters become '?'. */
static char *sanitize(const char *s) {
        char *c = strdup(isempty(s) ? "-" : s);
        if (!c)
                return NULL;
        for (unsigned char *p = (unsigned char *) c; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        *p = '?';
        return c;
}

static const char *or_dash(const char *s) {
        return isempty(s) ? "-" : s;
}

static const char *or_empty(const char *s) {
        return s ? s : "";
}

/* Display width: UTF-8 characters, not bytes (wide glyphs count as one). */
static size_t text_width(const char *s) {
        size_t w = 0;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if ((*p & 0xc0) != 0x80)
                        w++;
        return w;
}

struct Table {
        const TableColumn *columns;
        size_t n_columns;
        char **cells; /* n_rows * n_columns, row-major */
        size_t n_rows;
        size_t allocated_rows;
};

int table_new(const TableColumn *columns, size_t n_columns, Table **ret) {
        assert(columns && n_columns > 0 && ret);
        Table *t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->columns = columns;
        t->n_columns = n_columns;
        *ret = t;
        return 0;
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
                free(t->cells[i]);
        free(t->cells);
        return mfree(t);
}

int table_add_row(Table *t, const char *const *cells) {
        assert(t && cells);
        if (t->n_rows == t->allocated_rows) {
                size_t n = t->allocated_rows ? t->allocated_rows * 2 : 16;
                char **c = reallocarray(t->cells, n * t->n_columns, sizeof *c);
                if (!c)
                        return -ENOMEM;
                t->cells = c;
                t->allocated_rows = n;
        }
        char **row = t->cells + t->n_rows * t->n_columns;
        for (size_t i = 0; i < t->n_columns; i++) {
                row[i] = sanitize(cells[i]);
                if (!row[i]) {
                        while (i > 0) {
                                i--;
                                row[i] = mfree(row[i]);
                        }
                        return -ENOMEM;
                }
        }
        t->n_rows++;
        return 0;
}

size_t table_rows(const Table *t) {
        return t->n_rows;
}

static void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

/* Print one row; cells[i] may be a header. */
static void table_print_row(const Table *t, FILE *f, const char *const *cells, const size_t *widths) {
        for (size_t i = 0; i < t->n_columns; i++) {
                size_t pad = widths[i] - text_width(cells[i]);
                bool last = i + 1 == t->n_columns;
                if (i > 0)
                        fputs("  ", f);
                if (t->columns[i].align == TABLE_RIGHT)
                        fprintf(f, "%*s", (int) pad, "");
                fputs(cells[i], f);
                if (t->columns[i].align == TABLE_LEFT && !last)
                        fprintf(f, "%*s", (int) pad, "");
        }
        fputc('\n', f);
}

int table_format(const Table *t, char **ret) {
        assert(t && ret);
        _cleanup_free_ size_t *widths = calloc(t->n_columns, sizeof *widths);
        _cleanup_free_ const char **headers = calloc(t->n_columns, sizeof *headers);
        if (!widths || !headers)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_columns; i++) {
                headers[i] = t->columns[i].header ? t->columns[i].header : "";
                widths[i] = text_width(headers[i]);
        }
        for (size_t r = 0; r < t->n_rows; r++)
                for (size_t i = 0; i < t->n_columns; i++) {
                        size_t w = text_width(t->cells[r * t->n_columns + i]);
                        if (w > widths[i])
                                widths[i] = w;
                }

        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        {
                _cleanup_(fclosep) FILE *f = open_memstream(&text, &size);
                if (!f)
                        return -ENOMEM;
                if (t->columns[0].header)
                        table_print_row(t, f, headers, widths);
                for (size_t r = 0; r < t->n_rows; r++)
                        table_print_row(t, f, (const char *const *) t->cells + r * t->n_columns, widths);
                if (fflush(f) != 0 || ferror(f))
                        return -ENOMEM;
        }
        if (!text)
                return -ENOMEM;
        *ret = TAKE_PTR(text);
        return 0;
}

/* A string field of obj under its lowerCamelCase name (answers) or, failing
 * that, its snake_case one; NULL when absent or not a string. */
static const char *str_field(const json_t *obj, const char *camel, const char *snake) {
        const json_t *v = json_object_get(obj, camel);
        if (!v && snake)
                v = json_object_get(obj, snake);
        return json_string_value(v);
}

static const json_t *field(const json_t *obj, const char *camel, const char *snake) {
        const json_t *v = json_object_get(obj, camel);
        return v || !snake ? v : json_object_get(obj, snake);
}

static int64_t int_field(const json_t *obj, const char *camel, const char *snake) {
        int64_t x = 0;
        (void) json_int64(field(obj, camel, snake), &x);
        return x;
}

/* The STATE cell of a listed VM: the state, or the exact lifecycle state
 * while a step is under way; "->wanted" when the desired state differs. */
static char *vm_state_cell(const json_t *vm) {
        const char *state = state_label(str_field(vm, "state", NULL));
        const char *desired = state_label(str_field(vm, "desiredState", "desired_state"));
        const char *lifecycle = str_field(vm, "lifecycleState", "lifecycle_state");
        const char *shown =
                json_is_true(field(vm, "transitioning", NULL)) && !isempty(lifecycle) ? lifecycle : state;
        if (streq(desired, "-") || streq(desired, state))
                return strdup(shown);
        return strdup_printf("%s->%s", shown, desired);
}

int vm_list_table(const json_t *vms, char **ret) {
        static const TableColumn columns[] = {
                { "ID", TABLE_LEFT },      { "STATE", TABLE_LEFT },   { "VCPUS", TABLE_RIGHT },
                { "MEMORY", TABLE_RIGHT }, { "BACKEND", TABLE_LEFT }, { "CUSTOMER", TABLE_LEFT },
                { "CREATED", TABLE_LEFT },
        };
        _cleanup_(table_freep) Table *t = NULL;
        int r = table_new(columns, ELEMENTSOF(columns), &t);
        if (r < 0)
                return r;
        size_t i;
        json_t *vm;
        json_array_foreach (vms, i, vm) {
                char vcpus[24], mem[FORMAT_SIZE_MAX], created[40];
                snprintf(vcpus, sizeof vcpus, "%" PRId64, int_field(vm, "vcpuCount", "vcpu_count"));
                format_size((uint64_t) int_field(vm, "memorySizeBytes", "memory_size_bytes"), mem);
                format_time(str_field(vm, "createdAt", "created_at"), created, sizeof created);
                _cleanup_free_ char *state = vm_state_cell(vm);
                if (!state)
                        return -ENOMEM;
                const char *cells[] = {
                        str_field(vm, "vmId", "vm_id"),
                        state,
                        vcpus,
                        mem,
                        str_field(vm, "backend", NULL),
                        str_field(vm, "customerId", "customer_id"),
                        created,
                };
                r = table_add_row(t, cells);
                if (r < 0)
                        return r;
        }
        return table_format(t, ret);
}

int history_table(const json_t *events, char **ret) {
        static const TableColumn columns[] = {
                { "SEQ", TABLE_RIGHT },   { "AT", TABLE_LEFT }, { "KIND", TABLE_LEFT },
                { "FROM", TABLE_LEFT },   { "TO", TABLE_LEFT }, { "GEN", TABLE_RIGHT },
                { "REASON", TABLE_LEFT },
        };
        _cleanup_(table_freep) Table *t = NULL;
        int r = table_new(columns, ELEMENTSOF(columns), &t);
        if (r < 0)
                return r;
        size_t i;
        json_t *ev;
        json_array_foreach (events, i, ev) {
                char seq[24], gen[24], at[40];
                snprintf(seq, sizeof seq, "%" PRId64, int_field(ev, "seq", NULL));
                snprintf(gen, sizeof gen, "%" PRId64, int_field(ev, "generation", NULL));
                format_time(str_field(ev, "at", NULL), at, sizeof at);
                const char *cells[] = {
                        seq,
                        at,
                        str_field(ev, "kind", NULL),
                        str_field(ev, "fromState", "from_state"),
                        str_field(ev, "toState", "to_state"),
                        gen,
                        str_field(ev, "reason", NULL),
                };
                r = table_add_row(t, cells);
                if (r < 0)
                        return r;
        }
        return table_format(t, ret);
}

/* A non-negative int64 field as a size ("-" stays "-" when absent). */
static char *size_cell(const json_t *obj, const char *camel, char buf[static FORMAT_SIZE_MAX]) {
        int64_t x;
        if (json_int64(json_object_get(obj, camel), &x) < 0 || x < 0) {
                snprintf(buf, FORMAT_SIZE_MAX, "-");
                return buf;
        }
        return format_size((uint64_t) x, buf);
}

int metrics_table(const json_t *samples, char **ret) {
        static const TableColumn columns[] = {
                { "AT", TABLE_LEFT },      { "CPU%", TABLE_RIGHT },      { "MEMORY", TABLE_RIGHT },
                { "UPTIME", TABLE_RIGHT }, { "DISK-READ", TABLE_RIGHT }, { "DISK-WRITE", TABLE_RIGHT },
                { "NET-RX", TABLE_RIGHT }, { "NET-TX", TABLE_RIGHT },
        };
        _cleanup_(table_freep) Table *t = NULL;
        int r = table_new(columns, ELEMENTSOF(columns), &t);
        if (r < 0)
                return r;
        size_t i;
        json_t *x;
        json_array_foreach (samples, i, x) {
                char at[40], cpu[24], mem[FORMAT_SIZE_MAX], up[FORMAT_SIZE_MAX], br[FORMAT_SIZE_MAX],
                        bw[FORMAT_SIZE_MAX], rx[FORMAT_SIZE_MAX], tx[FORMAT_SIZE_MAX];
                const json_t *pct = json_object_get(x, "cpuUsagePercent");
                if (json_is_number(pct))
                        snprintf(cpu, sizeof cpu, "%.1f", json_number_value(pct));
                else
                        snprintf(cpu, sizeof cpu, "-");
                int64_t uptime_ms;
                if (json_int64(json_object_get(x, "uptimeMs"), &uptime_ms) < 0 || uptime_ms < 0)
                        snprintf(up, sizeof up, "-");
                else
                        format_duration((uint64_t) uptime_ms / 1000, up);
                const char *cells[] = {
                        format_time(str_field(x, "at", NULL), at, sizeof at),
                        cpu,
                        size_cell(x, "rssBytes", mem),
                        up,
                        size_cell(x, "blockReadBytes", br),
                        size_cell(x, "blockWriteBytes", bw),
                        size_cell(x, "netRxBytes", rx),
                        size_cell(x, "netTxBytes", tx),
                };
                r = table_add_row(t, cells);
                if (r < 0)
                        return r;
        }
        return table_format(t, ret);
}

/* One "Label:  value" line of `info`; label NULL continues the previous one. */
static void info_line(FILE *f, const char *label, const char *value) {
        _cleanup_free_ char *v = sanitize(value);
        char l[32];
        snprintf(l, sizeof l, "%s%s", label ? label : "", label ? ":" : "");
        fprintf(f, "%-16s%s\n", l, v ? v : "?");
}

static void info_disks(FILE *f, const json_t *storage) {
        size_t i;
        json_t *d;
        if (json_array_size(storage) == 0) {
                info_line(f, "Disks", NULL);
                return;
        }
        json_array_foreach (storage, i, d) {
                const char *id = str_field(d, "id", NULL);
                _cleanup_free_ char *line = strdup_printf(
                        "%s %s (%s%s)", isempty(id) ? "-" : id, or_dash(str_field(d, "path", NULL)),
                        json_is_true(field(d, "readonly", NULL)) ? "ro" : "rw",
                        json_is_true(field(d, "isRootDevice", "is_root_device")) ? ", root" : "");
                info_line(f, i == 0 ? "Disks" : NULL, line ? line : "?");
        }
}

static void info_metadata(FILE *f, const json_t *metadata) {
        const char *key;
        json_t *v;
        bool first = true;
        json_object_foreach ((json_t *) metadata, key, v) {
                _cleanup_free_ char *line = strdup_printf("%s=%s", key, or_empty(json_string_value(v)));
                info_line(f, first ? "Metadata" : NULL, line ? line : "?");
                first = false;
        }
        if (first)
                info_line(f, "Metadata", NULL);
}

/* The usage lines of `info`, from GetVmInfo's "metrics" (absent until the
 * VM was first sampled, or with a metald that does not sample). */
static void info_usage(FILE *f, const json_t *m) {
        if (!json_is_object(m))
                return;
        char b[96], s1[FORMAT_SIZE_MAX], s2[FORMAT_SIZE_MAX];
        const json_t *pct = json_object_get(m, "cpuUsagePercent"), *secs = json_object_get(m, "cpuSeconds");
        snprintf(b, sizeof b, "%.1f%% now, %.1f s in all",
                 json_is_number(pct) ? json_number_value(pct) : 0.0,
                 json_is_number(secs) ? json_number_value(secs) : 0.0);
        info_line(f, "CPU", b);
        info_line(f, "Memory used", size_cell(m, "memoryBytes", s1));
        int64_t up = 0;
        (void) json_int64(json_object_get(m, "uptimeSeconds"), &up);
        info_line(f, "Uptime", format_duration(up > 0 ? (uint64_t) up : 0, s1));
        snprintf(b, sizeof b, "%s received, %s sent", size_cell(m, "networkRxBytes", s1),
                 size_cell(m, "networkTxBytes", s2));
        info_line(f, "Network", b);
        snprintf(b, sizeof b, "%s read, %s written", size_cell(m, "storageReadBytes", s1),
                 size_cell(m, "storageWriteBytes", s2));
        info_line(f, "Storage", b);
        char at[40];
        info_line(f, "Sampled", format_time(str_field(m, "sampledAt", "sampled_at"), at, sizeof at));
}

int vm_info_text(const json_t *info, char **ret) {
        assert(info && ret);
        const json_t *config = field(info, "config", NULL);
        const json_t *cpu = field(config, "cpu", NULL), *mem = field(config, "memory", NULL),
                     *boot = field(config, "boot", NULL);
        const json_t *bi = field(info, "backendInfo", "backend_info");
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        {
                _cleanup_(fclosep) FILE *f = open_memstream(&text, &size);
                if (!f)
                        return -ENOMEM;
                char b1[64], b2[64], s1[FORMAT_SIZE_MAX], s2[FORMAT_SIZE_MAX];
                const char *lifecycle = str_field(info, "lifecycleState", "lifecycle_state");
                bool transitioning = json_is_true(field(info, "transitioning", NULL));

                info_line(f, "ID", str_field(info, "vmId", "vm_id"));
                info_line(f, "State", state_label(str_field(info, "state", NULL)));
                info_line(f, "Desired state", state_label(str_field(info, "desiredState", "desired_state")));
                snprintf(b1, sizeof b1, "%s%s", or_dash(lifecycle), transitioning ? " (in progress)" : "");
                info_line(f, "Lifecycle", b1);
                info_line(f, "Customer", str_field(info, "customerId", "customer_id"));
                info_line(f, "Backend", str_field(info, "backend", NULL));
                int64_t pid = int_field(bi, "vmmPid", "vmm_pid");
                snprintf(b1, sizeof b1, "%" PRId64, pid);
                info_line(f, "VMM pid", pid > 0 ? b1 : NULL);

                int64_t vcpus = int_field(cpu, "vcpuCount", "vcpu_count"),
                        max = int_field(cpu, "maxVcpuCount", "max_vcpu_count");
                if (max > vcpus)
                        snprintf(b1, sizeof b1, "%" PRId64 " (max %" PRId64 ")", vcpus, max);
                else
                        snprintf(b1, sizeof b1, "%" PRId64, vcpus);
                info_line(f, "vCPUs", b1);
                int64_t hotplug = int_field(mem, "hotplugSizeBytes", "hotplug_size_bytes");
                format_size((uint64_t) int_field(mem, "sizeBytes", "size_bytes"), s1);
                if (hotplug > 0)
                        snprintf(b2, sizeof b2, "%s (+%s hotplug)", s1, format_size((uint64_t) hotplug, s2));
                else
                        snprintf(b2, sizeof b2, "%s", s1);
                info_line(f, "Memory", b2);
                info_line(f, "Kernel", str_field(boot, "kernelPath", "kernel_path"));
                info_line(f, "Kernel args", str_field(boot, "kernelArgs", "kernel_args"));
                info_line(f, "Initrd", str_field(boot, "initrdPath", "initrd_path"));
                info_disks(f, field(config, "storage", NULL));
                info_metadata(f, field(config, "metadata", NULL));

                snprintf(b1, sizeof b1, "%s (restarts: %" PRId64 ")",
                         or_dash(str_field(info, "restartPolicy", "restart_policy")),
                         int_field(info, "restarts", NULL));
                info_line(f, "Restart policy", b1);
                info_usage(f, field(info, "metrics", NULL));
                snprintf(b1, sizeof b1, "%" PRId64 " (observed %" PRId64 ")",
                         int_field(info, "generation", NULL),
                         int_field(info, "observedGeneration", "observed_generation"));
                info_line(f, "Generation", b1);
                snprintf(b1, sizeof b1, "%" PRId64, int_field(info, "attempts", NULL));
                info_line(f, "Attempts", b1);
                info_line(f, "Last error", str_field(info, "lastError", "last_error"));
                info_line(f, "Last exit", str_field(info, "lastExit", "last_exit"));
                info_line(f, "Created",
                          format_time(str_field(info, "createdAt", "created_at"), b1, sizeof b1));
                info_line(f, "Updated",
                          format_time(str_field(info, "updatedAt", "updated_at"), b1, sizeof b1));
                info_line(f, "Run dir", str_field(bi, "runDir", "run_dir"));
                info_line(f, "API socket", str_field(bi, "apiSocketPath", "api_socket_path"));
                info_line(f, "Console log", str_field(bi, "consoleLogPath", "console_log_path"));
                if (fflush(f) != 0 || ferror(f))
                        return -ENOMEM;
        }
        if (!text)
                return -ENOMEM;
        *ret = TAKE_PTR(text);
        return 0;
}

size_t console_skip_partial_line(const char *data, size_t size) {
        const char *nl = memchr(data, '\n', size);
        return nl ? (size_t) (nl - data) + 1 : 0;
}
