/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Writing the Prometheus text exposition format (version 0.0.4): metric
 * families with their HELP and TYPE lines, samples with escaped label
 * values. Pure; unit-tested. Allocation failures are remembered and
 * reported once, by prom_finish.
 */

#include "util/util.h"

#define PROMETHEUS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct PromWriter {
        char *buf;
        size_t len, cap;
        bool oom;
} PromWriter;

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram).
 * Every sample of the family must follow before the next family. */
void prom_family(PromWriter *w, const char *name, const char *type, const char *help);

/* name{k1="v1",...} value. labels: key, value, key, value, ..., NULL (may be
 * NULL: no labels); values are escaped (\\, \", \n). */
void prom_sample_u64(PromWriter *w, const char *name, const char *const *labels, uint64_t value);
void prom_sample_double(PromWriter *w, const char *name, const char *const *labels, double value);

/* Hand out the text (NUL-terminated); -ENOMEM if anything could not be
 * written. The writer is empty afterwards either way. */
int prom_finish(PromWriter *w, char **ret);

/* Escape a label value into a new string; NULL on OOM. */
char *prom_escape_label(const char *value);
