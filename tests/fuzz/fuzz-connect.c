/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: a Connect request body as the VmService handlers decode
 * it. The input is "<Rpc>\n<body>" (no newline: the whole input is a
 * CreateVm body). The body goes through json_loadb as the HTTP server reads
 * it, connect_decode with that RPC's field table (src/api/vm-service.c),
 * and for CreateVm the config through vm_config_from_json and
 * vm_config_validate against an asset root of real files (src/vm/vm-config.c);
 * string "from"/"to" fields through GetVmMetrics' time parser.
 *
 * Checked beyond "no crash, no leak, no UB": every failure has a code and a
 * message whose error body is valid JSON; vm-config's error field and
 * message are printable ASCII as documented; a config that validates
 * survives the trip through its canonical JSON unchanged.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/metrics-service.h"
#include "api/vm-service-requests.h"
#include "vm/vm-config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The seeds name files here; the fuzzer makes them. */
#define ASSETS "/tmp/metald-fuzz-assets"
static char *asset_roots[1];

static void touch(const char *path, off_t size) {
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) {
                if (ftruncate(fd, size) < 0)
                        abort();
                close(fd);
        }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        mkdir(ASSETS, 0755);
        mkdir(ASSETS "/sub", 0755);
        touch(ASSETS "/vmlinux", 4096);
        touch(ASSETS "/initrd", 4096);
        touch(ASSETS "/rootfs.ext4", 1 << 20);
        touch(ASSETS "/data.ext4", 1 << 20);
        touch(ASSETS "/sub/disk.img", 1 << 20);
        (void) symlink("/etc/passwd", ASSETS "/escape");
        (void) symlink("/dev/zero", ASSETS "/zero");
        (void) symlink("vmlinux", ASSETS "/kernel-link");
        (void) mkfifo(ASSETS "/fifo", 0600);
        asset_roots[0] = realpath(ASSETS, NULL);
        if (!asset_roots[0])
                abort();
        return 0;
}

static void check_printable(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || (unsigned char) *s > 0x7e)
                        abort();
}

static void check_error(const ConnectError *e) {
        if (e->code <= CONNECT_OK || e->code >= _CONNECT_CODE_MAX || !e->message[0])
                abort();
        /* What the HTTP server sends: NULL here would drop the connection. */
        char *body = connect_error_body(e);
        if (!body)
                abort();
        json_t *j = json_loads(body, 0, NULL);
        if (!json_is_object(j))
                abort();
        json_decref(j);
        free(body);
}

static void check_config(const json_t *config) {
        VmConfig *c = NULL;
        VmError err = { 0 };
        if (vm_config_from_json(config, "config", &c, &err) < 0 ||
            vm_config_validate(c, asset_roots, 1, 64ULL << 30, &err) < 0) {
                if (!err.field[0] || !err.message[0])
                        abort();
                check_printable(err.field);
                check_printable(err.message);
                ConnectError e;
                connect_error(&e, CONNECT_INVALID_ARGUMENT, "%s: %s", err.field, err.message);
                check_error(&e);
                vm_config_free(c);
                return;
        }
        /* Valid: canonical JSON decodes to the same config. */
        json_t *cj = vm_config_to_json(c);
        char *text = cj ? json_dumps(cj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(cj);
        VmConfig *back = NULL;
        if (!text || vm_config_from_canonical(text, &back) < 0 || !vm_config_equal(c, back))
                abort();
        free(text);
        vm_config_free(back);
        vm_config_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const RpcRequestSpec *spec = &vm_service_requests[0];
        const char *body = (const char *) data;
        size_t n = size;
        const char *nl = memchr(data, '\n', size);
        if (nl) {
                for (size_t i = 0; i < vm_service_n_requests; i++) {
                        size_t len = strlen(vm_service_requests[i].rpc);
                        if ((size_t) (nl - body) == len &&
                            memcmp(body, vm_service_requests[i].rpc, len) == 0) {
                                spec = &vm_service_requests[i];
                                n = size - len - 1;
                                body = nl + 1;
                                break;
                        }
                }
        }

        json_error_t jerr;
        json_t *in = n == 0 ? json_object() : json_loadb(body, n, JSON_REJECT_DUPLICATES, &jerr);
        if (!in)
                return 0; /* the server answers "malformed JSON" (the HTTP target covers it) */

        /* GetVmMetrics' from/to: RFC 3339 or milliseconds (its decoder is the
         * field table above plus this parser). */
        static const char *const times[] = { "from", "to" };
        for (size_t i = 0; i < 2; i++) {
                const char *t = json_string_value(json_object_get(in, times[i]));
                int64_t ms;
                if (t)
                        (void) metrics_time_parse(t, &ms);
        }

        void *req = calloc(1, spec->size);
        if (!req)
                abort();
        ConnectError e = { 0 };
        int r = connect_decode(in, spec->fields, spec->n_fields, req, &e);
        if (r < 0)
                check_error(&e);
        else if (streq(spec->rpc, "CreateVm")) {
                /* CreateVmRequest's config: the only FIELD_OBJECT of the table. */
                for (size_t i = 0; i < spec->n_fields; i++)
                        if (spec->fields[i].type == FIELD_OBJECT) {
                                const json_t *config =
                                        *(const json_t **) ((char *) req + spec->fields[i].offset);
                                if (config)
                                        check_config(config);
                        }
        }
        connect_request_free(spec->fields, spec->n_fields, req);
        free(req);
        json_decref(in);
        return 0;
}
