/* SPDX-License-Identifier: Apache-2.0 */
#include "client.h"

#include <assert.h>
#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>

#define SERVICE_PREFIX "/vmprovisioner.v1.VmService/"

static inline void curl_slist_free_allp(struct curl_slist **p) {
        if (*p)
                curl_slist_free_all(*p);
}
static inline void json_free_dumpp(char **p) {
        free(*p);
}

struct Client {
        char *url; /* as given, for messages */
        char *base; /* scheme://authority[/prefix], no trailing '/' */
        char *unix_path; /* unix:PATH, else NULL */
        char *auth_header; /* "Authorization: Bearer ...", or NULL */
        unsigned timeout_s;
        CURL *curl;
        char errbuf[CURL_ERROR_SIZE];
};

void rpc_error_done(RpcError *e) {
        e->code = mfree(e->code);
        e->message = mfree(e->message);
}

/* Fill *e; code may be NULL. Returns r, for `return rpc_fail(...)`. */
static int rpc_fail(RpcError *e, int r, const char *code, ExitStatus status, char *message) {
        e->code = code ? strdup(code) : NULL;
        e->message = message;
        e->status = status;
        if ((code && !e->code) || !message) {
                rpc_error_done(e);
                e->message = strdup("out of memory");
                e->status = EXIT_LOCAL;
                return -ENOMEM;
        }
        return r;
}

static bool text_is_clean(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p <= 0x20 || *p >= 0x7f)
                        return false;
        return true;
}

int client_new(const char *url, const char *token, unsigned request_timeout_s, Client **ret,
               char **ret_error) {
        assert(url && ret && ret_error);
        _cleanup_(client_freep) Client *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->timeout_s = request_timeout_s;
        c->url = strdup(url);
        if (!c->url)
                return -ENOMEM;

        if (strncmp(url, "unix:", 5) == 0) {
                if (url[5] != '/') {
                        *ret_error = strdup_printf(
                                "--url \"%s\": a Unix socket is given as unix:/ABSOLUTE/PATH", url);
                        return -EINVAL;
                }
                c->unix_path = strdup(url + 5);
                c->base = strdup("http://localhost");
                if (!c->unix_path || !c->base)
                        return -ENOMEM;
        } else if ((strncmp(url, "http://", 7) == 0 && url[7]) ||
                   (strncmp(url, "https://", 8) == 0 && url[8])) {
                if (!text_is_clean(url)) {
                        *ret_error = strdup_printf(
                                "--url \"%s\": spaces and control characters are not allowed", url);
                        return -EINVAL;
                }
                c->base = strdup(url);
                if (!c->base)
                        return -ENOMEM;
                size_t n = strlen(c->base);
                while (n > 0 && c->base[n - 1] == '/')
                        c->base[--n] = 0;
        } else {
                *ret_error = strdup_printf(
                        "--url \"%s\": use http://HOST:PORT, https://HOST:PORT or unix:/PATH", url);
                return -EINVAL;
        }

        if (token) {
                if (!*token || !text_is_clean(token)) {
                        *ret_error =
                                strdup_printf("the token is %s: a bearer token is printable ASCII without "
                                              "spaces",
                                              *token ? "malformed" : "empty");
                        return -EINVAL;
                }
                c->auth_header = strdup_printf("Authorization: Bearer %s", token);
                if (!c->auth_header)
                        return -ENOMEM;
        }

        c->curl = curl_easy_init();
        if (!c->curl)
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

Client *client_free(Client *c) {
        if (!c)
                return NULL;
        if (c->curl)
                curl_easy_cleanup(c->curl);
        free(c->url);
        free(c->base);
        free(c->unix_path);
        if (c->auth_header) /* the token is a secret: do not leave it in freed memory */
                explicit_bzero(c->auth_header, strlen(c->auth_header));
        free(c->auth_header);
        return mfree(c);
}

void client_extend_timeout(Client *c, unsigned s) {
        if (s > c->timeout_s)
                c->timeout_s = s;
}

const char *client_url(const Client *c) {
        return c->url;
}

typedef struct Answer {
        char *data;
        size_t size;
        bool too_big;
} Answer;

static size_t answer_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Answer *a = userdata;
        size_t n = size * nmemb;
        if (n > METALCTL_MAX_ANSWER - a->size) {
                a->too_big = true;
                return 0;
        }
        char *d = realloc(a->data, a->size + n + 1);
        if (!d)
                return 0;
        memcpy(d + a->size, ptr, n);
        a->size += n;
        d[a->size] = 0;
        a->data = d;
        return n;
}

/* strerror(errnum) starting with a lower-case letter, for "(connection refused)". */
static char *reason_from_errno(int errnum) {
        char *s = strdup(strerror(errnum));
        if (s && s[0])
                s[0] = (char) tolower((unsigned char) s[0]);
        return s;
}

/* The one translation point from CURLcode: what to tell the user and the
 * exit status, when no HTTP answer came. */
static int transport_failure(Client *c, CURLcode rc, RpcError *err) {
        long os_errno = 0;
        curl_off_t connect_us = 0;
        (void) curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
        (void) curl_easy_getinfo(c->curl, CURLINFO_CONNECT_TIME_T, &connect_us);
        const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
        _cleanup_free_ char *reason = NULL;

        switch (rc) {
        case CURLE_COULDNT_CONNECT:
                reason = os_errno > 0 ? reason_from_errno((int) os_errno) : strdup("cannot connect");
                break;
        case CURLE_COULDNT_RESOLVE_HOST:
                reason = strdup("cannot resolve the host name");
                break;
        case CURLE_OPERATION_TIMEDOUT:
                if (connect_us > 0)
                        return rpc_fail(
                                err, -ETIMEDOUT, NULL, EXIT_TIMEOUT,
                                strdup_printf("metald at %s did not answer within %u s; the request may "
                                              "still be carried out (check with info; raise "
                                              "--request-timeout)",
                                              c->url, c->timeout_s));
                reason = strdup("connection timed out");
                break;
        case CURLE_GOT_NOTHING:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
                return rpc_fail(err, -ECONNRESET, NULL, EXIT_UNREACHABLE,
                                strdup_printf("metald at %s closed the connection without an answer (%s): "
                                              "is it stopping? check its log",
                                              c->url, detail));
        case CURLE_OUT_OF_MEMORY:
                return rpc_fail(err, -ENOMEM, NULL, EXIT_LOCAL, strdup("out of memory"));
        default:
                return rpc_fail(err, -EHOSTUNREACH, NULL, EXIT_UNREACHABLE,
                                strdup_printf("cannot talk to metald at %s: %s", c->url, detail));
        }
        if (!reason)
                return rpc_fail(err, -ENOMEM, NULL, EXIT_LOCAL, NULL);
        return rpc_fail(
                err, -EHOSTUNREACH, NULL, EXIT_UNREACHABLE,
                strdup_printf("metald is not reachable at %s (%s): is it running? set --url or METALD_URL",
                              c->url, reason));
}

int client_call(Client *c, const char *method, const json_t *request, json_t **ret, RpcError *err) {
        assert(c && method && request && ret && err);
        *err = (RpcError){ 0 };
        _cleanup_(json_free_dumpp) char *body = json_dumps(request, JSON_COMPACT);
        _cleanup_free_ char *url = strdup_printf("%s" SERVICE_PREFIX "%s", c->base, method);
        _cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
        const char *header_lines[] = {
                "Content-Type: application/json",
                "Accept: application/json",
                "Connect-Protocol-Version: 1",
                "Expect:", /* no 100-continue round trip for a large create -f */
                c->auth_header,
        };
        for (size_t i = 0; i < ELEMENTSOF(header_lines); i++) {
                if (!header_lines[i])
                        continue;
                struct curl_slist *h = curl_slist_append(headers, header_lines[i]);
                if (!h)
                        return rpc_fail(err, -ENOMEM, NULL, EXIT_LOCAL, NULL);
                headers = h;
        }
        if (!body || !url)
                return rpc_fail(err, -ENOMEM, NULL, EXIT_LOCAL, NULL);

        _cleanup_free_ char *data = NULL;
        Answer answer = { 0 };
        CURL *h = c->curl;
        curl_easy_reset(h);
        c->errbuf[0] = 0;
        CURLcode rc = CURLE_OK;
        /* Every option set here must succeed; the first failure stops the chain. */
#define SETOPT(opt, val)                                                                                    \
        do {                                                                                                \
                if (rc == CURLE_OK)                                                                         \
                        rc = curl_easy_setopt(h, opt, val);                                                 \
        } while (0)
        SETOPT(CURLOPT_URL, url);
        SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
        SETOPT(CURLOPT_POST, 1L);
        SETOPT(CURLOPT_POSTFIELDS, body);
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(body));
        SETOPT(CURLOPT_HTTPHEADER, headers);
        SETOPT(CURLOPT_USERAGENT, "metalctl/" METALD_VERSION);
        SETOPT(CURLOPT_WRITEFUNCTION, answer_write);
        SETOPT(CURLOPT_WRITEDATA, &answer);
        SETOPT(CURLOPT_ERRORBUFFER, c->errbuf);
        SETOPT(CURLOPT_NOSIGNAL, 1L);
        SETOPT(CURLOPT_CONNECTTIMEOUT, 10L);
        SETOPT(CURLOPT_TIMEOUT, (long) c->timeout_s);
        if (c->unix_path)
                SETOPT(CURLOPT_UNIX_SOCKET_PATH, c->unix_path);
#undef SETOPT
        if (rc != CURLE_OK)
                return rpc_fail(err, -EINVAL, NULL, EXIT_LOCAL,
                                strdup_printf("cannot set up the request: %s", curl_easy_strerror(rc)));

        rc = curl_easy_perform(h);
        data = answer.data;
        if (answer.too_big)
                return rpc_fail(
                        err, -EBADMSG, NULL, EXIT_UNREACHABLE,
                        strdup_printf("the answer of %s is larger than %u MiB: is --url pointing at metald?",
                                      c->url, METALCTL_MAX_ANSWER >> 20));
        if (rc != CURLE_OK)
                return transport_failure(c, rc, err);

        long status = 0;
        (void) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        json_error_t jerr;
        _cleanup_(json_decrefp) json_t *doc = data ? json_loadb(data, answer.size, 0, &jerr) : NULL;
        if (status == 200) {
                if (!json_is_object(doc))
                        return rpc_fail(
                                err, -EBADMSG, NULL, EXIT_UNREACHABLE,
                                strdup_printf("the answer of %s is not a JSON object: is --url pointing at "
                                              "metald?",
                                              c->url));
                *ret = TAKE_PTR(doc);
                return 0;
        }

        /* A Connect error: {"code": "...", "message": "..."}; without one, the
         * code follows from the HTTP status (Connect protocol). */
        const char *code = json_string_value(json_object_get(doc, "code"));
        if (code) {
                const char *message = json_string_value(json_object_get(doc, "message"));
                return rpc_fail(err, -EPROTO, code, exit_status_from_connect_code(code),
                                strdup(message ? message : ""));
        }
        code = connect_code_from_http_status(status);
        return rpc_fail(
                err, -EPROTO, code, exit_status_from_connect_code(code),
                strdup_printf("HTTP %ld from %s without a Connect error: is --url pointing at metald?",
                              status, c->url));
}
