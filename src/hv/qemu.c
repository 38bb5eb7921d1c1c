/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The QEMU backend: one qemu-system-x86_64 per VM on the "microvm" machine
 * (no PCI, no firmware boot: virtio-mmio devices found through ACPI, a PVH
 * vmlinux loaded directly), with KVM when /dev/kvm can run a guest, else TCG.
 *
 * QEMU takes the whole VM on its command line, so spawn starts it paused
 * (-S, QMP status "prelaunch") and waits for QMP; boot is `cont`. Everything
 * after spawn goes over QMP on <run_dir>/api.sock, one connection per call
 * (qmp_call): QMP serves one client at a time, and a connection left open by
 * a metald that was killed is closed by the kernel, so a restarted metald
 * reattaches through the same socket.
 *
 * Files in the VM's run_dir:
 *   api.sock     the QMP socket (QEMU binds it, removing a stale file)
 *   console.log  the guest's serial console: a QEMU "file" chardev opened
 *                with append=on (O_APPEND), and QEMU's own stdout+stderr
 *                (vmm_spawn, also O_APPEND), so QEMU's errors and the
 *                guest's lines are in one file, in order, and metald's
 *                copy-and-truncate cap (vm/console.h) works as for the
 *                other backends. Written with write(2): nothing is buffered.
 *   qemu.pid     -pidfile (QEMU removes it when it exits)
 *
 * No global state; calls for one VM are serialised by the caller.
 */
#include "hv/qemu.h"

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "hv/backend-util.h"
#include "hv/vmm-process.h"
#include "util/log.h"

/* How much of QEMU's last words to quote when it fails to start. */
#define QEMU_WORDS_MAX 1024u
/* Ids of the two commands of a QMP connection (answers are matched by id). */
#define QMP_ID_CAPABILITIES "metald-caps"
#define QMP_ID_COMMAND "metald-cmd"

/* ---- pure builders and decoders (qemu.h) ---- */

/* The first disk marked as root device, or NULL. */
static const VmDisk *root_disk(const VmConfig *c) {
        for (size_t i = 0; i < c->n_disks; i++)
                if (c->disks[i].is_root_device)
                        return &c->disks[i];
        return NULL;
}

/*
 * The next kernel parameter of s from *pos: blanks are skipped, then a run
 * of non-blanks in which blanks between double quotes do not count (the
 * kernel's own rule: param="a b"). Sets *ret_start and returns the length;
 * 0 at the end.
 */
static size_t next_param(const char *s, size_t *pos, const char **ret_start) {
        size_t i = *pos;
        bool quoted = false;

        while (s[i] == ' ' || s[i] == '\t')
                i++;
        size_t start = i;
        for (; s[i] && (quoted || (s[i] != ' ' && s[i] != '\t')); i++)
                if (s[i] == '"')
                        quoted = !quoted;
        *ret_start = s + start;
        *pos = i;
        return i - start;
}

/* Does the parameter p (n bytes) start with prefix? */
static bool param_has_prefix(const char *p, size_t n, const char *prefix) {
        size_t k = strlen(prefix);
        return n >= k && memcmp(p, prefix, k) == 0;
}

/* Append p (n bytes) to out at *len, after a blank unless out is empty. The
 * caller sized out. */
static void cmdline_add(char *out, size_t *len, const char *p, size_t n) {
        if (*len > 0)
                out[(*len)++] = ' ';
        memcpy(out + *len, p, n);
        *len += n;
        out[*len] = 0;
}

char *qemu_kernel_cmdline(const VmConfig *c, const char *vm_id, unsigned tsc_khz) {
        const char *args, *p;
        size_t pos = 0, n, len = 0;
        bool has_root = false, has_tsc = false;

        assert(c && vm_id);
        args = c->kernel_args ? c->kernel_args : "";

        /* What the caller set themselves, before "--" (init's arguments). */
        while ((n = next_param(args, &pos, &p)) > 0) {
                if (n == 2 && memcmp(p, "--", 2) == 0)
                        break;
                has_root = has_root || param_has_prefix(p, n, "root=");
                has_tsc = has_tsc || param_has_prefix(p, n, "tsc_early_khz=");
        }

        _cleanup_free_ char *id_param = strdup_printf("metald.vm_id=%s", vm_id);
        _cleanup_free_ char *tsc_param = strdup_printf("tsc_early_khz=%u", tsc_khz);
        if (!id_param || !tsc_param)
                return NULL;
        /* Every parameter once, one blank each, plus what we add. */
        char *out =
                malloc(strlen(args) + strlen(id_param) + sizeof "root=/dev/vda rw" + strlen(tsc_param) + 8);
        if (!out)
                return NULL;
        out[0] = 0;

        const VmDisk *root = root_disk(c);
        if (root && !has_root) {
                const char *r = root->readonly ? "root=/dev/vda ro" : "root=/dev/vda rw";
                cmdline_add(out, &len, r, strlen(r));
        }
        pos = 0;
        size_t init_args = SIZE_MAX; /* position of "--" in args, if any */
        while ((n = next_param(args, &pos, &p)) > 0) {
                if (n == 2 && memcmp(p, "--", 2) == 0) {
                        init_args = (size_t) (p - args);
                        break;
                }
                cmdline_add(out, &len, p, n);
        }
        cmdline_add(out, &len, id_param, strlen(id_param));
        if (tsc_khz > 0 && !has_tsc)
                cmdline_add(out, &len, tsc_param, strlen(tsc_param));
        if (init_args != SIZE_MAX) {
                pos = init_args;
                while ((n = next_param(args, &pos, &p)) > 0)
                        cmdline_add(out, &len, p, n);
        }
        return out;
}

char *qemu_opt_escape(const char *s) {
        size_t n = 0;

        assert(s);
        for (const char *p = s; *p; p++)
                n += *p == ',' ? 2 : 1;
        char *out = malloc(n + 1);
        if (!out)
                return NULL;
        char *q = out;
        for (const char *p = s; *p; p++) {
                *q++ = *p;
                if (*p == ',')
                        *q++ = ',';
        }
        *q = 0;
        return out;
}

/* A growing NULL-terminated argv; after an allocation failure it only
 * remembers that one happened (every call checks at the end, not each add). */
typedef struct ArgvBuilder {
        char **v;
        size_t n, cap;
        bool oom;
} ArgvBuilder;

/* Append s, which the builder takes over (NULL means an allocation failed). */
static void argv_take(ArgvBuilder *a, char *s) {
        if (!s || a->oom) {
                free(s);
                a->oom = true;
                return;
        }
        if (a->n + 2 > a->cap) {
                size_t cap = a->cap ? a->cap * 2 : 64;
                char **v = realloc(a->v, cap * sizeof *v);
                if (!v) {
                        free(s);
                        a->oom = true;
                        return;
                }
                a->v = v;
                a->cap = cap;
        }
        a->v[a->n++] = s;
        a->v[a->n] = NULL;
}

static void argv_add(ArgvBuilder *a, const char *s) {
        argv_take(a, strdup(s));
}

_printf_(2, 3) static void argv_addf(ArgvBuilder *a, const char *fmt, ...) {
        va_list ap;
        char *s = NULL;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        argv_take(a, s);
}

/* -drive and -device for one disk. */
static void argv_add_disk(ArgvBuilder *a, const VmDisk *d) {
        assert(d->id && d->path);
        _cleanup_free_ char *file = qemu_opt_escape(d->path);
        if (!file) {
                a->oom = true;
                return;
        }
        /* Our disk ids are [A-Za-z0-9_]; QEMU ids must start with a letter. */
        argv_add(a, "-drive");
        argv_addf(a, "id=drive-%s,file=%s,format=raw,if=none%s", d->id, file,
                  d->readonly ? ",readonly=on" : "");
        argv_add(a, "-device");
        argv_addf(a, "virtio-blk-device,drive=drive-%s", d->id);
}

char **qemu_argv_free(char **argv) {
        for (char **p = argv; p && *p; p++)
                free(*p);
        free(argv);
        return NULL;
}

char **qemu_argv(const QemuLaunch *l) {
        ArgvBuilder a = { 0 };

        assert(l && l->binary && l->vm_id && l->socket_path && l->console_path && l->pid_path);
        assert(l->config && l->config->kernel_path);
        assert(!strchr(l->socket_path, ','));
        const VmConfig *c = l->config;

        _cleanup_free_ char *cmdline = qemu_kernel_cmdline(c, l->vm_id, l->kvm ? 0 : l->tsc_khz);
        _cleanup_free_ char *console = qemu_opt_escape(l->console_path);
        if (!cmdline || !console)
                return NULL;

        argv_add(&a, l->binary);
        argv_add(&a, "-name");
        argv_add(&a, l->vm_id);
        argv_add(&a, "-machine");
        argv_add(&a, QEMU_MACHINE);
        argv_add(&a, "-accel");
        argv_add(&a, l->kvm ? "kvm" : "tcg");
        if (l->kvm) {
                argv_add(&a, "-cpu");
                argv_add(&a, "host");
        }
        argv_add(&a, "-nodefaults");
        argv_add(&a, "-no-user-config");
        argv_add(&a, "-nographic");
        argv_add(&a, "-no-reboot");
        /* QEMU's seccomp filter: no obsolete syscalls, no setuid/setgid back
         * to anything, no fork/exec, no scheduler or affinity changes. */
        argv_add(&a, "-sandbox");
        argv_add(&a, QEMU_SANDBOX);
        argv_add(&a, "-S");
        argv_add(&a, "-m");
        argv_addf(&a, "%" PRIu64, c->memory_bytes >> 20);
        argv_add(&a, "-smp");
        argv_addf(&a, "%u", c->vcpu_count);
        /* -kernel, -initrd and -append take their value whole (no option list). */
        argv_add(&a, "-kernel");
        argv_add(&a, c->kernel_path);
        if (!isempty(c->initrd_path)) {
                argv_add(&a, "-initrd");
                argv_add(&a, c->initrd_path);
        }
        argv_add(&a, "-append");
        argv_add(&a, cmdline);
        /* The root disk first: the first virtio-blk device is /dev/vda. */
        const VmDisk *root = root_disk(c);
        if (root)
                argv_add_disk(&a, root);
        for (size_t i = 0; i < c->n_disks; i++)
                if (&c->disks[i] != root)
                        argv_add_disk(&a, &c->disks[i]);
        /* NICs in config order (the guest's eth0, eth1, ...): the TAP metald made,
         * opened by QEMU, no scripts; virtio-net on virtio-mmio with the MAC. */
        for (size_t i = 0; i < l->n_nics; i++) {
                argv_add(&a, "-netdev");
                argv_addf(&a, "tap,id=net%zu,ifname=%s,script=no,downscript=no", i, l->nics[i].tap);
                argv_add(&a, "-device");
                argv_addf(&a, "virtio-net-device,netdev=net%zu,mac=%s", i, l->nics[i].mac);
        }
        argv_add(&a, "-chardev");
        argv_addf(&a, "file,id=console,path=%s,append=on", console);
        argv_add(&a, "-serial");
        argv_add(&a, "chardev:console");
        argv_add(&a, "-chardev");
        argv_addf(&a, "socket,id=qmp,path=%s,server=on,wait=off", l->socket_path);
        argv_add(&a, "-mon");
        argv_add(&a, "chardev=qmp,mode=control");
        argv_add(&a, "-pidfile");
        argv_add(&a, l->pid_path);

        if (a.oom)
                return qemu_argv_free(a.v);
        return a.v;
}

int qemu_startup_errno(const char *words) {
        /* strerror() words of host shortages that may pass. */
        static const char *const transient[] = {
                "Cannot allocate memory",
                "Resource temporarily unavailable",
                "Too many open files",
                "Interrupted system call",
        };

        if (isempty(words))
                return -ESRCH;
        for (size_t i = 0; i < ELEMENTSOF(transient); i++)
                if (strstr(words, transient[i]))
                        return -EIO;
        return -EBADMSG;
}

int qmp_next_message(const char *buf, size_t len, size_t *ret_used, json_t **ret_msg) {
        size_t start = 0;

        assert(buf || len == 0);
        assert(ret_used && ret_msg);
        *ret_used = 0;
        for (;;) {
                const char *nl = len > start ? memchr(buf + start, '\n', len - start) : NULL;
                if (!nl) {
                        *ret_used = start; /* blank lines are consumed */
                        return len - start >= QMP_MESSAGE_MAX ? -EMSGSIZE : 0;
                }
                size_t end = (size_t) (nl - buf), line = start;
                size_t next = end + 1;
                while (line < end && strchr(" \t\r", buf[line]))
                        line++;
                while (end > line && strchr(" \t\r", buf[end - 1]))
                        end--;
                if (end == line) { /* blank line */
                        start = next;
                        continue;
                }
                *ret_used = next;
                json_t *j = json_loadb(buf + line, end - line, 0, NULL);
                if (!json_is_object(j)) {
                        json_decref(j);
                        return -EPROTO;
                }
                *ret_msg = j;
                return 1;
        }
}

QmpKind qmp_message_kind(const json_t *msg) {
        if (!json_is_object(msg))
                return QMP_KIND_OTHER;
        if (json_object_get(msg, "QMP"))
                return QMP_KIND_GREETING;
        if (json_object_get(msg, "return"))
                return QMP_KIND_RETURN;
        if (json_is_object(json_object_get(msg, "error")))
                return QMP_KIND_ERROR;
        if (json_is_string(json_object_get(msg, "event")))
                return QMP_KIND_EVENT;
        return QMP_KIND_OTHER;
}

bool qmp_message_answers(const json_t *msg, const char *id) {
        QmpKind k = qmp_message_kind(msg);

        assert(id);
        if (k != QMP_KIND_RETURN && k != QMP_KIND_ERROR)
                return false;
        const json_t *got = json_object_get(msg, "id");
        if (!got)
                return k == QMP_KIND_ERROR;
        return json_is_string(got) && streq(json_string_value(got), id);
}

char *qmp_error_text(const json_t *msg) {
        const json_t *e = json_object_get(msg, "error");
        const char *s = json_string_value(json_object_get(e, "desc"));
        if (isempty(s))
                s = json_string_value(json_object_get(e, "class"));
        if (!isempty(s))
                return strdup(s);
        return json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY);
}

json_t *qmp_command_json(const char *command, const json_t *arguments, const char *id) {
        assert(command && id);
        _cleanup_json_ json_t *cmd = json_pack("{s:s, s:s}", "execute", command, "id", id);
        if (!cmd)
                return NULL;
        if (arguments && json_object_set(cmd, "arguments", (json_t *) arguments) < 0)
                return NULL;
        return TAKE_PTR(cmd);
}

int qemu_status_from_json(const json_t *status, VmmState *ret) {
        /* QEMU's RunState (qapi/run-state.json) as metald sees it. */
        static const struct {
                const char *name;
                VmmState state;
        } table[] = {
                { "prelaunch", VMM_STATE_NOT_STARTED }, { "running", VMM_STATE_RUNNING },
                { "suspended", VMM_STATE_RUNNING },     { "shutdown", VMM_STATE_GONE },
                { "paused", VMM_STATE_PAUSED },         { "debug", VMM_STATE_PAUSED },
                { "io-error", VMM_STATE_PAUSED },       { "internal-error", VMM_STATE_PAUSED },
                { "watchdog", VMM_STATE_PAUSED },       { "guest-panicked", VMM_STATE_PAUSED },
                { "inmigrate", VMM_STATE_PAUSED },      { "postmigrate", VMM_STATE_PAUSED },
                { "finish-migrate", VMM_STATE_PAUSED }, { "restore-vm", VMM_STATE_PAUSED },
                { "save-vm", VMM_STATE_PAUSED },        { "colo", VMM_STATE_PAUSED },
        };

        assert(ret);
        const char *s = json_string_value(json_object_get(status, "status"));
        if (!s)
                return -EPROTO;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(s, table[i].name)) {
                        *ret = table[i].state;
                        return 0;
                }
        return -EPROTO;
}

/* ---- the QMP client ---- */

/* One QMP connection: the socket, what has been read but not decoded, and
 * the deadline that bounds the whole call. */
typedef struct QmpConn {
        int fd;
        char *buf;
        size_t len, cap;
        uint64_t deadline_us;
} QmpConn;

static void qmp_conn_done(QmpConn *c) {
        c->fd = safe_close(c->fd);
        c->buf = mfree(c->buf);
        c->len = c->cap = 0;
}

/* Milliseconds left until deadline_us, rounded up; 0 once it has passed. */
static int ms_left(uint64_t deadline_us) {
        uint64_t now = now_mono_us();
        if (now >= deadline_us)
                return 0;
        uint64_t ms = (deadline_us - now + 999u) / 1000u;
        return ms > INT32_MAX ? INT32_MAX : (int) ms;
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000u, .tv_nsec = (long) (ms % 1000u) * 1000000L };
        (void) nanosleep(&ts, NULL);
}

/* Connect c->fd to path (non-blocking, close-on-exec). A full listen backlog
 * (EAGAIN) is retried until the deadline. 0 or negative errno. */
static int qmp_connect(QmpConn *c, const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (c->fd < 0)
                return -errno;
        for (;;) {
                if (connect(c->fd, (const struct sockaddr *) &sa, sizeof sa) >= 0)
                        return 0;
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -errno;
                int left = ms_left(c->deadline_us);
                if (left == 0)
                        return -ETIMEDOUT;
                sleep_ms(left < 10 ? (unsigned) left : 10u);
        }
}

/* Wait until c->fd is ready for events (POLLIN/POLLOUT) before the deadline. */
static int qmp_wait(QmpConn *c, short events) {
        for (;;) {
                struct pollfd pfd = { .fd = c->fd, .events = events };
                int left = ms_left(c->deadline_us);
                if (left == 0)
                        return -ETIMEDOUT;
                int k = poll(&pfd, 1, left);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k > 0)
                        return 0;
        }
}

/* The next message from QEMU (a new reference in *ret). -ECONNRESET when
 * QEMU closed the connection, -ETIMEDOUT, -EPROTO / -EMSGSIZE for garbage. */
static int qmp_read(QmpConn *c, json_t **ret) {
        for (;;) {
                size_t used = 0;
                json_t *msg = NULL;
                int r = qmp_next_message(c->buf, c->len, &used, &msg);
                if (used > 0) {
                        memmove(c->buf, c->buf + used, c->len - used);
                        c->len -= used;
                }
                if (r > 0) {
                        *ret = msg;
                        return 0;
                }
                if (r < 0)
                        return r;

                if (c->cap - c->len < 4096) {
                        size_t cap = c->cap ? c->cap * 2 : 16384;
                        if (cap > QMP_MESSAGE_MAX + 4096)
                                cap = QMP_MESSAGE_MAX + 4096;
                        char *b = realloc(c->buf, cap);
                        if (!b)
                                return -ENOMEM;
                        c->buf = b;
                        c->cap = cap;
                }
                r = qmp_wait(c, POLLIN);
                if (r < 0)
                        return r;
                ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n < 0)
                        return errno == ECONNRESET ? -ECONNRESET : -errno;
                if (n == 0)
                        return -ECONNRESET;
                c->len += (size_t) n;
        }
}

/* Send msg as one line. -ECONNRESET if QEMU closed the connection. */
static int qmp_send(QmpConn *c, const json_t *msg) {
        _cleanup_free_ char *text = json_dumps(msg, JSON_COMPACT);
        if (!text)
                return -ENOMEM;
        size_t n = strlen(text);
        text[n++] = '\n'; /* over the NUL: the length is known */
        for (size_t off = 0; off < n;) {
                ssize_t k = send(c->fd, text + off, n - off, MSG_NOSIGNAL);
                if (k >= 0) {
                        off += (size_t) k;
                        continue;
                }
                if (errno == EINTR)
                        continue;
                if (errno == EPIPE || errno == ECONNRESET)
                        return -ECONNRESET;
                if (errno != EAGAIN)
                        return -errno;
                int r = qmp_wait(c, POLLOUT);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Send command with id and read until its answer (events skipped). 0 and the
 * answer (return or error) in *ret, or a transport errno. */
static int qmp_exchange(QmpConn *c, const char *command, const json_t *arguments, const char *id,
                        json_t **ret) {
        _cleanup_json_ json_t *cmd = qmp_command_json(command, arguments, id);
        if (!cmd)
                return -ENOMEM;
        int r = qmp_send(c, cmd);
        if (r < 0)
                return r;
        for (;;) {
                _cleanup_json_ json_t *msg = NULL;
                r = qmp_read(c, &msg);
                if (r < 0)
                        return r;
                if (qmp_message_answers(msg, id)) {
                        *ret = TAKE_PTR(msg);
                        return 0;
                }
                if (qmp_message_kind(msg) == QMP_KIND_EVENT)
                        log_debug("qemu: event %s while waiting for %s",
                                  json_string_value(json_object_get(msg, "event")), command);
                /* Anything else (an answer to someone else's id) is not ours. */
        }
}

/* The message for a transport failure r of command. */
static void qmp_transport_error(char **ret_error, const char *command, const char *path, int r,
                                unsigned timeout_ms) {
        switch (r) {
        case -ETIMEDOUT:
                backend_set_error(ret_error, "qemu: %s: no answer on %s within %u ms", command, path,
                                  timeout_ms);
                break;
        case -ECONNRESET:
                backend_set_error(ret_error, "qemu: %s: QEMU closed the QMP connection on %s", command,
                                  path);
                break;
        case -EMSGSIZE:
                backend_set_error(ret_error, "qemu: %s: a QMP message over %u bytes on %s", command,
                                  QMP_MESSAGE_MAX, path);
                break;
        case -EPROTO:
                backend_set_error(ret_error,
                                  "qemu: %s: %s does not speak QMP (a line that is not a JSON object)",
                                  command, path);
                break;
        default:
                backend_set_error(ret_error, "qemu: %s: %s: %s", command, path, strerror(-r));
        }
}

int qmp_call(const char *socket_path, const char *command, const json_t *arguments, unsigned timeout_ms,
             json_t **ret_return, char **ret_error) {
        QmpConn c = { .fd = -EBADF, .deadline_us = now_mono_us() + (uint64_t) timeout_ms * 1000u };
        _cleanup_json_ json_t *greeting = NULL, *caps = NULL, *answer = NULL;
        int r;

        assert(socket_path && command);

        r = qmp_connect(&c, socket_path);
        if (r >= 0)
                r = qmp_read(&c, &greeting);
        if (r >= 0 && qmp_message_kind(greeting) != QMP_KIND_GREETING)
                r = -EPROTO;
        if (r >= 0)
                r = qmp_exchange(&c, "qmp_capabilities", NULL, QMP_ID_CAPABILITIES, &caps);
        if (r >= 0 && qmp_message_kind(caps) == QMP_KIND_ERROR) {
                _cleanup_free_ char *words = qmp_error_text(caps);
                backend_set_error(ret_error, "qemu: %s: qmp_capabilities: %s", command,
                                  words ? words : "(out of memory)");
                qmp_conn_done(&c);
                return -EPROTO;
        }
        if (r >= 0)
                r = qmp_exchange(&c, command, arguments, QMP_ID_COMMAND, &answer);
        qmp_conn_done(&c);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                qmp_transport_error(ret_error, command, socket_path, r, timeout_ms);
                return r == -EMSGSIZE ? -EPROTO : r;
        }

        if (qmp_message_kind(answer) == QMP_KIND_ERROR) {
                _cleanup_free_ char *words = qmp_error_text(answer);
                backend_set_error(ret_error, "qemu: %s: %s", command, words ? words : "(out of memory)");
                return -EBADMSG;
        }
        if (ret_return)
                *ret_return = json_incref(json_object_get(answer, "return"));
        return 0;
}

/* ---- helpers ---- */

/* Is vmx or svm among the words of a /proc/cpuinfo "flags" line? */
static bool flags_have_virtualization(const char *line) {
        const char *p = strchr(line, ':');
        for (p = p ? p + 1 : line; *p;) {
                p += strspn(p, " \t\n");
                size_t n = strcspn(p, " \t\n");
                if ((n == 3 && (memcmp(p, "vmx", 3) == 0 || memcmp(p, "svm", 3) == 0)))
                        return true;
                p += n;
        }
        return false;
}

/*
 * Can KVM run this guest? /dev/kvm must open read-write, speak the stable
 * API and create a VM, and the CPU must have hardware virtualization (vmx or
 * svm in /proc/cpuinfo): a /dev/kvm without it (PVM, a nested KVM for
 * specially built guests, as on the machines this project is built on)
 * creates VMs but cannot run an unmodified kernel (QEMU stops with "KVM
 * internal error ... emulation failure", or the guest hangs silently).
 * Checked at each spawn (cheap): no state is kept.
 */
static bool kvm_usable(const VmmUser *user) {
        /* QEMU opens /dev/kvm as the VMM user (in group kvm, where there is one). */
        if (vmm_user_access(user, "/dev/kvm", R_OK | W_OK) < 0)
                return false;
        _cleanup_close_ int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
                return false;
        _cleanup_close_ int vm = ioctl(fd, KVM_CREATE_VM, 0);
        if (vm < 0)
                return false;

        FILE *f = fopen("/proc/cpuinfo", "re");
        if (!f)
                return false;
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        bool found = false;
        while (getline(&line, &size, f) > 0)
                if (strncmp(line, "flags", 5) == 0) {
                        found = flags_have_virtualization(line);
                        break;
                }
        fclose(f);
        return found;
}

/*
 * The host's TSC rate in kHz, which is the rate of a TCG guest's TSC (QEMU's
 * TCG reads the host's TSC): measured against CLOCK_MONOTONIC_RAW over 10 ms
 * (the "cpu MHz" of /proc/cpuinfo is the current clock on hosts with cpufreq,
 * not the TSC's). QEMU_TSC_KHZ_FALLBACK when it cannot be measured or the
 * result is implausible (TSC not constant, another architecture).
 */
static unsigned host_tsc_khz(void) {
#if defined(__x86_64__) || defined(__i386__)
        struct timespec a, b, pause = { .tv_nsec = 10 * 1000000L };
        if (clock_gettime(CLOCK_MONOTONIC_RAW, &a) < 0)
                return QEMU_TSC_KHZ_FALLBACK;
        uint64_t t0 = __rdtsc();
        (void) nanosleep(&pause, NULL);
        uint64_t t1 = __rdtsc();
        if (clock_gettime(CLOCK_MONOTONIC_RAW, &b) < 0)
                return QEMU_TSC_KHZ_FALLBACK;
        int64_t ns = (int64_t) (b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec);
        if (ns <= 0 || t1 <= t0)
                return QEMU_TSC_KHZ_FALLBACK;
        uint64_t khz = (uint64_t) ((double) (t1 - t0) * 1e6 / (double) ns + 0.5);
        return khz >= 100000 && khz <= 10000000 ? (unsigned) khz : QEMU_TSC_KHZ_FALLBACK;
#else
        return QEMU_TSC_KHZ_FALLBACK;
#endif
}

/* CPU and memory hotplug: microvm has neither. */
static int qemu_check_config(const VmConfig *c, char **ret_error) {
        if (c->hotplug_bytes > 0 || (c->max_vcpu_count > 0 && c->max_vcpu_count != c->vcpu_count)) {
                backend_set_error(ret_error,
                                  "qemu: CPU and memory hotplug are not supported (machine microvm)");
                return -EOPNOTSUPP;
        }
        return 0;
}

/* qmp_call on h's socket with the configured timeout. A transport failure
 * on a VMM whose process is gone is -ESRCH ("qemu: cont: process 123 is
 * gone"), as in backend_call. */
static int qemu_qmp(const BackendOptions *o, const VmmHandle *h, const char *command, json_t **ret_return,
                    char **ret_error) {
        _cleanup_free_ char *err = NULL;

        int r = qmp_call(h->socket_path, command, NULL, backend_api_timeout_ms(o), ret_return, &err);
        if (r < 0 && r != -EBADMSG && r != -ENOMEM && h->pid > 0 &&
            !vmm_is_alive(h->pid, h->start_time, h->socket_path)) {
                backend_set_error(ret_error, "qemu: %s: process %d is gone", command, (int) h->pid);
                return -ESRCH;
        }
        if (r < 0 && ret_error)
                *ret_error = TAKE_PTR(err);
        return r;
}

/*
 * query-status, decoded. A guest that has shut down ("shutdown": QEMU is
 * exiting) is -ESRCH with *ret = VMM_STATE_GONE once the process has gone
 * (waited for, up to the API timeout). -EPROTO if the answer makes no sense.
 */
static int qemu_get_state(const BackendOptions *o, const VmmHandle *h, VmmState *ret, char **ret_error) {
        _cleanup_json_ json_t *status = NULL;

        int r = qemu_qmp(o, h, "query-status", &status, ret_error);
        if (r < 0)
                return r;
        r = qemu_status_from_json(status, ret);
        if (r < 0) {
                _cleanup_free_ char *dump = json_dumps(status, JSON_COMPACT | JSON_ENCODE_ANY);
                backend_set_error(ret_error, "qemu: query-status: unexpected answer: %s", dump ? dump : "?");
                return r;
        }
        if (*ret == VMM_STATE_GONE) {
                (void) vmm_wait_exit(h->pid, h->start_time, backend_api_timeout_ms(o), NULL);
                backend_set_error(ret_error, "qemu: the guest has shut down; process %d is exiting",
                                  (int) h->pid);
                return -ESRCH;
        }
        return 0;
}

/* Size of the file at path, 0 if there is none. */
static uint64_t file_size(const char *path) {
        struct stat st;
        return stat(path, &st) >= 0 && S_ISREG(st.st_mode) ? (uint64_t) st.st_size : 0;
}

/*
 * What was appended to path from offset on (the last QEMU_WORDS_MAX bytes of
 * it), control characters as blanks, trimmed: QEMU's own words about a
 * failed start ("qemu-system-x86_64: could not load kernel ..."), without
 * what earlier boots wrote to the same console.log. NULL if nothing (this
 * only decorates an error message).
 */
static char *words_since(const char *path, uint64_t offset) {
        char buf[QEMU_WORDS_MAX + 1];

        uint64_t size = file_size(path);
        if (size <= offset)
                return NULL;
        if (size - offset > QEMU_WORDS_MAX)
                offset = size - QEMU_WORDS_MAX;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        ssize_t n = fd >= 0 ? pread(fd, buf, QEMU_WORDS_MAX, (off_t) offset) : -1;
        if (n <= 0)
                return NULL;
        buf[n] = 0;
        for (ssize_t i = 0; i < n; i++)
                if ((unsigned char) buf[i] < 0x20 || buf[i] == 0x7f)
                        buf[i] = ' ';
        size_t len = strlen(buf);
        while (len > 0 && buf[len - 1] == ' ')
                buf[--len] = 0;
        const char *start = buf + strspn(buf, " ");
        return *start ? strdup(start) : NULL;
}

/*
 * Wait for a fresh QEMU's QMP (h) to answer query-status, within timeout_ms.
 * 0; -ESRCH if the process exits first; -ETIMEDOUT if QMP never answers;
 * other errors from qmp_call with its message.
 */
static int qemu_wait_qmp(const VmmHandle *h, unsigned timeout_ms, char **ret_error) {
        uint64_t deadline = now_mono_us() + (uint64_t) timeout_ms * 1000u;
        /* Short pauses: a VMM is usually listening within tens of milliseconds,
         * and a pause that doubles up to 50 ms made each boot wait up to ~50 ms
         * longer than the VMM needed (a connect() per 5 ms costs nothing). */
        unsigned pause_ms = 1;

        for (;;) {
                _cleanup_free_ char *err = NULL;
                _cleanup_json_ json_t *status = NULL;
                VmmState state;

                if (!vmm_is_alive(h->pid, h->start_time, NULL))
                        return -ESRCH;
                int left = ms_left(deadline);
                if (left == 0)
                        break;
                int r = qmp_call(h->socket_path, "query-status", NULL, (unsigned) left, &status, &err);
                if (r == 0) {
                        r = qemu_status_from_json(status, &state);
                        if (r < 0)
                                backend_set_error(ret_error, "qemu: query-status: unexpected answer");
                        return r;
                }
                if (r == -ETIMEDOUT)
                        break;
                /* Not bound or not listening yet, or exiting (ECONNRESET: the
                 * next round sees the process gone). */
                if (r != -ENOENT && r != -ECONNREFUSED && r != -ECONNRESET) {
                        if (ret_error)
                                *ret_error = TAKE_PTR(err);
                        return r;
                }
                left = ms_left(deadline);
                sleep_ms(pause_ms < (unsigned) left ? pause_ms : (unsigned) left);
                if (pause_ms < BACKEND_POLL_MAX_MS)
                        pause_ms = pause_ms * 2 < BACKEND_POLL_MAX_MS ? pause_ms * 2 : BACKEND_POLL_MAX_MS;
        }
        backend_set_error(ret_error, "qemu: QMP socket %s did not answer within %u ms", h->socket_path,
                          timeout_ms);
        return -ETIMEDOUT;
}

/* The host's TSC does not change while metald runs: measure it (10 ms) once. */
static unsigned tsc_khz_value;
static void tsc_khz_measure(void) {
        tsc_khz_value = host_tsc_khz();
}
static unsigned host_tsc_khz_cached(void) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, tsc_khz_measure);
        return tsc_khz_value;
}

/* ---- the Backend entry points ---- */

static int qemu_check_available(const BackendOptions *o, char **ret_error) {
        _cleanup_free_ char *path = NULL;

        assert(o);
        return backend_resolve_binary("qemu", o->qemu_binary, &path, ret_error);
}

static int qemu_spawn(const BackendOptions *o, const VmmSpec *spec, VmmHandle *ret_handle,
                      char **ret_error) {
        _cleanup_free_ char *binary = NULL, *console_path = NULL, *pid_path = NULL;
        VmmHandle h = { 0 };
        int r;

        assert(o);
        assert(spec && spec->vm_id && spec->run_dir && spec->config);
        assert(spec->run_dir[0] == '/');
        assert(ret_handle);
        unsigned timeout_ms = backend_api_timeout_ms(o);

        if (!vm_id_is_valid(spec->vm_id)) {
                backend_set_error(ret_error, "qemu: invalid VM id \"%s\"", spec->vm_id);
                return -EINVAL;
        }
        r = qemu_check_config(spec->config, ret_error);
        if (r < 0)
                return r;
        r = snprintf(h.socket_path, sizeof h.socket_path, "%s/api.sock", spec->run_dir);
        if (r < 0 || (size_t) r >= sizeof h.socket_path) {
                backend_set_error(ret_error, "qemu: socket path %s/api.sock is longer than %zu bytes",
                                  spec->run_dir, sizeof h.socket_path - 1);
                return -ENAMETOOLONG;
        }
        /* An escaped "path=/a,,b" would not name the socket for vmm_is_alive(). */
        if (strchr(h.socket_path, ',')) {
                backend_set_error(ret_error, "qemu: the run directory %s contains a ','", spec->run_dir);
                return -EINVAL;
        }
        r = backend_resolve_binary("qemu", o->qemu_binary, &binary, ret_error);
        if (r < 0)
                return r;
        console_path = strdup_printf("%s/console.log", spec->run_dir);
        pid_path = strdup_printf("%s/qemu.pid", spec->run_dir);
        if (!console_path || !pid_path)
                return -ENOMEM;

        /* Never two VMMs for one VM; QEMU would bind over a stale file, but
         * not over a live one's. */
        r = backend_clear_socket("qemu", h.socket_path, timeout_ms, ret_error);
        if (r < 0)
                return r;
        /* A regular file (QEMU would block opening a FIFO); kept, appended to. */
        r = backend_ensure_regular_file(console_path, false);
        if (r < 0) {
                backend_set_error(ret_error, "qemu: cannot create %s: %s", console_path, strerror(-r));
                return r;
        }
        uint64_t console_offset = file_size(console_path);
        /* QEMU runs as the VMM user and opens kernel, initrd, disks and the
         * console file (-chardev file) itself; it writes api.sock and qemu.pid
         * into its run dir. */
        r = backend_prepare_run_dir("qemu", o, spec->run_dir, ret_error);
        if (r >= 0)
                r = backend_vmm_file("qemu", o, console_path, false, ret_error);
        if (r >= 0)
                r = backend_grant_assets("qemu", o, spec->config, ret_error);
        if (r < 0)
                return r;

        QemuLaunch launch = {
                .binary = binary,
                .vm_id = spec->vm_id,
                .socket_path = h.socket_path,
                .console_path = console_path,
                .pid_path = pid_path,
                .config = spec->config,
                .nics = spec->nics,
                .n_nics = spec->n_nics,
                .kvm = kvm_usable(o->vmm_user),
        };
        if (!launch.kvm)
                launch.tsc_khz = host_tsc_khz_cached();
        char **argv = qemu_argv(&launch);
        if (!argv)
                return -ENOMEM;
        r = vmm_spawn_as(argv, spec->run_dir, console_path, o->vmm_user, &h.pid, &h.start_time);
        argv = qemu_argv_free(argv);
        if (r < 0) {
                backend_set_error(ret_error, "qemu: cannot start %s: %s", binary, strerror(-r));
                return r;
        }
        if (launch.kvm)
                log_vm_debug(spec->vm_id, "qemu", NULL, "qemu: vm %s: pid %d (kvm)", spec->vm_id,
                             (int) h.pid);
        else
                log_vm_debug(spec->vm_id, "qemu", NULL, "qemu: vm %s: pid %d (tcg, guest TSC %u kHz)",
                             spec->vm_id, (int) h.pid, launch.tsc_khz);

        _cleanup_free_ char *err = NULL;
        r = qemu_wait_qmp(&h, timeout_ms, &err);
        if (r < 0) {
                /* Kill it (by pid and start time: it may be gone already),
                 * then anything else holding its socket, and remove the file. */
                (void) vmm_kill(h.pid, h.start_time, NULL, timeout_ms);
                (void) backend_clear_socket("qemu", h.socket_path, timeout_ms, NULL);
                _cleanup_free_ char *words = words_since(console_path, console_offset);
                if (r == -ESRCH) {
                        r = qemu_startup_errno(words);
                        backend_set_error(ret_error, "qemu: process %d exited during startup%s%s",
                                          (int) h.pid, words ? ": " : "", words ? words : "");
                } else if (ret_error) {
                        *ret_error =
                                words ? strdup_printf("%s; console.log: %s", err ? err : strerror(-r), words)
                                      : TAKE_PTR(err);
                }
                return r;
        }

        *ret_handle = h;
        return 0;
}

/* Idempotent: running or paused is booted already; prelaunch is `cont`. */
static int qemu_boot(const BackendOptions *o, const VmmSpec *spec, const VmmHandle *h, char **ret_error) {
        VmmState state;

        assert(o && spec && h);
        assert(spec->config);

        int r = qemu_check_config(spec->config, ret_error);
        if (r < 0)
                return r;
        r = qemu_get_state(o, h, &state, ret_error);
        if (r < 0)
                return r;
        if (state == VMM_STATE_RUNNING || state == VMM_STATE_PAUSED)
                return 0;
        return qemu_qmp(o, h, "cont", NULL, ret_error);
}

/* `stop` and `cont` both succeed when the guest is already there. */
static int qemu_pause(const BackendOptions *o, const VmmHandle *h, char **ret_error) {
        assert(o && h);
        return qemu_qmp(o, h, "stop", NULL, ret_error);
}

static int qemu_resume(const BackendOptions *o, const VmmHandle *h, char **ret_error) {
        assert(o && h);
        return qemu_qmp(o, h, "cont", NULL, ret_error);
}

/* The ACPI power button: the guest powers off and, as metald never passes
 * -no-shutdown, QEMU exits (status 0). */
static int qemu_request_shutdown(const BackendOptions *o, const VmmHandle *h, char **ret_error) {
        assert(o && h);
        return qemu_qmp(o, h, "system_powerdown", NULL, ret_error);
}

/* -ESRCH with *ret_state = VMM_STATE_GONE when the process is gone (the one
 * case where the out-parameter is also written on failure, as for the other
 * backends). */
static int qemu_query(const BackendOptions *o, const VmmHandle *h, VmmState *ret_state, char **ret_error) {
        assert(o && h);
        assert(ret_state);

        if (!vmm_is_alive(h->pid, h->start_time, h->socket_path)) {
                backend_set_error(ret_error, "qemu: process %d is gone", (int) h->pid);
                *ret_state = VMM_STATE_GONE;
                return -ESRCH;
        }
        int r = qemu_get_state(o, h, ret_state, ret_error);
        if (r == -ESRCH)
                *ret_state = VMM_STATE_GONE;
        return r;
}

const Backend backend_qemu = {
        .name = "qemu",
        .caps = 0, /* microvm: no CPU or memory hotplug */
        .check_available = qemu_check_available,
        .spawn = qemu_spawn,
        .boot = qemu_boot,
        .pause = qemu_pause,
        .resume = qemu_resume,
        .request_shutdown = qemu_request_shutdown,
        .query = qemu_query,
};
