/* SPDX-License-Identifier: Apache-2.0 */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* micro_http reads through a 1 KiB buffer: a line must fit in it with its CRLF. */
#define MAX_LINE 1022
/* Our own bound on a request's header section (micro_http has none). */
#define MAX_HEADER_BYTES (64 * 1024)
#define READ_CHUNK 4096

static const char server_full[] = "HTTP/1.1 503\r\n"
                                  "Server: Firecracker API\r\n"
                                  "Connection: close\r\n"
                                  "Content-Length: 40\r\n\r\n"
                                  "{ \"error\": \"Too many open connections\" }";

typedef enum ConnState {
        CS_REQUEST_LINE,
        CS_HEADERS,
        CS_BODY,
} ConnState;

typedef struct Bytes {
        char *p;
        size_t len, cap;
} Bytes;

typedef struct Conn {
        int fd;
        Bytes in;
        size_t pos; /* parse cursor in `in` */
        Bytes out;
        size_t out_off;
        ConnState st;
        /* the request being parsed */
        HttpMethod method;
        char *path;
        uint32_t content_length;
        bool expect;
        size_t header_bytes;
        bool closing; /* close once `out` is written (after a parse error) */
        bool peer_closed; /* read() returned 0 */
} Conn;

/* A complete request waiting for the handler. */
typedef struct Pending {
        HttpMethod method;
        char *path;
        char *body;
        size_t body_len;
} Pending;

struct HttpServer {
        int listen_fd;
        bool hung; /* a handler hung: nothing is read or answered any more */
        const char *server_name; /* the Server header of the handlers' answers */
        bool stall_knob; /* http_server_enable_stall_file() */
        char stall_file[sizeof(((struct sockaddr_un *) 0)->sun_path) + 8]; /* <socket>.stall */
        size_t payload_max;
        HttpHandler handler;
        void *userdata;
        Conn *conns[HTTP_MAX_CONNECTIONS];
};

/*
 * A test knob of fcsim, off unless the file exists (so it answers like Firecracker):
 * while <socket>.stall exists, every request waits before it is handled.
 * The file holds a delay in milliseconds (a slow VMM: each request waits that
 * long once), or "hang" (a hung VMM: nothing is answered until the file is
 * removed). The whole VMM stalls, as a real one stuck in a syscall would.
 */
static void stall(const HttpServer *s) {
        uint64_t waited_ms = 0;
        for (;;) {
                FILE *f = fopen(s->stall_file, "re");
                if (!f)
                        return;
                char word[32] = "";
                if (!fgets(word, sizeof word, f))
                        word[0] = 0;
                fclose(f);
                bool hang = strncmp(word, "hang", 4) == 0;
                unsigned long delay = strtoul(word, NULL, 10);
                if (!hang && waited_ms >= delay)
                        return;
                usleep(20 * 1000);
                waited_ms += 20;
        }
}

void http_server_set_name(HttpServer *s, const char *server_name) {
        s->server_name = server_name;
}

void http_server_enable_stall_file(HttpServer *s) {
        s->stall_knob = s->stall_file[0] != 0;
}

const char *http_method_name(HttpMethod m) {
        switch (m) {
        case HTTP_GET:
                return "GET";
        case HTTP_PUT:
                return "PUT";
        case HTTP_PATCH:
                return "PATCH";
        case HTTP_DELETE:
                return "DELETE";
        }
        return "?";
}

static int bytes_append(Bytes *b, const void *data, size_t n) {
        if (b->len + n > b->cap) {
                size_t cap = b->cap ? b->cap : 1024;
                while (cap < b->len + n)
                        cap *= 2;
                char *p = realloc(b->p, cap);
                if (!p)
                        return -ENOMEM;
                b->p = p;
                b->cap = cap;
        }
        memcpy(b->p + b->len, data, n);
        b->len += n;
        return 0;
}

static int bytes_printf(Bytes *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bytes_printf(Bytes *b, const char *fmt, ...) {
        char *s = NULL;
        va_list ap;
        va_start(ap, fmt);
        int n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        int r = bytes_append(b, s, (size_t) n);
        free(s);
        return r;
}

static void conn_free(Conn *c) {
        if (!c)
                return;
        if (c->fd >= 0)
                close(c->fd);
        free(c->in.p);
        free(c->out.p);
        free(c->path);
        free(c);
}

int http_server_new_from_fd(int fd, size_t payload_max, HttpHandler handler, void *userdata,
                            HttpServer **ret) {
        int type = 0;
        socklen_t len = sizeof(type);
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
                return -errno;
        if (type != SOCK_STREAM)
                return -EINVAL;
        HttpServer *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->payload_max = payload_max;
        s->server_name = "Firecracker API";
        s->handler = handler;
        s->userdata = userdata;
        s->listen_fd = fd;
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0)
                (void) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
        *ret = s;
        return 0;
}

int http_server_new(const char *socket_path, size_t payload_max, HttpHandler handler, void *userdata,
                    HttpServer **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(socket_path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, socket_path);

        HttpServer *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->payload_max = payload_max;
        s->server_name = "Firecracker API";
        snprintf(s->stall_file, sizeof s->stall_file, "%s.stall", socket_path);
        s->handler = handler;
        s->userdata = userdata;
        s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s->listen_fd < 0) {
                int r = -errno;
                free(s);
                return r;
        }
        if (bind(s->listen_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(s->listen_fd, 128) < 0) {
                int r = -errno;
                close(s->listen_fd);
                free(s);
                return r;
        }
        *ret = s;
        return 0;
}

HttpServer *http_server_free(HttpServer *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < HTTP_MAX_CONNECTIONS; i++)
                conn_free(s->conns[i]);
        close(s->listen_fd);
        free(s);
        return NULL;
}

size_t http_server_fill_pollfds(HttpServer *s, struct pollfd *fds) {
        size_t n = 0;
        if (s->hung)
                return 0;
        fds[n++] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
        for (size_t i = 0; i < HTTP_MAX_CONNECTIONS; i++) {
                Conn *c = s->conns[i];
                if (!c)
                        continue;
                short ev = 0;
                /* Like micro_http: a connection is either read from or written to. */
                if (c->out.len > c->out_off)
                        ev = POLLOUT;
                else if (!c->closing && !c->peer_closed)
                        ev = POLLIN;
                fds[n++] = (struct pollfd){ .fd = c->fd, .events = ev };
        }
        return n;
}

/* server: the Server header; micro_http's own answers say "Firecracker API". */
static void queue_reply(Conn *c, const Reply *r, const char *server) {
        Bytes *b = &c->out;
        size_t blen = r->body ? strlen(r->body) : 0;
        bytes_printf(b, "HTTP/1.1 %d \r\nServer: %s\r\nConnection: keep-alive\r\n", r->status, server);
        if (r->deprecation)
                bytes_printf(b, "Deprecation: true\r\n");
        if (blen > 0)
                bytes_printf(b, "Content-Type: application/json\r\nContent-Length: %zu\r\n", blen);
        bytes_append(b, "\r\n", 2);
        if (blen > 0)
                bytes_append(b, r->body, blen);
}

/* A parse error: micro_http's error body, then the connection is closed. */
static void queue_parse_error(Conn *c, const char *reason) {
        Reply r = { .status = 400 };
        if (asprintf(&r.body, "{ \"error\": \"%s\nAll previous unanswered requests will be dropped.\" }",
                     reason) < 0)
                r.body = NULL;
        queue_reply(c, &r, "Firecracker API");
        reply_done(&r);
        c->closing = true;
}

static bool utf8_ok(const unsigned char *s, size_t n, size_t *bad) {
        size_t i = 0;
        while (i < n) {
                unsigned char ch = s[i];
                size_t k;
                if (ch < 0x80) {
                        i++;
                        continue;
                }
                if ((ch & 0xE0) == 0xC0 && ch >= 0xC2)
                        k = 1;
                else if ((ch & 0xF0) == 0xE0)
                        k = 2;
                else if ((ch & 0xF8) == 0xF0 && ch <= 0xF4)
                        k = 3;
                else
                        goto fail;
                for (size_t j = 1; j <= k; j++)
                        if (i + j >= n || (s[i + j] & 0xC0) != 0x80)
                                goto fail;
                i += k + 1;
        }
        return true;
fail:
        *bad = i;
        return false;
}

/* micro_http's Uri::get_abs_path. */
static char *abs_path(const char *uri, size_t n) {
        static const char scheme[] = "http://";
        if (n >= sizeof(scheme) - 1 && memcmp(uri, scheme, sizeof(scheme) - 1) == 0) {
                const char *rest = uri + sizeof(scheme) - 1;
                const char *slash = memchr(rest, '/', n - (sizeof(scheme) - 1));
                if (!slash)
                        return strdup("");
                return strndup(slash, n - (size_t) (slash - uri));
        }
        if (n > 0 && uri[0] == '/')
                return strndup(uri, n);
        return strdup("");
}

/* RequestLine::try_from. Returns NULL on success, else the error reason. */
static const char *parse_request_line(Conn *c, const char *line, size_t n) {
        const char *sp1 = memchr(line, ' ', n);
        if (!sp1)
                return "Invalid request.";
        const char *uri = sp1 + 1;
        const char *sp2 = memchr(uri, ' ', n - (size_t) (uri - line));
        if (!sp2)
                return "Invalid request.";
        size_t mlen = (size_t) (sp1 - line), ulen = (size_t) (sp2 - uri);
        const char *version = sp2 + 1;
        size_t vlen = n - (size_t) (version - line);

        static const struct {
                const char *name;
                HttpMethod m;
        } methods[] = {
                { "GET", HTTP_GET }, { "PUT", HTTP_PUT }, { "PATCH", HTTP_PATCH }, { "DELETE", HTTP_DELETE }
        };
        size_t k;
        for (k = 0; k < sizeof(methods) / sizeof(methods[0]); k++)
                if (strlen(methods[k].name) == mlen && memcmp(methods[k].name, line, mlen) == 0)
                        break;
        if (k == sizeof(methods) / sizeof(methods[0]))
                return "Invalid HTTP Method: Unsupported HTTP method.";
        size_t bad;
        if (ulen == 0)
                return "Invalid URI: Empty URI not allowed.";
        if (!utf8_ok((const unsigned char *) uri, ulen, &bad) || memchr(uri, 0, ulen))
                return "Invalid URI: Cannot parse URI as UTF-8.";
        if (!((vlen == 8 && memcmp(version, "HTTP/1.0", 8) == 0) ||
              (vlen == 8 && memcmp(version, "HTTP/1.1", 8) == 0)))
                return "Invalid HTTP Version: Unsupported HTTP version.";

        free(c->path);
        c->path = abs_path(uri, ulen);
        if (!c->path)
                return "Invalid request.";
        c->method = methods[k].m;
        c->content_length = 0;
        c->expect = false;
        c->header_bytes = 0;
        return NULL;
}

static void trim(const char **s, size_t *n) {
        while (*n > 0 &&
               (**s == ' ' || **s == '\t' || **s == '\n' || **s == '\r' || **s == '\f' || **s == '\v')) {
                (*s)++;
                (*n)--;
        }
        while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\n' ||
                          (*s)[*n - 1] == '\r' || (*s)[*n - 1] == '\f' || (*s)[*n - 1] == '\v'))
                (*n)--;
}

static bool token_is(const char *s, size_t n, const char *lit) {
        return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* Headers::parse_header_line. Returns 0, or -1 with *ret_reason (malloc'd). */
static int parse_header_line(Conn *c, const char *line, size_t n, char **ret_reason) {
        size_t bad;
        if (!utf8_ok((const unsigned char *) line, n, &bad)) {
                if (asprintf(ret_reason,
                             "Invalid header. Reason: Header contains invalid characters. Key: invalid "
                             "utf-8 sequence of 1 bytes from index %zu",
                             bad) < 0)
                        *ret_reason = NULL;
                return -1;
        }
        const char *colon = memchr(line, ':', n);
        if (!colon) {
                if (asprintf(ret_reason,
                             "Invalid header. Reason: Header is incorrectly formatted. Key: %.*s", (int) n,
                             line) < 0)
                        *ret_reason = NULL;
                return -1;
        }
        const char *key = line, *val = colon + 1;
        size_t klen = (size_t) (colon - line), vlen = n - klen - 1;
        const char *k = key, *v = val;
        size_t kn = klen, vn = vlen;
        trim(&k, &kn);
        trim(&v, &vn);

        if (token_is(k, kn, "content-length")) {
                /* Rust's u32::from_str: an optional '+', then decimal digits. */
                const char *p = v;
                size_t pn = vn;
                uint64_t x = 0;
                bool ok = pn > 0;
                if (ok && *p == '+') {
                        p++;
                        pn--;
                        ok = pn > 0;
                }
                for (size_t i = 0; ok && i < pn; i++) {
                        if (p[i] < '0' || p[i] > '9' || (x = x * 10 + (uint64_t) (p[i] - '0')) > UINT32_MAX)
                                ok = false;
                }
                if (!ok) {
                        if (asprintf(ret_reason,
                                     "Invalid header. Reason: Invalid value. Key:%.*s; Value:%.*s",
                                     (int) klen, key, (int) vlen, val) < 0)
                                *ret_reason = NULL;
                        return -1;
                }
                c->content_length = (uint32_t) x;
        } else if (token_is(k, kn, "expect")) {
                if (vn == 12 && memcmp(v, "100-continue", 12) == 0)
                        c->expect = true;
        } else if (token_is(k, kn, "accept-encoding")) {
                if (vn == 0 || !v) {
                        *ret_reason = strdup("Invalid request.");
                        return -1;
                }
                bool has_identity = memmem(v, vn, "identity", 8) != NULL;
                const char *p = v, *end = v + vn;
                while (p <= end) {
                        const char *comma = memchr(p, ',', (size_t) (end - p));
                        const char *stop = comma ? comma : end;
                        const char *e = p;
                        size_t en = (size_t) (stop - p);
                        trim(&e, &en);
                        if ((en == 12 && memcmp(e, "identity;q=0", 12) == 0) ||
                            (en == 5 && memcmp(e, "*;q=0", 5) == 0 && !has_identity)) {
                                if (asprintf(ret_reason,
                                             "Invalid header. Reason: Invalid value. Key:Accept-Encoding; "
                                             "Value:%.*s",
                                             (int) (stop - p), p) < 0)
                                        *ret_reason = NULL;
                                return -1;
                        }
                        if (!comma)
                                break;
                        p = comma + 1;
                }
        }
        /* Content-Type, Accept, Transfer-Encoding and Server values that
         * micro_http does not support are ignored, as are unknown headers. */
        return 0;
}

static void pending_free(Pending *p, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(p[i].path);
                free(p[i].body);
        }
        free(p);
}

/* Parse everything buffered. Complete requests are collected and handled in
 * order; on a parse error they are dropped and only the error is answered. */
static void conn_parse(HttpServer *s, Conn *c) {
        Pending *reqs = NULL;
        size_t n_reqs = 0;
        char *reason = NULL;
        const char *creason = NULL;

        for (;;) {
                char *base = c->in.p + c->pos;
                size_t avail = c->in.len - c->pos;
                if (c->st == CS_BODY) {
                        if (avail < c->content_length)
                                break;
                        Pending *nr = realloc(reqs, (n_reqs + 1) * sizeof(Pending));
                        if (!nr) {
                                creason = "Invalid request.";
                                break;
                        }
                        reqs = nr;
                        reqs[n_reqs] = (Pending){ .method = c->method,
                                                  .path = c->path,
                                                  .body = malloc(c->content_length + 1),
                                                  .body_len = c->content_length };
                        c->path = NULL;
                        if (!reqs[n_reqs].body) {
                                free(reqs[n_reqs].path);
                                creason = "Invalid request.";
                                break;
                        }
                        memcpy(reqs[n_reqs].body, base, c->content_length);
                        reqs[n_reqs].body[c->content_length] = 0;
                        n_reqs++;
                        c->pos += c->content_length;
                        c->st = CS_REQUEST_LINE;
                        continue;
                }

                char *crlf = avail >= 2 ? memmem(base, avail, "\r\n", 2) : NULL;
                if (!crlf) {
                        if (avail > MAX_LINE + 1) {
                                if (c->st == CS_REQUEST_LINE)
                                        creason = "Invalid request.";
                                else if (asprintf(&reason,
                                                  "Invalid header. Reason: Invalid content length. Header: "
                                                  "%.*s",
                                                  1024, base) < 0)
                                        creason = "Invalid request.";
                        }
                        break;
                }
                size_t llen = (size_t) (crlf - base);
                if (llen > MAX_LINE) {
                        if (c->st == CS_REQUEST_LINE)
                                creason = "Invalid request.";
                        else if (asprintf(&reason,
                                          "Invalid header. Reason: Invalid content length. Header: %.*s",
                                          1024, base) < 0)
                                creason = "Invalid request.";
                        break;
                }
                c->pos += llen + 2;

                if (c->st == CS_REQUEST_LINE) {
                        creason = parse_request_line(c, base, llen);
                        if (creason)
                                break;
                        c->st = CS_HEADERS;
                        continue;
                }

                /* CS_HEADERS */
                c->header_bytes += llen + 2;
                if (c->header_bytes > MAX_HEADER_BYTES) {
                        creason = "Invalid request.";
                        break;
                }
                if (llen > 0) {
                        if (parse_header_line(c, base, llen, &reason) < 0) {
                                if (!reason)
                                        creason = "Invalid request.";
                                break;
                        }
                        continue;
                }
                /* End of the headers. */
                if (c->content_length == 0) {
                        Pending *nr = realloc(reqs, (n_reqs + 1) * sizeof(Pending));
                        if (!nr) {
                                creason = "Invalid request.";
                                break;
                        }
                        reqs = nr;
                        reqs[n_reqs++] = (Pending){ .method = c->method, .path = c->path };
                        c->path = NULL;
                        c->st = CS_REQUEST_LINE;
                        continue;
                }
                if (c->content_length > s->payload_max) {
                        if (asprintf(&reason,
                                     "Request payload with size %u is larger than the limit of %zu allowed "
                                     "by "
                                     "server.",
                                     c->content_length, s->payload_max) < 0)
                                creason = "Invalid request.";
                        break;
                }
                if (c->expect)
                        bytes_printf(&c->out, "HTTP/1.1 100 \r\nServer: Firecracker API\r\nConnection: "
                                              "keep-alive\r\n\r\n");
                c->st = CS_BODY;
        }

        /* Drop what was parsed. */
        if (c->pos > 0) {
                memmove(c->in.p, c->in.p + c->pos, c->in.len - c->pos);
                c->in.len -= c->pos;
                c->pos = 0;
        }

        if (reason || creason) {
                pending_free(reqs, n_reqs);
                queue_parse_error(c, reason ? reason : creason);
                free(reason);
                return;
        }

        for (size_t i = 0; i < n_reqs; i++) {
                HttpRequest req = {
                        .method = reqs[i].method,
                        .path = reqs[i].path,
                        .body = reqs[i].body,
                        .body_len = reqs[i].body_len,
                };
                if (s->hung)
                        break;
                if (s->stall_knob)
                        stall(s);
                Reply r = s->handler(s->userdata, &req);
                if (r.hang) {
                        s->hung = true;
                        reply_done(&r);
                        break;
                }
                queue_reply(c, &r, s->server_name);
                reply_done(&r);
        }
        pending_free(reqs, n_reqs);
}

static void conn_read(HttpServer *s, Conn *c) {
        /* The buffer never needs more than a header section plus one body. */
        size_t limit = MAX_HEADER_BYTES + s->payload_max + READ_CHUNK;
        if (c->in.len + READ_CHUNK > c->in.cap) {
                size_t cap = c->in.cap ? c->in.cap * 2 : 2 * READ_CHUNK;
                while (cap < c->in.len + READ_CHUNK)
                        cap *= 2;
                char *p = realloc(c->in.p, cap);
                if (!p) {
                        c->closing = true;
                        return;
                }
                c->in.p = p;
                c->in.cap = cap;
        }
        if (c->in.len >= limit) {
                queue_parse_error(c, "Invalid request.");
                return;
        }
        ssize_t n = read(c->fd, c->in.p + c->in.len, READ_CHUNK);
        if (n < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        c->peer_closed = c->closing = true;
                return;
        }
        if (n == 0) {
                c->peer_closed = true;
                return;
        }
        c->in.len += (size_t) n;
        conn_parse(s, c);
}

static void conn_write(Conn *c) {
        while (c->out_off < c->out.len) {
                ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return;
                        c->out_off = c->out.len;
                        c->peer_closed = c->closing = true;
                        break;
                }
                c->out_off += (size_t) n;
        }
        c->out.len = c->out_off = 0;
}

static void accept_one(HttpServer *s) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
                return;
        size_t slot;
        for (slot = 0; slot < HTTP_MAX_CONNECTIONS; slot++)
                if (!s->conns[slot])
                        break;
        if (slot == HTTP_MAX_CONNECTIONS) {
                ssize_t w = send(fd, server_full, sizeof(server_full) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                (void) w;
                close(fd);
                return;
        }
        Conn *c = calloc(1, sizeof(*c));
        if (!c) {
                close(fd);
                return;
        }
        c->fd = fd;
        s->conns[slot] = c;
}

void http_server_process(HttpServer *s, const struct pollfd *fds, size_t n) {
        for (size_t i = 0; i < n && !s->hung; i++) {
                if (!fds[i].revents)
                        continue;
                if (fds[i].fd == s->listen_fd) {
                        accept_one(s);
                        continue;
                }
                for (size_t k = 0; k < HTTP_MAX_CONNECTIONS; k++) {
                        Conn *c = s->conns[k];
                        if (!c || c->fd != fds[i].fd)
                                continue;
                        if (fds[i].revents & POLLOUT)
                                conn_write(c);
                        else if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
                                conn_read(s, c);
                        if (c->out.len == c->out_off && (c->closing || c->peer_closed)) {
                                conn_free(c);
                                s->conns[k] = NULL;
                        }
                }
        }
}

void http_server_drain(HttpServer *s, int timeout_ms) {
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                struct pollfd fds[HTTP_MAX_CONNECTIONS];
                size_t n = 0;
                for (size_t k = 0; k < HTTP_MAX_CONNECTIONS; k++)
                        if (s->conns[k] && s->conns[k]->out.len > s->conns[k]->out_off)
                                fds[n++] = (struct pollfd){ .fd = s->conns[k]->fd, .events = POLLOUT };
                if (n == 0)
                        return;
                clock_gettime(CLOCK_MONOTONIC, &now);
                long left = timeout_ms -
                            ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
                if (left <= 0 || poll(fds, n, (int) left) <= 0)
                        return;
                for (size_t i = 0; i < n; i++)
                        for (size_t k = 0; k < HTTP_MAX_CONNECTIONS; k++)
                                if (s->conns[k] && s->conns[k]->fd == fds[i].fd && fds[i].revents)
                                        conn_write(s->conns[k]);
        }
}

void reply_done(Reply *r) {
        free(r->body);
        r->body = NULL;
}
