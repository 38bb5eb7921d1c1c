/* SPDX-License-Identifier: Apache-2.0 */
#include "api/proto-json.h"

#include <assert.h>
#include <ctype.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "api/connect.h"
#include "util/util.h"

/* Fill err with the path and a message; return r. */
_printf_(5, 6) static int fail(int r, char *err, size_t err_size, const char *path, const char *fmt, ...) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        snprintf(err, err_size, "%s%s%s", path, *path ? ": " : "", msg);
        return r;
}

/* path + "." + name (or "[i]" when name is NULL) into buf. */
static void path_join(char *buf, size_t size, const char *path, const char *name, size_t index) {
        int n = name ? snprintf(buf, size, "%s%s%s", path, *path ? "." : "", name)
                     : snprintf(buf, size, "%s[%zu]", path, index);
        if (n < 0)
                buf[0] = 0; /* a path is only for messages: a cut one is fine */
}

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const uint8_t *data, size_t size) {
        char *out = malloc((size + 2) / 3 * 4 + 1);
        if (!out)
                return NULL;
        size_t j = 0;
        for (size_t i = 0; i < size; i += 3) {
                uint32_t v = (uint32_t) data[i] << 16;
                if (i + 1 < size)
                        v |= (uint32_t) data[i + 1] << 8;
                if (i + 2 < size)
                        v |= data[i + 2];
                out[j++] = b64_std[(v >> 18) & 63];
                out[j++] = b64_std[(v >> 12) & 63];
                out[j++] = i + 1 < size ? b64_std[(v >> 6) & 63] : '=';
                out[j++] = i + 2 < size ? b64_std[v & 63] : '=';
        }
        out[j] = 0;
        return out;
}

static int b64_value(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+' || c == '-')
                return 62;
        if (c == '/' || c == '_')
                return 63;
        return -1;
}

int base64_decode_any(const char *s, size_t len, uint8_t **ret, size_t *ret_size) {
        while (len > 0 && s[len - 1] == '=')
                len--;
        if (len % 4 == 1)
                return -EINVAL;
        uint8_t *out = malloc(len / 4 * 3 + 3);
        if (!out)
                return -ENOMEM;
        size_t j = 0;
        uint32_t acc = 0;
        unsigned bits = 0;
        for (size_t i = 0; i < len; i++) {
                int v = b64_value(s[i]);
                if (v < 0) {
                        free(out);
                        return -EINVAL;
                }
                acc = (acc << 6) | (uint32_t) v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[j++] = (uint8_t) (acc >> bits);
                }
        }
        *ret = out;
        *ret_size = j;
        return 0;
}

/* The size of one element of a repeated field of this type, in the array
 * protobuf-c keeps for it. */
static size_t element_size(ProtobufCType t) {
        switch (t) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
        case PROTOBUF_C_TYPE_FLOAT:
        case PROTOBUF_C_TYPE_ENUM:
                return 4;
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
        case PROTOBUF_C_TYPE_DOUBLE:
                return 8;
        case PROTOBUF_C_TYPE_BOOL:
                return sizeof(protobuf_c_boolean);
        case PROTOBUF_C_TYPE_STRING:
                return sizeof(char *);
        case PROTOBUF_C_TYPE_BYTES:
                return sizeof(ProtobufCBinaryData);
        case PROTOBUF_C_TYPE_MESSAGE:
                return sizeof(ProtobufCMessage *);
        }
        return 0;
}

/* Whether field f is a map<K,V> (see proto-json.h for the rule). */
static bool field_is_map(const ProtobufCFieldDescriptor *f) {
        if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label != PROTOBUF_C_LABEL_REPEATED)
                return false;
        const ProtobufCMessageDescriptor *d = f->descriptor;
        if (d->n_fields != 2 || d->fields[0].id != 1 || d->fields[1].id != 2 ||
            !streq(d->fields[0].name, "key") || !streq(d->fields[1].name, "value"))
                return false;
        char want[160];
        snake_to_camel(f->name, want, sizeof want - 5);
        if (want[0] >= 'a' && want[0] <= 'z')
                want[0] = (char) (want[0] - 'a' + 'A');
        strcat(want, "Entry");
        return streq(d->short_name, want);
}

static json_t *double_json(double d) {
        if (isnan(d))
                return json_string("NaN");
        if (isinf(d))
                return json_string(d > 0 ? "Infinity" : "-Infinity");
        return json_real(d);
}

static json_t *u64_json(uint64_t v) {
        char buf[24];
        snprintf(buf, sizeof buf, "%" PRIu64, v);
        return json_string(buf);
}

static json_t *i64_json(int64_t v) {
        char buf[24];
        snprintf(buf, sizeof buf, "%" PRId64, v);
        return json_string(buf);
}

/* Whether s is well-formed UTF-8 (no overlongs, surrogates or code points
 * above U+10FFFF), which protobuf-c does not check when it unpacks. */
static bool utf8_valid(const char *s) {
        const unsigned char *p = (const unsigned char *) s;
        while (*p) {
                unsigned n;
                uint32_t cp;
                if (*p < 0x80) {
                        p++;
                        continue;
                } else if ((*p & 0xE0) == 0xC0)
                        n = 1, cp = *p & 0x1F;
                else if ((*p & 0xF0) == 0xE0)
                        n = 2, cp = *p & 0x0F;
                else if ((*p & 0xF8) == 0xF0)
                        n = 3, cp = *p & 0x07;
                else
                        return false;
                for (unsigned k = 1; k <= n; k++) {
                        if ((p[k] & 0xC0) != 0x80)
                                return false;
                        cp = (cp << 6) | (p[k] & 0x3F);
                }
                static const uint32_t min[] = { 0, 0x80, 0x800, 0x10000 };
                if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                        return false;
                p += n + 1;
        }
        return true;
}

static int message_to_json(const ProtobufCMessage *m, const char *path, json_t **ret, char *err, size_t es);

/* One value of field f stored at p, as JSON (a new reference) in *ret. */
static int scalar_to_json(const ProtobufCFieldDescriptor *f, const void *p, const char *path, json_t **ret,
                          char *err, size_t es) {
        json_t *v = NULL;
        switch (f->type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
                v = json_integer(*(const int32_t *) p);
                break;
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
                v = json_integer(*(const uint32_t *) p);
                break;
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
                v = i64_json(*(const int64_t *) p);
                break;
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
                v = u64_json(*(const uint64_t *) p);
                break;
        case PROTOBUF_C_TYPE_FLOAT:
                v = double_json(*(const float *) p);
                break;
        case PROTOBUF_C_TYPE_DOUBLE:
                v = double_json(*(const double *) p);
                break;
        case PROTOBUF_C_TYPE_BOOL:
                v = json_boolean(*(const protobuf_c_boolean *) p);
                break;
        case PROTOBUF_C_TYPE_ENUM: {
                int e = *(const int *) p;
                const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, e);
                v = ev ? json_string(ev->name) : json_integer(e);
                break;
        }
        case PROTOBUF_C_TYPE_STRING: {
                const char *s = *(char *const *) p;
                v = json_string(s ? s : "");
                if (!v && s && !utf8_valid(s))
                        return fail(-EINVAL, err, es, path, "not valid UTF-8");
                break;
        }
        case PROTOBUF_C_TYPE_BYTES: {
                const ProtobufCBinaryData *b = p;
                char *s = base64_encode(b->data, b->len);
                v = s ? json_string(s) : NULL;
                free(s);
                break;
        }
        case PROTOBUF_C_TYPE_MESSAGE: {
                const ProtobufCMessage *sm = *(ProtobufCMessage *const *) p;
                if (!sm) {
                        v = json_object();
                        break;
                }
                return message_to_json(sm, path, ret, err, es);
        }
        }
        if (!v)
                return -ENOMEM;
        *ret = v;
        return 0;
}

/* The JSON form of a map key (protobuf JSON: object keys are strings). */
static int map_key_string(const ProtobufCFieldDescriptor *kf, const void *p, char *buf, size_t size,
                          const char **ret) {
        switch (kf->type) {
        case PROTOBUF_C_TYPE_STRING:
                *ret = *(char *const *) p ? *(char *const *) p : "";
                return 0;
        case PROTOBUF_C_TYPE_BOOL:
                *ret = *(const protobuf_c_boolean *) p ? "true" : "false";
                return 0;
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
                snprintf(buf, size, "%" PRId32, *(const int32_t *) p);
                break;
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
                snprintf(buf, size, "%" PRIu32, *(const uint32_t *) p);
                break;
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
                snprintf(buf, size, "%" PRId64, *(const int64_t *) p);
                break;
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
                snprintf(buf, size, "%" PRIu64, *(const uint64_t *) p);
                break;
        default:
                return -EINVAL; /* protoc allows no other key types */
        }
        *ret = buf;
        return 0;
}

/* Whether a field without explicit presence holds its default (and is left out). */
static bool is_default(const ProtobufCFieldDescriptor *f, const void *p) {
        switch (f->type) {
        case PROTOBUF_C_TYPE_STRING: {
                const char *s = *(char *const *) p;
                return !s || !*s;
        }
        case PROTOBUF_C_TYPE_BYTES:
                return ((const ProtobufCBinaryData *) p)->len == 0;
        case PROTOBUF_C_TYPE_MESSAGE:
                return *(ProtobufCMessage *const *) p == NULL;
        case PROTOBUF_C_TYPE_FLOAT:
                return *(const float *) p == 0 && !signbit(*(const float *) p);
        case PROTOBUF_C_TYPE_DOUBLE:
                return *(const double *) p == 0 && !signbit(*(const double *) p);
        default: {
                size_t n = element_size(f->type);
                const uint8_t *b = p;
                for (size_t i = 0; i < n; i++)
                        if (b[i])
                                return false;
                return true;
        }
        }
}

/* Whether field f of message m is written: see the rules in proto-json.h. */
static bool field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f) {
        const char *base = (const char *) m;
        const void *p = base + f->offset;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
                return *(const uint32_t *) (base + f->quantifier_offset) == f->id;
        switch (f->label) {
        case PROTOBUF_C_LABEL_REQUIRED:
                return true;
        case PROTOBUF_C_LABEL_NONE:
                return !is_default(f, p);
        case PROTOBUF_C_LABEL_OPTIONAL:
                if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) {
                        const void *ptr = *(void *const *) p;
                        return ptr && ptr != f->default_value;
                }
                return *(const protobuf_c_boolean *) (base + f->quantifier_offset);
        case PROTOBUF_C_LABEL_REPEATED:
                return *(const size_t *) (base + f->quantifier_offset) > 0;
        }
        return false;
}

static int message_to_json(const ProtobufCMessage *m, const char *path, json_t **ret, char *err, size_t es) {
        const ProtobufCMessageDescriptor *d = m->descriptor;
        json_t *obj = json_object();
        if (!obj)
                return -ENOMEM;
        for (unsigned i = 0; i < d->n_fields; i++) {
                const ProtobufCFieldDescriptor *f = &d->fields[i];
                if (!field_present(m, f))
                        continue;
                char name[128], sub[512];
                snake_to_camel(f->name, name, sizeof name);
                path_join(sub, sizeof sub, path, name, 0);
                const char *p = (const char *) m + f->offset;
                json_t *v = NULL;
                int r = 0;
                if (f->label == PROTOBUF_C_LABEL_REPEATED) {
                        size_t n = *(const size_t *) ((const char *) m + f->quantifier_offset);
                        const char *arr = *(char *const *) p;
                        bool map = field_is_map(f);
                        v = map ? json_object() : json_array();
                        for (size_t k = 0; v && r >= 0 && k < n; k++) {
                                char item_path[512];
                                path_join(item_path, sizeof item_path, sub, NULL, k);
                                const void *ep = arr + k * element_size(f->type);
                                if (map) {
                                        const ProtobufCMessage *entry = *(ProtobufCMessage *const *) ep;
                                        const ProtobufCFieldDescriptor *kf = &entry->descriptor->fields[0],
                                                                       *vf = &entry->descriptor->fields[1];
                                        char kbuf[32];
                                        const char *key = "";
                                        json_t *ev = NULL;
                                        r = map_key_string(kf, (const char *) entry + kf->offset, kbuf,
                                                           sizeof kbuf, &key);
                                        if (r < 0)
                                                r = fail(r, err, es, item_path, "unsupported map key type");
                                        if (r >= 0)
                                                r = scalar_to_json(vf, (const char *) entry + vf->offset,
                                                                   item_path, &ev, err, es);
                                        if (r >= 0 && json_object_set_new(v, key, ev) < 0)
                                                r = fail(-EINVAL, err, es, item_path,
                                                         "map key not valid UTF-8");
                                } else {
                                        json_t *ev = NULL;
                                        r = scalar_to_json(f, ep, item_path, &ev, err, es);
                                        if (r >= 0 && json_array_append_new(v, ev) < 0)
                                                r = -ENOMEM;
                                }
                        }
                        if (!v)
                                r = -ENOMEM;
                } else
                        r = scalar_to_json(f, p, sub, &v, err, es);
                if (r >= 0 && json_object_set_new(obj, name, v) < 0) {
                        v = NULL;
                        r = -ENOMEM;
                } else if (r < 0)
                        json_decref(v);
                if (r < 0) {
                        json_decref(obj);
                        return r;
                }
        }
        *ret = obj;
        return 0;
}

int proto_to_json(const ProtobufCMessage *m, json_t **ret, char *err, size_t err_size) {
        assert(m && ret && err);
        return message_to_json(m, "", ret, err, err_size);
}

/* ---- JSON -> message ---- */

static int message_from_json(const ProtobufCMessageDescriptor *d, const json_t *obj, const char *path,
                             ProtobufCMessage **ret, char *err, size_t es);

/* A double from a JSON number or one of the strings the mapping allows. */
static int json_get_double(const json_t *v, double *ret) {
        if (json_is_number(v)) {
                *ret = json_number_value(v);
                return 0;
        }
        if (!json_is_string(v))
                return -EINVAL;
        const char *s = json_string_value(v);
        if (streq(s, "NaN"))
                *ret = NAN;
        else if (streq(s, "Infinity"))
                *ret = INFINITY;
        else if (streq(s, "-Infinity"))
                *ret = -INFINITY;
        else {
                char *end;
                errno = 0;
                double d = strtod(s, &end);
                if (!*s || *end || isspace((unsigned char) *s) || isnan(d) || isinf(d))
                        return -EINVAL;
                *ret = d;
        }
        return 0;
}

/* A uint64 from a JSON number or decimal string. */
static int json_get_uint64(const json_t *v, uint64_t max, uint64_t *ret) {
        uint64_t x;
        if (json_is_string(v)) {
                const char *s = json_string_value(v);
                char *end;
                if (!*s || *s < '0' || *s > '9')
                        return -EINVAL;
                errno = 0;
                unsigned long long u = strtoull(s, &end, 10);
                if (*end)
                        return -EINVAL;
                if (errno == ERANGE)
                        return -ERANGE;
                x = u;
        } else {
                int64_t i;
                int r = json_get_int64(v, 0, INT64_MAX, &i);
                if (r < 0)
                        return r;
                x = (uint64_t) i;
        }
        if (x > max)
                return -ERANGE;
        *ret = x;
        return 0;
}

/* Store JSON value v as one value of field f at p (whose previous contents
 * are a default that owns nothing). */
static int scalar_from_json(const ProtobufCFieldDescriptor *f, const json_t *v, void *p, const char *path,
                            char *err, size_t es) {
        int64_t i = 0;
        uint64_t u = 0;
        double d = 0;
        int r;
        switch (f->type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64: {
                bool is32 = element_size(f->type) == 4;
                r = json_get_int64(v, is32 ? INT32_MIN : INT64_MIN, is32 ? INT32_MAX : INT64_MAX, &i);
                if (r < 0)
                        return fail(r, err, es, path,
                                    r == -ERANGE ? "out of range for %s"
                                                 : "%s: expected an integer (number or "
                                                   "decimal string)",
                                    is32 ? "int32" : "int64");
                if (is32)
                        *(int32_t *) p = (int32_t) i;
                else
                        *(int64_t *) p = i;
                return 0;
        }
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64: {
                bool is32 = element_size(f->type) == 4;
                r = json_get_uint64(v, is32 ? UINT32_MAX : UINT64_MAX, &u);
                if (r < 0)
                        return fail(r, err, es, path,
                                    r == -ERANGE ? "out of range for %s"
                                                 : "%s: expected a non-negative integer "
                                                   "(number or decimal string)",
                                    is32 ? "uint32" : "uint64");
                if (is32)
                        *(uint32_t *) p = (uint32_t) u;
                else
                        *(uint64_t *) p = u;
                return 0;
        }
        case PROTOBUF_C_TYPE_FLOAT:
        case PROTOBUF_C_TYPE_DOUBLE:
                if (json_get_double(v, &d) < 0)
                        return fail(-EINVAL, err, es, path,
                                    "expected a number (or \"NaN\", \"Infinity\", \"-Infinity\")");
                if (f->type == PROTOBUF_C_TYPE_FLOAT) {
                        if (isfinite(d) && (d > FLT_MAX || d < -FLT_MAX))
                                return fail(-ERANGE, err, es, path, "out of range for float");
                        *(float *) p = (float) d;
                } else
                        *(double *) p = d;
                return 0;
        case PROTOBUF_C_TYPE_BOOL:
                if (!json_is_boolean(v))
                        return fail(-EINVAL, err, es, path, "expected true or false");
                *(protobuf_c_boolean *) p = json_is_true(v);
                return 0;
        case PROTOBUF_C_TYPE_ENUM: {
                const ProtobufCEnumDescriptor *ed = f->descriptor;
                if (json_is_string(v)) {
                        const ProtobufCEnumValue *ev =
                                protobuf_c_enum_descriptor_get_value_by_name(ed, json_string_value(v));
                        if (!ev)
                                return fail(-EINVAL, err, es, path, "\"%s\" is not a value of %s",
                                            json_string_value(v), ed->name);
                        *(int *) p = ev->value;
                        return 0;
                }
                r = json_get_int64(v, INT32_MIN, INT32_MAX, &i);
                if (r < 0)
                        return fail(-EINVAL, err, es, path, "expected a %s name or number", ed->name);
                *(int *) p = (int) i; /* open enums keep unknown numbers */
                return 0;
        }
        case PROTOBUF_C_TYPE_STRING: {
                if (!json_is_string(v))
                        return fail(-EINVAL, err, es, path, "expected a string");
                if (strlen(json_string_value(v)) != json_string_length(v))
                        return fail(-EINVAL, err, es, path, "must not contain NUL");
                char *s = strdup(json_string_value(v));
                if (!s)
                        return -ENOMEM;
                *(char **) p = s;
                return 0;
        }
        case PROTOBUF_C_TYPE_BYTES: {
                if (!json_is_string(v))
                        return fail(-EINVAL, err, es, path, "expected a base64 string");
                ProtobufCBinaryData *b = p;
                r = base64_decode_any(json_string_value(v), json_string_length(v), &b->data, &b->len);
                if (r == -EINVAL)
                        return fail(r, err, es, path, "not valid base64");
                return r;
        }
        case PROTOBUF_C_TYPE_MESSAGE:
                return message_from_json(f->descriptor, v, path, (ProtobufCMessage **) p, err, es);
        }
        return -EINVAL;
}

/* A map key from its JSON string form into the entry's key slot. */
static int map_key_from_string(const ProtobufCFieldDescriptor *kf, const char *key, void *p,
                               const char *path, char *err, size_t es) {
        if (kf->type == PROTOBUF_C_TYPE_STRING) {
                json_t *s = json_string(key);
                if (!s)
                        return -ENOMEM;
                int r = scalar_from_json(kf, s, p, path, err, es);
                json_decref(s);
                return r;
        }
        if (kf->type == PROTOBUF_C_TYPE_BOOL) {
                if (!streq(key, "true") && !streq(key, "false"))
                        return fail(-EINVAL, err, es, path, "map key must be \"true\" or \"false\"");
                *(protobuf_c_boolean *) p = streq(key, "true");
                return 0;
        }
        json_t *s = json_string(key); /* the integer types take decimal strings */
        if (!s)
                return -ENOMEM;
        int r = scalar_from_json(kf, s, p, path, err, es);
        json_decref(s);
        return r;
}

/* Field f of message m from JSON value v. Leaves m consistent for
 * protobuf_c_message_free_unpacked at every step, so errors free cleanly. */
static int field_from_json(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, const json_t *v,
                           const char *path, char *err, size_t es) {
        char *base = (char *) m;
        void *p = base + f->offset;
        if (f->label != PROTOBUF_C_LABEL_REPEATED) {
                int r = scalar_from_json(f, v, p, path, err, es);
                if (r < 0)
                        return r;
                if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
                        *(uint32_t *) (base + f->quantifier_offset) = f->id;
                else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
                         f->type != PROTOBUF_C_TYPE_MESSAGE)
                        *(protobuf_c_boolean *) (base + f->quantifier_offset) = 1;
                return 0;
        }
        size_t *n = (size_t *) (base + f->quantifier_offset);
        bool map = field_is_map(f);
        if (map ? !json_is_object(v) : !json_is_array(v))
                return fail(-EINVAL, err, es, path,
                            map ? "expected an object (a map)" : "expected an array");
        size_t count = map ? json_object_size(v) : json_array_size(v);
        if (count == 0)
                return 0;
        void *arr = calloc(count, element_size(f->type));
        if (!arr)
                return -ENOMEM;
        *(void **) p = arr;
        if (!map) {
                for (size_t k = 0; k < count; k++) {
                        char item_path[512];
                        path_join(item_path, sizeof item_path, path, NULL, k);
                        const json_t *item = json_array_get(v, k);
                        if (json_is_null(item) && f->type != PROTOBUF_C_TYPE_MESSAGE)
                                return fail(-EINVAL, err, es, item_path, "null is not allowed in a list");
                        int r = scalar_from_json(f, item, (char *) arr + k * element_size(f->type),
                                                 item_path, err, es);
                        if (r < 0)
                                return r;
                        (*n)++;
                }
                return 0;
        }
        const ProtobufCMessageDescriptor *ed = f->descriptor;
        const char *key;
        json_t *item;
        json_object_foreach ((json_t *) v, key, item) {
                char item_path[512];
                snprintf(item_path, sizeof item_path, "%s[\"%s\"]", path, key);
                ProtobufCMessage *entry = malloc(ed->sizeof_message);
                if (!entry)
                        return -ENOMEM;
                protobuf_c_message_init(ed, entry);
                ((ProtobufCMessage **) arr)[*n] = entry;
                (*n)++;
                int r = map_key_from_string(&ed->fields[0], key, (char *) entry + ed->fields[0].offset,
                                            item_path, err, es);
                if (r >= 0 && !json_is_null(item))
                        r = field_from_json(entry, &ed->fields[1], item, item_path, err, es);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int message_from_json(const ProtobufCMessageDescriptor *d, const json_t *obj, const char *path,
                             ProtobufCMessage **ret, char *err, size_t es) {
        if (!json_is_object(obj))
                return fail(-EINVAL, err, es, path, "expected an object (%s)", d->name);
        ProtobufCMessage *m = malloc(d->sizeof_message);
        if (!m)
                return -ENOMEM;
        protobuf_c_message_init(d, m);
        bool seen[128] = { false };
        const char *key;
        json_t *v;
        int r = 0;
        json_object_foreach ((json_t *) obj, key, v) {
                unsigned i;
                char camel[128];
                for (i = 0; i < d->n_fields; i++) {
                        snake_to_camel(d->fields[i].name, camel, sizeof camel);
                        if (streq(key, d->fields[i].name) || streq(key, camel))
                                break;
                }
                char sub[512];
                path_join(sub, sizeof sub, path, key, 0);
                if (i == d->n_fields) {
                        r = fail(-EINVAL, err, es, path, "unknown field \"%s\" (not in %s)", key, d->name);
                        break;
                }
                if (i < ELEMENTSOF(seen) && seen[i]) {
                        r = fail(-EINVAL, err, es, sub, "given twice (as the proto name and the JSON name)");
                        break;
                }
                if (i < ELEMENTSOF(seen))
                        seen[i] = true;
                const ProtobufCFieldDescriptor *f = &d->fields[i];
                if (json_is_null(v))
                        continue; /* null means the default */
                if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                    *(uint32_t *) ((char *) m + f->quantifier_offset) != 0) {
                        r = fail(-EINVAL, err, es, sub, "another member of its oneof is already set");
                        break;
                }
                r = field_from_json(m, f, v, sub, err, es);
                if (r < 0)
                        break;
        }
        if (r < 0) {
                protobuf_c_message_free_unpacked(m, NULL);
                return r;
        }
        *ret = m;
        return 0;
}

int proto_from_json(const ProtobufCMessageDescriptor *d, const json_t *obj, ProtobufCMessage **ret,
                    char *err, size_t err_size) {
        assert(d && ret && err);
        return message_from_json(d, obj, "", ret, err, err_size);
}

int proto_unpack_json(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t size, json_t **ret,
                      char *err, size_t err_size) {
        assert(d && ret && err);
        ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, size, data);
        if (!m) {
                snprintf(err, err_size, "malformed protobuf message (%s, %zu bytes)", d->name, size);
                return -EINVAL;
        }
        int r = proto_to_json(m, ret, err, err_size);
        protobuf_c_message_free_unpacked(m, NULL);
        return r;
}

int proto_pack_json(const ProtobufCMessageDescriptor *d, const json_t *obj, uint8_t **ret, size_t *ret_size,
                    char *err, size_t err_size) {
        assert(d && ret && ret_size && err);
        ProtobufCMessage *m = NULL;
        int r = proto_from_json(d, obj, &m, err, err_size);
        if (r < 0)
                return r;
        if (!protobuf_c_message_check(m)) { /* proto2: a required field is missing */
                snprintf(err, err_size, "%s: a required field is missing", d->name);
                protobuf_c_message_free_unpacked(m, NULL);
                return -EINVAL;
        }
        size_t n = protobuf_c_message_get_packed_size(m);
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf) {
                protobuf_c_message_free_unpacked(m, NULL);
                return -ENOMEM;
        }
        protobuf_c_message_pack(m, buf);
        protobuf_c_message_free_unpacked(m, NULL);
        *ret = buf;
        *ret_size = n;
        return 0;
}
