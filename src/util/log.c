/* SPDX-License-Identifier: Apache-2.0 */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

int log_max_level = LOG_LEVEL_INFO;

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

/* One line per call, written with a single write(2) so threads do not interleave. */
void log_emit(int level, const char *fmt, ...) {
        if (level > log_max_level)
                return;
        char line[2048];
        char ts[40];
        format_rfc3339(now_ms(), ts, sizeof ts);
        int n = snprintf(line, sizeof line, "%s %s: ", ts, level_names[level]);
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof line - (size_t) n - 1, fmt, ap);
        va_end(ap);
        size_t len = (size_t) n + (m < 0 ? 0 : (size_t) m);
        if (len > sizeof line - 2)
                len = sizeof line - 2;
        line[len++] = '\n';
        (void) loop_write(STDERR_FILENO, line, len);
}
