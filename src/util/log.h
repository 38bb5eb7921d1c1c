/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Leveled logging. The log level and the target are the permitted globals
 * (with parsed options). Thread-safe.
 *
 * Two targets, chosen once by log_open():
 *   - stderr: one line per call, "<RFC 3339 time> <level>: <message>", each
 *     one write(2) so threads do not interleave;
 *   - the journal, when stderr is connected to it (systemd sets
 *     JOURNAL_STREAM=<dev>:<ino> to stderr's device and inode): structured
 *     entries through sd_journal_sendv with MESSAGE, PRIORITY, CODE_FILE,
 *     CODE_LINE, CODE_FUNC and, for a line about a VM (log_vm_*), VM_ID,
 *     BACKEND and STATE, so `journalctl VM_ID=<id>` shows one VM's story.
 *
 * A function either logs or returns an error, never both: the outermost
 * layer that decides what to do with a failure logs it.
 */

#include <stdbool.h>

#include "util/util.h"

enum {
        LOG_LEVEL_ERR = 3,
        LOG_LEVEL_WARNING = 4,
        LOG_LEVEL_INFO = 6,
        LOG_LEVEL_DEBUG = 7,
};

extern int log_max_level;

/* Pick the target: the journal when JOURNAL_STREAM names stderr, else stderr.
 * Call once at start, before threads. Returns whether it is the journal. */
bool log_open(void);
/* Whether log_open() chose the journal. */
bool log_to_journal(void);

/* What a log line is about: all may be NULL (the field is left out). */
typedef struct LogVm {
        const char *id;
        const char *backend;
        const char *state;
} LogVm;

void log_emit_full(int level, const char *file, int line, const char *func, const LogVm *vm, const char *fmt,
                   ...) _printf_(6, 7);
/* Parse "error", "warning", "info", "debug". */
int log_level_from_string(const char *s);
/* The name of a level ("info"); NULL if none. */
const char *log_level_to_string(int level);

#define log_emit(level, ...) log_emit_full(level, __FILE__, __LINE__, __func__, NULL, __VA_ARGS__)
#define log_error(...) log_emit(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warning(...) log_emit(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_emit(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                                      \
        do {                                                                                                \
                if (log_max_level >= LOG_LEVEL_DEBUG)                                                       \
                        log_emit(LOG_LEVEL_DEBUG, __VA_ARGS__);                                             \
        } while (0)

/* A line about one VM: id, backend, state (strings, each may be NULL). */
#define log_vm(level, id_, backend_, state_, ...)                                                           \
        do {                                                                                                \
                if (log_max_level >= (level)) {                                                             \
                        const LogVm vm_ = { (id_), (backend_), (state_) };                                  \
                        log_emit_full(level, __FILE__, __LINE__, __func__, &vm_, __VA_ARGS__);              \
                }                                                                                           \
        } while (0)
#define log_vm_error(id, backend, state, ...) log_vm(LOG_LEVEL_ERR, id, backend, state, __VA_ARGS__)
#define log_vm_warning(id, backend, state, ...) log_vm(LOG_LEVEL_WARNING, id, backend, state, __VA_ARGS__)
#define log_vm_info(id, backend, state, ...) log_vm(LOG_LEVEL_INFO, id, backend, state, __VA_ARGS__)
#define log_vm_debug(id, backend, state, ...) log_vm(LOG_LEVEL_DEBUG, id, backend, state, __VA_ARGS__)
