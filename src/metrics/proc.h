/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The host's view of a VMM process, for every backend: CPU time, resident
 * memory and age, from /proc/<pid>/stat and /proc/<pid>/statm. The parsers
 * are pure (unit-tested); proc_usage_read does the I/O. Depends on util only.
 */

#include <sys/types.h>

#include "util/util.h"

/* The fields of /proc/<pid>/stat we use, in clock ticks. */
typedef struct ProcStat {
        char state; /* field 3: R, S, D, Z, ... */
        uint64_t utime; /* field 14 */
        uint64_t stime; /* field 15 */
        uint64_t start_time; /* field 22, since boot */
} ProcStat;

/* Parse the text of /proc/<pid>/stat. The command name (field 2) may hold
 * spaces and parentheses: fields are counted after its last ')'. -EINVAL if
 * the text is not such a line. */
int proc_stat_parse(const char *text, ProcStat *ret);

/* Parse /proc/<pid>/statm: the resident set in pages (field 2). -EINVAL otherwise. */
int proc_statm_parse(const char *text, uint64_t *ret_resident_pages);

typedef struct ProcUsage {
        uint64_t cpu_ns; /* user + system since the process started */
        uint64_t rss_bytes;
        uint64_t uptime_ms; /* since the process started */
} ProcUsage;

/* Read the usage of process pid if it is alive (not a zombie) and started at
 * start_time (field 22), so a reused pid is never read as our VMM. -ESRCH
 * otherwise; other negative errno on read failures. */
int proc_usage_read(pid_t pid, uint64_t start_time, ProcUsage *ret);
