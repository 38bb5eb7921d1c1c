/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: QEMU's QMP stream as the client reads it
 * (qmp_next_message over a buffer of lines, then qmp_message_kind,
 * qmp_message_answers, qmp_error_text, qemu_status_from_json on each
 * message; src/hv/qemu.c), and qemu_startup_errno on the raw bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/qemu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *buf = (const char *) data;
        size_t pos = 0;
        for (;;) {
                size_t used = 0;
                json_t *msg = NULL;
                int r = qmp_next_message(buf + pos, size - pos, &used, &msg);
                if (used > size - pos)
                        abort();
                pos += used;
                if (r <= 0) {
                        if (r < 0 && r != -EPROTO && r != -EMSGSIZE)
                                abort();
                        if (r == -EPROTO && used > 0)
                                continue; /* the client drops a bad line and goes on */
                        break;
                }
                (void) qmp_message_kind(msg);
                (void) qmp_message_answers(msg, "metald-1");
                char *text = qmp_error_text(msg);
                free(text);
                VmmState st;
                (void) qemu_status_from_json(json_object_get(msg, "return"), &st);
                json_decref(msg);
                if (used == 0)
                        break;
        }

        char *words = malloc(size + 1);
        if (!words)
                return 0;
        memcpy(words, data, size);
        words[size] = 0;
        (void) qemu_startup_errno(words);
        free(words);
        return 0;
}
