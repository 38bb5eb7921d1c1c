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
typedef int (*RpcHandler)(void *userdata, const RpcCaller *caller, const json_t *request,
                          json_t **ret_response, ConnectError *e);

typedef struct RpcMethod {
        const char *name; /* "CreateVm" */
        RpcHandler handler;
        /* Reads only: may also be called with a Connect GET request
         * (?encoding=json&message=<url-encoded JSON>[&connect=v1]). */
        bool no_side_effects;
        /* Changes host-wide state (networks): for administrators only. */
        bool admin_only;
} RpcMethod;

typedef struct HttpServer HttpServer;

/* A plain (non-Connect) GET resource such as /metrics: fill a malloc'ed body
 * and a static content type; < 0 answers 500. Runs on the connection's thread. */
typedef int (*RawGetHandler)(void *userdata, char **ret_body, const char **ret_content_type);
typedef struct RawRoute {
        const char *path; /* "/metrics" */
        RawGetHandler handler;
} RawRoute;

/* Request counts and latencies per RPC method, for /metrics. */
#define HTTP_LATENCY_BUCKETS 12
extern const double http_latency_bounds_s[HTTP_LATENCY_BUCKETS]; /* upper bounds, seconds */
typedef struct HttpMethodStats {
        const char *method;
        uint64_t requests;
        uint64_t errors; /* answered with a Connect error */
        uint64_t buckets[HTTP_LATENCY_BUCKETS + 1]; /* cumulative counts per bound; last = +Inf */
        double sum_s;
} HttpMethodStats;
/* A snapshot, one entry per method (n_methods of them, in table order). */
int http_server_stats(HttpServer *s, HttpMethodStats **ret, size_t *ret_n);

typedef struct HttpServerConfig {
        const char *listen_address; /* "HOST:PORT", "[v6]:PORT"; port 0 picks one */
        int listen_fd; /* >= 0: a socket handed over by systemd (the server owns it) */
        const char *prefix; /* "/vmprovisioner.v1.VmService/" */
        const RpcMethod *methods; /* must stay valid while the server runs */
        size_t n_methods;
        const RawRoute *raw_routes; /* plain GETs such as /metrics; may be NULL */
        size_t n_raw_routes;
        void *userdata; /* passed to every handler */
} HttpServerConfig;

/* Serve POST prefix + method names, and the raw GET routes, on listen_fd or a
 * new socket bound to listen_address. */
int http_server_start(const HttpServerConfig *cfg, HttpServer **ret, char **ret_error);
/* The port actually bound (useful with port 0). */
unsigned http_server_port(const HttpServer *s);
/* Stop accepting new connections; requests in flight go on. */
void http_server_quiesce(HttpServer *s);
/* Stop: waits for requests in flight to be answered. Accepts NULL. */
HttpServer *http_server_stop(HttpServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpServer *, http_server_stop);
