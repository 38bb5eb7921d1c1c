/* SPDX-License-Identifier: Apache-2.0 */
#include "reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Reply reply_empty(void) {
        return (Reply){ .status = 204 };
}

Reply reply_json(json_t *v) {
        /* Out of memory while answering: an internal error without a body. */
        Reply r = { .status = 500 };
        if (v) {
                r.body = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                if (r.body)
                        r.status = 200;
                json_decref(v);
        }
        return r;
}

Reply reply_fault(int status, const char *fmt, ...) {
        Reply r = { .status = 500 };
        char *msg = NULL;
        va_list ap;
        va_start(ap, fmt);
        int n = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (n < 0)
                return r;
        json_t *o = json_object();
        if (o && json_object_set_new(o, "fault_message", json_string(msg)) == 0) {
                r.body = json_dumps(o, JSON_COMPACT);
                if (r.body)
                        r.status = status;
        }
        json_decref(o);
        free(msg);
        return r;
}

char *reply_fault_message(const Reply *r) {
        if (!r->body)
                return NULL;
        json_t *o = json_loads(r->body, 0, NULL);
        const char *m = json_string_value(json_object_get(o, "fault_message"));
        char *s = m ? strdup(m) : NULL;
        json_decref(o);
        return s;
}
