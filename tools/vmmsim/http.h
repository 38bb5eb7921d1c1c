/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * http: the wire behaviour of micro_http (the HTTP server Cloud Hypervisor
 * shares with Firecracker) on a Unix socket, for fcsim and chsim alike.
 *
 * - Request line "METHOD SP URI SP VERSION", CRLF line ends, lines of at most
 *   1022 bytes (micro_http's 1 KiB buffer); only GET, PUT, PATCH and DELETE;
 *   only HTTP/1.0 and HTTP/1.1.
 * - The body is exactly Content-Length bytes (0 or absent: no body); a
 *   Content-Length above the payload limit is refused before the body is read.
 * - Malformed input is answered 400 with
 *   {"error": "<reason>\nAll previous unanswered requests will be dropped."}
 *   (micro_http's own, not quite JSON, text); requests parsed in the same read
 *   are dropped. The simulator then closes the connection (see its README).
 * - Responses: "HTTP/1.1 <code> \r\n" (no reason phrase), "Server: <name>"
 *   ("Firecracker API", or what http_server_set_name() says: "Cloud
 *   Hypervisor API"), "Connection: keep-alive", Content-Type/Content-Length
 *   only with a body, "Deprecation: true" when the reply says so. Answers
 *   micro_http makes by itself (parse errors, the 503) keep its default
 *   "Server: Firecracker API": Cloud Hypervisor only sets the header on the
 *   responses of its own handlers.
 * - At most 10 connections; the 11th is told "Too many open connections" (503)
 *   and closed. Requests are handled one at a time, in order, synchronously.
 *
 * Single-threaded; the caller polls the fds this module hands out.
 */

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "http-reply.h"

#define HTTP_MAX_CONNECTIONS 10
#define HTTP_MAX_FDS (HTTP_MAX_CONNECTIONS + 1)

typedef enum HttpMethod {
        HTTP_GET,
        HTTP_PUT,
        HTTP_PATCH,
        HTTP_DELETE,
} HttpMethod;

typedef struct HttpRequest {
        HttpMethod method;
        const char *path; /* the URI's absolute path (micro_http's get_abs_path) */
        const char *body; /* NULL when there is no body */
        size_t body_len;
} HttpRequest;

/* Answers one request. Runs to completion before the next request is read. */
typedef Reply (*HttpHandler)(void *userdata, const HttpRequest *req);

typedef struct HttpServer HttpServer;

const char *http_method_name(HttpMethod m);

/* The Server header of the handlers' answers (default "Firecracker API");
 * name must outlive the server. */
void http_server_set_name(HttpServer *s, const char *name);

/* fcsim's test knob: while "<socket>.stall" exists, every request waits
 * first (see http.c). Off by default, and for servers made from an fd. */
void http_server_enable_stall_file(HttpServer *s);

/* Bind and listen on socket_path (the caller removes a stale file first; an
 * existing file fails with -EADDRINUSE). Returns 0 or a negative errno. */
int http_server_new(const char *socket_path, size_t payload_max, HttpHandler handler, void *userdata,
                    HttpServer **ret);

/* Serve an already bound and listening socket (--api-socket fd=N); takes
 * ownership of fd. Returns 0 or a negative errno (-ENOTSOCK ...). */
int http_server_new_from_fd(int fd, size_t payload_max, HttpHandler handler, void *userdata,
                            HttpServer **ret);
HttpServer *http_server_free(HttpServer *s);

/* Fill at most HTTP_MAX_FDS pollfds; returns how many. Once a handler has
 * returned a hanging reply (Reply.hang) nothing more is polled: the server
 * never answers again, like an API thread stuck waiting for the VMM. */
size_t http_server_fill_pollfds(HttpServer *s, struct pollfd *fds);

/* Act on the results of poll() for the fds filled by the last call above. */
void http_server_process(HttpServer *s, const struct pollfd *fds, size_t n);

/* Write out whatever is pending, blocking up to timeout_ms (used before exit,
 * so that the answer to the request that ends the process is delivered). */
void http_server_drain(HttpServer *s, int timeout_ms);
