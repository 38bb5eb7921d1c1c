/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for the Firecracker backend:
 *  1. the pure request builders and answer decoders (firecracker.h);
 *  2. unix-http.c against an in-process fake server (exact request bytes,
 *     answers without reason phrase, errors and timeouts);
 *  3. spawn failures with fake "firecracker" scripts;
 *  4. the real backend against the Firecracker simulator named by $FCSIM.
 * Exits 77 (skipped) only when FCSIM is unset, after running 1-3.
 */
#include <assert.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "hv/firecracker.h"
#include "hv/unix-http.h"
#include "hv/vmm-process.h"
#include "test-helpers.h"
#include "test.h"

static inline void json_unrefp(json_t **p) {
        if (*p)
                json_decref(*p);
}

static char tmpdir[] = "/tmp/tfc-XXXXXX"; /* short: socket paths must fit 108 bytes */

/* Compact, key-sorted JSON of j (consumed) compared with expect. */
static bool json_is(json_t *j, const char *expect) {
        _cleanup_(json_unrefp) json_t *owned = j;
        _cleanup_free_ char *s = owned ? json_dumps(owned, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (!s || !streq(s, expect)) {
                fprintf(stderr, "  got %s\n  expected %s\n", s ? s : "(null)", expect);
                return false;
        }
        return true;
}

/* Point sa at path (which must fit). */
static void sockaddr_set(struct sockaddr_un *sa, const char *path) {
        size_t n = strlen(path);
        assert(n < sizeof sa->sun_path);
        *sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
        memcpy(sa->sun_path, path, n + 1);
}

/* ---- 1. pure builders and decoders ---- */

static void test_builders(void) {
        VmDisk disks[] = {
                { .id = "rootfs", .path = "/a/rootfs.ext4", .readonly = false, .is_root_device = true },
                { .id = "data_1", .path = "/a/data.img", .readonly = true, .is_root_device = false },
        };
        VmConfig c = {
                .vcpu_count = 2,
                .memory_bytes = 256ull << 20,
                .kernel_path = "/a/vmlinux",
                .disks = disks,
                .n_disks = 2,
        };

        CHECK(json_is(fc_machine_config_json(&c), "{\"mem_size_mib\":256,\"vcpu_count\":2}"));
        c.memory_bytes = (8ull << 30) + 5; /* not a whole MiB: rounded down */
        CHECK(json_is(fc_machine_config_json(&c), "{\"mem_size_mib\":8192,\"vcpu_count\":2}"));

        CHECK(json_is(fc_boot_source_json(&c), "{\"kernel_image_path\":\"/a/vmlinux\"}"));
        c.kernel_args = "";
        c.initrd_path = "";
        CHECK(json_is(fc_boot_source_json(&c), "{\"kernel_image_path\":\"/a/vmlinux\"}"));
        c.kernel_args = "console=ttyS0 reboot=k panic=1 quote=\"x\"";
        c.initrd_path = "/a/initrd";
        CHECK(json_is(fc_boot_source_json(&c),
                      "{\"boot_args\":\"console=ttyS0 reboot=k panic=1 quote=\\\"x\\\"\","
                      "\"initrd_path\":\"/a/initrd\",\"kernel_image_path\":\"/a/vmlinux\"}"));

        CHECK(json_is(fc_drive_json(&disks[0]),
                      "{\"drive_id\":\"rootfs\",\"is_read_only\":false,\"is_root_device\":true,"
                      "\"path_on_host\":\"/a/rootfs.ext4\"}"));
        CHECK(json_is(fc_drive_json(&disks[1]),
                      "{\"drive_id\":\"data_1\",\"is_read_only\":true,\"is_root_device\":false,"
                      "\"path_on_host\":\"/a/data.img\"}"));
        CHECK(json_is(fc_metrics_json("/run/x/metrics.json"), "{\"metrics_path\":\"/run/x/metrics.json\"}"));
        CHECK(json_is(fc_action_json("InstanceStart"), "{\"action_type\":\"InstanceStart\"}"));
        CHECK(json_is(fc_action_json("SendCtrlAltDel"), "{\"action_type\":\"SendCtrlAltDel\"}"));
        CHECK(json_is(fc_vm_state_json(true), "{\"state\":\"Paused\"}"));
        CHECK(json_is(fc_vm_state_json(false), "{\"state\":\"Resumed\"}"));
}

static void test_decoders(void) {
        static const struct {
                const char *json;
                int r;
                VmmState state;
        } cases[] = {
                { "{\"id\":\"vm-1\",\"state\":\"Not started\",\"vmm_version\":\"1.16.1\","
                  "\"app_name\":\"Firecracker\"}",
                  0, VMM_STATE_NOT_STARTED },
                { "{\"id\":\"vm-1\",\"state\":\"Running\"}", 0, VMM_STATE_RUNNING },
                { "{\"state\":\"Paused\"}", 0, VMM_STATE_PAUSED },
                { "{\"state\":\"running\"}", -EPROTO, 0 },
                { "{\"state\":\"Halted\"}", -EPROTO, 0 },
                { "{\"state\":3}", -EPROTO, 0 },
                { "{}", -EPROTO, 0 },
                { "[\"Running\"]", -EPROTO, 0 },
                { "\"Running\"", -EPROTO, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(json_unrefp) json_t *j = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
                VmmState s = VMM_STATE_GONE;
                CHECK(j);
                int r = fc_instance_state_from_json(j, &s);
                CHECK(r == cases[i].r);
                CHECK(r < 0 ? s == VMM_STATE_GONE : s == cases[i].state);
        }
        VmmState s = VMM_STATE_GONE;
        CHECK(fc_instance_state_from_json(NULL, &s) == -EPROTO && s == VMM_STATE_GONE);

        static const struct {
                const char *body, *text;
        } errs[] = {
                { "{\"fault_message\":\"Kernel image path is invalid\"}", "Kernel image path is invalid" },
                { "{\"error\":\"Invalid header.\\nAll previous unanswered requests will be dropped.\"}",
                  /* an escaped newline is blanked too: the text goes into one-line logs */
                  "Invalid header. All previous unanswered requests will be dropped." },
                { "Internal error\r\n", "Internal error  " },
                /* micro_http's real answer: a raw newline inside the string. */
                { "{ \"error\": \"Invalid HTTP Method: Unsupported HTTP method.\nAll previous unanswered "
                  "requests will be dropped.\" }",
                  "Invalid HTTP Method: Unsupported HTTP method. All previous unanswered requests will be "
                  "dropped." },
                { "{\"other\":1}", "{\"other\":1}" },
                { "", "(no body)" },
                { NULL, "(no body)" },
        };
        for (size_t i = 0; i < ELEMENTSOF(errs); i++) {
                _cleanup_free_ char *t = fc_error_text(errs[i].body);
                CHECK(t && streq(t, errs[i].text));
        }
        char big[2000];
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = 0;
        _cleanup_free_ char *t = fc_error_text(big);
        CHECK(t && strlen(t) == 512);

        CHECK(fc_id_is_valid("vm-01hzx"));
        CHECK(fc_id_is_valid("A"));
        CHECK(fc_id_is_valid("0123456789012345678901234567890123456789012345678901234567890123"));
        CHECK(!fc_id_is_valid("01234567890123456789012345678901234567890123456789012345678901234"));
        CHECK(!fc_id_is_valid(""));
        CHECK(!fc_id_is_valid(NULL));
        CHECK(!fc_id_is_valid("vm_1"));
        CHECK(!fc_id_is_valid("vm 1"));
        CHECK(!fc_id_is_valid("-vm"));
        CHECK(!fc_id_is_valid("vm/1"));
}

static void test_backend_table(void) {
        CHECK(backend_table[0] == &backend_firecracker);
        /* Every backend in the table is found by its name (the others have their own tests). */
        for (const Backend *const *b = backend_table; *b; b++)
                CHECK(backend_find((*b)->name) == *b);
        CHECK(backend_find("firecracker") == &backend_firecracker);
        CHECK(backend_find("no-such-backend") == NULL);
        CHECK(backend_find("") == NULL);
        CHECK(streq(backend_firecracker.name, "firecracker"));
        CHECK(backend_firecracker.caps == 0);
        CHECK(backend_firecracker.check_available && backend_firecracker.spawn && backend_firecracker.boot &&
              backend_firecracker.pause && backend_firecracker.resume &&
              backend_firecracker.request_shutdown && backend_firecracker.query);
}

/* ---- 2. unix-http against a fake server ---- */

typedef enum FakeMode {
        FAKE_ANSWER, /* read the request, send `answer` */
        FAKE_CLOSE, /* read the request, close without answering */
        FAKE_SILENT, /* read the request, never answer (until told to stop) */
        FAKE_BIG_ANSWER, /* answer 200 with a body over UNIX_HTTP_BODY_MAX */
} FakeMode;

typedef struct Fake {
        int listen_fd;
        FakeMode mode;
        const char *answer;
        int stop_fd; /* FAKE_SILENT waits for this to become readable */
        char *request; /* what the client sent, headers + body */
        size_t request_size;
} Fake;

/* Read one whole request (headers, then Content-Length bytes of body). */
static void fake_read_request(Fake *f, int fd) {
        size_t cap = 1 << 16, n = 0, need = SIZE_MAX;
        char *buf = malloc(cap + 1);
        assert(buf);
        while (n < need) {
                if (n == cap) {
                        cap *= 2;
                        buf = realloc(buf, cap + 1);
                        assert(buf);
                }
                ssize_t k = read(fd, buf + n, cap - n);
                if (k <= 0)
                        break;
                n += (size_t) k;
                buf[n] = 0;
                char *end = strstr(buf, "\r\n\r\n");
                if (end && need == SIZE_MAX) {
                        const char *cl = strcasestr(buf, "\r\nContent-Length:");
                        size_t body = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
                        need = (size_t) (end + 4 - buf) + body;
                }
        }
        buf[n] = 0;
        f->request = buf;
        f->request_size = n;
}

static void *fake_serve(void *arg) {
        Fake *f = arg;
        int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
                return NULL;
        fake_read_request(f, fd);
        switch (f->mode) {
        case FAKE_ANSWER:
                (void) loop_write(fd, f->answer, strlen(f->answer));
                break;
        case FAKE_CLOSE:
                break;
        case FAKE_SILENT: {
                char c;
                (void) !read(f->stop_fd, &c, 1);
                break;
        }
        case FAKE_BIG_ANSWER: {
                size_t size = UNIX_HTTP_BODY_MAX + 4096;
                char head[128];
                snprintf(head, sizeof head,
                         "HTTP/1.1 200 \r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                         size);
                (void) loop_write(fd, head, strlen(head));
                char *body = malloc(size);
                assert(body);
                memset(body, ' ', size);
                (void) loop_write(fd, body, size);
                free(body);
                break;
        }
        }
        close(fd);
        return NULL;
}

/* Run one request against a fake server in mode/answer; returns the
 * unix_http_request result, fills *resp / *err, and *ret_request with what
 * the server received (caller frees). */
static int fake_exchange(FakeMode mode, const char *answer, const char *method, const char *path,
                         const char *body, unsigned timeout_ms, UnixHttpResponse *resp, char **err,
                         char **ret_request) {
        char sock[PATH_MAX];
        struct sockaddr_un sa;
        int stop[2];
        pthread_t th;

        snprintf(sock, sizeof sock, "%s/fake.sock", tmpdir);
        (void) unlink(sock);
        sockaddr_set(&sa, sock);
        Fake f = { .mode = mode, .answer = answer };
        f.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert(f.listen_fd >= 0);
        assert(bind(f.listen_fd, (struct sockaddr *) &sa, sizeof sa) == 0);
        assert(listen(f.listen_fd, 4) == 0);
        assert(pipe2(stop, O_CLOEXEC) == 0);
        f.stop_fd = stop[0];
        assert(pthread_create(&th, NULL, fake_serve, &f) == 0);

        int r = unix_http_request(sock, method, path, body, timeout_ms, resp, err);

        (void) !write(stop[1], "x", 1);
        pthread_join(th, NULL);
        close(stop[0]);
        close(stop[1]);
        close(f.listen_fd);
        (void) unlink(sock);
        if (ret_request)
                *ret_request = f.request;
        else
                free(f.request);
        return r;
}

static void test_unix_http(void) {
        UnixHttpResponse resp = { 0 };
        _cleanup_free_ char *req = NULL, *err = NULL;
        char path[PATH_MAX];
        int r;

        /* GET: Content-Length: 0, no Content-Type, no Expect; an answer in
         * micro_http's style (no reason phrase). */
        r = fake_exchange(FAKE_ANSWER,
                          "HTTP/1.1 200 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n"
                          "Content-Type: application/json\r\nContent-Length: 19\r\n\r\n"
                          "{\"state\":\"Running\"}",
                          "GET", "/", NULL, 2000, &resp, &err, &req);
        CHECK(r == 0);
        CHECK(resp.status == 200);
        CHECK(resp.body && streq(resp.body, "{\"state\":\"Running\"}") && resp.body_size == 19);
        CHECK(req && strncmp(req, "GET / HTTP/1.1\r\n", 16) == 0);
        CHECK(req && strcasestr(req, "\r\nContent-Length: 0\r\n"));
        CHECK(req && !strcasestr(req, "\r\nContent-Type:"));
        CHECK(req && !strcasestr(req, "\r\nExpect:"));
        CHECK(req && !strcasestr(req, "\r\nTransfer-Encoding:"));
        unix_http_response_done(&resp);
        req = mfree(req);

        /* PUT with a body: exact Content-Length and body, 204 without body. */
        const char *action = "{\"action_type\":\"InstanceStart\"}";
        r = fake_exchange(FAKE_ANSWER,
                          "HTTP/1.1 204 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n\r\n",
                          "PUT", "/actions", action, 2000, &resp, &err, &req);
        CHECK(r == 0);
        CHECK(resp.status == 204);
        CHECK(resp.body && streq(resp.body, "") && resp.body_size == 0);
        CHECK(req && strncmp(req, "PUT /actions HTTP/1.1\r\n", 23) == 0);
        CHECK(req && strcasestr(req, "\r\nContent-Length: 31\r\n"));
        CHECK(req && strcasestr(req, "\r\nContent-Type: application/json\r\n"));
        CHECK(req && strlen(req) > 31 && streq(req + strlen(req) - 31, action));
        unix_http_response_done(&resp);
        req = mfree(req);

        /* A large PATCH body: still Content-Length, never Expect: 100-continue. */
        size_t big = 70000;
        _cleanup_free_ char *body = malloc(big + 1);
        REQUIRE(body);
        memset(body, ' ', big);
        body[0] = '{';
        body[big - 1] = '}';
        body[big] = 0;
        r = fake_exchange(FAKE_ANSWER, "HTTP/1.1 204 \r\n\r\n", "PATCH", "/vm", body, 2000, &resp, &err,
                          &req);
        CHECK(r == 0 && resp.status == 204);
        CHECK(req && strcasestr(req, "\r\nContent-Length: 70000\r\n"));
        CHECK(req && !strcasestr(req, "\r\nExpect:"));
        unix_http_response_done(&resp);
        req = mfree(req);

        /* A 400 is a transport success; the caller interprets it. */
        const char *fault = "{\"fault_message\":\"Empty PUT request.\"}";
        char answer[256];
        snprintf(answer, sizeof answer,
                 "HTTP/1.1 400 \r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 strlen(fault), fault);
        r = fake_exchange(FAKE_ANSWER, answer, "PUT", "/actions", "{}", 2000, &resp, &err, NULL);
        CHECK(r == 0 && resp.status == 400);
        CHECK(resp.body && streq(resp.body, fault));
        unix_http_response_done(&resp);

        /* Errors. */
        r = fake_exchange(FAKE_BIG_ANSWER, NULL, "GET", "/", NULL, 5000, &resp, &err, NULL);
        CHECK(r == -EFBIG);
        CHECK(err && strstr(err, "larger than"));
        err = mfree(err);

        uint64_t t0 = now_mono_us();
        r = fake_exchange(FAKE_SILENT, NULL, "GET", "/", NULL, 300, &resp, &err, NULL);
        CHECK(r == -ETIMEDOUT);
        CHECK(elapsed_ms(t0) >= 290 && elapsed_ms(t0) < 2000);
        CHECK(err && strlen(err) > 0);
        err = mfree(err);

        r = fake_exchange(FAKE_CLOSE, NULL, "GET", "/", NULL, 2000, &resp, &err, NULL);
        CHECK(r == -ECONNRESET);
        err = mfree(err);

        r = fake_exchange(FAKE_ANSWER, "garbage, not HTTP\r\n\r\n", "GET", "/", NULL, 2000, &resp, &err,
                          NULL);
        CHECK(r == -EPROTO);
        err = mfree(err);

        snprintf(path, sizeof path, "%s/missing.sock", tmpdir);
        CHECK(unix_http_request(path, "GET", "/", NULL, 1000, &resp, &err) == -ENOENT);
        CHECK(err && strlen(err) > 0);
        err = mfree(err);

        /* A socket file nobody listens on (what a dead Firecracker leaves). */
        snprintf(path, sizeof path, "%s/stale.sock", tmpdir);
        struct sockaddr_un sa;
        sockaddr_set(&sa, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        CHECK(fd >= 0 && bind(fd, (struct sockaddr *) &sa, sizeof sa) == 0);
        safe_close(fd);
        CHECK(unix_http_request(path, "GET", "/", NULL, 1000, &resp, &err) == -ECONNREFUSED);
        err = mfree(err);
        (void) unlink(path);

        char longpath[200];
        memset(longpath, 'a', sizeof longpath - 1);
        longpath[0] = '/';
        longpath[sizeof longpath - 1] = 0;
        CHECK(unix_http_request(longpath, "GET", "/", NULL, 1000, &resp, &err) == -ENAMETOOLONG);
        err = mfree(err);
        CHECK(resp.body == NULL); /* never written on failure */
}

/* ---- 3 and 4. the backend ---- */

typedef struct Env {
        char run_dir[256];
        char sock[300];
        char kernel[PATH_MAX];
        char rootfs[PATH_MAX];
        VmDisk disk;
        VmConfig config;
        VmmSpec spec;
        BackendOptions opts;
} Env;

/* A fresh run_dir (0700) named name under tmpdir, assets, a config, options. */
static int env_init(Env *e, const char *name, const char *binary) {
        *e = (Env){ 0 };
        snprintf(e->run_dir, sizeof e->run_dir, "%s/%s", tmpdir, name);
        snprintf(e->sock, sizeof e->sock, "%s/api.sock", e->run_dir);
        snprintf(e->kernel, sizeof e->kernel, "%s/vmlinux", tmpdir);
        snprintf(e->rootfs, sizeof e->rootfs, "%s/rootfs.ext4", tmpdir);
        if (mkdir(e->run_dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (access(e->kernel, F_OK) < 0 && write_file(e->kernel, "\177ELF fake kernel", 0644) < 0)
                return -EIO;
        if (access(e->rootfs, F_OK) < 0 && write_file(e->rootfs, "fake rootfs", 0644) < 0)
                return -EIO;
        e->disk = (VmDisk){ .id = "rootfs", .path = e->rootfs, .is_root_device = true };
        e->config = (VmConfig){
                .vcpu_count = 1,
                .memory_bytes = 128ull << 20,
                .kernel_path = e->kernel,
                .kernel_args = "console=ttyS0 reboot=k panic=1",
                .disks = &e->disk,
                .n_disks = 1,
        };
        e->spec = (VmmSpec){ .vm_id = "vm-test-1", .run_dir = e->run_dir, .config = &e->config };
        e->opts = (BackendOptions){ .firecracker_binary = binary, .api_timeout_ms = 5000 };
        return 0;
}

static void test_spawn_failures(void) {
        const Backend *b = &backend_firecracker;
        _cleanup_free_ char *err = NULL;
        char script[PATH_MAX];
        VmmHandle h = { 0 };
        Env e;
        int r, status;

        REQUIRE(env_init(&e, "fail", "/nonexistent/firecracker") == 0);

        /* Binary checks. */
        CHECK(b->check_available(&e.opts, &err) == -ENOENT);
        CHECK_ERROR(err, "firecracker: binary /nonexistent/firecracker: ");
        err = mfree(err);
        CHECK(b->spawn(&e.opts, &e.spec, &h, &err) == -ENOENT);
        CHECK(err != NULL);
        err = mfree(err);
        e.opts.firecracker_binary = NULL;
        CHECK(b->check_available(&e.opts, &err) == -ENOENT);
        CHECK(err != NULL);
        err = mfree(err);
        e.opts.firecracker_binary = e.kernel; /* exists, not executable */
        CHECK(b->check_available(&e.opts, &err) == -EACCES);
        err = mfree(err);
        e.opts.firecracker_binary = "sh"; /* looked up in $PATH */
        CHECK(b->check_available(&e.opts, NULL) == 0);
        CHECK(b->check_available(&e.opts, &err) == 0 && err == NULL);

        /* Bad --id: Firecracker would abort. */
        e.spec.vm_id = "bad_id";
        CHECK(b->spawn(&e.opts, &e.spec, &h, &err) == -EINVAL);
        err = mfree(err);
        e.spec.vm_id = "vm-test-1";

        /* A run_dir whose socket path does not fit in sockaddr_un. */
        Env lng;
        REQUIRE(env_init(&lng, "fail", "/bin/true") == 0);
        char long_dir[PATH_MAX];
        snprintf(long_dir, sizeof long_dir, "%s/%0100d", tmpdir, 0);
        lng.spec.run_dir = long_dir;
        CHECK(b->spawn(&lng.opts, &lng.spec, &h, &err) == -ENAMETOOLONG);
        CHECK_ERROR(err, "firecracker: socket path ");
        err = mfree(err);

        /* A "VMM" that logs, prints and exits at once: -ESRCH, with its words. */
        snprintf(script, sizeof script, "%s/exits.sh", tmpdir);
        REQUIRE(write_file(script,
                           "#!/bin/sh\n"
                           "echo \"log: bad configuration for $4\" >> \"$6\"\n"
                           "echo 'console: goodbye'\n"
                           "exit 152\n",
                           0755) == 0);
        e.opts.firecracker_binary = script;
        r = b->spawn(&e.opts, &e.spec, &h, &err);
        CHECK(r == -ESRCH);
        CHECK_ERROR(err, "firecracker: process ");
        CHECK(err && strstr(err, "exited during startup"));
        CHECK(err && strstr(err, "vmm.log: log: bad configuration for vm-test-1"));
        CHECK(err && strstr(err, "console.log: console: goodbye"));
        err = mfree(err);
        CHECK(h.pid == 0);
        /* Its zombie is ours to reap (metald's reaper does it in the daemon). */
        status = reap(-1);
        CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 152);

        /* A "VMM" that never answers: -ETIMEDOUT after api_timeout_ms, killed,
         * even though it exec'ed something with another cmdline. */
        REQUIRE(env_init(&e, "fail2", "/bin/true") == 0);
        snprintf(script, sizeof script, "%s/silent.sh", tmpdir);
        REQUIRE(write_file(script, "#!/bin/sh\necho 'hello from a silent vmm'\nexec sleep 60\n", 0755) == 0);
        e.opts.firecracker_binary = script;
        e.opts.api_timeout_ms = 400;
        uint64_t t0 = now_mono_us();
        r = b->spawn(&e.opts, &e.spec, &h, &err);
        CHECK(r == -ETIMEDOUT);
        CHECK(elapsed_ms(t0) >= 390 && elapsed_ms(t0) < 3000);
        CHECK_ERROR(err, "firecracker: API socket ");
        CHECK(err && strstr(err, "did not answer within 400 ms"));
        CHECK(err && strstr(err, "console.log: hello from a silent vmm"));
        err = mfree(err);
        status = reap(-1);
        CHECK(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        CHECK(h.pid == 0);
}

static void test_fcsim(const char *fcsim) {
        const Backend *b = backend_find("firecracker");
        _cleanup_free_ char *err = NULL, *log_path = NULL, *metrics_path = NULL, *console_path = NULL;
        VmmHandle h = { 0 }, h2 = { 0 }, h3 = { 0 };
        VmmState state;
        struct stat st;
        pid_t found;
        Env e;
        int r;

        REQUIRE(b);
        REQUIRE(env_init(&e, "vm1", fcsim) == 0);
        log_path = strdup_printf("%s/vmm.log", e.run_dir);
        metrics_path = strdup_printf("%s/metrics.json", e.run_dir);
        console_path = strdup_printf("%s/console.log", e.run_dir);
        REQUIRE(log_path && metrics_path && console_path);

        CHECK(b->check_available(&e.opts, &err) == 0);

        /* Spawn: pid, start time, socket; the exact argv; files in run_dir. */
        r = b->spawn(&e.opts, &e.spec, &h, &err);
        if (r < 0)
                fprintf(stderr, "  spawn: %s\n", err ? err : strerror(-r));
        REQUIRE(r == 0);
        CHECK(err == NULL);
        CHECK(h.pid > 0 && h.start_time > 0);
        CHECK(streq(h.socket_path, e.sock));
        CHECK(vmm_is_alive(h.pid, h.start_time, h.socket_path));
        CHECK(getsid(h.pid) == h.pid);
        CHECK(stat(e.sock, &st) == 0 && S_ISSOCK(st.st_mode));
        CHECK(stat(log_path, &st) == 0 && S_ISREG(st.st_mode));
        CHECK(stat(console_path, &st) == 0 && S_ISREG(st.st_mode));
        const char *want_argv[] = { fcsim,        "--api-sock", e.sock,    "--id", "vm-test-1",
                                    "--log-path", log_path,     "--level", "Info", NULL };
        char abs_fcsim[PATH_MAX], cwd[PATH_MAX];
        CHECK(getcwd(cwd, sizeof cwd) != NULL);
        int n = snprintf(abs_fcsim, sizeof abs_fcsim, "%s/%s", cwd, fcsim);
        CHECK(n > 0 && (size_t) n < sizeof abs_fcsim);
        want_argv[0] = fcsim[0] == '/' ? fcsim : abs_fcsim;
        CHECK(proc_cmdline_is(h.pid, want_argv));

        CHECK(b->query(&e.opts, &h, &state, &err) == 0 && state == VMM_STATE_NOT_STARTED);

        /* Post-boot actions before boot: Firecracker's 400. */
        r = b->request_shutdown(&e.opts, &h, &err);
        CHECK(r == -EBADMSG);
        CHECK_ERROR(err, "firecracker: PUT /actions: 400: ");
        err = mfree(err);
        r = b->pause(&e.opts, &h, &err);
        CHECK(r == -EBADMSG);
        CHECK_ERROR(err, "firecracker: PATCH /vm: 400: ");
        err = mfree(err);

        /* A missing kernel fails the PUT itself, in Firecracker's words. */
        char missing[PATH_MAX];
        snprintf(missing, sizeof missing, "%s/no-such-vmlinux", tmpdir);
        e.config.kernel_path = missing;
        r = b->boot(&e.opts, &e.spec, &h, &err);
        CHECK(r == -EBADMSG);
        CHECK_ERROR(err, "firecracker: PUT /boot-source: 400: ");
        err = mfree(err);
        CHECK(b->query(&e.opts, &h, &state, &err) == 0 && state == VMM_STATE_NOT_STARTED);

        /* So does a missing disk, naming the drive. */
        e.config.kernel_path = e.kernel;
        e.disk.path = missing;
        r = b->boot(&e.opts, &e.spec, &h, &err);
        CHECK(r == -EBADMSG);
        CHECK_ERROR(err, "firecracker: PUT /drives/rootfs: 400: ");
        err = mfree(err);
        e.disk.path = e.rootfs;

        /* Hotplug is not something this backend does. */
        e.config.hotplug_bytes = 1ull << 30;
        CHECK(b->boot(&e.opts, &e.spec, &h, &err) == -EOPNOTSUPP);
        err = mfree(err);
        e.config.hotplug_bytes = 0;

        /* Boot (a retry on the same VMM, after the failure above). */
        r = b->boot(&e.opts, &e.spec, &h, &err);
        if (r < 0)
                fprintf(stderr, "  boot: %s\n", err ? err : strerror(-r));
        CHECK(r == 0);
        err = mfree(err);
        CHECK(b->query(&e.opts, &h, &state, &err) == 0 && state == VMM_STATE_RUNNING);
        CHECK(lstat(metrics_path, &st) == 0 && S_ISREG(st.st_mode));

        /* Idempotent: booting a running VM again sends nothing and succeeds. */
        CHECK(b->boot(&e.opts, &e.spec, &h, &err) == 0);
        CHECK(err == NULL);

        /* Pause / resume. */
        CHECK(b->pause(&e.opts, &h, &err) == 0);
        CHECK(b->query(&e.opts, &h, &state, &err) == 0 && state == VMM_STATE_PAUSED);
        CHECK(b->pause(&e.opts, &h, &err) == 0); /* pausing a paused VM succeeds */
        CHECK(b->boot(&e.opts, &e.spec, &h, &err) == 0); /* paused counts as booted */
        CHECK(b->resume(&e.opts, &h, &err) == 0);
        CHECK(b->query(&e.opts, &h, &state, &err) == 0 && state == VMM_STATE_RUNNING);
        CHECK(err == NULL);

        /* API timeout: a stopped VMM accepts connections but never answers. */
        BackendOptions quick = e.opts;
        quick.api_timeout_ms = 300;
        CHECK(kill(h.pid, SIGSTOP) == 0);
        uint64_t t0 = now_mono_us();
        r = b->query(&quick, &h, &state, &err);
        CHECK(r == -ETIMEDOUT);
        CHECK(elapsed_ms(t0) >= 290 && elapsed_ms(t0) < 2000);
        CHECK_ERROR(err, "firecracker: GET /: ");
        err = mfree(err);
        r = b->pause(&quick, &h, &err);
        CHECK(r == -ETIMEDOUT);
        CHECK_ERROR(err, "firecracker: PATCH /vm: ");
        err = mfree(err);
        CHECK(kill(h.pid, SIGCONT) == 0);
        r = b->query(&e.opts, &h, &state, &err);
        CHECK(r == 0);
        /* The PATCH that timed out may have been served after SIGCONT. */
        CHECK(state == VMM_STATE_RUNNING || state == VMM_STATE_PAUSED);
        CHECK(b->resume(&e.opts, &h, &err) == 0);
        err = mfree(err);

        /* Spawning while a live VMM owns the socket kills it first: never two. */
        r = b->spawn(&e.opts, &e.spec, &h2, &err);
        if (r < 0)
                fprintf(stderr, "  respawn: %s\n", err ? err : strerror(-r));
        REQUIRE(r == 0);
        CHECK(h2.pid != h.pid);
        CHECK(!vmm_is_alive(h.pid, h.start_time, h.socket_path));
        CHECK(vmm_is_alive(h2.pid, h2.start_time, h2.socket_path));
        CHECK(vmm_find_by_cmdline(e.sock, &found) == 0 && found == h2.pid);
        int status = reap(h.pid);
        CHECK(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        CHECK(b->query(&e.opts, &h, &state, &err) == -ESRCH && state == VMM_STATE_GONE);
        CHECK_ERROR(err, "firecracker: process ");
        err = mfree(err);
        CHECK(b->query(&e.opts, &h2, &state, &err) == 0 && state == VMM_STATE_NOT_STARTED);

        /* A boot retried after a crash between PUT /metrics and InstanceStart:
         * Firecracker refuses a second PUT /metrics, boot still succeeds. */
        UnixHttpResponse resp = { 0 };
        _cleanup_free_ char *metrics_body = strdup_printf("{\"metrics_path\":\"%s\"}", metrics_path);
        REQUIRE(metrics_body);
        CHECK(unix_http_request(e.sock, "PUT", "/metrics", metrics_body, 5000, &resp, NULL) == 0);
        CHECK(resp.status == 204);
        unix_http_response_done(&resp);
        r = b->boot(&e.opts, &e.spec, &h2, &err);
        if (r < 0)
                fprintf(stderr, "  boot after PUT /metrics: %s\n", err ? err : strerror(-r));
        CHECK(r == 0);
        err = mfree(err);
        CHECK(b->query(&e.opts, &h2, &state, &err) == 0 && state == VMM_STATE_RUNNING);
        /* Flushed right after boot, into the regular file. */
        _cleanup_free_ char *metrics_text = NULL;
        for (int i = 0; i < 100; i++) {
                metrics_text = mfree(metrics_text);
                if (read_full_file(metrics_path, 1 << 20, &metrics_text, NULL) == 0 && *metrics_text)
                        break;
                usleep(10000);
        }
        CHECK(metrics_text && strstr(metrics_text, "\"utc_timestamp_ms\"") && strchr(metrics_text, '\n'));
        CHECK(lstat(metrics_path, &st) == 0 && S_ISREG(st.st_mode));

        /* A guest shutdown: the process exits by itself. */
        r = b->request_shutdown(&e.opts, &h2, &err);
        CHECK(r == 0);
        if (r < 0)
                fprintf(stderr, "  request_shutdown: %s\n", err ? err : strerror(-r));
        err = mfree(err);
        CHECK(vmm_wait_exit(h2.pid, h2.start_time, 5000, NULL) == 0);
        CHECK(b->query(&e.opts, &h2, &state, &err) == -ESRCH && state == VMM_STATE_GONE);
        err = mfree(err);
        CHECK(b->pause(&e.opts, &h2, &err) == -ESRCH);
        CHECK_ERROR(err, "firecracker: PATCH /vm: process ");
        err = mfree(err);
        status = reap(h2.pid);
        CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
                fprintf(stderr, "  fcsim after SendCtrlAltDel: wait status 0x%x\n", status);

        /* The socket file a dead VMM leaves behind (or any stale file) is removed. */
        (void) unlink(e.sock);
        CHECK(write_file(e.sock, "stale", 0600) == 0);
        r = b->spawn(&e.opts, &e.spec, &h3, &err);
        if (r < 0)
                fprintf(stderr, "  spawn over stale socket: %s\n", err ? err : strerror(-r));
        CHECK(r == 0);
        err = mfree(err);
        if (r == 0) {
                CHECK(b->query(&e.opts, &h3, &state, &err) == 0 && state == VMM_STATE_NOT_STARTED);
                CHECK(vmm_kill(h3.pid, h3.start_time, h3.socket_path, 5000) == 0);
                status = reap(h3.pid);
                CHECK(status != -1 && WIFSIGNALED(status));
        }
}

int main(void) {
        const char *fcsim = getenv("FCSIM");

        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return EXIT_FAILURE;
        }
        /* The fake server writes to clients that may have given up. */
        signal(SIGPIPE, SIG_IGN);
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                fprintf(stderr, "curl_global_init failed\n");
                return EXIT_FAILURE;
        }

        test_builders();
        test_decoders();
        test_backend_table();
        test_unix_http();
        test_spawn_failures();

        bool skipped = false;
        if (isempty(fcsim)) {
                printf("test-firecracker: FCSIM is not set: skipping the tests against the "
                       "Firecracker simulator (set FCSIM=<path to build/tools/fcsim>)\n");
                skipped = true;
        } else
                test_fcsim(fcsim);

        CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD); /* nothing left behind */
        (void) rm_rf(tmpdir);
        curl_global_cleanup();
        if (test_failures) {
                fprintf(stderr, "test-firecracker: %d check(s) failed\n", test_failures);
                return EXIT_FAILURE;
        }
        if (skipped)
                return 77;
        printf("test-firecracker: all checks passed\n");
        return EXIT_SUCCESS;
}
