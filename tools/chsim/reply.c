/* SPDX-License-Identifier: Apache-2.0 */
#include "reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ChErr oom_chain = { .status = 500, .n = 1, .msg = { (char *) "out of memory" } };

Reply reply_empty(void) {
        return (Reply){ .status = 204 };
}

Reply reply_status(int status) {
        return (Reply){ .status = status };
}

Reply reply_json(json_t *v) {
        Reply r = { .status = 500 };
        if (v) {
                r.body = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                if (r.body)
                        r.status = 200;
                json_decref(v);
        }
        return r;
}

Reply reply_text(char *body) {
        return (Reply){ .status = body ? 200 : 500, .body = body };
}

static char *vformat(const char *fmt, va_list ap) {
        char *s = NULL;
        if (vasprintf(&s, fmt, ap) < 0)
                return NULL;
        return s;
}

ChErr *cherr_new(int status, const char *fmt, ...) {
        ChErr *e = calloc(1, sizeof(*e));
        if (!e)
                return &oom_chain;
        va_list ap;
        va_start(ap, fmt);
        e->msg[0] = vformat(fmt, ap);
        va_end(ap);
        if (!e->msg[0]) {
                free(e);
                return &oom_chain;
        }
        e->n = 1;
        e->status = status;
        return e;
}

ChErr *cherr_wrap(ChErr *e, const char *fmt, ...) {
        if (e == &oom_chain || e->n == CHERR_MAX)
                return e;
        va_list ap;
        va_start(ap, fmt);
        char *m = vformat(fmt, ap);
        va_end(ap);
        if (!m)
                return e;
        memmove(e->msg + 1, e->msg, e->n * sizeof(e->msg[0]));
        e->msg[0] = m;
        e->n++;
        return e;
}

ChErr *cherr_errno(int errnum) {
        return cherr_new(0, "%s (os error %d)", strerror(errnum), errnum);
}

char *cherr_join(const ChErr *e, const char *sep) {
        size_t len = 1;
        for (size_t i = 0; i < e->n; i++)
                len += strlen(e->msg[i]) + strlen(sep);
        char *s = malloc(len);
        if (!s)
                return NULL;
        s[0] = 0;
        for (size_t i = 0; i < e->n; i++) {
                if (i)
                        strcat(s, sep);
                strcat(s, e->msg[i]);
        }
        return s;
}

ChErr *cherr_free(ChErr *e) {
        if (!e || e == &oom_chain)
                return NULL;
        for (size_t i = 0; i < e->n; i++)
                free(e->msg[i]);
        free(e);
        return NULL;
}

Reply reply_cherr(ChErr *e) {
        Reply r = { .status = e->status ? e->status : 500 };
        json_t *a = json_array();
        for (size_t i = 0; a && i < e->n; i++)
                json_array_append_new(a, json_string(e->msg[i]));
        r.body = a ? json_dumps(a, JSON_COMPACT) : NULL;
        json_decref(a);
        cherr_free(e);
        return r;
}
