/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for the QEMU backend:
 *  1. the pure builders and decoders (qemu.h): kernel command line, argv,
 *     startup errors, QMP messages (events interleaved, errors' desc),
 *     query-status;
 *  2. the QMP client (qmp_call) against a tiny fake QMP server in a thread:
 *     greeting, negotiation, events and foreign answers skipped, messages
 *     split anywhere, QEMU's error words, and every way it can fail in time;
 *  3. spawn failures with fake "qemu" scripts (QEMU's words, only this
 *     start's; the errno for each kind of failure; nothing left running),
 *     and with the real qemu-system-x86_64 when there is one (a missing
 *     kernel). The whole lifecycle on a real guest is in
 *     test-backend-contract (row "qemu") and tests/integration/test-qemu.sh.
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "hv/backend-util.h"
#include "hv/qemu.h"
#include "hv/vmm-process.h"
#include "test-helpers.h"
#include "test.h"

static char tmpdir[] = "/tmp/tqemu-XXXXXX"; /* short: socket paths must fit 108 bytes */

/* Print a message a failed call left, to make CHECK failures readable. */
static void show(const char *what, int r, const char *err) {
        printf("  %s: %d %s\n", what, r, err ? err : "(no message)");
}

/* ---- 1. pure builders and decoders ---- */

/* qemu_kernel_cmdline of a config with args and (optionally) one root disk. */
static void check_cmdline(const char *args, bool with_root, bool readonly, unsigned tsc_khz,
                          const char *expect) {
        VmDisk d = {
                .id = "rootfs", .path = "/a/rootfs.ext4", .readonly = readonly, .is_root_device = true
        };
        VmConfig c = { .vcpu_count = 1,
                       .memory_bytes = 128ull << 20,
                       .kernel_path = "/a/vmlinux",
                       .kernel_args = (char *) args,
                       .disks = with_root ? &d : NULL,
                       .n_disks = with_root };
        _cleanup_free_ char *s = qemu_kernel_cmdline(&c, "vm-1", tsc_khz);
        CHECK_STREQ(s, expect);
}

static void test_cmdline(void) {
        /* The seed's Firecracker-style arguments: kept (pci=off is right for
         * microvm), root= first, our id, and the guest's TSC rate under TCG last. */
        check_cmdline("console=ttyS0 reboot=k panic=1 pci=off", true, false, 2596122,
                      "root=/dev/vda rw console=ttyS0 reboot=k panic=1 pci=off metald.vm_id=vm-1 "
                      "tsc_early_khz=2596122");
        /* KVM (no rate) needs no TSC fix. */
        check_cmdline("console=ttyS0", true, false, 0, "root=/dev/vda rw console=ttyS0 metald.vm_id=vm-1");
        check_cmdline(NULL, true, true, 0, "root=/dev/vda ro metald.vm_id=vm-1");
        check_cmdline("", false, false, 0, "metald.vm_id=vm-1");
        /* The caller's root= and tsc_early_khz= win; rootfstype= is not a root=. */
        check_cmdline("root=/dev/vdb ro tsc_early_khz=1000000", true, false, 2000000,
                      "root=/dev/vdb ro tsc_early_khz=1000000 metald.vm_id=vm-1");
        check_cmdline("rootfstype=ext4", true, false, 0,
                      "root=/dev/vda rw rootfstype=ext4 metald.vm_id=vm-1");
        /* After "--" everything belongs to init: ours goes before it. */
        check_cmdline(
                "console=ttyS0 -- root=x single", true, false, 2000000,
                "root=/dev/vda rw console=ttyS0 metald.vm_id=vm-1 tsc_early_khz=2000000 -- root=x single");
        check_cmdline("--", false, false, 0, "metald.vm_id=vm-1 --");
        /* Quoted blanks stay inside their parameter; other blanks collapse. */
        check_cmdline("  dyndbg=\"file a.c +p\"   quiet\t", false, false, 0,
                      "dyndbg=\"file a.c +p\" quiet metald.vm_id=vm-1");
}

static void test_opt_escape(void) {
        _cleanup_free_ char *a = qemu_opt_escape("/a,b,,c");
        _cleanup_free_ char *b = qemu_opt_escape("");
        _cleanup_free_ char *c = qemu_opt_escape("/plain/path");
        CHECK_STREQ(a, "/a,,b,,,,c");
        CHECK_STREQ(b, "");
        CHECK_STREQ(c, "/plain/path");
}

/* argv joined with '|' (arguments may hold blanks). */
static char *argv_join(char **argv) {
        size_t n = 1;
        for (char **p = argv; *p; p++)
                n += strlen(*p) + 1;
        char *s = calloc(1, n);
        if (!s)
                return NULL;
        for (char **p = argv; *p; p++) {
                if (p != argv)
                        strcat(s, "|");
                strcat(s, *p);
        }
        return s;
}

static void test_argv(void) {
        VmDisk disks[] = {
                { .id = "data_1", .path = "/a/da,ta.img", .readonly = true },
                { .id = "rootfs", .path = "/a/rootfs.ext4", .is_root_device = true },
        };
        VmConfig c = {
                .vcpu_count = 2,
                .memory_bytes = 512ull << 20,
                .kernel_path = "/a/vmlinux",
                .kernel_args = "console=ttyS0 reboot=k panic=1 pci=off",
                .initrd_path = "/a/initrd",
                .disks = disks,
                .n_disks = 2,
        };
        QemuLaunch l = {
                .binary = "/usr/bin/qemu-system-x86_64",
                .vm_id = "vm-1",
                .socket_path = "/run/metald/vm-1/api.sock",
                .console_path = "/run/metald/vm-1/console.log",
                .pid_path = "/run/metald/vm-1/qemu.pid",
                .config = &c,
                .tsc_khz = 2596122,
        };

        char **argv = qemu_argv(&l);
        CHECK(argv != NULL);
        if (!argv)
                return;
        _cleanup_free_ char *s = argv_join(argv);
        /* TCG; the root disk first; the data disk read-only, its comma escaped. */
        CHECK_STREQ(s, "/usr/bin/qemu-system-x86_64|-name|vm-1|-machine|" QEMU_MACHINE "|-accel|tcg|"
                       "-nodefaults|-no-user-config|-nographic|-no-reboot|-sandbox|" QEMU_SANDBOX
                       "|-S|-m|512|-smp|2|"
                       "-kernel|/a/vmlinux|-initrd|/a/initrd|-append|"
                       "root=/dev/vda rw console=ttyS0 reboot=k panic=1 pci=off metald.vm_id=vm-1 "
                       "tsc_early_khz=2596122|"
                       "-drive|id=drive-rootfs,file=/a/rootfs.ext4,format=raw,if=none|"
                       "-device|virtio-blk-device,drive=drive-rootfs|"
                       "-drive|id=drive-data_1,file=/a/da,,ta.img,format=raw,if=none,readonly=on|"
                       "-device|virtio-blk-device,drive=drive-data_1|"
                       "-chardev|file,id=console,path=/run/metald/vm-1/console.log,append=on|"
                       "-serial|chardev:console|"
                       "-chardev|socket,id=qmp,path=/run/metald/vm-1/api.sock,server=on,wait=off|"
                       "-mon|chardev=qmp,mode=control|-pidfile|/run/metald/vm-1/qemu.pid");
        argv = qemu_argv_free(argv);

        /* KVM: -cpu host, no TSC rate (even if one is given); no initrd, no disks. */
        VmConfig m = { .vcpu_count = 1, .memory_bytes = 128ull << 20, .kernel_path = "/a/vmlinux" };
        l.config = &m;
        l.kvm = true;
        argv = qemu_argv(&l);
        CHECK(argv != NULL);
        if (!argv)
                return;
        _cleanup_free_ char *t = argv_join(argv);
        CHECK_STREQ(t,
                    "/usr/bin/qemu-system-x86_64|-name|vm-1|-machine|" QEMU_MACHINE "|-accel|kvm|-cpu|host|"
                    "-nodefaults|-no-user-config|-nographic|-no-reboot|-sandbox|" QEMU_SANDBOX
                    "|-S|-m|128|-smp|1|"
                    "-kernel|/a/vmlinux|-append|metald.vm_id=vm-1|"
                    "-chardev|file,id=console,path=/run/metald/vm-1/console.log,append=on|"
                    "-serial|chardev:console|"
                    "-chardev|socket,id=qmp,path=/run/metald/vm-1/api.sock,server=on,wait=off|"
                    "-mon|chardev=qmp,mode=control|-pidfile|/run/metald/vm-1/qemu.pid");
        argv = qemu_argv_free(argv);
        CHECK(qemu_argv_free(NULL) == NULL);
}

static void test_startup_errno(void) {
        CHECK_INTEQ(qemu_startup_errno(NULL), -ESRCH);
        CHECK_INTEQ(qemu_startup_errno(""), -ESRCH);
        CHECK_INTEQ(qemu_startup_errno("qemu: could not open kernel file '/x': No such file or directory"),
                    -EBADMSG);
        CHECK_INTEQ(qemu_startup_errno("qemu-system-x86_64: -drive id=x,file=/y: Could not open '/y': "
                                       "Permission denied"),
                    -EBADMSG);
        CHECK_INTEQ(qemu_startup_errno("qemu-system-x86_64: cannot set up guest memory 'microvm.ram': "
                                       "Cannot allocate memory"),
                    -EIO);
        CHECK_INTEQ(qemu_startup_errno("x: Too many open files"), -EIO);
}

/* qmp_next_message over text: its result, the bytes used and the message. */
static int next_of(const char *text, size_t *used, json_t **msg) {
        *msg = NULL;
        return qmp_next_message(text, strlen(text), used, msg);
}

static void test_qmp_messages(void) {
        json_t *m = NULL;
        size_t used;

        /* One line, "\r\n" as QEMU ends them; a partial line is not a message. */
        const char *two = "{\"QMP\": {\"version\": {}, \"capabilities\": [\"oob\"]}}\r\n{\"return\": {}";
        CHECK_INTEQ(next_of(two, &used, &m), 1);
        CHECK_INTEQ(used, strchr(two, '\n') - two + 1);
        CHECK(qmp_message_kind(m) == QMP_KIND_GREETING);
        json_decref(m);
        CHECK_INTEQ(next_of(two + used, &used, &m), 0);
        CHECK_INTEQ(used, 0);
        CHECK_INTEQ(next_of("", &used, &m), 0);

        /* Blank lines are consumed, with or without a message after them. */
        CHECK_INTEQ(next_of("\r\n  \n", &used, &m), 0);
        CHECK_INTEQ(used, 5);
        CHECK_INTEQ(next_of("\n\r\n{\"event\": \"STOP\", \"timestamp\": {}}\n", &used, &m), 1);
        CHECK_INTEQ(used, 38);
        CHECK(qmp_message_kind(m) == QMP_KIND_EVENT);
        CHECK(!qmp_message_answers(m, "metald-cmd"));
        json_decref(m);

        /* Not a JSON object: -EPROTO, past the bad line. */
        CHECK_INTEQ(next_of("not json\r\n{}\n", &used, &m), -EPROTO);
        CHECK_INTEQ(used, 10);
        CHECK(m == NULL);
        CHECK_INTEQ(next_of("[1]\n", &used, &m), -EPROTO);

        /* No line end within QMP_MESSAGE_MAX bytes. */
        char *big = malloc(QMP_MESSAGE_MAX + 1);
        CHECK(big != NULL);
        if (big) {
                memset(big, 'x', QMP_MESSAGE_MAX);
                CHECK_INTEQ(qmp_next_message(big, QMP_MESSAGE_MAX, &used, &m), -EMSGSIZE);
                CHECK_INTEQ(qmp_next_message(big, QMP_MESSAGE_MAX - 1, &used, &m), 0);
                free(big);
        }

        /* Kinds, and which answer is whose. */
        static const struct {
                const char *json;
                QmpKind kind;
                bool answers; /* the answer to "metald-cmd" */
        } kinds[] = {
                { "{\"return\": {}, \"id\": \"metald-cmd\"}", QMP_KIND_RETURN, true },
                { "{\"return\": {\"status\": \"running\"}, \"id\": \"other\"}", QMP_KIND_RETURN, false },
                { "{\"return\": {}}", QMP_KIND_RETURN, false },
                { "{\"return\": {}, \"id\": 7}", QMP_KIND_RETURN, false },
                { "{\"error\": {\"class\": \"GenericError\", \"desc\": \"d\"}, \"id\": \"metald-cmd\"}",
                  QMP_KIND_ERROR, true },
                /* QEMU could not parse the command, so could not read its id. */
                { "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error\"}}",
                  QMP_KIND_ERROR, true },
                { "{\"error\": {\"class\": \"GenericError\", \"desc\": \"d\"}, \"id\": \"x\"}",
                  QMP_KIND_ERROR, false },
                { "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"RESUME\"}",
                  QMP_KIND_EVENT, false },
                { "{\"QMP\": {}}", QMP_KIND_GREETING, false },
                { "{\"something\": 1}", QMP_KIND_OTHER, false },
                { "{\"error\": \"not an object\"}", QMP_KIND_OTHER, false },
        };
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                json_t *j = json_loads(kinds[i].json, 0, NULL);
                CHECK(j != NULL);
                CHECK_INTEQ(qmp_message_kind(j), kinds[i].kind);
                CHECK_INTEQ(qmp_message_answers(j, "metald-cmd"), kinds[i].answers);
                json_decref(j);
        }
        CHECK(qmp_message_kind(NULL) == QMP_KIND_OTHER);

        /* QEMU's words: desc, else class, else the message. */
        static const struct {
                const char *json, *text;
        } words[] = {
                { "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Resetting the Virtual Machine is "
                  "required\"}}",
                  "Resetting the Virtual Machine is required" },
                { "{\"error\": {\"class\": \"CommandNotFound\"}}", "CommandNotFound" },
                { "{\"error\": {}}", "{\"error\":{}}" },
        };
        for (size_t i = 0; i < ELEMENTSOF(words); i++) {
                json_t *j = json_loads(words[i].json, 0, NULL);
                _cleanup_free_ char *t = qmp_error_text(j);
                CHECK_STREQ(t, words[i].text);
                json_decref(j);
        }

        /* Commands. */
        json_t *args = json_pack("{s:b}", "verbose", 1);
        json_t *cmd = qmp_command_json("cont", NULL, "metald-cmd");
        json_t *cmd2 = qmp_command_json("query-x", args, "i");
        _cleanup_free_ char *s1 = json_dumps(cmd, JSON_COMPACT | JSON_SORT_KEYS);
        _cleanup_free_ char *s2 = json_dumps(cmd2, JSON_COMPACT | JSON_SORT_KEYS);
        CHECK_STREQ(s1, "{\"execute\":\"cont\",\"id\":\"metald-cmd\"}");
        CHECK_STREQ(s2, "{\"arguments\":{\"verbose\":true},\"execute\":\"query-x\",\"id\":\"i\"}");
        CHECK(args->refcount == 2); /* shared, not consumed */
        json_decref(cmd);
        json_decref(cmd2);
        json_decref(args);
}

static void test_status(void) {
        static const struct {
                const char *json;
                int r;
                VmmState state;
        } cases[] = {
                { "{\"status\": \"prelaunch\", \"singlestep\": false, \"running\": false}", 0,
                  VMM_STATE_NOT_STARTED },
                { "{\"status\": \"running\", \"singlestep\": false, \"running\": true}", 0,
                  VMM_STATE_RUNNING },
                { "{\"status\": \"suspended\", \"running\": false}", 0, VMM_STATE_RUNNING },
                { "{\"status\": \"paused\", \"running\": false}", 0, VMM_STATE_PAUSED },
                { "{\"status\": \"io-error\", \"running\": false}", 0, VMM_STATE_PAUSED },
                { "{\"status\": \"internal-error\"}", 0, VMM_STATE_PAUSED },
                { "{\"status\": \"guest-panicked\"}", 0, VMM_STATE_PAUSED },
                { "{\"status\": \"shutdown\", \"running\": false}", 0, VMM_STATE_GONE },
                { "{\"status\": \"Running\"}", -EPROTO, 0 },
                { "{\"status\": 1}", -EPROTO, 0 },
                { "{}", -EPROTO, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                json_t *j = json_loads(cases[i].json, 0, NULL);
                VmmState st = (VmmState) 99;
                CHECK_INTEQ(qemu_status_from_json(j, &st), cases[i].r);
                CHECK_INTEQ(st, cases[i].r == 0 ? cases[i].state : (VmmState) 99);
                json_decref(j);
        }
        VmmState st;
        CHECK_INTEQ(qemu_status_from_json(NULL, &st), -EPROTO);
}

static void test_table(void) {
        CHECK(backend_find("qemu") == &backend_qemu);
        CHECK_STREQ(backend_qemu.name, "qemu");
        CHECK(backend_qemu.caps == 0); /* microvm: no hotplug */
        CHECK(backend_qemu.check_available && backend_qemu.spawn && backend_qemu.boot &&
              backend_qemu.pause && backend_qemu.resume && backend_qemu.request_shutdown &&
              backend_qemu.query);
}

/* ---- 2. the QMP client against a fake QMP server ---- */

typedef enum FakeMode {
        FAKE_NORMAL, /* events and a foreign answer before ours, split writes */
        FAKE_BYTEWISE, /* every message one byte at a time */
        FAKE_ERROR, /* the command is refused */
        FAKE_CAPS_ERROR, /* qmp_capabilities is refused */
        FAKE_SILENT, /* accepts, says nothing */
        FAKE_SLOW_ANSWER, /* greets and negotiates, never answers the command */
        FAKE_CLOSE, /* accepts and closes at once */
        FAKE_CLOSE_AFTER, /* closes instead of answering the command (QEMU exiting) */
        FAKE_GARBAGE, /* a greeting that is not JSON */
        FAKE_NOT_QMP, /* JSON, but no greeting */
        FAKE_HUGE, /* a message without end */
} FakeMode;

typedef struct Fake {
        int listen_fd;
        FakeMode mode;
        pthread_t thread;
        char got[4096]; /* the lines the client sent */
        size_t got_len;
} Fake;

static const char greeting[] =
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, \"package\": \"\"}, "
        "\"capabilities\": [\"oob\"]}}\r\n";

static void fake_send(int fd, const char *s, bool bytewise) {
        if (!bytewise) {
                (void) send(fd, s, strlen(s), MSG_NOSIGNAL);
                return;
        }
        for (; *s; s++)
                (void) send(fd, s, 1, MSG_NOSIGNAL);
}

/* Read one line from the client into f->got; its "id" (malloc'ed) or NULL. */
static char *fake_read_command(Fake *f, int fd) {
        char line[1024];
        size_t n = 0;
        while (n < sizeof line - 1) {
                ssize_t k = read(fd, line + n, 1);
                if (k <= 0)
                        return NULL;
                if (line[n++] == '\n')
                        break;
        }
        line[n] = 0;
        if (f->got_len + n < sizeof f->got) {
                memcpy(f->got + f->got_len, line, n + 1);
                f->got_len += n;
        }
        json_t *j = json_loads(line, 0, NULL);
        const char *id = json_string_value(json_object_get(j, "id"));
        char *r = id ? strdup(id) : NULL;
        json_decref(j);
        return r;
}

/* Send "{<body>, "id": "<id>"}\r\n". */
static void fake_answer(int fd, const char *body, const char *id, bool bytewise) {
        _cleanup_free_ char *s = strdup_printf("{%s, \"id\": \"%s\"}\r\n", body, id ? id : "");
        if (s)
                fake_send(fd, s, bytewise);
}

/* Wait until the client closes its end. */
static void fake_drain(int fd) {
        char buf[256];
        while (read(fd, buf, sizeof buf) > 0)
                ;
}

static void *fake_serve(void *userdata) {
        Fake *f = userdata;
        _cleanup_close_ int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
                return NULL;
        bool bytewise = f->mode == FAKE_BYTEWISE;

        switch (f->mode) {
        case FAKE_SILENT:
                fake_drain(fd);
                return NULL;
        case FAKE_CLOSE:
                return NULL;
        case FAKE_GARBAGE:
                fake_send(fd, "Welcome to something else\r\n", false);
                fake_drain(fd);
                return NULL;
        case FAKE_NOT_QMP:
                fake_send(fd, "{\"hello\": \"world\"}\r\n", false);
                fake_drain(fd);
                return NULL;
        case FAKE_HUGE: {
                fake_send(fd, greeting, false);
                _cleanup_free_ char *junk = malloc(64 * 1024);
                if (!junk)
                        return NULL;
                memset(junk, ' ', 64 * 1024);
                junk[0] = '{';
                /* Until the client gives up and closes (EPIPE then). */
                for (size_t sent = 0; sent < 2 * QMP_MESSAGE_MAX;) {
                        ssize_t k = send(fd, junk, 64 * 1024, MSG_NOSIGNAL);
                        if (k <= 0)
                                break;
                        sent += (size_t) k;
                }
                fake_drain(fd);
                return NULL;
        }
        default:
                break;
        }

        fake_send(fd, greeting, bytewise);
        _cleanup_free_ char *caps_id = fake_read_command(f, fd);
        if (f->mode == FAKE_CAPS_ERROR) {
                fake_answer(fd, "\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"no caps today\"}",
                            caps_id, false);
                fake_drain(fd);
                return NULL;
        }
        /* An event may come at any time, even before the negotiation's answer. */
        fake_send(fd,
                  "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 0}, \"event\": "
                  "\"NIC_RX_FILTER_CHANGED\"}\r\n",
                  bytewise);
        fake_answer(fd, "\"return\": {}", caps_id, bytewise);
        _cleanup_free_ char *cmd_id = fake_read_command(f, fd);

        switch (f->mode) {
        case FAKE_SLOW_ANSWER:
                fake_drain(fd);
                break;
        case FAKE_CLOSE_AFTER:
                break;
        case FAKE_ERROR:
                fake_answer(fd,
                            "\"error\": {\"class\": \"GenericError\", \"desc\": \"Resetting the Virtual "
                            "Machine is "
                            "required\"}",
                            cmd_id, bytewise);
                fake_drain(fd);
                break;
        default:
                fake_send(fd,
                          "{\"timestamp\": {\"seconds\": 2, \"microseconds\": 5}, \"event\": \"STOP\"}\r\n",
                          bytewise);
                fake_answer(fd, "\"return\": {\"status\": \"running\", \"running\": true}", "someone-else",
                            bytewise);
                /* Our answer split mid-line, an event right behind it in the same write. */
                fake_send(fd, "{\"return\": {\"status\": \"paused\", \"singlestep\": false, ", bytewise);
                usleep(20000);
                _cleanup_free_ char *rest = strdup_printf(
                        "\"running\": false}, \"id\": \"%s\"}\r\n{\"timestamp\": {\"seconds\": 3, "
                        "\"microseconds\": 0}, \"event\": \"RESUME\"}\r\n",
                        cmd_id ? cmd_id : "");
                if (rest)
                        fake_send(fd, rest, bytewise);
                fake_drain(fd);
                break;
        }
        return NULL;
}

/* A listening socket at path for the fake. */
static int fake_listen(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        (void) unlink(path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(fd, 4) < 0) {
                perror("fake_listen");
                return safe_close(fd);
        }
        return fd;
}

/* qmp_call against a fake in mode; the result, *ret_return, *ret_error. */
static int call_fake(Fake *f, const char *sock, FakeMode mode, const char *command, const json_t *args,
                     unsigned timeout_ms, json_t **ret_return, char **ret_error) {
        f->mode = mode;
        f->got_len = 0;
        f->got[0] = 0;
        if (pthread_create(&f->thread, NULL, fake_serve, f) != 0)
                return -EAGAIN;
        int r = qmp_call(sock, command, args, timeout_ms, ret_return, ret_error);
        pthread_join(f->thread, NULL);
        return r;
}

static void test_qmp_client(void) {
        char sock[PATH_MAX];
        Fake f = { .listen_fd = -EBADF };
        json_t *ret = NULL;
        char *err = NULL;
        uint64_t t0;
        int r;

        snprintf(sock, sizeof sock, "%s/qmp.sock", tmpdir);
        f.listen_fd = fake_listen(sock);
        CHECK(f.listen_fd >= 0);
        if (f.listen_fd < 0)
                return;

        /* Events and a foreign answer are skipped; the answer is ours, whole. */
        json_t *args = json_pack("{s:s}", "device", "drive-rootfs");
        r = call_fake(&f, sock, FAKE_NORMAL, "query-status", args, 2000, &ret, &err);
        CHECK_INTEQ(r, 0);
        CHECK(err == NULL);
        CHECK_STREQ(json_string_value(json_object_get(ret, "status")), "paused");
        /* What QEMU got: the negotiation, then the command with its arguments. */
        CHECK_STREQ(f.got, "{\"execute\":\"qmp_capabilities\",\"id\":\"metald-caps\"}\n"
                           "{\"execute\":\"query-status\",\"id\":\"metald-cmd\",\"arguments\":{\"device\":"
                           "\"drive-rootfs\"}}\n");
        json_decref(args);
        ret = (json_decref(ret), NULL);

        /* ret_return may be NULL; messages that arrive a byte at a time. */
        r = call_fake(&f, sock, FAKE_BYTEWISE, "cont", NULL, 5000, NULL, &err);
        CHECK_INTEQ(r, 0);
        CHECK(err == NULL);

        /* Refused: -EBADMSG with QEMU's desc. */
        r = call_fake(&f, sock, FAKE_ERROR, "cont", NULL, 2000, &ret, &err);
        CHECK_INTEQ(r, -EBADMSG);
        CHECK(ret == NULL);
        CHECK_STREQ(err, "qemu: cont: Resetting the Virtual Machine is required");
        err = mfree(err);

        r = call_fake(&f, sock, FAKE_CAPS_ERROR, "stop", NULL, 2000, NULL, &err);
        CHECK_INTEQ(r, -EPROTO);
        CHECK_STREQ(err, "qemu: stop: qmp_capabilities: no caps today");
        err = mfree(err);

        /* Silent: bounded by the timeout, at every stage. */
        t0 = now_mono_us();
        r = call_fake(&f, sock, FAKE_SILENT, "stop", NULL, 300, NULL, &err);
        CHECK_INTEQ(r, -ETIMEDOUT);
        CHECK(elapsed_ms(t0) >= 290 && elapsed_ms(t0) < 2000);
        show("silent", r, err);
        CHECK(err && strstr(err, "qemu: stop: no answer on ") && strstr(err, "within 300 ms"));
        err = mfree(err);
        t0 = now_mono_us();
        r = call_fake(&f, sock, FAKE_SLOW_ANSWER, "system_powerdown", NULL, 300, NULL, &err);
        CHECK_INTEQ(r, -ETIMEDOUT);
        CHECK(elapsed_ms(t0) >= 290 && elapsed_ms(t0) < 2000);
        err = mfree(err);

        /* Closed: -ECONNRESET (QEMU is exiting). */
        r = call_fake(&f, sock, FAKE_CLOSE, "stop", NULL, 2000, NULL, &err);
        CHECK_INTEQ(r, -ECONNRESET);
        show("closed", r, err);
        CHECK(err && strstr(err, "qemu: stop: QEMU closed the QMP connection on "));
        err = mfree(err);
        r = call_fake(&f, sock, FAKE_CLOSE_AFTER, "system_powerdown", NULL, 2000, NULL, &err);
        CHECK_INTEQ(r, -ECONNRESET);
        err = mfree(err);

        /* Not QMP. */
        r = call_fake(&f, sock, FAKE_GARBAGE, "stop", NULL, 2000, NULL, &err);
        CHECK_INTEQ(r, -EPROTO);
        show("garbage", r, err);
        CHECK(err && strstr(err, "does not speak QMP"));
        err = mfree(err);
        r = call_fake(&f, sock, FAKE_NOT_QMP, "stop", NULL, 2000, NULL, &err);
        CHECK_INTEQ(r, -EPROTO);
        err = mfree(err);
        t0 = now_mono_us();
        r = call_fake(&f, sock, FAKE_HUGE, "stop", NULL, 5000, NULL, &err);
        CHECK_INTEQ(r, -EPROTO);
        CHECK(elapsed_ms(t0) < 5000);
        show("huge", r, err);
        err = mfree(err);

        f.listen_fd = safe_close(f.listen_fd);

        /* A socket file nobody listens on (QEMU killed): -ECONNREFUSED; none: -ENOENT. */
        r = qmp_call(sock, "stop", NULL, 1000, NULL, &err);
        CHECK_INTEQ(r, -ECONNREFUSED);
        show("refused", r, err);
        CHECK(err && strncmp(err, "qemu: stop: ", 12) == 0);
        err = mfree(err);
        (void) unlink(sock);
        r = qmp_call(sock, "stop", NULL, 1000, NULL, &err);
        CHECK_INTEQ(r, -ENOENT);
        err = mfree(err);
        char longpath[200];
        memset(longpath, 'a', sizeof longpath - 1);
        longpath[0] = '/';
        longpath[sizeof longpath - 1] = 0;
        CHECK_INTEQ(qmp_call(longpath, "stop", NULL, 1000, NULL, &err), -ENAMETOOLONG);
        err = mfree(err);
}

/* ---- 3. spawn failures ---- */

/* Reap every child that has exited or exits within a moment. */
static void reap_children(void) {
        for (int i = 0; i < 50; i++) {
                pid_t p = waitpid(-1, NULL, WNOHANG);
                if (p < 0)
                        return; /* ECHILD: none left */
                if (p == 0)
                        usleep(20000);
        }
}

/* A fake "qemu": a shell script that does body (with "$@" the argv). */
static void make_fake(const char *path, const char *body) {
        _cleanup_free_ char *text = strdup_printf("#!/bin/sh\n%s\n", body);
        CHECK(text && write_file(path, text, 0755) == 0);
}

static void test_spawn_failures(void) {
        char run_dir[PATH_MAX], fake[PATH_MAX], kernel[PATH_MAX], console[PATH_MAX + 16];
        VmmHandle h = { 0 };
        char *err = NULL;
        int r;

        snprintf(run_dir, sizeof run_dir, "%s/vm", tmpdir);
        snprintf(fake, sizeof fake, "%s/fake-qemu", tmpdir);
        snprintf(kernel, sizeof kernel, "%s/vmlinux", tmpdir);
        snprintf(console, sizeof console, "%s/console.log", run_dir);
        CHECK(mkdir(run_dir, 0700) == 0);
        CHECK(write_file(kernel, "\177ELF not a kernel", 0644) == 0);

        VmConfig c = { .vcpu_count = 1, .memory_bytes = 128ull << 20, .kernel_path = kernel };
        VmmSpec spec = { .vm_id = "vm-fail", .run_dir = run_dir, .config = &c };
        BackendOptions o = { .qemu_binary = fake, .api_timeout_ms = 1000 };

        /* No binary. */
        BackendOptions none = { .qemu_binary = "/nonexistent/qemu-system-x86_64" };
        CHECK_INTEQ(backend_qemu.check_available(&none, &err), -ENOENT);
        CHECK(err && strncmp(err, "qemu: ", 6) == 0);
        err = mfree(err);
        CHECK_INTEQ(backend_qemu.spawn(&none, &spec, &h, &err), -ENOENT);
        err = mfree(err);

        /* What microvm cannot do, and what cannot be named on its command line. */
        c.max_vcpu_count = 4;
        make_fake(fake, "exit 0");
        CHECK_INTEQ(backend_qemu.spawn(&o, &spec, &h, &err), -EOPNOTSUPP);
        CHECK_STREQ(err, "qemu: CPU and memory hotplug are not supported (machine microvm)");
        err = mfree(err);
        c.max_vcpu_count = 0;
        spec.vm_id = "vm,1";
        CHECK_INTEQ(backend_qemu.spawn(&o, &spec, &h, &err), -EINVAL);
        err = mfree(err);
        spec.vm_id = "vm-fail";
        VmmSpec comma = { .vm_id = "vm-fail", .run_dir = "/tmp/a,b", .config = &c };
        CHECK_INTEQ(backend_qemu.spawn(&o, &comma, &h, &err), -EINVAL);
        CHECK(err && strstr(err, "contains a ','"));
        err = mfree(err);

        /* QEMU refuses its command line: its words, only this start's, -EBADMSG. */
        CHECK(write_file(console, "metald-guest: a line from an earlier boot\n", 0600) == 0);
        make_fake(fake,
                  "echo \"qemu: could not open kernel file '/x': No such file or directory\" >&2; exit 1");
        r = backend_qemu.spawn(&o, &spec, &h, &err);
        show("refused", r, err);
        CHECK_INTEQ(r, -EBADMSG);
        CHECK(err && strncmp(err, "qemu: process ", 14) == 0 &&
              strstr(err, " exited during startup: qemu: could not open kernel file '/x': No such file or "
                          "directory") &&
              !strstr(err, "earlier boot"));
        err = mfree(err);
        reap_children();

        /* A host shortage may pass: -EIO. */
        make_fake(fake, "echo \"qemu: cannot set up guest memory 'microvm.ram': Cannot allocate memory\" "
                        ">&2; exit 1");
        CHECK_INTEQ(backend_qemu.spawn(&o, &spec, &h, &err), -EIO);
        err = mfree(err);
        reap_children();

        /* Killed without a word: -ESRCH. */
        make_fake(fake, "kill -9 $$");
        r = backend_qemu.spawn(&o, &spec, &h, &err);
        CHECK_INTEQ(r, -ESRCH);
        show("killed", r, err);
        err = mfree(err);
        reap_children();

        /* Never answers: -ETIMEDOUT after the API timeout, and it is killed. */
        make_fake(fake, "echo 'qemu: thinking' >&2; exec sleep 30");
        uint64_t t0 = now_mono_us();
        r = backend_qemu.spawn(&o, &spec, &h, &err);
        CHECK_INTEQ(r, -ETIMEDOUT);
        CHECK(elapsed_ms(t0) >= 900 && elapsed_ms(t0) < 5000);
        show("silent", r, err);
        CHECK(err && strstr(err, "did not answer within 1000 ms") &&
              strstr(err, "console.log: qemu: thinking"));
        err = mfree(err);
        char sock[PATH_MAX + 16];
        snprintf(sock, sizeof sock, "%s/api.sock", run_dir);
        pid_t left;
        CHECK(vmm_find_by_cmdline(sock, &left) == -ESRCH);
        reap_children();

        /* The real QEMU, when there is one: a missing kernel, in its words. */
        const char *qemu = getenv("QEMU");
        BackendOptions real = { .qemu_binary = isempty(qemu) ? "qemu-system-x86_64" : qemu,
                                .api_timeout_ms = 5000 };
        if (backend_qemu.check_available(&real, &err) < 0) {
                printf("  no real QEMU (%s): skipping its spawn failures\n", err ? err : "?");
                err = mfree(err);
                return;
        }
        char missing[PATH_MAX];
        snprintf(missing, sizeof missing, "%s/no-such-vmlinux", tmpdir);
        c.kernel_path = missing;
        r = backend_qemu.spawn(&real, &spec, &h, &err);
        show("real qemu, missing kernel", r, err);
        CHECK_INTEQ(r, -EBADMSG);
        CHECK(err && strstr(err, "could not open kernel file") && strstr(err, missing));
        err = mfree(err);
        reap_children();
        c.kernel_path = kernel;
        r = backend_qemu.spawn(&real, &spec, &h, &err);
        show("real qemu, not a kernel", r, err);
        CHECK_INTEQ(r, -EBADMSG);
        err = mfree(err);
        reap_children();
        CHECK(vmm_find_by_cmdline(sock, &left) == -ESRCH);
}

int main(void) {
        signal(SIGPIPE, SIG_IGN);
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return EXIT_FAILURE;
        }

        test_cmdline();
        test_opt_escape();
        test_argv();
        test_startup_errno();
        test_qmp_messages();
        test_status();
        test_table();
        test_qmp_client();
        test_spawn_failures();

        CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD); /* nothing left behind */
        (void) rm_rf(tmpdir);
        return test_done("test-qemu");
}
