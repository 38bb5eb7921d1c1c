/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The Connect client: one unary call is
 *   POST <url>/vmprovisioner.v1.VmService/<Method>
 *   Content-Type: application/json, Connect-Protocol-Version: 1
 *   [Authorization: Bearer <token>]
 * over HTTP(S), or over a Unix socket for "unix:/path". One CURL handle is
 * kept per client, so polling (wait, console -f) reuses the connection.
 *
 * Not thread-safe: one client per thread. curl_global_init() is the
 * caller's (main's) business.
 */

#include <jansson.h>

#include "exit-status.h"
#include "util/util.h"

#define METALCTL_DEFAULT_URL "http://127.0.0.1:8080"
/* Longer than metald's own wait for a lifecycle step (--request-timeout, 30 s). */
#define METALCTL_DEFAULT_REQUEST_TIMEOUT_S 60
/* The largest answer accepted: a page of 1000 VMs is far below it. */
#define METALCTL_MAX_ANSWER (32u << 20)

/* Why a call failed. code is the Connect code when metald answered with an
 * error ("not_found"), NULL when no usable answer came (message then says
 * what happened and what to do). */
typedef struct RpcError {
        char *code;
        char *message;
        ExitStatus status;
} RpcError;

void rpc_error_done(RpcError *e);

typedef struct Client Client;

/* url: "http://HOST:PORT[/prefix]", "https://...", or "unix:/path/to.sock";
 * token: NULL or a bearer token (printable ASCII, no spaces). -EINVAL with
 * *ret_error set for a URL or token that cannot work. */
int client_new(const char *url, const char *token, unsigned request_timeout_s, Client **ret,
               char **ret_error);
Client *client_free(Client *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Client *, client_free);

/* Raise the request timeout to at least s seconds (e.g. for a shutdown
 * that may wait longer for its guest). */
void client_extend_timeout(Client *c, unsigned s);

/* The URL as the user gave it (for messages). */
const char *client_url(const Client *c);

/* Call method with request (not taken). On success, *ret is the answer
 * object (the caller's reference) and 0 is returned. On failure, a negative
 * errno is returned and *err is filled (the caller prints it and calls
 * rpc_error_done): -EPROTO when metald answered with a Connect error,
 * -ECONNREFUSED/-EHOSTUNREACH/... when it could not be reached, -ETIMEDOUT,
 * -EBADMSG when what answered is not the API, -ENOMEM. */
int client_call(Client *c, const char *method, const json_t *request, json_t **ret, RpcError *err);
