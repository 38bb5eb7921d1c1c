/* SPDX-License-Identifier: Apache-2.0 */
#include "api/http-server.h"

#include <arpa/inet.h>
#include <assert.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <strings.h>
#include <sys/socket.h>

#include "util/log.h"

const double http_latency_bounds_s[HTTP_LATENCY_BUCKETS] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                             0.1,   0.25,   0.5,   1.0,  5.0,   30.0 };

/* Per-method counters, updated with relaxed atomics from connection threads. */
typedef struct MethodCounters {
        uint64_t requests;
        uint64_t errors;
        uint64_t buckets[HTTP_LATENCY_BUCKETS + 1]; /* non-cumulative here */
        uint64_t sum_us;
} MethodCounters;

struct HttpServer {
        struct MHD_Daemon *mhd;
        MethodCounters *counters; /* one per method */
        const RawRoute *raw_routes;
        size_t n_raw_routes;
        int listen_fd;
        unsigned port;
        const char *prefix;
        size_t prefix_len;
        const RpcMethod *methods;
        size_t n_methods;
        void *userdata;
};

/* Per-request state between libmicrohttpd's calls of the access handler. */
typedef struct Request {
        const RpcMethod *method;
        uint64_t started_us;
        char *body;
        size_t size;
        bool too_large;
} Request;

static enum MHD_Result queue_json(struct MHD_Connection *c, unsigned status, char *text, const char *allow) {
        if (!text)
                return MHD_NO; /* OOM: libmicrohttpd closes the connection */
        struct MHD_Response *resp =
                MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(text);
                return MHD_NO;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        if (allow)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
        enum MHD_Result ret = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result queue_error(struct MHD_Connection *c, const ConnectError *e, unsigned status) {
        return queue_json(c, status ? status : connect_code_http_status(e->code), connect_error_body(e),
                          NULL);
}

/* Which content types we read as JSON: application/json, and what curl -d sends
 * (application/x-www-form-urlencoded) or nothing at all, as the seed's examples do. */
static bool content_type_is_json(const char *ct) {
        if (!ct || !*ct)
                return true;
        size_t n = strcspn(ct, "; \t");
        return (n == 16 && strncasecmp(ct, "application/json", n) == 0) ||
               (n == 33 && strncasecmp(ct, "application/x-www-form-urlencoded", n) == 0);
}

static const RawRoute *find_raw(HttpServer *s, const char *url) {
        for (size_t i = 0; i < s->n_raw_routes; i++)
                if (streq(s->raw_routes[i].path, url))
                        return &s->raw_routes[i];
        return NULL;
}

static enum MHD_Result serve_raw(HttpServer *s, struct MHD_Connection *c, const RawRoute *route) {
        char *body = NULL;
        const char *type = "text/plain";
        int r = route->handler(s->userdata, &body, &type);
        if (r < 0 || !body) {
                free(body);
                ConnectError e;
                connect_error(&e, CONNECT_INTERNAL, "%s failed: %s", route->path,
                              strerror(r < 0 ? -r : ENOMEM));
                return queue_error(c, &e, 0);
        }
        struct MHD_Response *resp =
                MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(body);
                return MHD_NO;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        enum MHD_Result ret = MHD_queue_response(c, 200, resp);
        MHD_destroy_response(resp);
        return ret;
}

static void count_request(HttpServer *s, const Request *req, bool error) {
        MethodCounters *mc = &s->counters[req->method - s->methods];
        uint64_t us = now_mono_us() - req->started_us;
        size_t b = 0;
        while (b < HTTP_LATENCY_BUCKETS && (double) us / 1e6 > http_latency_bounds_s[b])
                b++;
        __atomic_fetch_add(&mc->requests, 1, __ATOMIC_RELAXED);
        if (error)
                __atomic_fetch_add(&mc->errors, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&mc->buckets[b], 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&mc->sum_us, us, __ATOMIC_RELAXED);
}

int http_server_stats(HttpServer *s, HttpMethodStats **ret, size_t *ret_n) {
        HttpMethodStats *st = calloc(s->n_methods ? s->n_methods : 1, sizeof *st);
        if (!st)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_methods; i++) {
                MethodCounters *mc = &s->counters[i];
                st[i].method = s->methods[i].name;
                st[i].requests = __atomic_load_n(&mc->requests, __ATOMIC_RELAXED);
                st[i].errors = __atomic_load_n(&mc->errors, __ATOMIC_RELAXED);
                uint64_t cum = 0;
                for (size_t b = 0; b <= HTTP_LATENCY_BUCKETS; b++) {
                        cum += __atomic_load_n(&mc->buckets[b], __ATOMIC_RELAXED);
                        st[i].buckets[b] = cum;
                }
                st[i].sum_s = (double) __atomic_load_n(&mc->sum_us, __ATOMIC_RELAXED) / 1e6;
        }
        *ret = st;
        *ret_n = s->n_methods;
        return 0;
}

static const RpcMethod *find_method(HttpServer *s, const char *url) {
        if (strncmp(url, s->prefix, s->prefix_len) != 0)
                return NULL;
        const char *name = url + s->prefix_len;
        for (size_t i = 0; i < s->n_methods; i++)
                if (streq(s->methods[i].name, name))
                        return &s->methods[i];
        return NULL;
}

static enum MHD_Result finish_request(HttpServer *s, struct MHD_Connection *c, Request *req);

/*
 * A Connect GET request (for methods without side effects): the message is
 * in the query string, URL-encoded, already decoded by libmicrohttpd. Answered
 * at once: a GET has no body to wait for.
 */
static enum MHD_Result begin_get_request(HttpServer *s, struct MHD_Connection *c, const RpcMethod *m,
                                         void **con_cls) {
        ConnectError e;
        const char *connect = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "connect");
        const char *encoding = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "encoding");
        const char *message = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "message");
        const char *b64 = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "base64");
        const char *comp = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "compression");
        if (connect && !streq(connect, "v1")) {
                connect_error(&e, CONNECT_INVALID_ARGUMENT, "connect=%s is not supported (use v1)", connect);
                return queue_error(c, &e, 0);
        }
        if (!encoding) {
                connect_error(&e, CONNECT_INVALID_ARGUMENT,
                              "a Connect GET needs encoding=json in the query");
                return queue_error(c, &e, 0);
        }
        if (!streq(encoding, "json")) {
                connect_error(&e, CONNECT_UNIMPLEMENTED, "encoding=%s is not supported; use encoding=json",
                              encoding);
                return queue_error(c, &e, 415);
        }
        if ((b64 && !streq(b64, "0")) || (comp && !streq(comp, "identity"))) {
                connect_error(&e, CONNECT_UNIMPLEMENTED,
                              "base64 and compression are not supported with encoding=json: send the "
                              "message URL-encoded");
                return queue_error(c, &e, 0);
        }
        size_t n = message ? strlen(message) : 0;
        if (n > HTTP_BODY_MAX) {
                connect_error(&e, CONNECT_RESOURCE_EXHAUSTED, "message exceeds the limit of %u bytes",
                              HTTP_BODY_MAX);
                return queue_error(c, &e, 0);
        }
        Request *req = calloc(1, sizeof *req);
        if (!req)
                return MHD_NO;
        req->method = m;
        req->started_us = now_mono_us();
        *con_cls = req;
        if (n > 0) {
                req->body = strdup(message);
                if (!req->body)
                        return MHD_NO;
                req->size = n;
        }
        return finish_request(s, c, req);
}

/* The first call for a request: everything that can be decided from the headers. */
static enum MHD_Result begin_request(HttpServer *s, struct MHD_Connection *c, const char *url,
                                     const char *http_method, void **con_cls) {
        ConnectError e;
        const RawRoute *raw = streq(http_method, "GET") ? find_raw(s, url) : NULL;
        if (raw)
                return serve_raw(s, c, raw);
        const RpcMethod *m = find_method(s, url);
        if (!m) {
                connect_error(&e, CONNECT_UNIMPLEMENTED, "unknown method %s (this server serves %s*)", url,
                              s->prefix);
                return queue_error(c, &e, 404);
        }
        if (streq(http_method, "GET") && m->no_side_effects)
                return begin_get_request(s, c, m, con_cls);
        if (!streq(http_method, "POST")) {
                connect_error(&e, CONNECT_UNIMPLEMENTED, "%s must be called with POST%s, not %s", url,
                              m->no_side_effects ? " or GET" : "", http_method);
                return queue_json(c, 405, connect_error_body(&e), m->no_side_effects ? "GET, POST" : "POST");
        }
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!content_type_is_json(ct)) {
                connect_error(&e, CONNECT_UNIMPLEMENTED,
                              "unsupported content type \"%s\"; send application/json", ct);
                return queue_error(c, &e, 415);
        }
        const char *pv = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Connect-Protocol-Version");
        if (pv && !streq(pv, "1")) {
                connect_error(&e, CONNECT_INVALID_ARGUMENT,
                              "Connect-Protocol-Version \"%s\" is not supported (use 1)", pv);
                return queue_error(c, &e, 0);
        }
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > HTTP_BODY_MAX) {
                connect_error(&e, CONNECT_RESOURCE_EXHAUSTED,
                              "request body of %s bytes exceeds the limit of %u bytes", cl, HTTP_BODY_MAX);
                return queue_error(c, &e, 0);
        }
        Request *req = calloc(1, sizeof *req);
        if (!req)
                return MHD_NO;
        req->method = m;
        req->started_us = now_mono_us();
        *con_cls = req;
        return MHD_YES;
}

/* The whole body is in: decode, call the handler, answer. */
static enum MHD_Result finish_request(HttpServer *s, struct MHD_Connection *c, Request *req) {
        ConnectError e = { 0 };
        if (req->too_large) {
                connect_error(&e, CONNECT_RESOURCE_EXHAUSTED, "request body exceeds the limit of %u bytes",
                              HTTP_BODY_MAX);
                count_request(s, req, true);
                return queue_error(c, &e, 0);
        }
        json_t *in;
        if (req->size == 0)
                in = json_object(); /* an empty message */
        else {
                json_error_t jerr;
                in = json_loadb(req->body, req->size, JSON_REJECT_DUPLICATES, &jerr);
                if (!in) {
                        connect_error(&e, CONNECT_INVALID_ARGUMENT,
                                      "malformed JSON at line %d column %d: %s", jerr.line, jerr.column,
                                      jerr.text);
                        count_request(s, req, true);
                        return queue_error(c, &e, 0);
                }
        }
        json_t *out = NULL;
        /* Until the transport authenticates callers, every caller is an admin. */
        static const RpcCaller anyone = { .role = CALLER_ADMIN };
        int r = req->method->handler(s->userdata, &anyone, in, &out, &e);
        json_decref(in);
        count_request(s, req, r < 0);
        if (r < 0) {
                json_decref(out);
                return queue_error(c, &e, 0);
        }
        char *text = json_dumps(out, JSON_COMPACT);
        json_decref(out);
        return queue_json(c, 200, text, NULL);
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version, const char *upload_data,
                                      size_t *upload_data_size, void **con_cls) {
        HttpServer *s = cls;
        Request *req = *con_cls;
        if (!req)
                return begin_request(s, c, url, method, con_cls);
        if (*upload_data_size > 0) {
                size_t n = *upload_data_size;
                *upload_data_size = 0;
                if (req->too_large || req->size + n > HTTP_BODY_MAX) {
                        /* Keep reading (and dropping) so the answer can be sent cleanly. */
                        req->too_large = true;
                        req->body = mfree(req->body);
                        return MHD_YES;
                }
                char *nb = realloc(req->body, req->size + n);
                if (!nb)
                        return MHD_NO;
                memcpy(nb + req->size, upload_data, n);
                req->body = nb;
                req->size += n;
                return MHD_YES;
        }
        return finish_request(s, c, req);
}

static void request_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                              enum MHD_RequestTerminationCode toe) {
        Request *req = *con_cls;
        if (req) {
                free(req->body);
                free(req);
                *con_cls = NULL;
        }
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
        char buf[512];
        vsnprintf(buf, sizeof buf, fmt, ap);
        buf[strcspn(buf, "\n")] = 0;
        log_debug("http: %s", buf);
}

/* Create the listening socket ourselves: close-on-exec, and the same code path
 * serves socket activation and Unix sockets later. */
static int listen_socket(const char *address, int *ret_fd, char **ret_error) {
        _cleanup_free_ char *copy = strdup(address);
        if (!copy)
                return -ENOMEM;
        char *host = copy, *port = strrchr(copy, ':');
        if (!port || port == copy) {
                *ret_error = strdup_printf("--listen \"%s\": expected HOST:PORT", address);
                return -EINVAL;
        }
        *port++ = 0;
        if (host[0] == '[' && host[strlen(host) - 1] == ']') {
                host++;
                host[strlen(host) - 1] = 0;
        }
        struct addrinfo hints = { .ai_family = AF_UNSPEC,
                                  .ai_socktype = SOCK_STREAM,
                                  .ai_flags = AI_NUMERICSERV | AI_PASSIVE };
        struct addrinfo *ai = NULL;
        int g = getaddrinfo(host, port, &hints, &ai);
        if (g != 0) {
                *ret_error = strdup_printf("--listen \"%s\": %s", address, gai_strerror(g));
                return -EINVAL;
        }
        int r = -EADDRNOTAVAIL;
        for (struct addrinfo *p = ai; p; p = p->ai_next) {
                _cleanup_close_ int fd = socket(p->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0) {
                        r = -errno;
                        continue;
                }
                int one = 1;
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
                if (bind(fd, p->ai_addr, p->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
                        r = -errno;
                        continue;
                }
                *ret_fd = TAKE_FD(fd);
                freeaddrinfo(ai);
                return 0;
        }
        freeaddrinfo(ai);
        *ret_error = strdup_printf("cannot listen on %s: %s", address, strerror(-r));
        return r;
}

int http_server_start(const HttpServerConfig *cfg, HttpServer **ret, char **ret_error) {
        assert(cfg && cfg->listen_address && cfg->prefix && cfg->methods && ret);
        const char *listen_address = cfg->listen_address, *prefix = cfg->prefix;
        const RpcMethod *methods = cfg->methods;
        size_t n_methods = cfg->n_methods;
        int listen_fd = cfg->listen_fd;
        void *userdata = cfg->userdata;
        HttpServer *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->listen_fd = -EBADF;
        s->prefix = prefix;
        s->prefix_len = strlen(prefix);
        s->methods = methods;
        s->n_methods = n_methods;
        s->userdata = userdata;
        s->raw_routes = cfg->raw_routes;
        s->n_raw_routes = cfg->n_raw_routes;
        s->counters = calloc(n_methods ? n_methods : 1, sizeof *s->counters);
        if (!s->counters) {
                free(s);
                return -ENOMEM;
        }
        int r = 0;
        if (listen_fd >= 0)
                s->listen_fd = listen_fd;
        else
                r = listen_socket(listen_address, &s->listen_fd, ret_error);
        if (r < 0) {
                free(s->counters);
                free(s);
                return r;
        }
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        if (getsockname(s->listen_fd, (struct sockaddr *) &sa, &len) == 0)
                s->port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *) &sa)->sin6_port
                                                         : ((struct sockaddr_in *) &sa)->sin_port);
        /* poll(), not select(): with a thousand VMs metald holds more than
         * FD_SETSIZE (1024) descriptors (a pidfd per VMM), and with select()
         * libmicrohttpd refuses a listening socket or closes a connection
         * whose descriptor is above it. */
        s->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                          MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG,
                                  0, NULL, NULL, access_handler, s, MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned) HTTP_CONNECTIONS_MAX,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 120, MHD_OPTION_NOTIFY_COMPLETED,
                                  request_completed, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
                                  MHD_OPTION_THREAD_STACK_SIZE, (size_t) 256 * 1024, MHD_OPTION_END);
        if (!s->mhd) {
                safe_close(s->listen_fd);
                free(s->counters);
                free(s);
                *ret_error = strdup_printf("cannot start the HTTP server on %s", listen_address);
                return -EIO;
        }
        *ret = s;
        return 0;
}

unsigned http_server_port(const HttpServer *s) {
        return s->port;
}

void http_server_quiesce(HttpServer *s) {
        if (!s || !s->mhd || s->listen_fd < 0)
                return;
        MHD_socket fd = MHD_quiesce_daemon(s->mhd);
        if (fd != MHD_INVALID_SOCKET)
                s->listen_fd = safe_close(fd);
}

HttpServer *http_server_stop(HttpServer *s) {
        if (!s)
                return NULL;
        http_server_quiesce(s);
        if (s->mhd)
                MHD_stop_daemon(s->mhd);
        safe_close(s->listen_fd);
        free(s->counters);
        return mfree(s);
}
