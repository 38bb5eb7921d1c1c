/* SPDX-License-Identifier: Apache-2.0 */
#include "api/connect.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

/* Connect codes and their HTTP statuses (connectrpc.com/docs/protocol). */
static const struct {
        const char *name;
        unsigned http_status;
} code_table[_CONNECT_CODE_MAX] = {
        [CONNECT_OK] = { "ok", 200 },
        [CONNECT_CANCELED] = { "canceled", 499 },
        [CONNECT_UNKNOWN] = { "unknown", 500 },
        [CONNECT_INVALID_ARGUMENT] = { "invalid_argument", 400 },
        [CONNECT_DEADLINE_EXCEEDED] = { "deadline_exceeded", 504 },
        [CONNECT_NOT_FOUND] = { "not_found", 404 },
        [CONNECT_ALREADY_EXISTS] = { "already_exists", 409 },
        [CONNECT_PERMISSION_DENIED] = { "permission_denied", 403 },
        [CONNECT_RESOURCE_EXHAUSTED] = { "resource_exhausted", 429 },
        [CONNECT_FAILED_PRECONDITION] = { "failed_precondition", 400 },
        [CONNECT_ABORTED] = { "aborted", 409 },
        [CONNECT_OUT_OF_RANGE] = { "out_of_range", 400 },
        [CONNECT_UNIMPLEMENTED] = { "unimplemented", 501 },
        [CONNECT_INTERNAL] = { "internal", 500 },
        [CONNECT_UNAVAILABLE] = { "unavailable", 503 },
        [CONNECT_DATA_LOSS] = { "data_loss", 500 },
        [CONNECT_UNAUTHENTICATED] = { "unauthenticated", 401 },
};

const char *connect_code_to_string(ConnectCode c) {
        return c < _CONNECT_CODE_MAX ? code_table[c].name : "unknown";
}

unsigned connect_code_http_status(ConnectCode c) {
        return c < _CONNECT_CODE_MAX ? code_table[c].http_status : 500;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_sequence(const unsigned char *s, size_t n) {
        size_t len = s[0] < 0x80             ? 1
                     : (s[0] & 0xe0) == 0xc0 ? 2
                     : (s[0] & 0xf0) == 0xe0 ? 3
                     : (s[0] & 0xf8) == 0xf0 ? 4
                                             : 0;
        if (len == 0 || len > n || (len == 2 && s[0] < 0xc2))
                return 0;
        for (size_t i = 1; i < len; i++)
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
        if (len == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0)))
                return 0; /* overlong, or a UTF-16 surrogate */
        if (len == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || s[0] > 0xf4 || (s[0] == 0xf4 && s[1] >= 0x90)))
                return 0; /* overlong, or above U+10FFFF */
        return len;
}

/* Make s valid UTF-8 in place: a sequence cut at the end (by truncation) is
 * dropped, any other invalid byte becomes '?'. JSON cannot carry the rest, and
 * a message that cannot be encoded would leave the client without an answer. */
static void utf8_repair(char *s) {
        unsigned char *p = (unsigned char *) s;
        size_t n = strlen(s);
        for (size_t i = 0; i < n;) {
                size_t k = utf8_sequence(p + i, n - i);
                if (k > 0) {
                        i += k;
                        continue;
                }
                size_t want = p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : p[i] >= 0xc0 ? 2 : 1;
                bool cut = want > n - i;
                for (size_t j = i + 1; cut && j < n; j++)
                        cut = (p[j] & 0xc0) == 0x80;
                if (cut) {
                        p[i] = 0;
                        return;
                }
                p[i++] = '?';
        }
}

bool rpc_caller_may(const RpcCaller *caller, RpcAccess access) {
        switch (access) {
        case RPC_PUBLIC:
                return true;
        case RPC_READ:
                return true;
        case RPC_WRITE:
                return caller->role == CALLER_ADMIN || caller->role == CALLER_TENANT;
        case RPC_HOST_READ:
                return caller->role == CALLER_ADMIN ||
                       (caller->role == CALLER_READ_ONLY && !caller->tenant[0]);
        case RPC_ADMIN_ONLY:
        default:
                return caller->role == CALLER_ADMIN;
        }
}

bool rpc_caller_sees(const RpcCaller *caller, const char *customer_id) {
        return !caller->tenant[0] || streq(caller->tenant, customer_id ? customer_id : "");
}

int connect_error(ConnectError *e, ConnectCode code, const char *fmt, ...) {
        assert(e);
        e->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof e->message, fmt, ap);
        va_end(ap);
        utf8_repair(e->message);
        return -1;
}

char *connect_error_body(const ConnectError *e) {
        /* Messages are repaired when made; one filled in some other way is repaired here. */
        char message[sizeof e->message];
        snprintf(message, sizeof message, "%s", e->message);
        utf8_repair(message);
        json_t *o = json_pack("{s:s, s:s}", "code", connect_code_to_string(e->code), "message", message);
        if (!o)
                return NULL;
        char *s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        return s;
}

void snake_to_camel(const char *snake, char *buf, size_t size) {
        size_t j = 0;
        bool up = false;
        for (const char *p = snake; *p && j + 1 < size; p++) {
                if (*p == '_') {
                        up = true;
                        continue;
                }
                buf[j++] = up && *p >= 'a' && *p <= 'z' ? (char) (*p - 'a' + 'A') : *p;
                up = false;
        }
        buf[j] = 0;
}

int json_get_int64(const json_t *v, int64_t min, int64_t max, int64_t *ret) {
        int64_t x;
        if (json_is_integer(v))
                x = json_integer_value(v);
        else if (json_is_real(v)) {
                double d = json_real_value(v);
                if (d != floor(d) || d < -9.2e18 || d > 9.2e18)
                        return -EINVAL;
                x = (int64_t) d;
        } else if (json_is_string(v)) {
                const char *s = json_string_value(v);
                char *end;
                errno = 0;
                long long ll = strtoll(s, &end, 10);
                if (!*s || *end || (s[0] == '+'))
                        return -EINVAL;
                if (errno == ERANGE)
                        return -ERANGE;
                x = ll;
        } else
                return -EINVAL;
        if (x < min || x > max)
                return -ERANGE;
        *ret = x;
        return 0;
}

/* Decode one value into its slot; -EINVAL/-ERANGE with e filled. */
static int decode_field(const FieldSpec *f, const json_t *v, void *req, ConnectError *e) {
        char *slot = (char *) req + f->offset;
        int64_t x;
        int r;
        switch (f->type) {
        case FIELD_STRING:
                if (!json_is_string(v))
                        return connect_error(e, CONNECT_INVALID_ARGUMENT, "%s: must be a string", f->name),
                               -EINVAL;
                if (strlen(json_string_value(v)) != json_string_length(v))
                        return connect_error(e, CONNECT_INVALID_ARGUMENT, "%s: must not contain NUL",
                                             f->name),
                               -EINVAL;
                free(*(char **) slot);
                *(char **) slot = strdup(json_string_value(v));
                return *(char **) slot ? 0 : -ENOMEM;
        case FIELD_BOOL:
                if (!json_is_boolean(v))
                        return connect_error(e, CONNECT_INVALID_ARGUMENT, "%s: must be true or false",
                                             f->name),
                               -EINVAL;
                *(bool *) slot = json_is_true(v);
                return 0;
        case FIELD_INT32:
        case FIELD_INT64:
                r = json_get_int64(v, f->type == FIELD_INT32 ? INT32_MIN : INT64_MIN,
                                   f->type == FIELD_INT32 ? INT32_MAX : INT64_MAX, &x);
                if (r < 0)
                        return connect_error(e, CONNECT_INVALID_ARGUMENT, "%s: %s", f->name,
                                             r == -ERANGE ? "out of range"
                                                          : "must be an integer (number or decimal string)"),
                               r;
                if (f->type == FIELD_INT32)
                        *(int32_t *) slot = (int32_t) x;
                else
                        *(int64_t *) slot = x;
                return 0;
        case FIELD_OBJECT:
                if (!json_is_object(v))
                        return connect_error(e, CONNECT_INVALID_ARGUMENT, "%s: must be an object", f->name),
                               -EINVAL;
                *(const json_t **) slot = v;
                return 0;
        case FIELD_VMSTATES: {
                VmStateList *l = (VmStateList *) slot;
                if (!json_is_array(v))
                        return connect_error(e, CONNECT_INVALID_ARGUMENT, "%s: must be an array", f->name),
                               -EINVAL;
                if (json_array_size(v) > ELEMENTSOF(l->items))
                        return connect_error(e, CONNECT_INVALID_ARGUMENT, "%s: at most %zu entries", f->name,
                                             ELEMENTSOF(l->items)),
                               -EINVAL;
                size_t i;
                json_t *item;
                json_array_foreach (v, i, item) {
                        VmState s;
                        if (json_is_integer(item) && json_integer_value(item) >= 0 &&
                            json_integer_value(item) < _VM_STATE_MAX)
                                s = (VmState) json_integer_value(item);
                        else if (!json_is_string(item) ||
                                 vm_state_from_string(json_string_value(item), &s) < 0)
                                return connect_error(e, CONNECT_INVALID_ARGUMENT,
                                                     "%s[%zu]: not a VmState (e.g. \"VM_STATE_RUNNING\")",
                                                     f->name, i),
                                       -EINVAL;
                        l->items[l->n++] = s;
                }
                return 0;
        }
        }
        return -EINVAL;
}

int connect_decode(const json_t *obj, const FieldSpec *fields, size_t n, void *req, ConnectError *e) {
        assert(fields && req && e);
        if (!json_is_object(obj))
                return connect_error(e, CONNECT_INVALID_ARGUMENT, "request body must be a JSON object"),
                       -EINVAL;
        const char *key;
        json_t *v;
        bool seen[64] = { false };
        assert(n <= ELEMENTSOF(seen));
        json_object_foreach ((json_t *) obj, key, v) {
                size_t i;
                for (i = 0; i < n; i++) {
                        char camel[64];
                        snake_to_camel(fields[i].name, camel, sizeof camel);
                        if (streq(key, fields[i].name) || streq(key, camel))
                                break;
                }
                if (i == n)
                        return connect_error(e, CONNECT_INVALID_ARGUMENT, "unknown field \"%s\"", key),
                               -EINVAL;
                if (seen[i])
                        return connect_error(e, CONNECT_INVALID_ARGUMENT,
                                             "%s: given twice (as snake_case and lowerCamelCase)",
                                             fields[i].name),
                               -EINVAL;
                seen[i] = true;
                if (json_is_null(v))
                        continue; /* null means "default" in the protobuf JSON mapping */
                int r = decode_field(&fields[i], v, req, e);
                if (r < 0)
                        return r;
        }
        return 0;
}

void connect_request_free(const FieldSpec *fields, size_t n, void *req) {
        for (size_t i = 0; i < n; i++)
                if (fields[i].type == FIELD_STRING) {
                        char **slot = (char **) ((char *) req + fields[i].offset);
                        *slot = mfree(*slot);
                }
}
