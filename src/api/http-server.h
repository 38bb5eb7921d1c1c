/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The HTTP side of the Connect protocol on libmicrohttpd: routing
 * POST <prefix><Method> to a table of handlers, content-type and size
 * checks, and turning handler results into responses. Knows nothing of VMs.
 *
 * Threads: one per connection (handlers may block while a lifecycle request
 * is carried out), at most HTTP_CONNECTIONS_MAX of them.
 */

#include <jansson.h>

#include "api/connect.h"

#define HTTP_BODY_MAX (1u << 20)
#define HTTP_CONNECTIONS_MAX 512

/* Handle one request message; fill *ret_response (a new reference) and return
 * 0, or fill e and return < 0. Runs on the connection's thread. */
typedef int (*RpcHandler)(void *userdata, const json_t *request, json_t **ret_response,
                          ConnectError *e);

typedef struct RpcMethod {
        const char *name; /* "CreateVm" */
        RpcHandler handler;
} RpcMethod;

typedef struct HttpServer HttpServer;

/*
 * Serve prefix + method names ("/vmprovisioner.v1.VmService/" + "CreateVm")
 * on listen_fd when it is >= 0 (a socket handed over by systemd; the server
 * takes ownership), else on a new socket bound to listen_address ("HOST:PORT",
 * "[v6]:PORT"; port 0 picks one). methods must stay valid while it runs.
 */
int http_server_start(const char *listen_address, int listen_fd, const char *prefix,
                      const RpcMethod *methods, size_t n_methods, void *userdata, HttpServer **ret,
                      char **ret_error);
/* The port actually bound (useful with port 0). */
unsigned http_server_port(const HttpServer *s);
/* Stop accepting new connections; requests in flight go on. */
void http_server_quiesce(HttpServer *s);
/* Stop: waits for requests in flight to be answered. Accepts NULL. */
HttpServer *http_server_stop(HttpServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpServer *, http_server_stop);
