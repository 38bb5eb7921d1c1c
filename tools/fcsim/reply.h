/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * reply: the outcome of one API request (Firecracker's Response before it is
 * written on the wire). Errors carry {"fault_message": "..."} like every
 * Firecracker error. Depends on jansson only.
 */

#include <jansson.h>

#include "http-reply.h"
#include <stdbool.h>

/* 204 No Content. */
Reply reply_empty(void);

/* 200 with v serialized compactly (serde_json::to_string). Steals v. */
Reply reply_json(json_t *v);

/* status with {"fault_message": <formatted text>}. */
Reply reply_fault(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The fault message of a reply made by reply_fault(), or NULL. Malloc'd. */
char *reply_fault_message(const Reply *r);

static inline bool reply_is_error(const Reply *r) {
        return r->status >= 400;
}
