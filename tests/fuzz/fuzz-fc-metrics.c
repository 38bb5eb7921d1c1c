/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: Firecracker's metrics lines (fc_metrics_consume and
 * fc_metrics_line_add, src/metrics/firecracker-metrics.c) and its API error
 * bodies (fc_error_text, src/hv/firecracker.c). A metrics file is written by
 * the VMM, which runs the guest: treat it as hostile.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/firecracker.h"
#include "metrics/firecracker-metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *buf = (const char *) data;
        uint64_t acc[_VM_COUNTER_MAX] = { 0 };
        unsigned bad = 0;
        size_t used = fc_metrics_consume(buf, size, acc, &bad);
        if (used > size)
                abort();
        if (used > 0 && buf[used - 1] != '\n')
                abort(); /* consumes whole lines only */

        /* The whole input as one line, without a terminating NUL behind it. */
        uint64_t one[_VM_COUNTER_MAX] = { 0 };
        char *copy = malloc(size ? size : 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);
        (void) fc_metrics_line_add(copy, size, one);
        free(copy);

        /* An API error body (NUL-terminated, as the HTTP client hands it over). */
        char *body = malloc(size + 1);
        if (!body)
                return 0;
        memcpy(body, data, size);
        body[size] = 0;
        char *text = fc_error_text(body);
        if (text) {
                for (const char *p = text; *p; p++)
                        if ((unsigned char) *p < 0x20)
                                abort(); /* goes into one-line logs and answers */
                free(text);
        }
        free(body);
        return 0;
}
