/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * For the store's own files only (store.c, metrics.c, ...): borrowed
 * connections, transactions and statement helpers. Nothing outside
 * src/store/ includes this.
 */

#include <sqlite3.h>

#include "store/store.h"

/* The one translation point from SQLite result codes to negative errno. */
int sqlite_to_errno(int rc);

void sqlite3_finalizep(sqlite3_stmt **s);
#define _cleanup_stmt_ _cleanup_(sqlite3_finalizep)

/* Borrow a pooled connection (opening one if none is idle) / give it back. */
int store_acquire(Store *s, sqlite3 **ret);
void store_release(Store *s, sqlite3 *db);

/* A borrowed connection released at scope exit; an open transaction is rolled back. */
typedef struct Conn {
        Store *store;
        sqlite3 *db;
        bool in_txn;
} Conn;
void conn_releasep(Conn *c);
#define _cleanup_conn_ _cleanup_(conn_releasep)

/* BEGIN (IMMEDIATE when write) / COMMIT. */
int conn_begin(Conn *c, bool write);
int conn_commit(Conn *c);

int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret);
/* Run a statement that returns no rows. */
int step_done(sqlite3_stmt *st);
/* Column i as a new string ("" for NULL); NULL on OOM. */
char *column_strdup(sqlite3_stmt *st, int i);
