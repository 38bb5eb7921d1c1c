/* SPDX-License-Identifier: Apache-2.0 */
#define SD_JOURNAL_SUPPRESS_LOCATION /* we pass the caller's location ourselves */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

int log_max_level = LOG_LEVEL_INFO;
static bool use_journal;

static const char *const level_names[] = {
        [LOG_LEVEL_ERR] = "error",
        [LOG_LEVEL_WARNING] = "warning",
        [LOG_LEVEL_INFO] = "info",
        [LOG_LEVEL_DEBUG] = "debug",
};

int log_level_from_string(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (level_names[i] && streq(level_names[i], s))
                        return (int) i;
        return -EINVAL;
}

const char *log_level_to_string(int level) {
        return level >= 0 && (size_t) level < ELEMENTSOF(level_names) ? level_names[level] : NULL;
}

/* systemd's documented test: JOURNAL_STREAM is "<dev>:<ino>" of the stream
 * it connected, and it is ours only if stderr still is that stream (a child
 * whose stderr was redirected inherits the variable but not the stream). */
bool log_open(void) {
        const char *js = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        char tail;
        use_journal = js && sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) == 2 &&
                      fstat(STDERR_FILENO, &st) == 0 && (unsigned long long) st.st_dev == dev &&
                      (unsigned long long) st.st_ino == ino;
        return use_journal;
}

bool log_to_journal(void) {
        return use_journal;
}

/* Format one "NAME=value" field into buf; its length, cut to fit. */
_printf_(3, 4) static struct iovec field(char *buf, size_t size, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(buf, size, fmt, ap);
        va_end(ap);
        size_t len = k < 0 ? 0 : (size_t) k < size ? (size_t) k : size - 1;
        return (struct iovec){ buf, len };
}

/* One structured entry. sd_journal_sendv takes the fields as they are (no
 * format parsing), so a message may hold '%'. */
static void journal_send(int level, const char *file, int line, const char *func, const LogVm *vm,
                         const char *msg) {
        char prio[16], code_file[256], code_line[32], code_func[128], vm_id[96], backend[64], state[64];
        _cleanup_free_ char *message = strdup_printf("MESSAGE=%s", msg);
        if (!message)
                return;
        struct iovec iov[8];
        size_t n = 0;
        iov[n++] = (struct iovec){ message, strlen(message) };
        iov[n++] = field(prio, sizeof prio, "PRIORITY=%d", level);
        while (strncmp(file, "../", 3) == 0) /* meson builds from a subdirectory: src/... is clearer */
                file += 3;
        iov[n++] = field(code_file, sizeof code_file, "CODE_FILE=%s", file);
        iov[n++] = field(code_line, sizeof code_line, "CODE_LINE=%d", line);
        iov[n++] = field(code_func, sizeof code_func, "CODE_FUNC=%s", func);
        if (vm && vm->id)
                iov[n++] = field(vm_id, sizeof vm_id, "VM_ID=%s", vm->id);
        if (vm && vm->backend)
                iov[n++] = field(backend, sizeof backend, "BACKEND=%s", vm->backend);
        if (vm && vm->state)
                iov[n++] = field(state, sizeof state, "STATE=%s", vm->state);
        (void) sd_journal_sendv(iov, (int) n);
}

void log_emit_full(int level, const char *file, int line, const char *func, const LogVm *vm, const char *fmt,
                   ...) {
        if (level > log_max_level)
                return;
        char line_buf[2048];
        int n = 0;
        if (!use_journal) {
                char ts[40];
                format_rfc3339(now_ms(), ts, sizeof ts);
                n = snprintf(line_buf, sizeof line_buf, "%s %s: ", ts, level_names[level]);
        }
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line_buf + n, sizeof line_buf - (size_t) n - 1, fmt, ap);
        va_end(ap);
        size_t len = (size_t) n + (m < 0 ? 0 : (size_t) m);
        if (len > sizeof line_buf - 2)
                len = sizeof line_buf - 2;
        if (use_journal) {
                line_buf[len] = 0;
                journal_send(level, file, line, func, vm, line_buf);
                return;
        }
        line_buf[len++] = '\n';
        (void) loop_write(STDERR_FILENO, line_buf, len);
}
