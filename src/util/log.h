/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Leveled logging to stderr. The log level is one of the two permitted
 * globals (with parsed options). Thread-safe: each line is one write(2).
 *
 * A function either logs or returns an error, never both: the outermost
 * layer that decides what to do with a failure logs it.
 */

#include "util/util.h"

enum {
        LOG_LEVEL_ERR = 3,
        LOG_LEVEL_WARNING = 4,
        LOG_LEVEL_INFO = 6,
        LOG_LEVEL_DEBUG = 7,
};

extern int log_max_level;

void log_emit(int level, const char *fmt, ...) _printf_(2, 3);
/* Parse "error", "warning", "info", "debug". */
int log_level_from_string(const char *s);

#define log_error(...) log_emit(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warning(...) log_emit(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_emit(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                                      \
        do {                                                                                                \
                if (log_max_level >= LOG_LEVEL_DEBUG)                                                       \
                        log_emit(LOG_LEVEL_DEBUG, __VA_ARGS__);                                             \
        } while (0)
