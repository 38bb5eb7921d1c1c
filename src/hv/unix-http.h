/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A minimal HTTP/1.1 client over a Unix stream socket, on libcurl: one
 * request per call, a fresh connection each time, no global state, so any
 * thread may call it. Used by the hypervisor backends to talk to a VMM's API
 * socket. Depends on libcurl and util/ only.
 *
 * The caller's process must have run curl_global_init(CURL_GLOBAL_DEFAULT)
 * once before any thread calls this (metald's main does; tests do too).
 */

#include "util/util.h"

/* Largest response body accepted; a bigger one fails with -EFBIG. */
#define UNIX_HTTP_BODY_MAX (1u << 20)

typedef struct UnixHttpResponse {
        long status; /* HTTP status code, e.g. 200, 204, 400 */
        char *body; /* NUL-terminated, "" when there was none; owned */
        size_t body_size;
} UnixHttpResponse;

/* Release what a response owns and reset it; accepts a zeroed response. */
void unix_http_response_done(UnixHttpResponse *r);

/*
 * Send `method path` (path starts with '/') to the HTTP server listening on
 * socket_path and read the whole answer, all within timeout_ms (connect
 * included). body, if not NULL, is sent as application/json; every request
 * carries Content-Length (0 when there is no body), as Firecracker's
 * micro_http requires; no "Expect: 100-continue".
 *
 * Any HTTP status is a success of the transport: returns 0 and fills
 * *ret_response (the caller decides what 4xx/5xx mean). Transport failures
 * return negative errno and, if ret_error is not NULL, a malloc'ed message
 * with curl's words (the caller prefixes it with what it was doing):
 *   -ETIMEDOUT      nothing (or not everything) came back in time
 *   -ENOENT         the socket file does not exist
 *   -ECONNREFUSED   the socket exists but nobody accepts on it
 *   -EACCES         no permission to connect
 *   -ECONNRESET     the server closed the connection or sent nothing
 *   -EPROTO         the answer is not HTTP
 *   -EFBIG          the body is larger than UNIX_HTTP_BODY_MAX
 *   -ENAMETOOLONG   socket_path does not fit in sockaddr_un
 *   -ENOMEM, -EIO   local failures
 * *ret_response is written only on success.
 */
int unix_http_request(const char *socket_path, const char *method, const char *path, const char *body,
                      unsigned timeout_ms, UnixHttpResponse *ret_response, char **ret_error);
