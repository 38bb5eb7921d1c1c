/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A re-implementation of the parts of serde_json's Deserializer (SliceRead)
 * that Firecracker's and Cloud Hypervisor's API bodies go through, with
 * serde's derive semantics for structs (unknown fields ignored or denied,
 * Option and #[serde(default)] fields), unit enums, maps and sequences.
 * Function names follow serde_json's so that the
 * two can be compared side by side.
 *
 * Error positions: serde_json reports the position of the last consumed byte
 * ("error") or of the next byte ("peek_error"). Errors raised by visitors
 * (unknown field, missing field, invalid type ...) have no position until the
 * enclosing deserialize_* call "fixes" it at the then current index; that is
 * what fix_position() does here.
 */
#include "decode.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECURSION_LIMIT 128

typedef struct De {
        const unsigned char *s;
        size_t len;
        size_t i;
        int depth_left;
        char *msg; /* the error message, once failed */
        bool positioned; /* false for visitor errors not yet fixed */
        size_t err_index;
        bool oom;
} De;

typedef struct Num {
        enum { NUM_U64, NUM_I64, NUM_F64 } kind;
        uint64_t u;
        int64_t i;
        double f;
} Num;

/* What serde calls Unexpected: the description of a value of the wrong type. */
typedef struct Unexp {
        enum { UNEXP_UNIT, UNEXP_BOOL, UNEXP_NUM, UNEXP_STR, UNEXP_SEQ, UNEXP_MAP } kind;
        bool b;
        Num num;
        char *str;
        size_t str_len;
} Unexp;

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...) {
        va_list ap;
        char *s = NULL;
        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

/* Record an error (taking ownership of msg; NULL means out of memory). Only the
 * first error counts. Always returns -1 so callers can "return fail(...)". */
static int fail(De *d, char *msg, bool positioned, size_t index) {
        if (d->msg || d->oom) {
                free(msg);
                return -1;
        }
        if (!msg) {
                d->oom = true;
                return -1;
        }
        d->msg = msg;
        d->positioned = positioned;
        d->err_index = index;
        return -1;
}

/* serde_json Deserializer::error: at the last consumed byte. */
static int de_error(De *d, const char *msg) {
        return fail(d, strdup(msg), true, d->i);
}

/* serde_json Deserializer::peek_error: at the next byte. */
static int de_peek_error(De *d, const char *msg) {
        return fail(d, strdup(msg), true, d->i + 1 < d->len ? d->i + 1 : d->len);
}

/* A serde "custom" error: positioned later by fix_position(). */
static int de_custom(De *d, char *msg) {
        return fail(d, msg, false, 0);
}

static void fix_position(De *d) {
        if (d->msg && !d->positioned) {
                d->positioned = true;
                d->err_index = d->i;
        }
}

static bool is_ws(int c) {
        return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

/* parse_whitespace: skip whitespace, return the next byte or -1 at the end. */
static int peek_ws(De *d) {
        while (d->i < d->len && is_ws(d->s[d->i]))
                d->i++;
        return d->i < d->len ? d->s[d->i] : -1;
}

static int peek_or_null(De *d) {
        return d->i < d->len ? d->s[d->i] : 0;
}

static int parse_ident(De *d, const char *rest) {
        for (const char *p = rest; *p; p++) {
                if (d->i >= d->len)
                        return de_error(d, "EOF while parsing a value");
                if (d->s[d->i++] != (unsigned char) *p)
                        return de_error(d, "expected ident");
        }
        return 0;
}

/* ---- strings ---------------------------------------------------------------- */

typedef struct Buf {
        char *p;
        size_t len, cap;
} Buf;

static int buf_push(De *d, Buf *b, const void *data, size_t n) {
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 64;
                while (cap < b->len + n + 1)
                        cap *= 2;
                char *p = realloc(b->p, cap);
                if (!p)
                        return fail(d, NULL, true, 0);
                b->p = p;
                b->cap = cap;
        }
        memcpy(b->p + b->len, data, n);
        b->len += n;
        b->p[b->len] = 0;
        return 0;
}

static int push_codepoint(De *d, Buf *b, uint32_t c) {
        unsigned char u[4];
        size_t n;
        if (c < 0x80) {
                u[0] = (unsigned char) c;
                n = 1;
        } else if (c < 0x800) {
                u[0] = (unsigned char) (0xC0 | (c >> 6));
                u[1] = (unsigned char) (0x80 | (c & 0x3F));
                n = 2;
        } else if (c < 0x10000) {
                u[0] = (unsigned char) (0xE0 | (c >> 12));
                u[1] = (unsigned char) (0x80 | ((c >> 6) & 0x3F));
                u[2] = (unsigned char) (0x80 | (c & 0x3F));
                n = 3;
        } else {
                u[0] = (unsigned char) (0xF0 | (c >> 18));
                u[1] = (unsigned char) (0x80 | ((c >> 12) & 0x3F));
                u[2] = (unsigned char) (0x80 | ((c >> 6) & 0x3F));
                u[3] = (unsigned char) (0x80 | (c & 0x3F));
                n = 4;
        }
        return buf_push(d, b, u, n);
}

static bool utf8_valid(const unsigned char *s, size_t n) {
        size_t i = 0;
        while (i < n) {
                unsigned char c = s[i];
                size_t k;
                uint32_t cp, min;
                if (c < 0x80) {
                        i++;
                        continue;
                } else if ((c & 0xE0) == 0xC0) {
                        k = 1, cp = c & 0x1F, min = 0x80;
                } else if ((c & 0xF0) == 0xE0) {
                        k = 2, cp = c & 0x0F, min = 0x800;
                } else if ((c & 0xF8) == 0xF0) {
                        k = 3, cp = c & 0x07, min = 0x10000;
                } else
                        return false;
                for (size_t j = 1; j <= k; j++) {
                        if (i + j >= n || (s[i + j] & 0xC0) != 0x80)
                                return false;
                        cp = (cp << 6) | (s[i + j] & 0x3F);
                }
                if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                        return false;
                i += k + 1;
        }
        return true;
}

static int hexval(int c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static int decode_hex_escape(De *d, uint32_t *ret) {
        if (d->len - d->i < 4) {
                d->i = d->len;
                return de_error(d, "EOF while parsing a string");
        }
        uint32_t v = 0;
        bool ok = true;
        for (size_t k = 0; k < 4; k++) {
                int h = hexval(d->s[d->i + k]);
                if (h < 0)
                        ok = false;
                v = (v << 4) | (uint32_t) (h < 0 ? 0 : h);
        }
        d->i += 4;
        if (!ok)
                return de_error(d, "invalid escape");
        *ret = v;
        return 0;
}

static int peek_or_eof_str(De *d, int *ret) {
        if (d->i >= d->len)
                return de_error(d, "EOF while parsing a string");
        *ret = d->s[d->i];
        return 0;
}

static int parse_unicode_escape(De *d, Buf *b) {
        uint32_t n, n2;
        int c;
        if (decode_hex_escape(d, &n) < 0)
                return -1;
        if (n >= 0xDC00 && n <= 0xDFFF)
                return de_error(d, "lone leading surrogate in hex escape");
        if (n < 0xD800 || n > 0xDBFF)
                return push_codepoint(d, b, n);
        if (peek_or_eof_str(d, &c) < 0)
                return -1;
        d->i++;
        if (c != '\\')
                return de_error(d, "unexpected end of hex escape");
        if (peek_or_eof_str(d, &c) < 0)
                return -1;
        d->i++;
        if (c != 'u')
                return de_error(d, "unexpected end of hex escape");
        if (decode_hex_escape(d, &n2) < 0)
                return -1;
        if (n2 < 0xDC00 || n2 > 0xDFFF)
                return de_error(d, "lone leading surrogate in hex escape");
        return push_codepoint(d, b, (((n - 0xD800) << 10) | (n2 - 0xDC00)) + 0x10000);
}

static int parse_escape(De *d, Buf *b) {
        if (d->i >= d->len)
                return de_error(d, "EOF while parsing a string");
        int ch = d->s[d->i++];
        char out;
        switch (ch) {
        case '"':
                out = '"';
                break;
        case '\\':
                out = '\\';
                break;
        case '/':
                out = '/';
                break;
        case 'b':
                out = '\b';
                break;
        case 'f':
                out = '\f';
                break;
        case 'n':
                out = '\n';
                break;
        case 'r':
                out = '\r';
                break;
        case 't':
                out = '\t';
                break;
        case 'u':
                return parse_unicode_escape(d, b);
        default:
                return de_error(d, "invalid escape");
        }
        return buf_push(d, b, &out, 1);
}

/* Parse a string body; the opening quote has been consumed. */
static int parse_str(De *d, char **ret, size_t *ret_len) {
        Buf b = { 0 };
        if (buf_push(d, &b, "", 0) < 0)
                return -1;
        for (;;) {
                if (d->i >= d->len) {
                        free(b.p);
                        return de_error(d, "EOF while parsing a string");
                }
                unsigned char c = d->s[d->i];
                if (c == '"') {
                        d->i++;
                        if (!utf8_valid((const unsigned char *) b.p, b.len)) {
                                free(b.p);
                                return de_error(d, "invalid unicode code point");
                        }
                        *ret = b.p;
                        *ret_len = b.len;
                        return 0;
                }
                if (c == '\\') {
                        d->i++;
                        if (parse_escape(d, &b) < 0) {
                                free(b.p);
                                return -1;
                        }
                        continue;
                }
                if (c < 0x20) {
                        d->i++;
                        free(b.p);
                        return de_error(d,
                                        "control character (\\u0000-\\u001F) found while parsing a string");
                }
                /* Copy the run of plain bytes at once. */
                size_t start = d->i;
                while (d->i < d->len && d->s[d->i] != '"' && d->s[d->i] != '\\' && d->s[d->i] >= 0x20)
                        d->i++;
                if (buf_push(d, &b, d->s + start, d->i - start) < 0)
                        return -1;
        }
}

/* ---- numbers ---------------------------------------------------------------- */

static int f64_from_text(De *d, size_t start, Num *ret) {
        char tmp[512];
        size_t n = d->i - start;
        double f;
        if (n < sizeof(tmp)) {
                memcpy(tmp, d->s + start, n);
                tmp[n] = 0;
                f = strtod(tmp, NULL);
        } else {
                char *big = strndup((const char *) d->s + start, n);
                if (!big)
                        return fail(d, NULL, true, 0);
                f = strtod(big, NULL);
                free(big);
        }
        if (isinf(f))
                return de_error(d, "number out of range");
        ret->kind = NUM_F64;
        ret->f = f;
        return 0;
}

static int parse_exponent(De *d, size_t start, Num *ret) {
        d->i++; /* e or E */
        int c = peek_or_null(d);
        if (c == '+' || c == '-')
                d->i++;
        if (d->i >= d->len)
                return de_error(d, "EOF while parsing a value");
        c = d->s[d->i++];
        if (c < '0' || c > '9')
                return de_error(d, "invalid number");
        while ((c = peek_or_null(d)) >= '0' && c <= '9')
                d->i++;
        return f64_from_text(d, start, ret);
}

static int parse_decimal(De *d, size_t start, Num *ret) {
        d->i++; /* the '.' */
        bool digit = false;
        int c;
        while ((c = peek_or_null(d)) >= '0' && c <= '9') {
                d->i++;
                digit = true;
        }
        if (!digit) {
                if (d->i < d->len)
                        return de_peek_error(d, "invalid number");
                return de_peek_error(d, "EOF while parsing a value");
        }
        c = peek_or_null(d);
        if (c == 'e' || c == 'E')
                return parse_exponent(d, start, ret);
        return f64_from_text(d, start, ret);
}

static int parse_number(De *d, bool positive, uint64_t significand, size_t start, Num *ret) {
        int c = peek_or_null(d);
        if (c == '.')
                return parse_decimal(d, start, ret);
        if (c == 'e' || c == 'E')
                return parse_exponent(d, start, ret);
        if (positive) {
                ret->kind = NUM_U64;
                ret->u = significand;
        } else {
                int64_t neg = (int64_t) (0 - significand);
                if (neg >= 0) { /* underflow, or -0 */
                        ret->kind = NUM_F64;
                        ret->f = -(double) significand;
                } else {
                        ret->kind = NUM_I64;
                        ret->i = neg;
                }
        }
        return 0;
}

/* parse_integer: at the first digit (a '-' has been consumed when !positive;
 * start is where the number's text begins). */
static int parse_integer(De *d, bool positive, size_t start, Num *ret) {
        if (d->i >= d->len)
                return de_error(d, "EOF while parsing a value");
        int c = d->s[d->i++];
        if (c == '0') {
                int n = peek_or_null(d);
                if (n >= '0' && n <= '9')
                        return de_peek_error(d, "invalid number");
                return parse_number(d, positive, 0, start, ret);
        }
        if (c < '1' || c > '9')
                return de_error(d, "invalid number");
        uint64_t sig = (uint64_t) (c - '0');
        for (;;) {
                c = peek_or_null(d);
                if (c < '0' || c > '9')
                        return parse_number(d, positive, sig, start, ret);
                uint64_t digit = (uint64_t) (c - '0');
                if (sig > (UINT64_MAX - digit) / 10) {
                        /* parse_long_integer: the rest as a float */
                        while ((c = peek_or_null(d)) >= '0' && c <= '9')
                                d->i++;
                        if (c == '.')
                                return parse_decimal(d, start, ret);
                        if (c == 'e' || c == 'E')
                                return parse_exponent(d, start, ret);
                        return f64_from_text(d, start, ret);
                }
                d->i++;
                sig = sig * 10 + digit;
        }
}

/* ---- error texts -------------------------------------------------------------- */

char *de_debug_str(const char *s, size_t len) {
        size_t cap = len * 8 + 3;
        char *out = malloc(cap), *p = out;
        if (!out)
                return NULL;
        *p++ = '"';
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                switch (c) {
                case '"':
                        *p++ = '\\';
                        *p++ = '"';
                        break;
                case '\\':
                        *p++ = '\\';
                        *p++ = '\\';
                        break;
                case '\n':
                        *p++ = '\\';
                        *p++ = 'n';
                        break;
                case '\r':
                        *p++ = '\\';
                        *p++ = 'r';
                        break;
                case '\t':
                        *p++ = '\\';
                        *p++ = 't';
                        break;
                case '\0':
                        *p++ = '\\';
                        *p++ = '0';
                        break;
                default:
                        if (c < 0x20 || c == 0x7f)
                                p += sprintf(p, "\\u{%x}", c);
                        else
                                *p++ = (char) c;
                }
        }
        *p++ = '"';
        *p = 0;
        return out;
}

/* Rust's Display of an f64 (shortest round trip, never an exponent), with
 * serde's WithDecimalPoint (".0" appended when there is no '.'). */
static void format_f64(double f, char *out, size_t size) {
        if (isnan(f)) {
                snprintf(out, size, "NaN");
                return;
        }
        if (isinf(f)) {
                snprintf(out, size, f < 0 ? "-inf" : "inf");
                return;
        }
        char e[64];
        int p;
        for (p = 0; p < 17; p++) {
                snprintf(e, sizeof(e), "%.*e", p, f);
                if (strtod(e, NULL) == f)
                        break;
        }
        /* e = [-]D[.DDD]e[+-]XX */
        char digits[32];
        size_t nd = 0;
        const char *q = e;
        bool neg = false;
        if (*q == '-') {
                neg = true;
                q++;
        }
        for (; *q && *q != 'e'; q++)
                if (*q >= '0' && *q <= '9')
                        digits[nd++] = *q;
        int exp = atoi(q + 1);
        while (nd > 1 && digits[nd - 1] == '0')
                nd--;
        char *o = out, *end = out + size - 4;
        if (neg)
                *o++ = '-';
        if (exp >= 0) {
                for (int k = 0; k <= exp && o < end; k++)
                        *o++ = (size_t) k < nd ? digits[k] : '0';
                if ((size_t) exp + 1 < nd) {
                        *o++ = '.';
                        for (size_t k = (size_t) exp + 1; k < nd && o < end; k++)
                                *o++ = digits[k];
                } else {
                        *o++ = '.';
                        *o++ = '0';
                }
        } else {
                *o++ = '0';
                *o++ = '.';
                for (int k = 0; k < -exp - 1 && o < end; k++)
                        *o++ = '0';
                for (size_t k = 0; k < nd && o < end; k++)
                        *o++ = digits[k];
        }
        *o = 0;
}

static char *unexp_format(const Unexp *u) {
        char num[400];
        switch (u->kind) {
        case UNEXP_UNIT:
                return strdup("null");
        case UNEXP_BOOL:
                return xprintf("boolean `%s`", u->b ? "true" : "false");
        case UNEXP_NUM:
                if (u->num.kind == NUM_U64)
                        return xprintf("integer `%" PRIu64 "`", u->num.u);
                if (u->num.kind == NUM_I64)
                        return xprintf("integer `%" PRId64 "`", u->num.i);
                format_f64(u->num.f, num, sizeof(num));
                return xprintf("floating point `%s`", num);
        case UNEXP_STR: {
                char *dbg = de_debug_str(u->str, u->str_len);
                char *r = dbg ? xprintf("string %s", dbg) : NULL;
                free(dbg);
                return r;
        }
        case UNEXP_SEQ:
                return strdup("sequence");
        case UNEXP_MAP:
                return strdup("map");
        }
        return NULL;
}

static int fail_invalid(De *d, const char *what, const Unexp *u, const char *exp) {
        char *desc = unexp_format(u);
        char *msg = desc ? xprintf("invalid %s: %s, expected %s", what, desc, exp) : NULL;
        free(desc);
        return de_custom(d, msg);
}

/* serde's OneOf: "`a`", "`a` or `b`", "one of `a`, `b`, `c`". */
static char *one_of(const char *const *names, size_t n) {
        size_t cap = 16;
        for (size_t k = 0; k < n; k++)
                cap += strlen(names[k]) + 4;
        char *s = malloc(cap), *p = s;
        if (!s)
                return NULL;
        if (n == 2)
                sprintf(s, "`%s` or `%s`", names[0], names[1]);
        else {
                if (n > 2)
                        p += sprintf(p, "one of ");
                for (size_t k = 0; k < n; k++)
                        p += sprintf(p, "%s`%s`", k ? ", " : "", names[k]);
        }
        return s;
}

static int fail_unknown(De *d, const char *what, const char *name, const char *const *names, size_t n) {
        if (n == 0)
                return de_custom(d, xprintf("unknown %s `%s`, there are no %ss", what, name, what));
        char *alts = one_of(names, n);
        char *msg = alts ? xprintf("unknown %s `%s`, expected %s", what, name, alts) : NULL;
        free(alts);
        return de_custom(d, msg);
}

/* peek_invalid_type: consume the offending scalar, fail with "invalid type",
 * positioned at the current index. */
static int peek_invalid_type(De *d, const char *exp) {
        Unexp u = { 0 };
        int c = peek_or_null(d);
        size_t start = d->i;
        switch (c) {
        case 'n':
                d->i++;
                if (parse_ident(d, "ull") < 0)
                        return -1;
                u.kind = UNEXP_UNIT;
                break;
        case 't':
        case 'f':
                d->i++;
                if (parse_ident(d, c == 't' ? "rue" : "alse") < 0)
                        return -1;
                u.kind = UNEXP_BOOL;
                u.b = c == 't';
                break;
        case '-':
                d->i++;
                if (parse_integer(d, false, start, &u.num) < 0)
                        return -1;
                u.kind = UNEXP_NUM;
                break;
        case '"':
                d->i++;
                if (parse_str(d, &u.str, &u.str_len) < 0)
                        return -1;
                u.kind = UNEXP_STR;
                break;
        case '[':
                u.kind = UNEXP_SEQ;
                break;
        case '{':
                u.kind = UNEXP_MAP;
                break;
        default:
                if (c >= '0' && c <= '9') {
                        if (parse_integer(d, true, start, &u.num) < 0)
                                return -1;
                        u.kind = UNEXP_NUM;
                        break;
                }
                return de_peek_error(d, "expected value");
        }
        fail_invalid(d, "type", &u, exp);
        free(u.str);
        fix_position(d);
        return -1;
}

/* ---- values ------------------------------------------------------------------- */

static int de_value(De *d, const DeType *t, json_t **ret);
static int de_any(De *d, json_t **ret);

static json_t *num_json(const Num *n) {
        switch (n->kind) {
        case NUM_U64:
                return n->u <= INT64_MAX ? json_integer((json_int_t) n->u) : json_real((double) n->u);
        case NUM_I64:
                return json_integer(n->i);
        case NUM_F64:
                return json_real(n->f);
        }
        return NULL;
}

static int got(De *d, json_t *v, json_t **ret) {
        if (!v)
                return fail(d, NULL, true, 0);
        *ret = v;
        return 0;
}

static int enter(De *d) {
        if (--d->depth_left == 0)
                return de_peek_error(d, "recursion limit exceeded");
        d->i++;
        return 0;
}

static void leave(De *d) {
        d->depth_left++;
}

static int de_bool(De *d, json_t **ret) {
        int c = peek_ws(d);
        if (c < 0)
                return de_peek_error(d, "EOF while parsing a value");
        if (c == 't' || c == 'f') {
                d->i++;
                if (parse_ident(d, c == 't' ? "rue" : "alse") < 0)
                        return -1;
                return got(d, json_boolean(c == 't'), ret);
        }
        return peek_invalid_type(d, "a boolean");
}

static int de_int(De *d, uint64_t max, const char *name, json_t **ret) {
        int c = peek_ws(d);
        Num n;
        size_t start = d->i;
        if (c < 0)
                return de_peek_error(d, "EOF while parsing a value");
        if (c == '-') {
                d->i++;
                if (parse_integer(d, false, start, &n) < 0)
                        return -1;
        } else if (c >= '0' && c <= '9') {
                if (parse_integer(d, true, start, &n) < 0)
                        return -1;
        } else
                return peek_invalid_type(d, name);

        Unexp u = { .kind = UNEXP_NUM, .num = n };
        if (n.kind == NUM_U64 && n.u <= max)
                return got(d, num_json(&n), ret);
        fail_invalid(d, n.kind == NUM_F64 ? "type" : "value", &u, name);
        fix_position(d);
        return -1;
}

/* A signed integer in [min, max]. */
static int de_sint(De *d, int64_t min, int64_t max, const char *name, json_t **ret) {
        int c = peek_ws(d);
        Num n;
        size_t start = d->i;
        if (c < 0)
                return de_peek_error(d, "EOF while parsing a value");
        if (c == '-') {
                d->i++;
                if (parse_integer(d, false, start, &n) < 0)
                        return -1;
        } else if (c >= '0' && c <= '9') {
                if (parse_integer(d, true, start, &n) < 0)
                        return -1;
        } else
                return peek_invalid_type(d, name);

        Unexp u = { .kind = UNEXP_NUM, .num = n };
        if ((n.kind == NUM_U64 && n.u <= (uint64_t) max) || (n.kind == NUM_I64 && n.i >= min && n.i <= max))
                return got(d, num_json(&n), ret);
        fail_invalid(d, n.kind == NUM_F64 ? "type" : "value", &u, name);
        fix_position(d);
        return -1;
}

/* deserialize_str/string: a JSON string, else "invalid type ..., expected <exp>". */
static int de_string(De *d, const char *exp, char **ret, size_t *ret_len) {
        int c = peek_ws(d);
        if (c < 0)
                return de_peek_error(d, "EOF while parsing a value");
        if (c != '"')
                return peek_invalid_type(d, exp);
        d->i++;
        return parse_str(d, ret, ret_len);
}

/* A variant identifier: deserialize_str with the enum's variant visitor. */
static int de_variant(De *d, const DeType *t, json_t **ret) {
        char *s;
        size_t n;
        if (de_string(d, "variant identifier", &s, &n) < 0)
                return -1;
        const char *variant = NULL;
        for (size_t k = 0; k < t->n_variants && !variant; k++)
                if (strlen(t->variants[k]) == n && memcmp(t->variants[k], s, n) == 0)
                        variant = t->variants[k];
        for (size_t k = 0; k < t->n_aliases && !variant; k++)
                if (strlen(t->aliases[k].spelling) == n && memcmp(t->aliases[k].spelling, s, n) == 0)
                        variant = t->aliases[k].variant;
        if (!variant) {
                fail_unknown(d, "variant", s, t->variants, t->n_variants);
                free(s);
                fix_position(d);
                return -1;
        }
        free(s);
        return got(d, json_string(variant), ret);
}

static int parse_object_colon(De *d) {
        int c = peek_ws(d);
        if (c == ':') {
                d->i++;
                return 0;
        }
        if (c < 0)
                return de_peek_error(d, "EOF while parsing an object");
        return de_peek_error(d, "expected `:`");
}

static int de_enum(De *d, const DeType *t, json_t **ret) {
        int c = peek_ws(d);
        if (c == '"')
                return de_variant(d, t, ret);
        if (c < 0)
                return de_peek_error(d, "EOF while parsing a value");
        if (c != '{')
                return de_peek_error(d, "expected value");

        /* {"Variant": null}: serde's externally tagged form of a unit variant. */
        json_t *v = NULL;
        if (enter(d) < 0)
                return -1;
        if (de_variant(d, t, &v) < 0 || parse_object_colon(d) < 0)
                goto fail;
        c = peek_ws(d);
        if (c < 0) {
                de_peek_error(d, "EOF while parsing a value");
                goto fail;
        }
        if (c == 'n') {
                d->i++;
                if (parse_ident(d, "ull") < 0)
                        goto fail;
        } else {
                peek_invalid_type(d, "unit");
                goto fail;
        }
        leave(d);
        c = peek_ws(d);
        if (c == '}') {
                d->i++;
                *ret = v;
                return 0;
        }
        json_decref(v);
        return de_error(d, c < 0 ? "EOF while parsing an object" : "expected value");
fail:
        leave(d);
        json_decref(v);
        return -1;
}

/* end_map: called even after the visitor failed (its error then does not count). */
static int end_map(De *d) {
        int c = peek_ws(d);
        if (c == '}') {
                d->i++;
                return 0;
        }
        if (c == ',')
                return de_peek_error(d, "trailing comma");
        if (c < 0)
                return de_peek_error(d, "EOF while parsing an object");
        return de_peek_error(d, "trailing characters");
}

static int end_seq(De *d) {
        int c = peek_ws(d);
        if (c == ']') {
                d->i++;
                return 0;
        }
        if (c == ',') {
                d->i++;
                if (peek_ws(d) == ']')
                        return de_peek_error(d, "trailing comma");
                return de_peek_error(d, "trailing characters");
        }
        if (c < 0)
                return de_peek_error(d, "EOF while parsing a list");
        return de_peek_error(d, "trailing characters");
}

/* MapAccess::next_key_seed up to the key's opening quote. Returns 1 if a key
 * follows (quote not consumed), 0 at the end of the map, -1 on error. */
static int next_key(De *d, bool *first) {
        int c = peek_ws(d);
        if (c == '}')
                return 0;
        if (c == ',' && !*first) {
                d->i++;
                c = peek_ws(d);
        } else if (c >= 0) {
                if (!*first)
                        return de_peek_error(d, "expected `,` or `}`");
                *first = false;
        } else
                return de_peek_error(d, "EOF while parsing an object");
        if (c == '"')
                return 1;
        if (c == '}')
                return de_peek_error(d, "trailing comma");
        if (c < 0)
                return de_peek_error(d, "EOF while parsing a value");
        return de_peek_error(d, "key must be a string");
}

/* SeqAccess::next_element_seed up to the element. Returns 1 if an element
 * follows, 0 at the end of the sequence, -1 on error. */
static int next_element(De *d, bool *first) {
        int c = peek_ws(d);
        if (c == ']')
                return 0;
        if (c == ',' && !*first) {
                d->i++;
                c = peek_ws(d);
        } else if (c >= 0) {
                if (!*first)
                        return de_peek_error(d, "expected `,` or `]`");
                *first = false;
        } else
                return de_peek_error(d, "EOF while parsing a list");
        if (c == ']')
                return de_peek_error(d, "trailing comma");
        if (c < 0)
                return de_peek_error(d, "EOF while parsing a value");
        return 1;
}

static int de_field_value(De *d, const DeField *f, json_t **ret) {
        *ret = NULL;
        if (f->flags & DE_OPTION) {
                if (peek_ws(d) == 'n') {
                        d->i++;
                        return parse_ident(d, "ull");
                }
        }
        return de_value(d, f->type, ret);
}

static int visit_struct_map(De *d, const DeType *t, json_t *obj) {
        bool first = true;
        bool seen[64] = { false };
        for (;;) {
                int r = next_key(d, &first);
                if (r < 0)
                        return -1;
                if (r == 0)
                        break;
                d->i++;
                char *key;
                size_t klen;
                if (parse_str(d, &key, &klen) < 0)
                        return -1;
                size_t k;
                for (k = 0; k < t->n_fields; k++)
                        if (strlen(t->fields[k].name) == klen && memcmp(t->fields[k].name, key, klen) == 0)
                                break;
                if (k == t->n_fields && t->allow_unknown) {
                        /* serde's __ignore: the value is parsed (and must be
                         * valid JSON) and dropped. */
                        json_t *ignored = NULL;
                        free(key);
                        if (parse_object_colon(d) < 0 || de_any(d, &ignored) < 0)
                                return -1;
                        json_decref(ignored);
                        continue;
                }
                if (k == t->n_fields) {
                        const char *names[64];
                        for (size_t j = 0; j < t->n_fields; j++)
                                names[j] = t->fields[j].name;
                        fail_unknown(d, "field", key, names, t->n_fields);
                        free(key);
                        return -1;
                }
                free(key);
                if (seen[k])
                        return de_custom(d, xprintf("duplicate field `%s`", t->fields[k].name));
                seen[k] = true;
                if (parse_object_colon(d) < 0)
                        return -1;
                json_t *v;
                if (de_field_value(d, &t->fields[k], &v) < 0)
                        return -1;
                if (v && json_object_set_new(obj, t->fields[k].name, v) < 0)
                        return fail(d, NULL, true, 0);
        }
        for (size_t k = 0; k < t->n_fields; k++)
                if (!seen[k] && !(t->fields[k].flags & (DE_OPTION | DE_DEFAULT)))
                        return de_custom(d, xprintf("missing field `%s`", t->fields[k].name));
        return 0;
}

static int visit_struct_seq(De *d, const DeType *t, json_t *obj) {
        bool first = true;
        for (size_t k = 0; k < t->n_fields; k++) {
                int r = next_element(d, &first);
                if (r < 0)
                        return -1;
                if (r == 0) {
                        if (t->fields[k].flags & DE_DEFAULT)
                                continue;
                        return de_custom(d, xprintf("invalid length %zu, expected %s with %zu elements", k,
                                                    t->expecting, t->n_fields));
                }
                json_t *v;
                if (de_field_value(d, &t->fields[k], &v) < 0)
                        return -1;
                if (v && json_object_set_new(obj, t->fields[k].name, v) < 0)
                        return fail(d, NULL, true, 0);
        }
        return 0;
}

static int de_struct(De *d, const DeType *t, json_t **ret) {
        int c = peek_ws(d);
        if (c < 0)
                return de_peek_error(d, "EOF while parsing a value");
        if (c != '{' && c != '[')
                return peek_invalid_type(d, t->expecting);
        json_t *obj = json_object();
        if (!obj)
                return fail(d, NULL, true, 0);
        if (enter(d) < 0) {
                json_decref(obj);
                return -1;
        }
        int r = c == '{' ? visit_struct_map(d, t, obj) : visit_struct_seq(d, t, obj);
        leave(d);
        /* The end of the container is checked even if the visitor failed. */
        if (c == '{')
                r = end_map(d) < 0 || r < 0 ? -1 : 0;
        else
                r = end_seq(d) < 0 || r < 0 ? -1 : 0;
        if (r < 0) {
                fix_position(d);
                json_decref(obj);
                return -1;
        }
        *ret = obj;
        return 0;
}

static int de_string_map(De *d, json_t **ret) {
        int c = peek_ws(d);
        if (c < 0)
                return de_peek_error(d, "EOF while parsing a value");
        if (c != '{')
                return peek_invalid_type(d, "a map");
        json_t *obj = json_object();
        if (!obj)
                return fail(d, NULL, true, 0);
        if (enter(d) < 0) {
                json_decref(obj);
                return -1;
        }
        bool first = true;
        int r;
        while ((r = next_key(d, &first)) > 0) {
                d->i++;
                char *key, *val;
                size_t klen, vlen;
                if (parse_str(d, &key, &klen) < 0) {
                        r = -1;
                        break;
                }
                if (parse_object_colon(d) < 0 || de_string(d, "a string", &val, &vlen) < 0) {
                        free(key);
                        r = -1;
                        break;
                }
                if (json_object_setn_new(obj, key, klen, json_stringn(val, vlen)) < 0)
                        fail(d, NULL, true, 0);
                free(key);
                free(val);
                if (d->oom) {
                        r = -1;
                        break;
                }
        }
        leave(d);
        r = end_map(d) < 0 || r < 0 ? -1 : 0;
        if (r < 0) {
                fix_position(d);
                json_decref(obj);
                return -1;
        }
        *ret = obj;
        return 0;
}

static int de_seq(De *d, const DeType *elem, json_t **ret) {
        int c = peek_ws(d);
        if (c < 0)
                return de_peek_error(d, "EOF while parsing a value");
        if (c != '[')
                return peek_invalid_type(d, "a sequence");
        json_t *arr = json_array();
        if (!arr)
                return fail(d, NULL, true, 0);
        if (enter(d) < 0) {
                json_decref(arr);
                return -1;
        }
        bool first = true;
        int r;
        while ((r = next_element(d, &first)) > 0) {
                json_t *v;
                if (de_value(d, elem, &v) < 0) {
                        r = -1;
                        break;
                }
                if (json_array_append_new(arr, v) < 0) {
                        r = fail(d, NULL, true, 0);
                        break;
                }
        }
        leave(d);
        r = end_seq(d) < 0 || r < 0 ? -1 : 0;
        if (r < 0) {
                fix_position(d);
                json_decref(arr);
                return -1;
        }
        *ret = arr;
        return 0;
}

static int de_any_inner(De *d, json_t **ret) {
        int c = peek_ws(d);
        size_t start = d->i;
        Num n;
        if (c < 0)
                return de_peek_error(d, "EOF while parsing a value");
        switch (c) {
        case 'n':
                d->i++;
                if (parse_ident(d, "ull") < 0)
                        return -1;
                return got(d, json_null(), ret);
        case 't':
        case 'f':
                d->i++;
                if (parse_ident(d, c == 't' ? "rue" : "alse") < 0)
                        return -1;
                return got(d, json_boolean(c == 't'), ret);
        case '-':
                d->i++;
                if (parse_integer(d, false, start, &n) < 0)
                        return -1;
                return got(d, num_json(&n), ret);
        case '"': {
                char *s;
                size_t len;
                d->i++;
                if (parse_str(d, &s, &len) < 0)
                        return -1;
                json_t *v = json_stringn(s, len);
                free(s);
                return got(d, v, ret);
        }
        case '[': {
                json_t *arr = json_array();
                bool first = true;
                int r;
                if (!arr)
                        return fail(d, NULL, true, 0);
                if (enter(d) < 0) {
                        json_decref(arr);
                        return -1;
                }
                while ((r = next_element(d, &first)) > 0) {
                        json_t *v;
                        if (de_any(d, &v) < 0) {
                                r = -1;
                                break;
                        }
                        if (json_array_append_new(arr, v) < 0) {
                                r = fail(d, NULL, true, 0);
                                break;
                        }
                }
                leave(d);
                r = end_seq(d) < 0 || r < 0 ? -1 : 0;
                if (r < 0) {
                        json_decref(arr);
                        return -1;
                }
                *ret = arr;
                return 0;
        }
        case '{': {
                json_t *obj = json_object();
                bool first = true;
                int r;
                if (!obj)
                        return fail(d, NULL, true, 0);
                if (enter(d) < 0) {
                        json_decref(obj);
                        return -1;
                }
                while ((r = next_key(d, &first)) > 0) {
                        char *key;
                        size_t klen;
                        json_t *v;
                        d->i++;
                        if (parse_str(d, &key, &klen) < 0) {
                                r = -1;
                                break;
                        }
                        if (parse_object_colon(d) < 0 || de_any(d, &v) < 0) {
                                free(key);
                                r = -1;
                                break;
                        }
                        if (json_object_setn_new(obj, key, klen, v) < 0)
                                r = fail(d, NULL, true, 0);
                        free(key);
                        if (r < 0)
                                break;
                }
                leave(d);
                r = end_map(d) < 0 || r < 0 ? -1 : 0;
                if (r < 0) {
                        json_decref(obj);
                        return -1;
                }
                *ret = obj;
                return 0;
        }
        default:
                if (c >= '0' && c <= '9') {
                        if (parse_integer(d, true, start, &n) < 0)
                                return -1;
                        return got(d, num_json(&n), ret);
                }
                return de_peek_error(d, "expected value");
        }
}

static int de_any(De *d, json_t **ret) {
        if (de_any_inner(d, ret) < 0) {
                fix_position(d);
                return -1;
        }
        return 0;
}

static int de_value(De *d, const DeType *t, json_t **ret) {
        char *s;
        size_t n;
        switch (t->kind) {
        case DE_BOOL:
                return de_bool(d, ret);
        case DE_U8:
                return de_int(d, UINT8_MAX, "u8", ret);
        case DE_U16:
                return de_int(d, UINT16_MAX, "u16", ret);
        case DE_U32:
                return de_int(d, UINT32_MAX, "u32", ret);
        case DE_U64:
                return de_int(d, UINT64_MAX, "u64", ret);
        case DE_USIZE:
                return de_int(d, UINT64_MAX, "usize", ret);
        case DE_I32:
                return de_sint(d, INT32_MIN, INT32_MAX, "i32", ret);
        case DE_STRING:
        case DE_PATH:
        case DE_CUSTOM_STR:
                if (de_string(d, t->kind == DE_PATH ? "path string" : "a string", &s, &n) < 0)
                        return -1;
                if (t->kind == DE_CUSTOM_STR && t->check) {
                        if (strlen(s) != n) { /* an embedded NUL never passes a custom check */
                                free(s);
                                return de_custom(d, strdup("invalid string"));
                        }
                        char *err = t->check(s);
                        if (err) {
                                free(s);
                                return de_custom(d, err);
                        }
                }
                {
                        json_t *v = json_stringn(s, n);
                        free(s);
                        return got(d, v, ret);
                }
        case DE_ENUM:
                return de_enum(d, t, ret);
        case DE_STRUCT:
                return de_struct(d, t, ret);
        case DE_STRING_MAP:
                return de_string_map(d, ret);
        case DE_SEQ:
                return de_seq(d, t->elem, ret);
        case DE_ANY:
                return de_any(d, ret);
        }
        return de_error(d, "unsupported type");
}

int de_decode(const DeType *t, const char *buf, size_t len, json_t **ret, char **ret_error) {
        De d = {
                .s = (const unsigned char *) buf,
                .len = len,
                .depth_left = RECURSION_LIMIT,
        };
        json_t *v = NULL;
        if (de_value(&d, t, &v) == 0 && peek_ws(&d) >= 0)
                de_peek_error(&d, "trailing characters");
        if (d.oom) {
                json_decref(v);
                free(d.msg);
                return -ENOMEM;
        }
        if (d.msg) {
                json_decref(v);
                if (!d.positioned)
                        d.err_index = d.i;
                size_t line = 1, start = 0;
                for (size_t k = 0; k < d.err_index; k++)
                        if (d.s[k] == '\n') {
                                line++;
                                start = k + 1;
                        }
                char *msg = xprintf("%s at line %zu column %zu", d.msg, line, d.err_index - start);
                free(d.msg);
                if (!msg)
                        return -ENOMEM;
                *ret_error = msg;
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

int de_fill_defaults(const DeType *t, json_t *v) {
        if (!t || !v)
                return 0;
        if (t->kind == DE_SEQ) {
                size_t i;
                json_t *e;
                json_array_foreach (v, i, e)
                        if (de_fill_defaults(t->elem, e) < 0)
                                return -ENOMEM;
                return 0;
        }
        if (t->kind != DE_STRUCT || !json_is_object(v))
                return 0;
        for (size_t k = 0; k < t->n_fields; k++) {
                const DeField *f = &t->fields[k];
                json_t *cur = json_object_get(v, f->name);
                if (!cur) {
                        if (f->def) {
                                cur = json_loads(f->def, JSON_DECODE_ANY, NULL);
                                if (!cur || json_object_set_new(v, f->name, cur) < 0)
                                        return -ENOMEM;
                        } else if (f->flags & DE_OPTION) {
                                if (json_object_set_new(v, f->name, json_null()) < 0)
                                        return -ENOMEM;
                                continue;
                        } else
                                continue;
                }
                if (de_fill_defaults(f->type, cur) < 0)
                        return -ENOMEM;
        }
        return 0;
}
