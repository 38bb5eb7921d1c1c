/* SPDX-License-Identifier: Apache-2.0 */
#include "logger.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The logger is the one module-level singleton, like Firecracker's LOGGER. */
static struct {
        int fd; /* STDOUT_FILENO or an owned fd */
        bool regular; /* a regular file: append at the end */
        LogLevel level;
        bool show_level, show_origin;
        char id[80];
} L = { .fd = STDOUT_FILENO, .level = LOG_LVL_INFO };

void logger_init(const char *instance_id) {
        logger_close();
        L.level = LOG_LVL_INFO;
        L.show_level = L.show_origin = false;
        snprintf(L.id, sizeof(L.id), "%s", instance_id ? instance_id : "");
}

int logger_open(const char *path) {
        int fd = open(path, O_RDWR | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        struct stat st;
        bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
        logger_close();
        L.fd = fd;
        L.regular = regular;
        return 0;
}

void logger_close(void) {
        if (L.fd != STDOUT_FILENO)
                close(L.fd);
        L.fd = STDOUT_FILENO;
        L.regular = false;
}

void logger_set_level(LogLevel level) {
        L.level = level;
}

void logger_set_show_level(bool show) {
        L.show_level = show;
}

void logger_set_show_origin(bool show) {
        L.show_origin = show;
}

int logger_level_from_str(const char *s, LogLevel *ret) {
        static const struct {
                const char *name;
                LogLevel level;
        } names[] = {
                { "off", LOG_LVL_OFF },     { "trace", LOG_LVL_TRACE }, { "debug", LOG_LVL_DEBUG },
                { "info", LOG_LVL_INFO },   { "warn", LOG_LVL_WARN },   { "warning", LOG_LVL_WARN },
                { "error", LOG_LVL_ERROR },
        };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcasecmp(s, names[i].name) == 0) {
                        *ret = names[i].level;
                        return 0;
                }
        return -EINVAL;
}

static const char *level_name(LogLevel l) {
        switch (l) {
        case LOG_LVL_ERROR:
                return "ERROR";
        case LOG_LVL_WARN:
                return "WARN";
        case LOG_LVL_INFO:
                return "INFO";
        case LOG_LVL_DEBUG:
                return "DEBUG";
        case LOG_LVL_TRACE:
                return "TRACE";
        default:
                return "OFF";
        }
}

void logger_log(LogLevel level, const char *thread, const char *file, int line, const char *fmt, ...) {
        if (level == LOG_LVL_OFF || level > L.level)
                return;

        struct timespec ts;
        struct tm tm;
        char stamp[64], prefix[256], *msg = NULL, *out = NULL;
        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

        int n = snprintf(prefix, sizeof(prefix), "%s%s%s", L.id, *L.id ? ":" : "", thread);
        if (L.show_level && n > 0 && (size_t) n < sizeof(prefix))
                n += snprintf(prefix + n, sizeof(prefix) - (size_t) n, ":%s", level_name(level));
        if (L.show_origin && n > 0 && (size_t) n < sizeof(prefix)) {
                const char *base = strstr(file, "tools/");
                snprintf(prefix + n, sizeof(prefix) - (size_t) n, ":%s:%d", base ? base : file, line);
        }

        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;
        r = asprintf(&out, "%s.%09ld [%s] %s\n", stamp, ts.tv_nsec, prefix, msg);
        free(msg);
        if (r < 0)
                return;
        if (L.regular)
                (void) lseek(L.fd, 0, SEEK_END);
        /* One write per line; a full FIFO loses the line (missed_log_count). */
        ssize_t w = write(L.fd, out, (size_t) r);
        (void) w;
        free(out);
}
