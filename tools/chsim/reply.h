/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * reply: the outcome of one API request, and Cloud Hypervisor's error chains.
 *
 * Cloud Hypervisor answers an error with the Display text of every error in
 * its source chain, outermost first, as a JSON array:
 *   ["Error from API", "The VM could not boot", "VM config is missing"]
 * The layer that knows the cause builds the innermost message (cherr_new) and
 * each layer above prepends its own (cherr_wrap), exactly like the Rust error
 * types nest. The innermost layer also picks the HTTP status when it is not
 * the default 500 (404 for "VM is not created" / "VM config is missing", 409
 * for a duplicate device). Depends on jansson only.
 */

#include <jansson.h>

#include "http-reply.h"
#include <stdbool.h>
#include <stddef.h>

/* 204 No Content. */
Reply reply_empty(void);

/* status without a body (micro_http's bare Response::new(status)). */
Reply reply_status(int status);

/* 200 with v serialized compactly (serde_json::to_string). Steals v. */
Reply reply_json(json_t *v);

/* 200 with body already serialized. Steals body. */
Reply reply_text(char *body);

#define CHERR_MAX 8

typedef struct ChErr {
        int status; /* HTTP status for the API; 0 means 500 */
        size_t n; /* messages, outermost first */
        char *msg[CHERR_MAX];
} ChErr;

/* A new chain with its innermost message. Never returns NULL (on OOM a
 * static "out of memory" chain, which cherr_free ignores). */
ChErr *cherr_new(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepend an outer message to e (which is returned). */
ChErr *cherr_wrap(ChErr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The Display of an io::Error from an errno: "No such file or directory (os error 2)". */
ChErr *cherr_errno(int errnum);

/* "a: b: c" (the form Cloud Hypervisor logs and prints). Malloc'd or NULL. */
char *cherr_join(const ChErr *e, const char *sep);

ChErr *cherr_free(ChErr *e);

/* The HTTP answer for e (status and the JSON array). Consumes e. */
Reply reply_cherr(ChErr *e);

static inline void cherr_freep(ChErr **e) {
        cherr_free(*e);
}
