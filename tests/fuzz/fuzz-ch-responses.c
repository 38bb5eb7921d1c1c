/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: what metald reads from Cloud Hypervisor's API: vm.info
 * (ch_vm_state_from_json), vm.ping (ch_ping_pid_from_json), vm.counters
 * (ch_counters_parse) and error bodies (ch_error_text, ch_status_errno),
 * decoded the way backend_call does (src/hv/backend-util.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/cloud-hypervisor.h"
#include "metrics/cloud-hypervisor-counters.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *body = malloc(size + 1);
        if (!body)
                return 0;
        memcpy(body, data, size);
        body[size] = 0;

        json_t *j = json_loads(body, 0, NULL); /* as backend_call decodes a 2xx answer */
        if (j) {
                ChVmState st;
                if (ch_vm_state_from_json(j, &st) == 0)
                        (void) ch_vmm_state(st);
                pid_t pid;
                if (ch_ping_pid_from_json(j, &pid) == 0 && pid <= 0)
                        abort();
                json_decref(j);
        }

        uint64_t cur[_VM_COUNTER_MAX], prev[_VM_COUNTER_MAX] = { 0 }, delta[_VM_COUNTER_MAX];
        if (ch_counters_parse(body, cur) == 0) {
                ch_counters_delta(prev, cur, delta);
                ch_counters_delta(cur, prev, delta);
        }

        char *text = ch_error_text(body);
        if (text) {
                for (const char *p = text; *p; p++)
                        if ((unsigned char) *p < 0x20 || *p == 0x7f)
                                abort(); /* goes into one-line logs and answers */
                (void) ch_status_errno(500, text);
                (void) ch_status_errno(400, text);
                free(text);
        }
        free(body);
        return 0;
}
