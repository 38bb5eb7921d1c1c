/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for the Cloud Hypervisor backend:
 *  1. the pure builders and decoders (cloud-hypervisor.h);
 *  2. spawn failures with fake "cloud-hypervisor" scripts;
 *  3. the real backend against the Cloud Hypervisor simulator named by
 *     $CHSIM: lifecycle, errors in Cloud Hypervisor's words, idempotent boot,
 *     the pid cross-check, a live VMM on the socket killed first, timeouts.
 * Exits 77 (skipped) only when CHSIM is unset, after running 1 and 2.
 */
#include <assert.h>
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hv/backend-util.h"
#include "hv/cloud-hypervisor.h"
#include "hv/unix-http.h"
#include "hv/vmm-process.h"
#include "test-helpers.h"
#include "test.h"

/* Print a failed call's message (the checks say what was expected). */
#define SHOW(r, err, what)                                                                                  \
        do {                                                                                                \
                if ((r) < 0)                                                                                \
                        fprintf(stderr, "  %s: %s\n", (what), (err) ? (err) : strerror(-(r)));              \
        } while (0)

static char tmpdir[] = "/tmp/tch-XXXXXX"; /* short: socket paths must fit 108 bytes */

/* Compact, key-sorted JSON of j (consumed) compared with expect. */
static bool json_is(json_t *j, const char *expect) {
        _cleanup_json_ json_t *owned = j;
        _cleanup_free_ char *s = owned ? json_dumps(owned, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (!s || !streq(s, expect)) {
                fprintf(stderr, "  got %s\n  expected %s\n", s ? s : "(null)", expect);
                return false;
        }
        return true;
}

/* ---- 1. pure builders and decoders ---- */

/* ch_cmdline of a config with args and (optionally) one disk, compared with expect. */
static bool cmdline_is(const char *args, bool with_root, bool readonly, const char *expect) {
        VmDisk d = {
                .id = "rootfs", .path = "/a/rootfs.ext4", .readonly = readonly, .is_root_device = true
        };
        VmConfig c = { .vcpu_count = 1,
                       .memory_bytes = 128ull << 20,
                       .kernel_path = "/a/vmlinux",
                       .kernel_args = (char *) args,
                       .disks = with_root ? &d : NULL,
                       .n_disks = with_root };
        _cleanup_free_ char *s = ch_cmdline(&c);
        if (!s || !streq(s, expect)) {
                fprintf(stderr, "  cmdline of \"%s\": got \"%s\", expected \"%s\"\n", args ? args : "(null)",
                        s ? s : "(null)", expect);
                return false;
        }
        return true;
}

static void test_cmdline(void) {
        /* Cloud Hypervisor adds no root=: ours comes first, for vda. */
        CHECK(cmdline_is(NULL, true, false, "root=/dev/vda rw"));
        CHECK(cmdline_is("", true, true, "root=/dev/vda ro"));
        CHECK(cmdline_is("console=ttyS0", true, true, "root=/dev/vda ro console=ttyS0"));
        /* The seed's Firecracker-style arguments: pci=off would hide every virtio-pci disk. */
        CHECK(cmdline_is("console=ttyS0 reboot=k panic=1 pci=off", true, false,
                         "root=/dev/vda rw console=ttyS0 reboot=k panic=1"));
        /* The caller's root= wins; rootfstype= is not a root=. */
        CHECK(cmdline_is("root=/dev/vdb ro console=ttyS0", true, false, "root=/dev/vdb ro console=ttyS0"));
        CHECK(cmdline_is("rootfstype=ext4", true, false, "root=/dev/vda rw rootfstype=ext4"));
        /* After "--" everything belongs to init: neither looked at nor dropped. */
        CHECK(cmdline_is("console=ttyS0 -- root=x pci=off", true, false,
                         "root=/dev/vda rw console=ttyS0 -- root=x pci=off"));
        /* Quoted blanks stay inside their parameter; other blanks collapse. */
        CHECK(cmdline_is("  dyndbg=\"file a.c +p\"   pci=off\tinit=/sbin/init ", true, false,
                         "root=/dev/vda rw dyndbg=\"file a.c +p\" init=/sbin/init"));
        /* No disk: no root=. */
        CHECK(cmdline_is("console=ttyS0 pci=off", false, false, "console=ttyS0"));
        CHECK(cmdline_is(NULL, false, false, ""));
        CHECK(cmdline_is("pci=off", false, false, ""));
}

static void test_config_json(void) {
        VmDisk disks[] = {
                { .id = "data_1", .path = "/a/data.img", .readonly = true, .is_root_device = false },
                { .id = "rootfs", .path = "/a/rootfs.ext4", .readonly = false, .is_root_device = true },
                { .id = "disk2", .path = "/a/scratch.img", .readonly = false, .is_root_device = false },
        };
        VmConfig c = {
                .vcpu_count = 2,
                .max_vcpu_count = 4,
                .memory_bytes = 512ull << 20,
                .hotplug_bytes = 1ull << 30,
                .kernel_path = "/a/vmlinux",
                .kernel_args = "console=ttyS0 quote=\"x\"",
                .initrd_path = "/a/initrd",
                .disks = disks,
                .n_disks = 3,
        };

        /* The root disk first (it is /dev/vda), then the others in order. */
        CHECK(json_is(ch_vm_config_json(&c),
                      "{\"console\":{\"mode\":\"Off\"},"
                      "\"cpus\":{\"boot_vcpus\":2,\"max_vcpus\":4},"
                      "\"disks\":[{\"id\":\"rootfs\",\"path\":\"/a/rootfs.ext4\",\"readonly\":false},"
                      "{\"id\":\"data_1\",\"path\":\"/a/data.img\",\"readonly\":true},"
                      "{\"id\":\"disk2\",\"path\":\"/a/scratch.img\",\"readonly\":false}],"
                      "\"memory\":{\"hotplug_size\":1073741824,\"size\":536870912},"
                      "\"payload\":{\"cmdline\":\"root=/dev/vda rw console=ttyS0 quote=\\\"x\\\"\","
                      "\"initramfs\":\"/a/initrd\",\"kernel\":\"/a/vmlinux\"},"
                      "\"serial\":{\"mode\":\"Tty\"}}"));

        /* The least: max_vcpu_count 0 is vcpu_count; no hotplug, cmdline,
         * initramfs or disks when there are none. */
        VmConfig m = { .vcpu_count = 1,
                       .memory_bytes = 128ull << 20,
                       .kernel_path = "/a/vmlinux",
                       .kernel_args = "",
                       .initrd_path = "" };
        CHECK(json_is(ch_vm_config_json(&m),
                      "{\"console\":{\"mode\":\"Off\"},\"cpus\":{\"boot_vcpus\":1,\"max_vcpus\":1},"
                      "\"memory\":{\"size\":134217728},\"payload\":{\"kernel\":\"/a/vmlinux\"},"
                      "\"serial\":{\"mode\":\"Tty\"}}"));

        /* Disks but none marked root (vm_config_validate never leaves that):
         * config order, no root=. */
        disks[1].is_root_device = false;
        m.disks = disks;
        m.n_disks = 2;
        CHECK(json_is(ch_vm_config_json(&m),
                      "{\"console\":{\"mode\":\"Off\"},\"cpus\":{\"boot_vcpus\":1,\"max_vcpus\":1},"
                      "\"disks\":[{\"id\":\"data_1\",\"path\":\"/a/data.img\",\"readonly\":true},"
                      "{\"id\":\"rootfs\",\"path\":\"/a/rootfs.ext4\",\"readonly\":false}],"
                      "\"memory\":{\"size\":134217728},\"payload\":{\"kernel\":\"/a/vmlinux\"},"
                      "\"serial\":{\"mode\":\"Tty\"}}"));
}

static void test_decoders(void) {
        static const struct {
                const char *json;
                int r;
                ChVmState state;
        } states[] = {
                { "{\"config\":{},\"state\":\"Created\",\"memory_actual_size\":0}", 0, CH_VM_CREATED },
                { "{\"state\":\"Running\"}", 0, CH_VM_RUNNING },
                { "{\"state\":\"Paused\"}", 0, CH_VM_PAUSED },
                { "{\"state\":\"Shutdown\"}", 0, CH_VM_SHUTDOWN },
                { "{\"state\":\"BreakPoint\"}", -EPROTO, 0 },
                { "{\"state\":\"running\"}", -EPROTO, 0 },
                { "{\"state\":1}", -EPROTO, 0 },
                { "{}", -EPROTO, 0 },
                { "[\"Running\"]", -EPROTO, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(states); i++) {
                _cleanup_json_ json_t *j = json_loads(states[i].json, JSON_DECODE_ANY, NULL);
                ChVmState s = CH_VM_NONE;
                CHECK(j);
                int r = ch_vm_state_from_json(j, &s);
                CHECK(r == states[i].r);
                CHECK(r < 0 ? s == CH_VM_NONE : s == states[i].state);
        }
        ChVmState s = CH_VM_NONE;
        CHECK(ch_vm_state_from_json(NULL, &s) == -EPROTO);

        CHECK(ch_vmm_state(CH_VM_NONE) == VMM_STATE_NOT_STARTED);
        CHECK(ch_vmm_state(CH_VM_CREATED) == VMM_STATE_NOT_STARTED);
        CHECK(ch_vmm_state(CH_VM_SHUTDOWN) == VMM_STATE_NOT_STARTED);
        CHECK(ch_vmm_state(CH_VM_RUNNING) == VMM_STATE_RUNNING);
        CHECK(ch_vmm_state(CH_VM_PAUSED) == VMM_STATE_PAUSED);

        static const struct {
                const char *json;
                int r;
                pid_t pid;
        } pings[] = {
                { "{\"build_version\":\"v53.0\",\"version\":\"53.0\",\"pid\":4242,\"features\":[\"kvm\"]}",
                  0, 4242 },
                { "{\"version\":\"40.0\"}", -ENODATA, 0 },
                { "{\"pid\":0}", -EPROTO, 0 },
                { "{\"pid\":-5}", -EPROTO, 0 },
                { "{\"pid\":\"12\"}", -EPROTO, 0 },
                { "{\"pid\":4294967297}", -EPROTO, 0 },
                { "[4242]", -EPROTO, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(pings); i++) {
                _cleanup_json_ json_t *j = json_loads(pings[i].json, JSON_DECODE_ANY, NULL);
                pid_t pid = 0;
                CHECK(j);
                int r = ch_ping_pid_from_json(j, &pid);
                CHECK(r == pings[i].r);
                CHECK(pid == pings[i].pid);
        }

        static const struct {
                const char *body, *text;
        } errs[] = {
                { "[\"Error from API\",\"The VM could not boot\",\"Cannot open kernel file\","
                  "\"No such file or directory (os error 2)\"]",
                  "Error from API: The VM could not boot: Cannot open kernel file: No such file or "
                  "directory "
                  "(os error 2)" },
                { "[\"Not Found\"]", "Not Found" },
                { "[\"Failed to deserialize JSON\",\"missing field `boot_vcpus` at line 1 column 30\"]",
                  "Failed to deserialize JSON: missing field `boot_vcpus` at line 1 column 30" },
                { "[\"a\\nb\",3,{\"x\":1}]", "a b: 3: {\"x\":1}" },
                { "[]", "[]" },
                { "{\"error\":\"Invalid header.\\nAll previous unanswered requests will be dropped.\"}",
                  "{\"error\":\"Invalid header.\\nAll previous unanswered requests will be dropped.\"}" },
                { "{ \"error\": \"raw\nnewline\" }", "{ \"error\": \"raw newline\" }" },
                { "", "(no body)" },
                { NULL, "(no body)" },
        };
        for (size_t i = 0; i < ELEMENTSOF(errs); i++) {
                _cleanup_free_ char *t = ch_error_text(errs[i].body);
                CHECK(t && streq(t, errs[i].text));
                if (t && !streq(t, errs[i].text))
                        fprintf(stderr, "  error text: got \"%s\", expected \"%s\"\n", t, errs[i].text);
        }
        /* Bounded, whether an array or raw. */
        char big[3000];
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = 0;
        _cleanup_free_ char *t = ch_error_text(big);
        CHECK(t && strlen(t) == 1024);
        char bigarr[3100];
        snprintf(bigarr, sizeof bigarr, "[\"Error from API\",\"%s\"]", big);
        _cleanup_free_ char *t2 = ch_error_text(bigarr);
        CHECK(t2 && strlen(t2) <= 1024 && strncmp(t2, "Error from API: xxx", 19) == 0);

        /* Which refusals are for good. */
        CHECK(ch_status_errno(400, "Failed to deserialize JSON") == -EBADMSG);
        CHECK(ch_status_errno(404, "Not Found") == -EBADMSG);
        CHECK(ch_status_errno(405, NULL) == -EBADMSG);
        CHECK(ch_status_errno(409, "Identifier rootfs is not unique") == -EBADMSG);
        CHECK(ch_status_errno(429, NULL) == -EAGAIN);
        CHECK(ch_status_errno(500, "Error from API: The VM could not be paused: VM is not running") ==
              -EBADMSG);
        CHECK(ch_status_errno(500,
                              "Error from API: The VM could not boot: Cannot open kernel file: No such file "
                              "or directory (os error 2)") == -EBADMSG);
        CHECK(ch_status_errno(500, NULL) == -EBADMSG);
        CHECK(ch_status_errno(500, "Error from API: The VM could not boot: Memory manager error: Cannot "
                                   "allocate memory (os error 12)") == -EIO);
        CHECK(ch_status_errno(500,
                              "Error from API: The VM could not boot: Too many open files (os error 24)") ==
              -EIO);
        CHECK(ch_status_errno(500, "x (os error 120)") == -EBADMSG);
        /* A disk another VM holds stays held until someone stops that VM. */
        CHECK(ch_status_errno(500,
                              "Error from API: The VM could not boot: Error locking disk images: Another "
                              "instance likely holds a lock: The file is already locked") == -EBADMSG);
        CHECK(ch_status_errno(500, "x: Device or resource busy (os error 16)") == -EBADMSG);
        CHECK(ch_status_errno(503, "Too many open connections") == -EIO);
        CHECK(ch_status_errno(302, NULL) == -EIO);
}

static void test_backend_table(void) {
        const Backend *b = &backend_cloud_hypervisor;
        CHECK(backend_find("cloud-hypervisor") == b);
        CHECK(streq(b->name, "cloud-hypervisor"));
        CHECK(b->caps == (BACKEND_CAP_CPU_HOTPLUG | BACKEND_CAP_MEMORY_HOTPLUG));
        CHECK(b->check_available && b->spawn && b->boot && b->pause && b->resume && b->request_shutdown &&
              b->query);
        CHECK(backend_find("firecracker") != b);
}

/* ---- 2 and 3. the backend ---- */

typedef struct Env {
        char run_dir[256];
        char sock[300];
        char kernel[PATH_MAX];
        char rootfs[PATH_MAX];
        char data[PATH_MAX];
        VmDisk disks[2];
        VmConfig config;
        VmmSpec spec;
        BackendOptions opts;
} Env;

/* A fresh run_dir (0700) named name under tmpdir, assets, a config with a
 * data disk listed before the root disk, options. */
static int env_init(Env *e, const char *name, const char *binary) {
        *e = (Env){ 0 };
        snprintf(e->run_dir, sizeof e->run_dir, "%s/%s", tmpdir, name);
        snprintf(e->sock, sizeof e->sock, "%s/api.sock", e->run_dir);
        snprintf(e->kernel, sizeof e->kernel, "%s/vmlinux", tmpdir);
        snprintf(e->rootfs, sizeof e->rootfs, "%s/rootfs.ext4", tmpdir);
        snprintf(e->data, sizeof e->data, "%s/data.ext4", tmpdir);
        if (mkdir(e->run_dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (access(e->kernel, F_OK) < 0 && write_file(e->kernel, "\177ELF fake kernel", 0644) < 0)
                return -EIO;
        if (access(e->rootfs, F_OK) < 0 && write_file(e->rootfs, "fake rootfs", 0644) < 0)
                return -EIO;
        if (access(e->data, F_OK) < 0 && write_file(e->data, "fake data", 0644) < 0)
                return -EIO;
        e->disks[0] = (VmDisk){ .id = "data_1", .path = e->data, .readonly = true };
        e->disks[1] = (VmDisk){ .id = "rootfs", .path = e->rootfs, .is_root_device = true };
        e->config = (VmConfig){
                .vcpu_count = 1,
                .max_vcpu_count = 2,
                .memory_bytes = 128ull << 20,
                .kernel_path = e->kernel,
                .kernel_args = "console=ttyS0 reboot=k panic=1 pci=off",
                .disks = e->disks,
                .n_disks = 2,
        };
        e->spec = (VmmSpec){ .vm_id = "vm-test-1", .run_dir = e->run_dir, .config = &e->config };
        e->opts = (BackendOptions){ .cloud_hypervisor_binary = binary, .api_timeout_ms = 5000 };
        return 0;
}

static void test_spawn_failures(void) {
        const Backend *b = &backend_cloud_hypervisor;
        _cleanup_free_ char *err = NULL;
        char script[PATH_MAX];
        VmmHandle h = { 0 };
        Env e;
        int r, status;

        REQUIRE(env_init(&e, "fail", "/nonexistent/cloud-hypervisor") == 0);

        /* Binary checks, in our words with the backend's name. */
        CHECK(b->check_available(&e.opts, &err) == -ENOENT);
        CHECK_ERROR(err, "cloud-hypervisor: binary /nonexistent/cloud-hypervisor: ");
        err = mfree(err);
        CHECK(b->spawn(&e.opts, &e.spec, &h, &err) == -ENOENT);
        CHECK_ERROR(err, "cloud-hypervisor: binary ");
        err = mfree(err);
        e.opts.cloud_hypervisor_binary = NULL;
        CHECK(b->check_available(&e.opts, &err) == -ENOENT);
        CHECK_ERROR(err, "cloud-hypervisor: no binary");
        err = mfree(err);
        e.opts.cloud_hypervisor_binary = "no-such-cloud-hypervisor-binary";
        CHECK(b->check_available(&e.opts, &err) == -ENOENT);
        CHECK_ERROR(err, "cloud-hypervisor: binary no-such-cloud-hypervisor-binary ");
        CHECK(err && strstr(err, "not found in $PATH"));
        err = mfree(err);
        e.opts.cloud_hypervisor_binary = e.kernel; /* exists, not executable */
        CHECK(b->check_available(&e.opts, &err) == -EACCES);
        err = mfree(err);
        e.opts.cloud_hypervisor_binary = "sh"; /* looked up in $PATH */
        CHECK(b->check_available(&e.opts, &err) == 0 && err == NULL);

        /* A run_dir whose socket path does not fit in sockaddr_un. */
        Env lng;
        REQUIRE(env_init(&lng, "fail", "/bin/true") == 0);
        char long_dir[PATH_MAX];
        snprintf(long_dir, sizeof long_dir, "%s/%0100d", tmpdir, 0);
        lng.spec.run_dir = long_dir;
        CHECK(b->spawn(&lng.opts, &lng.spec, &h, &err) == -ENAMETOOLONG);
        CHECK_ERROR(err, "cloud-hypervisor: socket path ");
        err = mfree(err);

        /* A "VMM" that logs, complains on stderr and exits at once: -ESRCH,
         * with its words from vmm.log and console.log ($4 is --log-file's value). */
        snprintf(script, sizeof script, "%s/exits.sh", tmpdir);
        REQUIRE(write_file(script,
                           "#!/bin/sh\n"
                           "echo \"log: cannot use $2\" >> \"$4\"\n"
                           "echo 'Error parsing arguments: bad' >&2\n"
                           "exit 2\n",
                           0755) == 0);
        e.opts.cloud_hypervisor_binary = script;
        r = b->spawn(&e.opts, &e.spec, &h, &err);
        CHECK(r == -ESRCH);
        CHECK_ERROR(err, "cloud-hypervisor: process ");
        CHECK(err && strstr(err, "exited during startup"));
        CHECK(err && strstr(err, "; vmm.log: log: cannot use path=") && strstr(err, "/fail/api.sock"));
        CHECK(err && strstr(err, "; console.log: Error parsing arguments: bad"));
        err = mfree(err);
        CHECK(h.pid == 0);
        status = reap(-1);
        CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 2);

        /* A "VMM" that never answers: -ETIMEDOUT after api_timeout_ms, killed,
         * even though it exec'ed something with another cmdline. */
        REQUIRE(env_init(&e, "fail2", "/bin/true") == 0);
        snprintf(script, sizeof script, "%s/silent.sh", tmpdir);
        REQUIRE(write_file(script, "#!/bin/sh\necho 'hello from a silent vmm'\nexec sleep 60\n", 0755) == 0);
        e.opts.cloud_hypervisor_binary = script;
        e.opts.api_timeout_ms = 400;
        uint64_t t0 = now_mono_us();
        r = b->spawn(&e.opts, &e.spec, &h, &err);
        CHECK(r == -ETIMEDOUT);
        CHECK(elapsed_ms(t0) >= 390 && elapsed_ms(t0) < 3000);
        CHECK_ERROR(err, "cloud-hypervisor: API socket ");
        CHECK(err && strstr(err, "did not answer within 400 ms"));
        CHECK(err && strstr(err, "console.log: hello from a silent vmm"));
        err = mfree(err);
        status = reap(-1);
        CHECK(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        CHECK(h.pid == 0);
}

/* One raw API call to the simulator (what another client would do): its
 * status, and the body in *ret_body if wanted. -1 on a transport error. */
static long api(const char *sock, const char *method, const char *endpoint, const char *body,
                char **ret_body) {
        UnixHttpResponse resp = { 0 };
        char path[128];

        snprintf(path, sizeof path, "/api/v1/%s", endpoint);
        if (unix_http_request(sock, method, path, body, 5000, &resp, NULL) < 0)
                return -1;
        long status = resp.status;
        if (ret_body)
                *ret_body = TAKE_PTR(resp.body);
        unix_http_response_done(&resp);
        return status;
}

/* GET vm.info's config, or NULL. */
static json_t *vm_info_config(const char *sock) {
        _cleanup_free_ char *body = NULL;
        if (api(sock, "GET", "vm.info", NULL, &body) != 200)
                return NULL;
        _cleanup_json_ json_t *info = json_loads(body, 0, NULL);
        json_t *cfg = json_object_get(info, "config");
        return cfg ? json_incref(cfg) : NULL;
}

/* The value at a jansson path like "payload.kernel" or "disks.0.id", as text. */
static char *json_at(const json_t *j, const char *path) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", path);
        for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && j; k = strtok_r(NULL, ".", &save))
                j = json_is_array(j) ? json_array_get(j, strtoul(k, NULL, 10)) : json_object_get(j, k);
        if (!j)
                return NULL;
        return json_is_string(j) ? strdup(json_string_value(j))
                                 : json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
}

static bool json_at_is(const json_t *j, const char *path, const char *expect) {
        _cleanup_free_ char *v = json_at(j, path);
        if (!v || !streq(v, expect)) {
                fprintf(stderr, "  %s: got %s, expected %s\n", path, v ? v : "(none)", expect);
                return false;
        }
        return true;
}

static void test_chsim(const char *chsim) {
        const Backend *b = backend_find("cloud-hypervisor");
        _cleanup_free_ char *err = NULL, *log_path = NULL, *old_log = NULL, *console_path = NULL,
                            *api_arg = NULL, *text = NULL;
        VmmHandle h = { 0 }, h2 = { 0 }, h3 = { 0 };
        VmmState state;
        struct stat st;
        pid_t found;
        Env e;
        int r;

        REQUIRE(b);
        REQUIRE(env_init(&e, "vm1", chsim) == 0);
        log_path = strdup_printf("%s/vmm.log", e.run_dir);
        old_log = strdup_printf("%s/vmm.log.old", e.run_dir);
        console_path = strdup_printf("%s/console.log", e.run_dir);
        api_arg = strdup_printf("path=%s", e.sock);
        REQUIRE(log_path && old_log && console_path && api_arg);

        CHECK(b->check_available(&e.opts, &err) == 0);
        /* The console is appended to across VMMs; the previous VMM's log is kept. */
        CHECK(write_file(console_path, "previous boot\n", 0600) == 0);
        CHECK(write_file(log_path, "previous vmm\n", 0600) == 0);

        /* Spawn: pid, start time, socket; the exact argv; files in run_dir. */
        r = b->spawn(&e.opts, &e.spec, &h, &err);
        SHOW(r, err, "spawn");
        REQUIRE(r == 0);
        CHECK(err == NULL);
        CHECK(h.pid > 0 && h.start_time > 0);
        CHECK(streq(h.socket_path, e.sock));
        CHECK(vmm_is_alive(h.pid, h.start_time, h.socket_path)); /* "path=<sock>" names the socket */
        CHECK(getsid(h.pid) == h.pid);
        CHECK(stat(e.sock, &st) == 0 && S_ISSOCK(st.st_mode));
        CHECK(read_full_file(old_log, 4096, &text, NULL) == 0 && streq(text, "previous vmm\n"));
        text = mfree(text);
        CHECK(read_full_file(console_path, 65536, &text, NULL) == 0 &&
              strncmp(text, "previous boot\n", 14) == 0);
        text = mfree(text);
        struct stat console_st;
        CHECK(stat(console_path, &console_st) == 0 && S_ISREG(console_st.st_mode) &&
              (console_st.st_mode & 0777) == 0600);
        char abs_chsim[PATH_MAX], cwd[PATH_MAX];
        CHECK(getcwd(cwd, sizeof cwd) != NULL);
        int n = snprintf(abs_chsim, sizeof abs_chsim, "%s/%s", cwd, chsim);
        CHECK(n > 0 && (size_t) n < sizeof abs_chsim);
        const char *want_argv[] = { chsim[0] == '/' ? chsim : abs_chsim,
                                    "--api-socket",
                                    api_arg,
                                    "--log-file",
                                    log_path,
                                    "-v",
                                    "--seccomp",
                                    "true",
                                    NULL };
        CHECK(proc_cmdline_is(h.pid, want_argv));

        CHECK(b->query(&e.opts, &h, &state, &err) == 0 && state == VMM_STATE_NOT_STARTED);

        /* Post-boot actions before boot: refused for good, in its words. */
        r = b->pause(&e.opts, &h, &err);
        CHECK(r == -EBADMSG);
        CHECK_ERROR(err, "cloud-hypervisor: PUT vm.pause: 500: Error from API: ");
        CHECK(err && strstr(err, "VM is not running"));
        err = mfree(err);
        r = b->request_shutdown(&e.opts, &h, &err);
        CHECK(r == -EBADMSG);
        CHECK_ERROR(err, "cloud-hypervisor: PUT vm.power-button: ");
        err = mfree(err);

        /* A missing kernel fails vm.boot (vm.create checks nothing). */
        char missing[PATH_MAX];
        snprintf(missing, sizeof missing, "%s/no-such-vmlinux", tmpdir);
        e.config.kernel_path = missing;
        r = b->boot(&e.opts, &e.spec, &h, &err);
        CHECK(r == -EBADMSG);
        CHECK_ERROR(err, "cloud-hypervisor: PUT vm.boot: 500: Error from API: ");
        err = mfree(err);
        CHECK(b->query(&e.opts, &h, &state, &err) == 0 && state == VMM_STATE_NOT_STARTED);

        /* So does a missing disk. */
        e.config.kernel_path = e.kernel;
        e.disks[0].path = missing;
        r = b->boot(&e.opts, &e.spec, &h, &err);
        CHECK(r == -EBADMSG);
        CHECK_ERROR(err, "cloud-hypervisor: PUT vm.boot: ");
        err = mfree(err);
        e.disks[0].path = e.data;

        /* Boot, retried on the same VMM: the failed config it still holds is
         * replaced by ours. */
        r = b->boot(&e.opts, &e.spec, &h, &err);
        SHOW(r, err, "boot");
        CHECK(r == 0);
        err = mfree(err);
        CHECK(b->query(&e.opts, &h, &state, &err) == 0 && state == VMM_STATE_RUNNING);
        _cleanup_json_ json_t *cfg = vm_info_config(e.sock);
        CHECK(cfg);
        CHECK(json_at_is(cfg, "cpus.boot_vcpus", "1"));
        CHECK(json_at_is(cfg, "cpus.max_vcpus", "2"));
        CHECK(json_at_is(cfg, "memory.size", "134217728"));
        CHECK(json_at_is(cfg, "payload.kernel", e.kernel));
        CHECK(json_at_is(cfg, "payload.cmdline", "root=/dev/vda rw console=ttyS0 reboot=k panic=1"));
        CHECK(json_at_is(cfg, "disks.0.id", "rootfs"));
        CHECK(json_at_is(cfg, "disks.0.path", e.rootfs));
        CHECK(json_at_is(cfg, "disks.0.readonly", "false"));
        CHECK(json_at_is(cfg, "disks.1.id", "data_1"));
        CHECK(json_at_is(cfg, "disks.1.path", e.data));
        CHECK(json_at_is(cfg, "disks.1.readonly", "true"));
        CHECK(json_at_is(cfg, "serial.mode", "Tty"));
        CHECK(json_at_is(cfg, "console.mode", "Off"));
        /* The guest's ttyS0 (console=ttyS0) lands in console.log, after what was there. */
        for (int i = 0; i < 200 && stat(console_path, &console_st) == 0 && console_st.st_size <= 14; i++)
                usleep(10000);
        CHECK(read_full_file(console_path, 1 << 20, &text, NULL) == 0 &&
              strncmp(text, "previous boot\n", 14) == 0 && strlen(text) > 14);
        text = mfree(text);

        /* Idempotent: booting a running VM sends nothing and succeeds. */
        CHECK(b->boot(&e.opts, &e.spec, &h, &err) == 0);
        CHECK(err == NULL);

        /* Pause / resume, each twice (Cloud Hypervisor refuses the second; a
         * step re-run after a crash must not fail). */
        CHECK(b->pause(&e.opts, &h, &err) == 0);
        CHECK(b->query(&e.opts, &h, &state, &err) == 0 && state == VMM_STATE_PAUSED);
        r = b->pause(&e.opts, &h, &err);
        SHOW(r, err, "pause again");
        CHECK(r == 0);
        CHECK(b->boot(&e.opts, &e.spec, &h, &err) == 0); /* paused counts as booted */
        CHECK(b->resume(&e.opts, &h, &err) == 0);
        r = b->resume(&e.opts, &h, &err);
        SHOW(r, err, "resume again");
        CHECK(r == 0);
        CHECK(b->query(&e.opts, &h, &state, &err) == 0 && state == VMM_STATE_RUNNING);
        CHECK(err == NULL);

        /* After vm.shutdown (another client's) the config is kept: Created, and
         * boot boots again. */
        CHECK(api(e.sock, "PUT", "vm.shutdown", NULL, NULL) == 204);
        CHECK(b->query(&e.opts, &h, &state, &err) == 0 && state == VMM_STATE_NOT_STARTED);
        r = b->boot(&e.opts, &e.spec, &h, &err);
        SHOW(r, err, "boot after vm.shutdown");
        CHECK(r == 0);
        err = mfree(err);
        CHECK(b->query(&e.opts, &h, &state, &err) == 0 && state == VMM_STATE_RUNNING);

        /* API timeout: a stopped VMM accepts connections but never answers. */
        BackendOptions quick = e.opts;
        quick.api_timeout_ms = 300;
        CHECK(kill(h.pid, SIGSTOP) == 0);
        uint64_t t0 = now_mono_us();
        r = b->query(&quick, &h, &state, &err);
        CHECK(r == -ETIMEDOUT);
        CHECK(elapsed_ms(t0) >= 290 && elapsed_ms(t0) < 2000);
        CHECK_ERROR(err, "cloud-hypervisor: GET vmm.ping: ");
        err = mfree(err);
        r = b->pause(&quick, &h, &err);
        CHECK(r == -ETIMEDOUT);
        CHECK_ERROR(err, "cloud-hypervisor: PUT vm.pause: ");
        err = mfree(err);
        CHECK(kill(h.pid, SIGCONT) == 0);
        r = b->query(&e.opts, &h, &state, &err);
        CHECK(r == 0);
        /* The pause that timed out may have been served after SIGCONT. */
        CHECK(state == VMM_STATE_RUNNING || state == VMM_STATE_PAUSED);
        CHECK(b->resume(&e.opts, &h, &err) == 0);
        err = mfree(err);

        /* The pid cross-check: a recorded "VMM" that is alive and names the
         * socket, but is not what answers on it. */
        VmmHandle impostor = { 0 };
        char *const fake_argv[] = { "/bin/sh", "-c", "kill -STOP $$", "sh", "--api-socket", api_arg, NULL };
        REQUIRE(vmm_spawn(fake_argv, tmpdir, "/dev/null", &impostor.pid, &impostor.start_time) == 0);
        REQUIRE(strlen(e.sock) < sizeof impostor.socket_path);
        memcpy(impostor.socket_path, e.sock, strlen(e.sock) + 1);
        CHECK(vmm_is_alive(impostor.pid, impostor.start_time, impostor.socket_path));
        r = b->query(&e.opts, &impostor, &state, &err);
        CHECK(r == -EPROTO);
        CHECK_ERROR(err, "cloud-hypervisor: GET vmm.ping: the API socket is served by pid ");
        err = mfree(err);
        CHECK(vmm_kill(impostor.pid, impostor.start_time, NULL, 5000) == 0);
        CHECK(reap(impostor.pid) != -1);

        /* Spawning while a live VMM owns the socket kills it first: never two. */
        r = b->spawn(&e.opts, &e.spec, &h2, &err);
        SHOW(r, err, "respawn");
        REQUIRE(r == 0);
        CHECK(h2.pid != h.pid);
        CHECK(!vmm_is_alive(h.pid, h.start_time, h.socket_path));
        CHECK(vmm_is_alive(h2.pid, h2.start_time, h2.socket_path));
        CHECK(vmm_find_by_cmdline(e.sock, &found) == 0 && found == h2.pid);
        CHECK(count_socket_owners(e.sock) == 1);
        int status = reap(h.pid);
        CHECK(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        CHECK(b->query(&e.opts, &h, &state, &err) == -ESRCH && state == VMM_STATE_GONE);
        CHECK_ERROR(err, "cloud-hypervisor: process ");
        err = mfree(err);
        CHECK(b->query(&e.opts, &h2, &state, &err) == 0 && state == VMM_STATE_NOT_STARTED);

        /* A config another client created is replaced by ours at boot. */
        _cleanup_free_ char *other =
                strdup_printf("{\"cpus\":{\"boot_vcpus\":3,\"max_vcpus\":3},\"memory\":{\"size\":268435456},"
                              "\"payload\":{\"kernel\":\"%s\"}}",
                              e.kernel);
        CHECK(other && api(e.sock, "PUT", "vm.create", other, NULL) == 204);
        CHECK(b->query(&e.opts, &h2, &state, &err) == 0 && state == VMM_STATE_NOT_STARTED);
        r = b->boot(&e.opts, &e.spec, &h2, &err);
        SHOW(r, err, "boot over another config");
        CHECK(r == 0);
        err = mfree(err);
        json_decref(cfg);
        cfg = vm_info_config(e.sock);
        CHECK(json_at_is(cfg, "cpus.boot_vcpus", "1"));
        CHECK(json_at_is(cfg, "disks.0.id", "rootfs"));

        /* A guest shutdown: the power button, and the process exits by itself. */
        r = b->request_shutdown(&e.opts, &h2, &err);
        SHOW(r, err, "request_shutdown");
        CHECK(r == 0);
        err = mfree(err);
        CHECK(vmm_wait_exit(h2.pid, h2.start_time, 5000, NULL) == 0);
        CHECK(b->query(&e.opts, &h2, &state, &err) == -ESRCH && state == VMM_STATE_GONE);
        err = mfree(err);
        CHECK(b->pause(&e.opts, &h2, &err) == -ESRCH);
        CHECK_ERROR(err, "cloud-hypervisor: PUT vm.pause: process ");
        err = mfree(err);
        status = reap(h2.pid);
        CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
                fprintf(stderr, "  chsim after vm.power-button: wait status 0x%x\n", status);

        /* A stale socket file (or anything there) is removed first. */
        (void) unlink(e.sock);
        CHECK(write_file(e.sock, "stale", 0600) == 0);
        r = b->spawn(&e.opts, &e.spec, &h3, &err);
        SHOW(r, err, "spawn over a stale socket");
        CHECK(r == 0);
        err = mfree(err);
        if (r == 0) {
                CHECK(b->query(&e.opts, &h3, &state, &err) == 0 && state == VMM_STATE_NOT_STARTED);
                CHECK(vmm_kill(h3.pid, h3.start_time, h3.socket_path, 5000) == 0);
                status = reap(h3.pid);
                CHECK(status != -1 && WIFSIGNALED(status));
        }
}

/* Timeouts at a VMM that stops answering mid-way (CHSIM_HANG_ON: its API
 * thread stuck behind the VMM thread) or never answers (CHSIM_HANG). */
static void test_hangs(const char *chsim) {
        const Backend *b = &backend_cloud_hypervisor;
        _cleanup_free_ char *err = NULL;
        VmmHandle h = { 0 };
        VmmState state;
        Env e;

        REQUIRE(env_init(&e, "hang", chsim) == 0);
        e.opts.api_timeout_ms = 400;

        REQUIRE(setenv("CHSIM_HANG_ON", "vm.boot", 1) == 0);
        int r = b->spawn(&e.opts, &e.spec, &h, &err);
        (void) unsetenv("CHSIM_HANG_ON");
        SHOW(r, err, "spawn");
        REQUIRE(r == 0);
        uint64_t t0 = now_mono_us();
        r = b->boot(&e.opts, &e.spec, &h, &err);
        CHECK(r == -ETIMEDOUT);
        CHECK(elapsed_ms(t0) >= 390 && elapsed_ms(t0) < 3000);
        CHECK_ERROR(err, "cloud-hypervisor: PUT vm.boot: ");
        err = mfree(err);
        r = b->query(&e.opts, &h, &state, &err);
        CHECK(r == -ETIMEDOUT);
        CHECK_ERROR(err, "cloud-hypervisor: GET vmm.ping: ");
        err = mfree(err);
        CHECK(vmm_kill(h.pid, h.start_time, h.socket_path, 5000) == 0);
        CHECK(reap(h.pid) != -1);

        h = (VmmHandle){ 0 };
        REQUIRE(setenv("CHSIM_HANG", "1", 1) == 0);
        t0 = now_mono_us();
        r = b->spawn(&e.opts, &e.spec, &h, &err);
        (void) unsetenv("CHSIM_HANG");
        CHECK(r == -ETIMEDOUT);
        CHECK(elapsed_ms(t0) >= 390 && elapsed_ms(t0) < 3000);
        CHECK_ERROR(err, "cloud-hypervisor: API socket ");
        CHECK(err && strstr(err, "did not answer within 400 ms"));
        CHECK(h.pid == 0);
        int status = reap(-1);
        CHECK(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* A "cloud-hypervisor" that runs the simulator as its child instead of
 * exec'ing it: the pid answering vmm.ping is not the one spawned. The start
 * fails, and nothing is left holding the socket. */
static void test_wrapper(const char *chsim) {
        const Backend *b = &backend_cloud_hypervisor;
        _cleanup_free_ char *err = NULL, *text = NULL;
        char script[PATH_MAX], abs_chsim[PATH_MAX];
        VmmHandle h = { 0 };
        pid_t found;
        Env e;

        REQUIRE(env_init(&e, "wrap", "/bin/true") == 0);
        REQUIRE(realpath(chsim, abs_chsim)); /* the script runs in the run_dir */
        snprintf(script, sizeof script, "%s/wrapper.sh", tmpdir);
        text = strdup_printf("#!/bin/sh\n\"%s\" \"$@\"\n", abs_chsim);
        REQUIRE(text && write_file(script, text, 0755) == 0);
        e.opts.cloud_hypervisor_binary = script;
        int r = b->spawn(&e.opts, &e.spec, &h, &err);
        CHECK(r == -EPROTO);
        CHECK_ERROR(err, "cloud-hypervisor: GET vmm.ping: the API socket is served by pid ");
        CHECK(h.pid == 0);
        CHECK(vmm_find_by_cmdline(e.sock, &found) == -ESRCH);
        CHECK(access(e.sock, F_OK) < 0 && errno == ENOENT);
        int status = reap(-1); /* the wrapper; the simulator was reparented */
        CHECK(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

int main(void) {
        const char *chsim = getenv("CHSIM");

        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return EXIT_FAILURE;
        }
        signal(SIGPIPE, SIG_IGN);
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                fprintf(stderr, "curl_global_init failed\n");
                return EXIT_FAILURE;
        }

        test_cmdline();
        test_config_json();
        test_decoders();
        test_backend_table();
        test_spawn_failures();

        bool skipped = false;
        if (isempty(chsim)) {
                printf("test-cloud-hypervisor: CHSIM is not set: skipping the tests against the Cloud "
                       "Hypervisor simulator (set CHSIM=<path to build/tools/chsim>)\n");
                skipped = true;
        } else {
                test_chsim(chsim);
                test_hangs(chsim);
                test_wrapper(chsim);
        }

        CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD); /* nothing left behind */
        (void) rm_rf(tmpdir);
        curl_global_cleanup();
        if (test_failures) {
                fprintf(stderr, "test-cloud-hypervisor: %d check(s) failed\n", test_failures);
                return EXIT_FAILURE;
        }
        if (skipped)
                return 77;
        printf("test-cloud-hypervisor: all checks passed\n");
        return EXIT_SUCCESS;
}
