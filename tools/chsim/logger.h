/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * logger: Cloud Hypervisor's log (the Logger in cloud-hypervisor/src/main.rs).
 * Lines look like
 *   cloud-hypervisor:   0.012345s: <vmm> INFO:vmm/src/lib.rs:1234 -- Booting VM
 * with CRLF line ends, on stderr unless --log-file names a file (created and
 * truncated). The level is Warn, raised by each -v (Info, Debug, Trace).
 * Single-threaded; depends on nothing else in chsim.
 */

typedef enum LogLevel {
        LOG_LVL_ERROR,
        LOG_LVL_WARN,
        LOG_LVL_INFO,
        LOG_LVL_DEBUG,
        LOG_LVL_TRACE,
} LogLevel;

/* Start the clock; output to stderr at level Warn. */
void logger_init(void);

/* -v count: 0 Warn, 1 Info, 2 Debug, 3+ Trace. */
void logger_set_verbosity(unsigned v);

/* File::create(path). Returns 0 or a negative errno (target unchanged). */
int logger_open(const char *path);

void logger_log(LogLevel level, const char *thread, const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

void logger_close(void);

#define log_error(thread, file, ...) logger_log(LOG_LVL_ERROR, thread, file, __LINE__, __VA_ARGS__)
#define log_warn(thread, file, ...) logger_log(LOG_LVL_WARN, thread, file, __LINE__, __VA_ARGS__)
#define log_info(thread, file, ...) logger_log(LOG_LVL_INFO, thread, file, __LINE__, __VA_ARGS__)
#define log_debug(thread, file, ...) logger_log(LOG_LVL_DEBUG, thread, file, __LINE__, __VA_ARGS__)
