/* SPDX-License-Identifier: Apache-2.0 */
#include "hv/unix-http.h"

#include <assert.h>
#include <curl/curl.h>
#include <stdio.h>
#include <sys/un.h>

/* Cleanup helpers for the two libcurl handles we own. */
static inline void curl_easy_cleanupp(CURL **p) {
        if (*p)
                curl_easy_cleanup(*p);
}
static inline void curl_slist_free_allp(struct curl_slist **p) {
        if (*p)
                curl_slist_free_all(*p);
}

/* The response body as it grows; `too_big` records why the write callback
 * refused more, so the CURLE_WRITE_ERROR it causes maps to -EFBIG. */
typedef struct Sink {
        char *data;
        size_t size, cap;
        bool too_big, oom;
} Sink;

/* CURLOPT_WRITEFUNCTION: append to the sink, keeping room for a NUL. Returning
 * less than n makes curl abort the transfer with CURLE_WRITE_ERROR. */
static size_t sink_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Sink *s = userdata;
        size_t n = size * nmemb;

        assert(s);
        if (n > UNIX_HTTP_BODY_MAX - s->size) {
                s->too_big = true;
                return 0;
        }
        if (s->size + n + 1 > s->cap) {
                size_t cap = s->cap ? s->cap : 1024;
                while (cap < s->size + n + 1)
                        cap *= 2;
                char *d = realloc(s->data, cap);
                if (!d) {
                        s->oom = true;
                        return 0;
                }
                s->data = d;
                s->cap = cap;
        }
        memcpy(s->data + s->size, ptr, n);
        s->size += n;
        s->data[s->size] = 0;
        return n;
}

/*
 * The one translation point from CURLcode to negative errno. os_errno is
 * CURLINFO_OS_ERRNO (the errno of the failed connect), which tells a
 * missing socket file from one nobody listens on.
 */
static int curl_code_to_errno(CURLcode c, long os_errno, const Sink *sink) {
        switch (c) {
        case CURLE_OK:
                return 0;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                if (os_errno == ENOENT || os_errno == ENOTDIR)
                        return -ENOENT;
                if (os_errno == EACCES || os_errno == EPERM)
                        return -EACCES;
                return -ECONNREFUSED;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_WRITE_ERROR:
                if (sink->too_big)
                        return -EFBIG;
                return sink->oom ? -ENOMEM : -EIO;
        case CURLE_GOT_NOTHING:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
                return -ECONNRESET;
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_BAD_CONTENT_ENCODING:
                return -EPROTO;
        default:
                return -EIO;
        }
}

/* Set *ret_error (if wanted) to "<curl's words>"; errbuf may be empty. */
static void set_curl_error(char **ret_error, CURLcode c, const char *errbuf) {
        if (!ret_error)
                return;
        *ret_error = strdup_printf("%s", !isempty(errbuf) ? errbuf : curl_easy_strerror(c));
}

void unix_http_response_done(UnixHttpResponse *r) {
        if (!r)
                return;
        free(r->body);
        *r = (UnixHttpResponse){ 0 };
}

int unix_http_request(const char *socket_path, const char *method, const char *path, const char *body,
                      unsigned timeout_ms, UnixHttpResponse *ret_response, char **ret_error) {
        _cleanup_(curl_easy_cleanupp) CURL *curl = NULL;
        _cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
        _cleanup_free_ char *url = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        Sink sink = { 0 };
        CURLcode c = CURLE_OK;
        long status = 0, os_errno = 0;

        assert(socket_path);
        assert(method);
        assert(path && path[0] == '/');
        assert(timeout_ms > 0);
        assert(ret_response);

        if (strlen(socket_path) >= sizeof(((struct sockaddr_un *) NULL)->sun_path)) {
                if (ret_error)
                        *ret_error = strdup_printf("socket path too long: %s", socket_path);
                return -ENAMETOOLONG;
        }

        url = strdup_printf("http://localhost%s", path);
        curl = curl_easy_init();
        if (!url || !curl)
                return -ENOMEM;

        /* Content-Length always (micro_http needs it; 0 means "no body"),
         * Content-Type only with a body, and no Expect: 100-continue. */
        const char *const hdrs[] = {
                "Accept: application/json",
                body ? "Content-Type: application/json" : "Content-Type:",
                "Expect:",
        };
        for (size_t i = 0; i < ELEMENTSOF(hdrs); i++) {
                struct curl_slist *l = curl_slist_append(headers, hdrs[i]);
                if (!l)
                        return -ENOMEM;
                headers = l;
        }

        /* POSTFIELDS + CUSTOMREQUEST sends the verb we want with a
         * Content-Length computed from POSTFIELDSIZE (also for 0). */
#define SETOPT(opt, val)                                                                                    \
        do {                                                                                                \
                if (c == CURLE_OK)                                                                          \
                        c = curl_easy_setopt(curl, opt, val);                                               \
        } while (0)
        SETOPT(CURLOPT_ERRORBUFFER, errbuf);
        SETOPT(CURLOPT_NOSIGNAL, 1L);
        SETOPT(CURLOPT_UNIX_SOCKET_PATH, socket_path);
        SETOPT(CURLOPT_NOPROXY, "*");
        SETOPT(CURLOPT_URL, url);
        SETOPT(CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
        SETOPT(CURLOPT_CUSTOMREQUEST, method);
        SETOPT(CURLOPT_POSTFIELDS, body ? body : "");
        SETOPT(CURLOPT_POSTFIELDSIZE, (long) (body ? strlen(body) : 0));
        SETOPT(CURLOPT_HTTPHEADER, headers);
        SETOPT(CURLOPT_TIMEOUT_MS, (long) timeout_ms);
        SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long) timeout_ms);
        SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
        SETOPT(CURLOPT_WRITEFUNCTION, sink_write);
        SETOPT(CURLOPT_WRITEDATA, &sink);
#undef SETOPT
        if (c == CURLE_OK)
                c = curl_easy_perform(curl);
        if (c == CURLE_OK)
                c = curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (c != CURLE_OK) {
                (void) curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
                int r = curl_code_to_errno(c, os_errno, &sink);
                free(sink.data);
                if (r == -EFBIG && ret_error)
                        *ret_error = strdup_printf("response body larger than %u bytes", UNIX_HTTP_BODY_MAX);
                else
                        set_curl_error(ret_error, c, errbuf);
                return r;
        }

        if (!sink.data) {
                sink.data = strdup("");
                if (!sink.data)
                        return -ENOMEM;
        }
        *ret_response = (UnixHttpResponse){
                .status = status,
                .body = sink.data,
                .body_size = sink.size,
        };
        return 0;
}
