/* SPDX-License-Identifier: Apache-2.0 */
#include "metrics/prometheus.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

/* Append n bytes, growing the buffer geometrically. */
static void append(PromWriter *w, const char *s, size_t n) {
        if (w->oom)
                return;
        if (w->len + n + 1 > w->cap) {
                size_t cap = w->cap ? w->cap : 4096;
                while (cap < w->len + n + 1)
                        cap *= 2;
                char *b = realloc(w->buf, cap);
                if (!b) {
                        w->oom = true;
                        return;
                }
                w->buf = b;
                w->cap = cap;
        }
        memcpy(w->buf + w->len, s, n);
        w->len += n;
        w->buf[w->len] = 0;
}

static void append_str(PromWriter *w, const char *s) {
        append(w, s, strlen(s));
}

static void appendf(PromWriter *w, const char *fmt, ...) _printf_(2, 3);
static void appendf(PromWriter *w, const char *fmt, ...) {
        char small[128];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(small, sizeof small, fmt, ap);
        va_end(ap);
        if (n < 0) {
                w->oom = true;
                return;
        }
        if ((size_t) n < sizeof small) {
                append(w, small, (size_t) n);
                return;
        }
        char *big = NULL;
        va_start(ap, fmt);
        n = vasprintf(&big, fmt, ap);
        va_end(ap);
        if (n < 0) {
                w->oom = true;
                return;
        }
        append(w, big, (size_t) n);
        free(big);
}

/* HELP text escapes only backslash and newline. */
static void append_help(PromWriter *w, const char *s) {
        for (; *s; s++) {
                if (*s == '\\')
                        append_str(w, "\\\\");
                else if (*s == '\n')
                        append_str(w, "\\n");
                else
                        append(w, s, 1);
        }
}

static void append_label_value(PromWriter *w, const char *s) {
        for (; *s; s++) {
                if (*s == '\\')
                        append_str(w, "\\\\");
                else if (*s == '"')
                        append_str(w, "\\\"");
                else if (*s == '\n')
                        append_str(w, "\\n");
                else
                        append(w, s, 1);
        }
}

char *prom_escape_label(const char *value) {
        PromWriter w = { 0 };
        append_label_value(&w, value);
        char *out = NULL;
        return prom_finish(&w, &out) < 0 ? NULL : out ? out : strdup("");
}

void prom_family(PromWriter *w, const char *name, const char *type, const char *help) {
        assert(w && name && type && help);
        appendf(w, "# HELP %s ", name);
        append_help(w, help);
        appendf(w, "\n# TYPE %s %s\n", name, type);
}

static void append_name_labels(PromWriter *w, const char *name, const char *const *labels) {
        append_str(w, name);
        if (!labels || !labels[0])
                return;
        append_str(w, "{");
        for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
                if (i > 0)
                        append_str(w, ",");
                append_str(w, labels[i]);
                append_str(w, "=\"");
                append_label_value(w, labels[i + 1]);
                append_str(w, "\"");
        }
        append_str(w, "}");
}

void prom_sample_u64(PromWriter *w, const char *name, const char *const *labels, uint64_t value) {
        assert(w && name);
        append_name_labels(w, name, labels);
        appendf(w, " %" PRIu64 "\n", value);
}

void prom_sample_double(PromWriter *w, const char *name, const char *const *labels, double value) {
        assert(w && name);
        append_name_labels(w, name, labels);
        if (isnan(value))
                append_str(w, " NaN\n");
        else if (isinf(value))
                append_str(w, value > 0 ? " +Inf\n" : " -Inf\n");
        else
                appendf(w, " %.15g\n", value);
}

int prom_finish(PromWriter *w, char **ret) {
        assert(w && ret);
        bool oom = w->oom;
        char *buf = w->buf;
        *w = (PromWriter){ 0 };
        if (oom) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf ? buf : strdup("");
        return *ret ? 0 : -ENOMEM;
}
