/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * http-reply: what a simulator's API handler answers, as the shared micro_http
 * server (http.h) writes it on the wire. Each simulator builds its own error
 * bodies (fcsim: {"fault_message": ...}; chsim: Cloud Hypervisor's error
 * chains) in its reply.[ch].
 */

#include <stdbool.h>

typedef struct Reply {
        int status; /* 200, 204, 400, 404, 409, 413, 429, 500 ... */
        char *body; /* malloc'd JSON text, or NULL for no body */
        bool deprecation; /* adds "Deprecation: true" (Firecracker: deprecated fields used) */
        bool hang; /* never answer, nor anything after (chsim's CHSIM_HANG_ON): see http.h */
} Reply;

/* Free the body. */
void reply_done(Reply *r);
