/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the HTTP layer (src/api/http-server.c on libmicrohttpd).
 * The server is started once on 127.0.0.1, port 0, with a few handlers; each
 * input is written as raw bytes to a new connection, whose write side is
 * then shut. The server must answer with an HTTP response or close the
 * connection cleanly, within a few seconds: a hang, a crash, a leak or
 * undefined behaviour is a finding.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/http-server.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ANSWER_TIMEOUT_MS 5000

static HttpServer *server;
static unsigned port;

/* Echo: answers the request message. */
static int echo(void *userdata, const RpcCaller *caller, const json_t *in, json_t **ret, ConnectError *e) {
        *ret = json_deep_copy(in);
        return *ret ? 0 : connect_error(e, CONNECT_INTERNAL, "out of memory");
}

typedef struct ThingRequest {
        char *vm_id;
        bool force;
        int32_t count;
        int64_t size;
} ThingRequest;
static const FieldSpec thing_fields[] = {
        { "vm_id", FIELD_STRING, offsetof(ThingRequest, vm_id) },
        { "force", FIELD_BOOL, offsetof(ThingRequest, force) },
        { "count", FIELD_INT32, offsetof(ThingRequest, count) },
        { "size", FIELD_INT64, offsetof(ThingRequest, size) },
};

/* Decodes a request the way the real handlers do, and answers an error
 * naming the id, or the decoded fields. */
static int thing(void *userdata, const RpcCaller *caller, const json_t *in, json_t **ret, ConnectError *e) {
        ThingRequest req = { 0 };
        int r = connect_decode(in, thing_fields, ELEMENTSOF(thing_fields), &req, e);
        if (r >= 0 && req.force)
                r = connect_error(e, CONNECT_NOT_FOUND, "vm \"%s\" not found", req.vm_id);
        if (r >= 0) {
                *ret = json_pack("{s:s, s:i, s:I}", "vmId", req.vm_id, "count", (int) req.count, "size",
                                 (json_int_t) req.size);
                if (!*ret)
                        r = connect_error(e, CONNECT_INTERNAL, "out of memory");
        }
        connect_request_free(thing_fields, ELEMENTSOF(thing_fields), &req);
        return r;
}

static int healthz(void *userdata, char **ret_body, const char **ret_content_type) {
        *ret_body = strdup("ok\n");
        return *ret_body ? 0 : -ENOMEM;
}

static const RpcMethod methods[] = {
        { "Echo", echo, .no_side_effects = true, .access = RPC_READ },
        { "Thing", thing, .no_side_effects = false, .access = RPC_WRITE },
};
static const RawRoute raw_routes[] = { { "/healthz", healthz, .access = RPC_PUBLIC } };

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        HttpServerConfig cfg = {
                .listen_address = "127.0.0.1:0",
                .listen_fd = -1,
                .prefix = "/fuzz.v1.Service/",
                .methods = methods,
                .n_methods = ELEMENTSOF(methods),
                .raw_routes = raw_routes,
                .n_raw_routes = ELEMENTSOF(raw_routes),
        };
        char *err = NULL;
        if (http_server_start(&cfg, &server, &err) < 0) {
                fprintf(stderr, "cannot start the server: %s\n", err ? err : "?");
                abort();
        }
        port = http_server_port(server);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int fd = -1;
        /* A failed connect is retried for a while: libFuzzer's -timeout alarm
         * interrupts it (EINTR) now and then. A server that does not accept
         * for 5 s is a finding. */
        for (int attempt = 0; fd < 0; attempt++) {
                fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        abort();
                if (connect(fd, (struct sockaddr *) &sa, sizeof sa) == 0)
                        break;
                fprintf(stderr, "connect: %s\n", strerror(errno));
                close(fd);
                fd = -1;
                if (attempt == 50)
                        abort();
                usleep(100 * 1000);
        }
        /* The server may answer (and close) before reading everything: a
         * failed write is not a finding, the answer is what counts. */
        size_t off = 0;
        while (off < size) {
                ssize_t k = send(fd, data + off, size - off, MSG_NOSIGNAL);
                if (k <= 0)
                        break;
                off += (size_t) k;
        }
        shutdown(fd, SHUT_WR);

        char head[8];
        size_t got = 0, total = 0;
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int r = poll(&p, 1, ANSWER_TIMEOUT_MS);
                if (r == 0) {
                        fprintf(stderr, "no answer and no close within %d ms\n", ANSWER_TIMEOUT_MS);
                        abort();
                }
                char buf[4096];
                ssize_t k = recv(fd, buf, sizeof buf, 0);
                if (k <= 0)
                        break; /* closed (or reset, after an answer or a refusal) */
                if (got < sizeof head) {
                        size_t c = (size_t) k < sizeof head - got ? (size_t) k : sizeof head - got;
                        memcpy(head + got, buf, c);
                        got += c;
                }
                total += (size_t) k;
        }
        if (total > 0 && (got < 7 || memcmp(head, "HTTP/1.", 7) != 0)) {
                fprintf(stderr, "the answer is not HTTP\n");
                abort();
        }
        /* Reset rather than TIME_WAIT: this side's ports are reused at once. */
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fd);
        return 0;
}
