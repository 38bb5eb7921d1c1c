/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * metalctl's exit statuses, and the one place that maps Connect error codes
 * and HTTP statuses to them. Scripts rely on these numbers: they are
 * documented in metalctl(1) and printed by `metalctl --help`; never renumber.
 *
 * Pure: no I/O, no allocation.
 */

#include <stddef.h>

typedef enum ExitStatus {
        EXIT_OK = 0, /* done */
        EXIT_USAGE = 1, /* bad command line, size, file or token; nothing was sent */
        EXIT_REFUSED = 2, /* metald refused the request as asked (invalid_argument, ...) */
        EXIT_NOT_FOUND = 3, /* no such VM (or deleted) */
        EXIT_UNREACHABLE = 4, /* metald could not be reached, or what answered is not its API */
        EXIT_TIMEOUT = 5, /* wait --timeout elapsed, deadline_exceeded, or no answer in time */
        EXIT_VM_FAILED = 6, /* wait: the VM reached FAILED */
        EXIT_SERVER = 7, /* metald failed or is busy (internal, unavailable, ...): retry later */
        EXIT_UNSUPPORTED = 8, /* this metald does not have the RPC (unimplemented) */
        EXIT_LOCAL = 9, /* metalctl itself failed (out of memory, cannot write its output) */
        _EXIT_STATUS_MAX,
} ExitStatus;

/* The exit status for a Connect error code ("not_found"). Unknown or NULL
 * codes are EXIT_SERVER. */
ExitStatus exit_status_from_connect_code(const char *code);

/* The Connect code a client infers from the HTTP status of an answer that
 * carries no Connect error body (connectrpc.com/docs/protocol, "HTTP to
 * Error Code"). Never NULL. */
const char *connect_code_from_http_status(long status);

/* One line describing status s (for --help and the man page), or NULL. */
const char *exit_status_description(ExitStatus s);
