/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * logger: Firecracker's human-readable log. Lines look like
 *   2024-05-01T10:00:00.123456789 [<id>:<thread>] message
 * with ":LEVEL" and ":file:line" added by show_level / show_log_origin.
 * The target is stdout until --log-path or PUT /logger names a file or FIFO.
 * Single-threaded; depends on nothing else in fcsim.
 */

#include <stdbool.h>

typedef enum LogLevel {
        LOG_LVL_OFF,
        LOG_LVL_ERROR,
        LOG_LVL_WARN,
        LOG_LVL_INFO,
        LOG_LVL_DEBUG,
        LOG_LVL_TRACE,
} LogLevel;

/* Reset to the defaults: stdout, level Info, no level, no origin. */
void logger_init(const char *instance_id);

/* Send the log to path (opened O_NONBLOCK, created if missing, not
 * truncated). Returns 0 or a negative errno; on error the target is kept. */
int logger_open(const char *path);

void logger_set_level(LogLevel level);
void logger_set_show_level(bool show);
void logger_set_show_origin(bool show);

/* Firecracker's LevelFilter::from_str (case-insensitive; "warning" is Warn).
 * Returns 0 or -EINVAL. */
int logger_level_from_str(const char *s, LogLevel *ret);

/* Emit one line if level passes the filter. thread is the Firecracker thread
 * name shown in the prefix ("main", "fc_api", "fc_vcpu 0"). */
void logger_log(LogLevel level, const char *thread, const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

void logger_close(void);

#define log_error(thread, ...) logger_log(LOG_LVL_ERROR, thread, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(thread, ...) logger_log(LOG_LVL_WARN, thread, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(thread, ...) logger_log(LOG_LVL_INFO, thread, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(thread, ...) logger_log(LOG_LVL_DEBUG, thread, __FILE__, __LINE__, __VA_ARGS__)
