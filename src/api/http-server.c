/* SPDX-License-Identifier: Apache-2.0 */
#include "api/http-server.h"

#include <arpa/inet.h>
#include <assert.h>
#include <inttypes.h>
#include <limits.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "api/proto-json.h"
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

/* One socket we serve, with its own libmicrohttpd daemon. */
typedef struct Listener {
        HttpServer *server;
        struct MHD_Daemon *mhd;
        int fd;
        bool is_unix;
        bool tls;
        char *unix_path; /* a socket file we created (removed at stop) */
        char *name; /* for messages */
} Listener;

struct HttpServer {
        Listener listeners[HTTP_LISTENERS_MAX];
        size_t n_listeners;
        MethodCounters *counters; /* one per method */
        const RawRoute *raw_routes;
        size_t n_raw_routes;
        unsigned port;
        HttpAuthenticate authenticate;
        void *auth_userdata;
        const char *prefix;
        size_t prefix_len;
        const RpcMethod *methods;
        size_t n_methods;
        /* The schema's method i of methods, for the binary codec (NULL when the
         * server has no service descriptor: JSON only). */
        const ProtobufCMethodDescriptor **proto_methods;
        void *userdata;
        uint64_t body_deadline_us;
};

/* Per-request state between libmicrohttpd's calls of the access handler. */
typedef struct Request {
        const RpcMethod *method;
        RpcCaller caller;
        uint64_t started_us;
        char *body;
        size_t size;
        bool too_large;
        bool proto; /* the binary codec (application/proto) in and out */
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
        if (status == 401) /* RFC 6750: say which scheme would do */
                MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"metald\"");
        enum MHD_Result ret = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

/* A successful answer in the binary codec; takes data. */
static enum MHD_Result queue_proto(struct MHD_Connection *c, uint8_t *data, size_t size) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(size, data, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(data);
                return MHD_NO;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/proto");
        enum MHD_Result ret = MHD_queue_response(c, 200, resp);
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

/* The binary codec's content type, with or without parameters. */
static bool content_type_is_proto(const char *ct) {
        size_t n = ct ? strcspn(ct, "; \t") : 0;
        return n == 17 && strncasecmp(ct, "application/proto", n) == 0;
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
                                         const RpcCaller *caller, void **con_cls) {
        ConnectError e;
        const char *connect = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "connect");
        const char *encoding = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "encoding");
        const char *message = NULL;
        size_t n = 0;
        if (MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, "message", 7, &message, &n) != MHD_YES)
                message = NULL, n = 0;
        const char *b64 = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "base64");
        const char *comp = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "compression");
        if (connect && !streq(connect, "v1")) {
                connect_error(&e, CONNECT_INVALID_ARGUMENT, "connect=%s is not supported (use v1)", connect);
                return queue_error(c, &e, 0);
        }
        bool proto = encoding && streq(encoding, "proto") && s->proto_methods;
        if (!encoding) {
                connect_error(&e, CONNECT_INVALID_ARGUMENT,
                              "a Connect GET needs encoding=json or encoding=proto in the query");
                return queue_error(c, &e, 0);
        }
        if (!streq(encoding, "json") && !proto) {
                connect_error(&e, CONNECT_UNIMPLEMENTED,
                              "encoding=%s is not supported; use encoding=json or encoding=proto", encoding);
                return queue_error(c, &e, 415);
        }
        if (comp && !streq(comp, "identity")) {
                connect_error(&e, CONNECT_UNIMPLEMENTED,
                              "compression=%s is not supported: send the message uncompressed", comp);
                return queue_error(c, &e, 0);
        }
        if (b64 && !streq(b64, "0") && !streq(b64, "1")) {
                connect_error(&e, CONNECT_INVALID_ARGUMENT, "base64=%s: expected 0 or 1", b64);
                return queue_error(c, &e, 0);
        }
        bool base64 = b64 && streq(b64, "1");
        if (n > (base64 ? HTTP_BODY_MAX / 3 * 4 + 4 : HTTP_BODY_MAX)) { /* the decoded size, at most */
                connect_error(&e, CONNECT_RESOURCE_EXHAUSTED, "message exceeds the limit of %u bytes",
                              HTTP_BODY_MAX);
                return queue_error(c, &e, 0);
        }
        Request *req = calloc(1, sizeof *req);
        if (!req)
                return MHD_NO;
        req->method = m;
        req->caller = *caller;
        req->started_us = now_mono_us();
        req->proto = proto;
        *con_cls = req;
        if (n > 0 && base64) {
                int r = base64_decode_any(message, n, (uint8_t **) &req->body, &req->size);
                if (r == -ENOMEM)
                        return MHD_NO;
                if (r < 0) {
                        connect_error(&e, CONNECT_INVALID_ARGUMENT,
                                      "message: not valid base64 (standard or URL-safe)");
                        count_request(s, req, true);
                        return queue_error(c, &e, 0);
                }
        } else if (n > 0) {
                req->body = malloc(n);
                if (!req->body)
                        return MHD_NO;
                memcpy(req->body, message, n);
                req->size = n;
        }
        return finish_request(s, c, req);
}

/* The verified identity of a TLS client certificate, if one was presented:
 * whether it chains to the trusted CA, and its subject CN into cn. */
static void tls_client_identity(struct MHD_Connection *c, CallerCredentials *cred, char *cn,
                                size_t cn_size) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        if (!ci || !ci->tls_session)
                return;
        gnutls_session_t session = (gnutls_session_t) ci->tls_session;
        unsigned n = 0;
        const gnutls_datum_t *certs = gnutls_certificate_get_peers(session, &n);
        if (!certs || n == 0)
                return;
        cred->tls_client_cert = true;
        /* It must chain to the trusted CA, be valid now, and be meant for TLS
         * clients (a server certificate from the same CA is not a caller). */
        unsigned status = 0;
        gnutls_typed_vdata_st purpose = { .type = GNUTLS_DT_KEY_PURPOSE_OID,
                                          .data = (unsigned char *) GNUTLS_KP_TLS_WWW_CLIENT };
        cred->tls_client_verified =
                gnutls_certificate_verify_peers(session, &purpose, 1, &status) == 0 && status == 0;
        gnutls_x509_crt_t crt;
        if (gnutls_x509_crt_init(&crt) < 0)
                return;
        size_t size = cn_size;
        if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) < 0 ||
            gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &size) < 0)
                cn[0] = 0;
        gnutls_x509_crt_deinit(crt);
}

/* Who is calling on this connection, by the server's authentication hook:
 * the Authorization header, the Unix peer's uid, the TLS client certificate. */
static int authenticate(Listener *l, struct MHD_Connection *c, RpcCaller *ret, ConnectError *e) {
        HttpServer *s = l->server;
        if (!s->authenticate) {
                *ret = (RpcCaller){ .role = CALLER_ADMIN };
                return 0;
        }
        char cn[256] = "";
        CallerCredentials cred = {
                .authorization =
                        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
                .tls_client_cn = cn,
        };
        if (l->is_unix) {
                const union MHD_ConnectionInfo *ci =
                        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
                struct ucred uc;
                socklen_t len = sizeof uc;
                if (ci && getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0) {
                        cred.unix_peer = true;
                        cred.uid = uc.uid;
                }
        }
        if (l->tls)
                tls_client_identity(c, &cred, cn, sizeof cn);
        return s->authenticate(s->auth_userdata, &cred, ret, e);
}

/* The first call for a request: everything that can be decided from the headers. */
static enum MHD_Result begin_request(Listener *l, struct MHD_Connection *c, const char *url,
                                     const char *http_method, void **con_cls) {
        HttpServer *s = l->server;
        ConnectError e;
        RpcCaller caller = { 0 };
        const RawRoute *raw = streq(http_method, "GET") ? find_raw(s, url) : NULL;
        bool public = raw && raw->access == RPC_PUBLIC;
        if (!public && authenticate(l, c, &caller, &e) < 0)
                return queue_error(c, &e, 0);
        if (raw) {
                if (!rpc_caller_may(&caller, raw->access)) {
                        connect_error(&e, CONNECT_PERMISSION_DENIED,
                                      "GET %s is for host-wide callers (role %s%s%s)", url,
                                      caller_role_to_string(caller.role),
                                      caller.tenant[0] ? ", tenant " : "", caller.tenant);
                        return queue_error(c, &e, 0);
                }
                return serve_raw(s, c, raw);
        }
        const RpcMethod *m = find_method(s, url);
        if (!m) {
                connect_error(&e, CONNECT_UNIMPLEMENTED, "unknown method %s (this server serves %s*)", url,
                              s->prefix);
                return queue_error(c, &e, 404);
        }
        if (!rpc_caller_may(&caller, m->access)) {
                connect_error(&e, CONNECT_PERMISSION_DENIED, "role %s may not call %s",
                              caller_role_to_string(caller.role), m->name);
                return queue_error(c, &e, 0);
        }
        if (streq(http_method, "GET") && m->no_side_effects)
                return begin_get_request(s, c, m, &caller, con_cls);
        if (!streq(http_method, "POST")) {
                connect_error(&e, CONNECT_UNIMPLEMENTED, "%s must be called with POST%s, not %s", url,
                              m->no_side_effects ? " or GET" : "", http_method);
                return queue_json(c, 405, connect_error_body(&e), m->no_side_effects ? "GET, POST" : "POST");
        }
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        bool proto = s->proto_methods && content_type_is_proto(ct);
        if (!proto && !content_type_is_json(ct)) {
                connect_error(&e, CONNECT_UNIMPLEMENTED,
                              "unsupported content type \"%s\"; send application/json%s", ct,
                              s->proto_methods ? " or application/proto" : "");
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
        req->caller = caller;
        req->started_us = now_mono_us();
        req->proto = proto;
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
        const ProtobufCMethodDescriptor *pm = req->proto ? s->proto_methods[req->method - s->methods] : NULL;
        json_t *in;
        if (pm) {
                char err[sizeof e.message];
                int r = proto_unpack_json(pm->input, (const uint8_t *) req->body, req->size, &in, err,
                                          sizeof err);
                if (r == -ENOMEM)
                        return MHD_NO;
                if (r < 0) {
                        connect_error(&e, CONNECT_INVALID_ARGUMENT, "%s", err);
                        count_request(s, req, true);
                        return queue_error(c, &e, 0);
                }
        } else if (req->size == 0)
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
        int r = req->method->handler(s->userdata, &req->caller, in, &out, &e);
        json_decref(in);
        count_request(s, req, r < 0);
        if (r < 0) {
                json_decref(out);
                return queue_error(c, &e, 0);
        }
        if (pm) {
                uint8_t *data = NULL;
                size_t size = 0;
                char err[sizeof e.message];
                r = proto_pack_json(pm->output, out, &data, &size, err, sizeof err);
                json_decref(out);
                if (r == -ENOMEM)
                        return MHD_NO;
                if (r < 0) {
                        /* The handler answered something the schema does not hold: our bug. */
                        log_error("%s: answer does not fit %s: %s", req->method->name, pm->output->name,
                                  err);
                        connect_error(&e, CONNECT_INTERNAL, "the answer does not fit %s: %s",
                                      pm->output->name, err);
                        return queue_error(c, &e, 0);
                }
                return queue_proto(c, data, size);
        }
        char *text = json_dumps(out, JSON_COMPACT);
        json_decref(out);
        return queue_json(c, 200, text, NULL);
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version, const char *upload_data,
                                      size_t *upload_data_size, void **con_cls) {
        Listener *l = cls;
        HttpServer *s = l->server;
        Request *req = *con_cls;
        if (!req)
                return begin_request(l, c, url, method, con_cls);
        if (*upload_data_size > 0) {
                size_t n = *upload_data_size;
                *upload_data_size = 0;
                if (now_mono_us() - req->started_us > s->body_deadline_us) {
                        /* A body trickling in (slowloris): the connection is closed. */
                        log_debug("http: %s: request body not complete after %" PRIu64 " s, closing",
                                  req->method->name, s->body_deadline_us / 1000000);
                        return MHD_NO;
                }
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

/* libmicrohttpd's %HH decoding, but a decoded NUL becomes 0xff: the URL and
 * arguments reach us as C strings, and "GetVmInfo%00junk" must not be read as
 * "GetVmInfo". 0xff is never valid UTF-8, so no method name or JSON text
 * matches it. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s) {
        size_t n = MHD_http_unescape(s);
        for (size_t i = 0; i < n; i++)
                if (s[i] == 0)
                        s[i] = (char) 0xff;
        return n;
}

_printf_(2, 0) static void mhd_log(void *cls, const char *fmt, va_list ap) {
        char buf[512];
        vsnprintf(buf, sizeof buf, fmt, ap);
        buf[strcspn(buf, "\n")] = 0;
        log_debug("http: %s", buf);
}

/* Whether a bound address is loopback (127.0.0.0/8, ::1, or v4-mapped 127/8). */
static bool sockaddr_is_loopback(const struct sockaddr_storage *sa) {
        if (sa->ss_family == AF_INET)
                return (ntohl(((const struct sockaddr_in *) sa)->sin_addr.s_addr) >> 24) == 127;
        if (sa->ss_family == AF_INET6) {
                const struct in6_addr *a = &((const struct sockaddr_in6 *) sa)->sin6_addr;
                return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
        }
        return false;
}

/* Bind a Unix socket at path (replacing a stale socket file, never any other
 * file), with mode and, when set_gid, group gid. */
static int listen_unix(const char *address, const char *path, const HttpServerConfig *cfg, int *ret_fd,
                       char **ret_error) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (path[0] != '/' || strlen(path) >= sizeof sa.sun_path) {
                *ret_error =
                        strdup_printf("--listen \"%s\": expected unix:/ABSOLUTE/PATH of at most %zu bytes",
                                      address, sizeof sa.sun_path - 1);
                return -EINVAL;
        }
        memcpy(sa.sun_path, path, strlen(path) + 1);
        struct stat st;
        if (lstat(path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode)) {
                        *ret_error = strdup_printf("--listen \"%s\": %s exists and is not a socket", address,
                                                   path);
                        return -EEXIST;
                }
                /* A stale socket of an earlier run is replaced; a live one is not stolen. */
                _cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (probe >= 0 && connect(probe, (struct sockaddr *) &sa, sizeof sa) == 0) {
                        *ret_error = strdup_printf("--listen \"%s\": another server answers on %s", address,
                                                   path);
                        return -EADDRINUSE;
                }
                (void) unlink(path);
        }
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(fd, 1024) < 0) {
                int r = -errno;
                *ret_error = strdup_printf("cannot listen on %s: %s", address, strerror(-r));
                return r;
        }
        /* The socket file's mode and group decide who may connect at all. */
        if (chmod(path, cfg->socket_mode ? cfg->socket_mode : 0660) < 0 ||
            (cfg->set_socket_gid && chown(path, (uid_t) -1, cfg->socket_gid) < 0)) {
                int r = -errno;
                (void) unlink(path);
                *ret_error = strdup_printf("cannot set the mode or group of %s: %s", path, strerror(-r));
                return r;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Create the listening socket ourselves: close-on-exec, and the same code path
 * serves socket activation and Unix sockets. */
static int listen_socket(const char *address, const HttpServerConfig *cfg, int *ret_fd, char **ret_unix_path,
                         char **ret_error) {
        if (strncmp(address, "unix:", 5) == 0) {
                int r = listen_unix(address, address + 5, cfg, ret_fd, ret_error);
                if (r >= 0 && !(*ret_unix_path = strdup(address + 5)))
                        return -ENOMEM;
                return r;
        }
        _cleanup_free_ char *copy = strdup(address);
        if (!copy)
                return -ENOMEM;
        char *host = copy, *port = strrchr(copy, ':');
        if (!port || port == copy) {
                *ret_error = strdup_printf("--listen \"%s\": expected HOST:PORT or unix:PATH", address);
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

/* Start one daemon on l->fd (which it then uses; l keeps the fd to close). */
static int listener_start(HttpServer *s, Listener *l, const HttpServerConfig *cfg, char **ret_error) {
        struct sockaddr_storage sa = { 0 };
        socklen_t len = sizeof sa;
        if (getsockname(l->fd, (struct sockaddr *) &sa, &len) < 0)
                return -errno;
        l->is_unix = sa.ss_family == AF_UNIX;
        if (!l->is_unix) {
                if (cfg->loopback_only && !sockaddr_is_loopback(&sa)) {
                        *ret_error = strdup_printf(
                                "refusing to listen on %s, which is not a loopback address, without "
                                "authentication: give --tokens or --tls-client-ca, or --insecure to let "
                                "anyone who can reach it be an admin",
                                l->name);
                        return -EPERM;
                }
                if (!s->port)
                        s->port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *) &sa)->sin6_port
                                                                 : ((struct sockaddr_in *) &sa)->sin_port);
                l->tls = cfg->tls_cert_pem != NULL;
        }
        /* poll(), not select(): with a thousand VMs metald holds more than
         * FD_SETSIZE (1024) descriptors (a pidfd per VMM), and with select()
         * libmicrohttpd refuses a listening socket or closes a connection
         * whose descriptor is above it. */
        unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                         MHD_USE_ITC | MHD_USE_ERROR_LOG | (l->tls ? MHD_USE_TLS : 0);
        struct MHD_OptionItem tls_opts[] = {
                { l->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *) cfg->tls_cert_pem },
                { MHD_OPTION_HTTPS_MEM_KEY, 0, (void *) cfg->tls_key_pem },
                { cfg->tls_trust_pem ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0,
                  (void *) cfg->tls_trust_pem },
                { MHD_OPTION_END, 0, NULL },
        };
        if (l->tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
                *ret_error = strdup("--tls-cert: this libmicrohttpd is built without TLS support");
                return -EOPNOTSUPP;
        }
        unsigned timeout = cfg->connection_timeout_s ? cfg->connection_timeout_s : HTTP_TIMEOUT_DEFAULT_S;
        unsigned limit = cfg->connection_limit ? cfg->connection_limit : HTTP_CONNECTIONS_MAX;
        unsigned per_ip = cfg->per_ip_connection_limit == UINT_MAX ? 0 /* none */
                          : cfg->per_ip_connection_limit           ? cfg->per_ip_connection_limit
                                                                   : HTTP_PER_IP_DEFAULT;
        l->mhd = MHD_start_daemon(flags, 0, NULL, NULL, access_handler, l, MHD_OPTION_LISTEN_SOCKET, l->fd,
                                  MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_CONNECTION_TIMEOUT, timeout,
                                  MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, MHD_OPTION_UNESCAPE_CALLBACK,
                                  unescape, s, MHD_OPTION_NOTIFY_COMPLETED, request_completed, s,
                                  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_THREAD_STACK_SIZE,
                                  (size_t) 256 * 1024, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
        if (!l->mhd) {
                *ret_error = strdup_printf(
                        "cannot start the HTTP server on %s%s", l->name,
                        l->tls ? " (is the TLS certificate and key valid PEM and do they match?)" : "");
                return -EIO;
        }
        return 0;
}

/* Add a listener on fd (owned from here on), named name. */
static int add_listener(HttpServer *s, int fd, const char *name, char *unix_path) {
        if (s->n_listeners >= HTTP_LISTENERS_MAX) {
                safe_close(fd);
                free(unix_path);
                return -E2BIG;
        }
        Listener *l = &s->listeners[s->n_listeners++];
        *l = (Listener){ .server = s, .fd = fd, .unix_path = unix_path, .name = strdup(name) };
        return l->name ? 0 : -ENOMEM;
}

int http_server_start(const HttpServerConfig *cfg, HttpServer **ret, char **ret_error) {
        assert(cfg && cfg->prefix && cfg->methods && ret);
        _cleanup_(http_server_stopp) HttpServer *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->prefix = cfg->prefix;
        s->prefix_len = strlen(cfg->prefix);
        s->methods = cfg->methods;
        s->n_methods = cfg->n_methods;
        s->userdata = cfg->userdata;
        s->raw_routes = cfg->raw_routes;
        s->n_raw_routes = cfg->n_raw_routes;
        s->authenticate = cfg->authenticate;
        s->auth_userdata = cfg->auth_userdata;
        s->body_deadline_us =
                (uint64_t) (cfg->body_deadline_s ? cfg->body_deadline_s : HTTP_BODY_DEADLINE_S) * 1000000;
        s->counters = calloc(cfg->n_methods ? cfg->n_methods : 1, sizeof *s->counters);
        if (!s->counters)
                return -ENOMEM;
        if (cfg->service) {
                /* Every method served must be in the schema, or its binary form is unknown. */
                s->proto_methods = calloc(cfg->n_methods ? cfg->n_methods : 1, sizeof *s->proto_methods);
                if (!s->proto_methods)
                        return -ENOMEM;
                for (size_t i = 0; i < cfg->n_methods; i++) {
                        s->proto_methods[i] = protobuf_c_service_descriptor_get_method_by_name(
                                cfg->service, cfg->methods[i].name);
                        if (!s->proto_methods[i]) {
                                *ret_error = strdup_printf("method %s is not in %s", cfg->methods[i].name,
                                                           cfg->service->name);
                                return -EINVAL;
                        }
                }
        }

        int r = 0;
        if (cfg->listen_fd >= 0 || cfg->n_listen_fds > 0) {
                if (cfg->listen_fd >= 0)
                        r = add_listener(s, cfg->listen_fd, "the socket systemd passed", NULL);
                for (size_t i = 0; r >= 0 && i < cfg->n_listen_fds; i++) {
                        char name[64];
                        snprintf(name, sizeof name, "socket %zu systemd passed", i + 1);
                        r = add_listener(s, cfg->listen_fds[i], name, NULL);
                }
        } else {
                const char *one[] = { cfg->listen_address };
                const char *const *addrs =
                        cfg->n_listen_addresses ? (const char *const *) cfg->listen_addresses : one;
                size_t n = cfg->n_listen_addresses ? cfg->n_listen_addresses : 1;
                if (n > HTTP_LISTENERS_MAX) {
                        *ret_error = strdup_printf("--listen: at most %d addresses", HTTP_LISTENERS_MAX);
                        return -E2BIG;
                }
                for (size_t i = 0; r >= 0 && i < n; i++) {
                        assert(addrs[i]);
                        int fd = -EBADF;
                        char *unix_path = NULL;
                        r = listen_socket(addrs[i], cfg, &fd, &unix_path, ret_error);
                        if (r >= 0)
                                r = add_listener(s, fd, addrs[i], unix_path);
                }
        }
        for (size_t i = 0; r >= 0 && i < s->n_listeners; i++)
                r = listener_start(s, &s->listeners[i], cfg, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

unsigned http_server_port(const HttpServer *s) {
        return s->port;
}

void http_server_quiesce(HttpServer *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n_listeners; i++) {
                Listener *l = &s->listeners[i];
                if (!l->mhd || l->fd < 0)
                        continue;
                MHD_socket fd = MHD_quiesce_daemon(l->mhd);
                if (fd != MHD_INVALID_SOCKET)
                        l->fd = safe_close(fd);
        }
}

HttpServer *http_server_stop(HttpServer *s) {
        if (!s)
                return NULL;
        http_server_quiesce(s);
        for (size_t i = 0; i < s->n_listeners; i++) {
                Listener *l = &s->listeners[i];
                if (l->mhd)
                        MHD_stop_daemon(l->mhd);
                safe_close(l->fd);
                if (l->unix_path)
                        (void) unlink(l->unix_path);
                free(l->unix_path);
                free(l->name);
        }
        free(s->proto_methods);
        free(s->counters);
        return mfree(s);
}
