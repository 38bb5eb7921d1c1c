/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * What metalctl shows a human: aligned tables, sizes with units, short state
 * names, and the text of `info`, built from the server's JSON answers
 * (lowerCamelCase; int64 as a number or a string).
 *
 * Pure functions: no I/O. Strings from the server are shown with control
 * characters replaced by '?', so an answer cannot drive the terminal.
 * Functions returning int give 0 or -ENOMEM; *ret is malloc'ed, the
 * caller's.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/util.h"

#define FORMAT_SIZE_MAX 24

/* A size for humans, in the units metalctl accepts: "512M", "1G", "1.5G",
 * "4K", "100B". Exact multiples print without a fraction; others with one
 * decimal (rounded). Returns buf. */
char *format_size(uint64_t bytes, char buf[static FORMAT_SIZE_MAX]);

/* A duration for humans: "45s", "3m05s", "2h03m", "4d02h". Returns buf. */
char *format_duration(uint64_t seconds, char buf[static FORMAT_SIZE_MAX]);

/* "VM_STATE_RUNNING" -> "running". Unknown names are returned as they are;
 * NULL or "" gives "-". */
const char *state_label(const char *enum_name);

/* An int64 field given as a JSON number or a decimal string. -EINVAL when
 * it is neither (or missing). */
int json_int64(const json_t *v, int64_t *ret);

/* "2026-11-28T14:32:43.215Z" -> "2026-11-28T14:32:43Z" (drops the
 * milliseconds; other text is copied, truncated to size). Returns buf. */
char *format_time(const char *rfc3339, char *buf, size_t size);

/* A table of text: a header row and rows of cells, columns padded to their
 * widest cell (counted in UTF-8 characters) and separated by two spaces. */
typedef enum TableAlign {
        TABLE_LEFT,
        TABLE_RIGHT,
} TableAlign;

typedef struct TableColumn {
        const char *header;
        TableAlign align;
} TableColumn;

typedef struct Table Table;

/* The columns are borrowed and must outlive the table. */
int table_new(const TableColumn *columns, size_t n_columns, Table **ret);
Table *table_free(Table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Table *, table_free);
/* Append a row of n_columns cells (copied; NULL or "" shows as "-", so
 * every column stays one word for awk). */
int table_add_row(Table *t, const char *const *cells);
size_t table_rows(const Table *t);
/* The table as text, one line per row, each ending in '\n'. The last
 * column is not padded. */
int table_format(const Table *t, char **ret);

/* The `list` table of a ListVmsResponse's "vms" array:
 * ID STATE VCPUS MEMORY BACKEND CUSTOMER CREATED. */
int vm_list_table(const json_t *vms, char **ret);

/* The `history` table of a GetVmHistoryResponse's "events" array:
 * SEQ AT KIND FROM TO GEN REASON. */
int history_table(const json_t *events, char **ret);

/* The `metrics` table of a GetVmMetricsResponse's "samples" array:
 * AT CPU% MEMORY UPTIME DISK-READ DISK-WRITE NET-RX NET-TX (counters are
 * deltas over each sample's interval). */
int metrics_table(const json_t *samples, char **ret);

/* The `info` text of a GetVmInfoResponse: one "Label:  value" per line
 * (with the usage lines when the answer has "metrics"). */
int vm_info_text(const json_t *info, char **ret);

/* Where, in the first chunk of a console tail that starts inside the log
 * (not at its first byte), the first whole line begins: just past the first
 * '\n', or 0 when there is none. */
size_t console_skip_partial_line(const char *data, size_t size);
