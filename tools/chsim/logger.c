/* SPDX-License-Identifier: Apache-2.0 */
#include "logger.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct {
        int fd;
        LogLevel level;
        struct timespec start;
} lg = { .fd = STDERR_FILENO, .level = LOG_LVL_WARN };

static const char *const level_names[] = { "ERROR", "WARN", "INFO", "DEBUG", "TRACE" };

void logger_init(void) {
        clock_gettime(CLOCK_MONOTONIC, &lg.start);
        lg.fd = STDERR_FILENO;
        lg.level = LOG_LVL_WARN;
}

void logger_set_verbosity(unsigned v) {
        lg.level = v == 0 ? LOG_LVL_WARN : v == 1 ? LOG_LVL_INFO : v == 2 ? LOG_LVL_DEBUG : LOG_LVL_TRACE;
}

int logger_open(const char *path) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd < 0)
                return -errno;
        logger_close();
        lg.fd = fd;
        return 0;
}

void logger_log(LogLevel level, const char *thread, const char *file, int line, const char *fmt, ...) {
        if (level > lg.level)
                return;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double s = (double) (now.tv_sec - lg.start.tv_sec) + (double) (now.tv_nsec - lg.start.tv_nsec) / 1e9;
        char *msg = NULL;
        va_list ap;
        va_start(ap, fmt);
        int n = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        char *out = NULL;
        n = asprintf(&out, "cloud-hypervisor: %10.6fs: <%s> %s:%s:%d -- %s\r\n", s, thread,
                     level_names[level], file, line, msg);
        free(msg);
        if (n < 0)
                return;
        ssize_t w = write(lg.fd, out, (size_t) n);
        (void) w;
        free(out);
}

void logger_close(void) {
        if (lg.fd > STDERR_FILENO)
                close(lg.fd);
        lg.fd = STDERR_FILENO;
}
