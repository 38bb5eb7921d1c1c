/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The schema migrations compiled into the binary (from migrations/NNNN_*.sql by
 * tools/embed-sql.sh), applied in array order. Terminated by {NULL, NULL}. */
typedef struct Migration {
        const char *name; /* file basename without .sql, e.g. "0001_init" */
        const char *sql;
} Migration;

extern const Migration migrations[];
