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

/*
 * One SQLite connection and its prepared statements (the StoreTxn a
 * store_write function gets is one of these). Statements prepared with
 * prepare_cached() stay prepared for the connection's life, so a hot query
 * is compiled once per connection, not once per call.
 */
#define STORE_STMT_CACHE_MAX 64
struct StoreConn {
        sqlite3 *db;
        struct {
                const char *sql; /* the caller's string: a literal, compared by address first */
                sqlite3_stmt *st;
        } cache[STORE_STMT_CACHE_MAX];
        size_t n_cache;
        /* The writer only: live (not deleted) VMs as of this transaction, so that
         * --max-vms costs one count(*) per batch, not one per CreateVm. */
        bool live_known;
        int64_t live;
};
typedef struct StoreConn StoreConn;

/* A borrowed connection released at scope exit; an open transaction is rolled back.
 * Borrow with conn_acquire(&c) after `Conn c = { .store = s }`. */
typedef struct Conn {
        Store *store;
        sqlite3 *db;
        StoreConn *sc;
        bool in_txn;
} Conn;
int conn_acquire(Conn *c);
void conn_releasep(Conn *c);
#define _cleanup_conn_ _cleanup_(conn_releasep)

/* BEGIN (IMMEDIATE when write) / COMMIT. */
int conn_begin(Conn *c, bool write);
int conn_commit(Conn *c);

int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret);
/*
 * The connection's cached statement for sql (prepared on first use), reset
 * and with its bindings cleared by _cleanup_cached_stmt_ at scope exit, never
 * finalized by the caller. sql must be a string that lives as long as the
 * program (a literal). Not for a statement still being stepped further up
 * the same call chain (the same SQL nested on one connection).
 */
int prepare_cached(StoreConn *sc, const char *sql, sqlite3_stmt **ret);
void sqlite3_resetp(sqlite3_stmt **s);
#define _cleanup_cached_stmt_ _cleanup_(sqlite3_resetp)
/* Run a statement that returns no rows. */
int step_done(sqlite3_stmt *st);
/* Column i as a new string ("" for NULL); NULL on OOM. */
char *column_strdup(sqlite3_stmt *st, int i);
