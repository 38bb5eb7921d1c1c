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
#include <protobuf-c/protobuf-c.h>

#include "api/auth.h"
#include "api/connect.h"

#define HTTP_BODY_MAX (1u << 20)
#define HTTP_CONNECTIONS_MAX 512
#define HTTP_TIMEOUT_DEFAULT_S 30
#define HTTP_PER_IP_DEFAULT 128
/* A request body must arrive within this many seconds of its headers, however
 * it trickles (the idle timeout alone lets a byte every few seconds through). */
#define HTTP_BODY_DEADLINE_S 30
#define HTTP_LISTENERS_MAX 16

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
        /* Which roles may call it (api/connect.h); unset = admin-only. */
        RpcAccess access;
} RpcMethod;

typedef struct HttpServer HttpServer;

/* A plain (non-Connect) GET resource such as /metrics: fill a malloc'ed body
 * and a static content type; < 0 answers 500. Runs on the connection's thread. */
typedef int (*RawGetHandler)(void *userdata, char **ret_body, const char **ret_content_type);
typedef struct RawRoute {
        const char *path; /* "/metrics" */
        RawGetHandler handler;
        RpcAccess access; /* unset = admin-only */
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

/* Who the caller is, from what the transport saw: 0 and *ret filled, or < 0
 * and e filled (unauthenticated). Runs on the connection's thread. */
typedef int (*HttpAuthenticate)(void *userdata, const CallerCredentials *cred, RpcCaller *ret,
                                ConnectError *e);

typedef struct HttpServerConfig {
        /* Listen on each of listen_addresses ("HOST:PORT", "[v6]:PORT", port 0
         * picks one; "unix:/PATH"), or, when n_listen_addresses is 0, on
         * listen_address alone. */
        const char *listen_address;
        char *const *listen_addresses;
        size_t n_listen_addresses;
        int listen_fd; /* >= 0: a socket handed over by systemd (the server owns it) */
        const int *listen_fds; /* more of them (sd_listen_fds); used instead of the addresses */
        size_t n_listen_fds;
        unsigned socket_mode; /* of unix: sockets we create; 0 = 0660 */
        gid_t socket_gid; /* their group when set_socket_gid */
        bool set_socket_gid;
        /* Refuse a TCP listener on a non-loopback address (no authentication configured). */
        bool loopback_only;
        /* TLS on the TCP listeners: PEM texts of the certificate chain and key; with
         * tls_trust_pem, clients are asked for a certificate signed by it. */
        const char *tls_cert_pem;
        const char *tls_key_pem;
        const char *tls_trust_pem;
        HttpAuthenticate authenticate; /* NULL: every caller is an admin */
        void *auth_userdata;
        const char *prefix; /* "/vmprovisioner.v1.VmService/" */
        const RpcMethod *methods; /* must stay valid while the server runs */
        size_t n_methods;
        /* The schema's service: when set, every method must be in it and the
         * binary codec (application/proto, GET encoding=proto) is served too,
         * converted to and from the handlers' JSON (api/proto-json.h). */
        const ProtobufCServiceDescriptor *service;
        const RawRoute *raw_routes; /* plain GETs such as /metrics; may be NULL */
        size_t n_raw_routes;
        void *userdata; /* passed to every handler */
        /* Limits against slow or greedy clients; 0 takes the default. */
        unsigned connection_timeout_s; /* idle connection closed (HTTP_TIMEOUT_DEFAULT_S) */
        unsigned connection_limit; /* all clients (HTTP_CONNECTIONS_MAX) */
        unsigned per_ip_connection_limit; /* one address (HTTP_PER_IP_DEFAULT; UINT_MAX: none) */
        unsigned body_deadline_s; /* a body complete this long after its headers (HTTP_BODY_DEADLINE_S) */
} HttpServerConfig;

/* Serve POST prefix + method names, and the raw GET routes, on the sockets
 * handed over or new ones bound to the addresses (one libmicrohttpd daemon
 * each). A Unix socket we bind replaces a stale one at its path and is
 * removed at stop. */
int http_server_start(const HttpServerConfig *cfg, HttpServer **ret, char **ret_error);
/* The port actually bound by the first TCP listener (useful with port 0). */
unsigned http_server_port(const HttpServer *s);
/* Stop accepting new connections; requests in flight go on. */
void http_server_quiesce(HttpServer *s);
/* Stop: waits for requests in flight to be answered. Accepts NULL. */
HttpServer *http_server_stop(HttpServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpServer *, http_server_stop);
