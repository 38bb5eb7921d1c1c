/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Firecracker backend: one firecracker process per VM, driven over its
 * API socket (specs/firecracker.yaml, specs/VMM-BEHAVIOUR.md "Firecracker").
 *
 * Files in the VM's run_dir: api.sock (Firecracker binds it and never
 * unlinks it), vmm.log (--log-path; older Firecrackers want it to exist),
 * console.log (the VMM's stdout+stderr = the guest serial console),
 * metrics.json (a regular file, so no delta is lost while metald is down).
 *
 * No global state; calls for one VM are serialised by the caller.
 */
#include "hv/firecracker.h"

#include <assert.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "hv/unix-http.h"
#include "hv/vmm-process.h"
#include "util/log.h"

#define FC_API_TIMEOUT_DEFAULT_MS 5000u
/* How much of vmm.log / console.log to quote when the VMM fails to start. */
#define FC_LOG_TAIL_BYTES 1024u
/* Bound on the attempts to get rid of processes that hold our socket path. */
#define FC_STALE_KILL_MAX 8u

static inline void json_unrefp(json_t **p) {
        if (*p)
                json_decref(*p);
}
#define _cleanup_json_ _cleanup_(json_unrefp)

/* ---- pure builders and decoders (firecracker.h) ---- */

json_t *fc_machine_config_json(const VmConfig *c) {
        assert(c);
        return json_pack("{s:I, s:I}", "vcpu_count", (json_int_t) c->vcpu_count, "mem_size_mib",
                         (json_int_t) (c->memory_bytes >> 20));
}

json_t *fc_boot_source_json(const VmConfig *c) {
        assert(c);
        assert(c->kernel_path);

        _cleanup_json_ json_t *o = json_pack("{s:s}", "kernel_image_path", c->kernel_path);
        if (!o)
                return NULL;
        if (!isempty(c->kernel_args) && json_object_set_new(o, "boot_args", json_string(c->kernel_args)) < 0)
                return NULL;
        if (!isempty(c->initrd_path) &&
            json_object_set_new(o, "initrd_path", json_string(c->initrd_path)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

json_t *fc_drive_json(const VmDisk *d) {
        assert(d);
        assert(d->id && d->path);
        return json_pack("{s:s, s:s, s:b, s:b}", "drive_id", d->id, "path_on_host", d->path,
                         "is_root_device", (int) d->is_root_device, "is_read_only", (int) d->readonly);
}

json_t *fc_metrics_json(const char *metrics_path) {
        assert(metrics_path);
        return json_pack("{s:s}", "metrics_path", metrics_path);
}

json_t *fc_action_json(const char *action_type) {
        assert(action_type);
        return json_pack("{s:s}", "action_type", action_type);
}

json_t *fc_vm_state_json(bool paused) {
        return json_pack("{s:s}", "state", paused ? "Paused" : "Resumed");
}

int fc_instance_state_from_json(const json_t *info, VmmState *ret) {
        static const struct {
                const char *name;
                VmmState state;
        } table[] = {
                { "Not started", VMM_STATE_NOT_STARTED },
                { "Running", VMM_STATE_RUNNING },
                { "Paused", VMM_STATE_PAUSED },
        };

        assert(ret);
        const char *s = json_string_value(json_object_get(info, "state"));
        if (!s)
                return -EPROTO;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(s, table[i].name)) {
                        *ret = table[i].state;
                        return 0;
                }
        return -EPROTO;
}

char *fc_error_text(const char *body) {
        if (isempty(body))
                return strdup("(no body)");

        /* micro_http's answer to a malformed request has a raw newline inside a
         * JSON string ({ "error": "<why>\nAll previous unanswered requests will
         * be dropped." }), which is not valid JSON: blank control characters
         * first (JSON escapes like \n are not control characters). */
        _cleanup_free_ char *clean = strdup(body);
        if (!clean)
                return NULL;
        for (char *p = clean; *p; p++)
                if ((unsigned char) *p < 0x20)
                        *p = ' ';

        _cleanup_json_ json_t *j = json_loads(clean, JSON_DECODE_ANY, NULL);
        const char *msg = json_string_value(json_object_get(j, "fault_message"));
        if (!msg)
                msg = json_string_value(json_object_get(j, "error"));
        if (msg)
                return strdup(msg);
        return strndup(clean, 512);
}

bool fc_id_is_valid(const char *id) {
        size_t n = id ? strlen(id) : 0;
        if (n < 1 || n > 64 || id[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++) {
                char ch = id[i];
                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                      ch == '-'))
                        return false;
        }
        return true;
}

/* ---- helpers ---- */

/* Put a formatted message in *ret_error, if the caller wants one. Called once,
 * where a failure is found: *ret_error is assigned, never read or freed (the
 * caller's variable need not be initialised). OOM leaves NULL: the errno
 * still tells what happened. */
_printf_(2, 3) static void set_error(char **ret_error, const char *fmt, ...) {
        if (!ret_error)
                return;
        va_list ap;
        char *s = NULL;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        *ret_error = s;
}

/* The per-call API timeout: the configured one, else 5000 ms. */
static unsigned api_timeout_ms(const BackendOptions *o) {
        return o->api_timeout_ms > 0 ? o->api_timeout_ms : FC_API_TIMEOUT_DEFAULT_MS;
}

/*
 * One API call: send `method path` with body (may be NULL) to the VMM of h
 * within timeout_ms. 2xx: 0, and if ret_answer is not NULL the decoded JSON
 * answer (-EPROTO if there is none or it is not JSON). 4xx: -EBADMSG; other
 * statuses: -EIO; both with Firecracker's words:
 *   "firecracker: PUT /boot-source: 400: Kernel image path is invalid"
 * Transport errors as unix_http_request, except that a failure to reach a
 * VMM whose process is gone is -ESRCH.
 */
static int fc_call(const VmmHandle *h, unsigned timeout_ms, const char *method, const char *path,
                   const json_t *body, json_t **ret_answer, char **ret_error) {
        _cleanup_free_ char *text = NULL, *err = NULL, *fault = NULL;
        UnixHttpResponse resp = { 0 };
        int r;

        assert(h);
        assert(method && path);

        if (body) {
                text = json_dumps(body, JSON_COMPACT);
                if (!text)
                        return -ENOMEM;
        }
        r = unix_http_request(h->socket_path, method, path, text, timeout_ms, &resp, &err);
        if (r < 0) {
                if (r != -ENOMEM && h->pid > 0 && !vmm_is_alive(h->pid, h->start_time, h->socket_path)) {
                        set_error(ret_error, "firecracker: %s %s: process %d is gone", method, path,
                                  (int) h->pid);
                        return -ESRCH;
                }
                set_error(ret_error, "firecracker: %s %s: %s", method, path, err ? err : strerror(-r));
                return r;
        }

        long status = resp.status;
        if (status < 200 || status > 299) {
                fault = fc_error_text(resp.body);
                unix_http_response_done(&resp);
                set_error(ret_error, "firecracker: %s %s: %ld: %s", method, path, status,
                          fault ? fault : "(out of memory)");
                return status >= 400 && status <= 499 ? -EBADMSG : -EIO;
        }

        if (ret_answer) {
                json_error_t jerr;
                json_t *j = json_loads(resp.body, 0, &jerr);
                if (!j) {
                        set_error(ret_error, "firecracker: %s %s: %ld: answer is not JSON: %s", method, path,
                                  resp.status, jerr.text);
                        unix_http_response_done(&resp);
                        return -EPROTO;
                }
                *ret_answer = j;
        }
        unix_http_response_done(&resp);
        return 0;
}

/* fc_call with the configured timeout, for calls whose answer has no body (PUT, PATCH). */
static int fc_send(const BackendOptions *o, const VmmHandle *h, const char *method, const char *path,
                   const json_t *body, char **ret_error) {
        return fc_call(h, api_timeout_ms(o), method, path, body, NULL, ret_error);
}

/* GET / and decode the state. -EPROTO if Firecracker's answer makes no sense. */
static int fc_get_state(const BackendOptions *o, const VmmHandle *h, VmmState *ret, char **ret_error) {
        _cleanup_json_ json_t *info = NULL;

        int r = fc_call(h, api_timeout_ms(o), "GET", "/", NULL, &info, ret_error);
        if (r < 0)
                return r;
        r = fc_instance_state_from_json(info, ret);
        if (r < 0) {
                _cleanup_free_ char *dump = json_dumps(info, JSON_COMPACT);
                set_error(ret_error, "firecracker: GET /: unexpected answer: %s", dump ? dump : "?");
        }
        return r;
}

/*
 * The absolute path of the binary to run: name as configured, made absolute
 * against our cwd if relative (the child runs in run_dir), or looked up in
 * $PATH if it has no '/'. -ENOENT / -EACCES with a message if it is not an
 * executable regular file.
 */
static int fc_resolve_binary(const char *name, char **ret, char **ret_error) {
        _cleanup_free_ char *path = NULL;
        struct stat st;

        assert(ret);

        if (isempty(name)) {
                set_error(ret_error, "firecracker: no binary configured");
                return -ENOENT;
        }
        if (name[0] == '/')
                path = strdup(name);
        else if (strchr(name, '/')) {
                char cwd[4096];
                if (!getcwd(cwd, sizeof cwd))
                        return -errno;
                path = strdup_printf("%s/%s", cwd, name);
        } else {
                const char *search = getenv("PATH");
                if (isempty(search))
                        search = "/usr/local/bin:/usr/bin:/bin";
                for (const char *p = search; *p;) {
                        size_t n = strcspn(p, ":");
                        _cleanup_free_ char *cand = strdup_printf("%.*s/%s", (int) n, p, name);
                        if (!cand)
                                return -ENOMEM;
                        if (n > 0 && cand[0] == '/' && stat(cand, &st) >= 0 && S_ISREG(st.st_mode) &&
                            access(cand, X_OK) >= 0) {
                                path = TAKE_PTR(cand);
                                break;
                        }
                        p += n + (p[n] == ':');
                }
                if (!path) {
                        set_error(ret_error, "firecracker: binary %s not found in $PATH", name);
                        return -ENOENT;
                }
        }
        if (!path)
                return -ENOMEM;

        if (stat(path, &st) < 0) {
                int r = -errno;
                set_error(ret_error, "firecracker: binary %s: %s", path, strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0) {
                set_error(ret_error, "firecracker: binary %s: not an executable file", path);
                return -EACCES;
        }
        *ret = TAKE_PTR(path);
        return 0;
}

/* The last FC_LOG_TAIL_BYTES of a file, trimmed, or NULL if missing, empty or
 * unreadable (this only decorates an error message). */
static char *file_tail(const char *path) {
        char buf[FC_LOG_TAIL_BYTES + 1];
        struct stat st;

        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return NULL;
        off_t off = st.st_size > (off_t) FC_LOG_TAIL_BYTES ? st.st_size - FC_LOG_TAIL_BYTES : 0;
        ssize_t n = pread(fd, buf, FC_LOG_TAIL_BYTES, off);
        if (n <= 0)
                return NULL;
        buf[n] = 0;
        size_t len = strlen(buf);
        while (len > 0 && strchr(" \t\r\n", buf[len - 1]))
                buf[--len] = 0;
        const char *start = buf + strspn(buf, " \t\r\n");
        return *start ? strdup(start) : NULL;
}

/* "; vmm.log: ...; console.log: ..." for the run_dir files that have
 * something to say, or "" (malloc'ed; NULL on OOM). */
static char *fc_log_tails(const char *run_dir) {
        _cleanup_free_ char *log_path = strdup_printf("%s/vmm.log", run_dir);
        _cleanup_free_ char *console_path = strdup_printf("%s/console.log", run_dir);
        if (!log_path || !console_path)
                return NULL;
        _cleanup_free_ char *log = file_tail(log_path), *console = file_tail(console_path);
        return strdup_printf("%s%s%s%s", log ? "; vmm.log: " : "", log ? log : "",
                             console ? "; console.log: " : "", console ? console : "");
}

/* Create path as an empty-or-kept regular file (0600). If something else
 * (a FIFO, a symlink) is there, it is replaced. truncate: start empty. */
static int ensure_regular_file(const char *path, bool truncate) {
        struct stat st;

        if (lstat(path, &st) >= 0 && !S_ISREG(st.st_mode) && unlink(path) < 0)
                return -errno;
        _cleanup_close_ int fd =
                open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | (truncate ? O_TRUNC : 0),
                     0600);
        return fd < 0 ? -errno : 0;
}

/* Kill every live process whose cmdline holds our socket path: there must
 * never be two VMMs for one VM. 0 when none is left. */
static int fc_kill_socket_owners(const char *sock, unsigned timeout_ms, char **ret_error) {
        for (unsigned i = 0;; i++) {
                pid_t pid;
                uint64_t st;
                int r = vmm_find_by_cmdline(sock, &pid);
                if (r == -ESRCH)
                        return 0;
                if (r < 0) {
                        set_error(ret_error, "firecracker: cannot scan /proc: %s", strerror(-r));
                        return r;
                }
                if (i >= FC_STALE_KILL_MAX) {
                        set_error(ret_error, "firecracker: process %d keeps holding %s", (int) pid, sock);
                        return -EBUSY;
                }
                if (vmm_pid_start_time(pid, &st) < 0)
                        continue; /* exited meanwhile */
                r = vmm_kill(pid, st, sock, timeout_ms);
                if (r < 0) {
                        set_error(ret_error, "firecracker: cannot kill process %d holding %s: %s", (int) pid,
                                  sock, strerror(-r));
                        return r;
                }
                log_warning("firecracker: killed process %d that still held %s", (int) pid, sock);
        }
}

/* Sleep for ms milliseconds (EINTR ends it early, which is harmless here). */
static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000u, .tv_nsec = (long) (ms % 1000u) * 1000000L };
        (void) nanosleep(&ts, NULL);
}

/*
 * Poll GET / until the freshly spawned VMM answers 200, within timeout_ms.
 * -ESRCH if the process exits first, -ETIMEDOUT if it never answers, or the
 * error of an unexpected answer. Messages are completed by the caller.
 */
static int fc_wait_api(const VmmHandle *h, unsigned timeout_ms, char **ret_error) {
        uint64_t deadline = now_mono_us() + (uint64_t) timeout_ms * 1000u;
        unsigned pause_ms = 2;

        for (;;) {
                UnixHttpResponse resp = { 0 };
                _cleanup_free_ char *err = NULL;

                if (!vmm_is_alive(h->pid, h->start_time, NULL)) {
                        set_error(ret_error, "firecracker: process %d exited during startup", (int) h->pid);
                        return -ESRCH;
                }
                uint64_t now = now_mono_us();
                if (now >= deadline)
                        break;
                unsigned left_ms = (unsigned) ((deadline - now + 999u) / 1000u);
                int r = unix_http_request(h->socket_path, "GET", "/", NULL, left_ms, &resp, &err);
                if (r == 0) {
                        long status = resp.status;
                        _cleanup_free_ char *fault = fc_error_text(resp.body);
                        unix_http_response_done(&resp);
                        if (status == 200)
                                return 0;
                        set_error(ret_error, "firecracker: GET /: %ld: %s", status, fault ? fault : "?");
                        return -EPROTO;
                }
                if (r == -ETIMEDOUT)
                        break;
                if (r != -ENOENT && r != -ECONNREFUSED) {
                        set_error(ret_error, "firecracker: GET /: %s", err ? err : strerror(-r));
                        return r;
                }
                /* Not bound or not listening yet. */
                sleep_ms(pause_ms < left_ms ? pause_ms : left_ms);
                if (pause_ms < 50)
                        pause_ms *= 2;
        }
        set_error(ret_error, "firecracker: API socket %s did not answer within %u ms", h->socket_path,
                  timeout_ms);
        return -ETIMEDOUT;
}

/* ---- the Backend entry points ---- */

static int fc_check_available(const BackendOptions *o, char **ret_error) {
        _cleanup_free_ char *path = NULL;

        assert(o);
        return fc_resolve_binary(o->firecracker_binary, &path, ret_error);
}

static int fc_spawn(const BackendOptions *o, const VmmSpec *spec, VmmHandle *ret_handle, char **ret_error) {
        _cleanup_free_ char *binary = NULL, *log_path = NULL, *old_log = NULL, *console_path = NULL;
        VmmHandle h = { 0 };
        int r;

        assert(o);
        assert(spec && spec->vm_id && spec->run_dir);
        assert(spec->run_dir[0] == '/');
        assert(ret_handle);

        if (!fc_id_is_valid(spec->vm_id)) {
                set_error(ret_error, "firecracker: invalid --id \"%s\"", spec->vm_id);
                return -EINVAL;
        }
        r = snprintf(h.socket_path, sizeof h.socket_path, "%s/api.sock", spec->run_dir);
        if (r < 0 || (size_t) r >= sizeof h.socket_path) {
                set_error(ret_error, "firecracker: socket path %s/api.sock is longer than %zu bytes",
                          spec->run_dir, sizeof h.socket_path - 1);
                return -ENAMETOOLONG;
        }
        r = fc_resolve_binary(o->firecracker_binary, &binary, ret_error);
        if (r < 0)
                return r;
        log_path = strdup_printf("%s/vmm.log", spec->run_dir);
        old_log = strdup_printf("%s/vmm.log.old", spec->run_dir);
        console_path = strdup_printf("%s/console.log", spec->run_dir);
        if (!log_path || !old_log || !console_path)
                return -ENOMEM;

        r = fc_kill_socket_owners(h.socket_path, api_timeout_ms(o), ret_error);
        if (r < 0)
                return r;
        /* Firecracker's bind fails if the file exists, and nobody owns it now. */
        if (unlink(h.socket_path) < 0 && errno != ENOENT) {
                r = -errno;
                set_error(ret_error, "firecracker: cannot remove stale socket %s: %s", h.socket_path,
                          strerror(-r));
                return r;
        }
        /* Older Firecrackers open --log-path without O_CREAT, and none appends
         * or truncates (writes start at offset 0, over the previous VMM's
         * lines): keep the previous log aside and start an empty one. */
        struct stat st;
        if (stat(log_path, &st) >= 0 && st.st_size > 0 && rename(log_path, old_log) < 0) {
                r = -errno;
                set_error(ret_error, "firecracker: cannot rename %s: %s", log_path, strerror(-r));
                return r;
        }
        r = ensure_regular_file(log_path, true);
        if (r < 0) {
                set_error(ret_error, "firecracker: cannot create %s: %s", log_path, strerror(-r));
                return r;
        }

        /* Each flag and its value are separate elements (Firecracker's parser). */
        char *const argv[] = {
                binary,       "--api-sock", h.socket_path, "--id", (char *) spec->vm_id,
                "--log-path", log_path,     "--level",     "Info", NULL,
        };
        r = vmm_spawn(argv, spec->run_dir, console_path, &h.pid, &h.start_time);
        if (r < 0) {
                set_error(ret_error, "firecracker: cannot start %s: %s", binary, strerror(-r));
                return r;
        }

        r = fc_wait_api(&h, api_timeout_ms(o), ret_error);
        if (r < 0) {
                /* Kill what we started (by pid + start time: it may have exec'ed
                 * something else) and say why, in its own words if it left any. */
                (void) vmm_kill(h.pid, h.start_time, NULL, api_timeout_ms(o));
                (void) unlink(h.socket_path);
                _cleanup_free_ char *tails = fc_log_tails(spec->run_dir);
                /* fc_wait_api has set *ret_error (or left NULL on OOM). */
                if (ret_error && *ret_error && !isempty(tails)) {
                        _cleanup_free_ char *base = TAKE_PTR(*ret_error);
                        set_error(ret_error, "%s%s", base, tails);
                }
                return r;
        }

        *ret_handle = h;
        return 0;
}

static int fc_boot(const BackendOptions *o, const VmmSpec *spec, const VmmHandle *h, char **ret_error) {
        _cleanup_free_ char *metrics_path = NULL;
        _cleanup_json_ json_t *machine = NULL, *boot_source = NULL, *metrics = NULL, *start = NULL;
        VmmState state;
        int r;

        assert(o && spec && h);
        assert(spec->config && spec->run_dir);
        const VmConfig *c = spec->config;

        if (c->hotplug_bytes > 0 || (c->max_vcpu_count > 0 && c->max_vcpu_count != c->vcpu_count)) {
                set_error(ret_error, "firecracker: CPU and memory hotplug are not supported");
                return -EOPNOTSUPP;
        }

        /* Idempotent: a retry after a crash must not re-send what Firecracker
         * rejects after boot. */
        r = fc_get_state(o, h, &state, ret_error);
        if (r < 0)
                return r;
        if (state == VMM_STATE_RUNNING || state == VMM_STATE_PAUSED)
                return 0;

        machine = fc_machine_config_json(c);
        boot_source = fc_boot_source_json(c);
        metrics_path = strdup_printf("%s/metrics.json", spec->run_dir);
        metrics = metrics_path ? fc_metrics_json(metrics_path) : NULL;
        start = fc_action_json("InstanceStart");
        if (!machine || !boot_source || !metrics || !start)
                return -ENOMEM;

        r = fc_send(o, h, "PUT", "/machine-config", machine, ret_error);
        if (r < 0)
                return r;
        r = fc_send(o, h, "PUT", "/boot-source", boot_source, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_disks; i++) {
                _cleanup_free_ char *path = strdup_printf("/drives/%s", c->disks[i].id);
                _cleanup_json_ json_t *drive = fc_drive_json(&c->disks[i]);
                if (!path || !drive)
                        return -ENOMEM;
                r = fc_send(o, h, "PUT", path, drive, ret_error);
                if (r < 0)
                        return r;
        }

        /* A regular file, not a FIFO: metald reads it incrementally and must not
         * lose deltas while it is down. Firecracker writes it from offset 0, so
         * it starts empty; nothing was flushed yet, the VM has not started. */
        r = ensure_regular_file(metrics_path, true);
        if (r < 0) {
                set_error(ret_error, "firecracker: cannot create %s: %s", metrics_path, strerror(-r));
                return r;
        }
        _cleanup_free_ char *metrics_error = NULL;
        r = fc_send(o, h, "PUT", "/metrics", metrics, &metrics_error);
        /* A retry after a crash between PUT /metrics and InstanceStart: the
         * metrics are already ours (we only ever set this one path). */
        if (r == -EBADMSG && metrics_error &&
            strstr(metrics_error, "Reinitialization of metrics not allowed"))
                r = 0;
        if (r < 0) {
                if (ret_error)
                        *ret_error = TAKE_PTR(metrics_error);
                return r;
        }

        return fc_send(o, h, "PUT", "/actions", start, ret_error);
}

/* PATCH /vm to Paused or Resumed (pausing a paused VM succeeds in Firecracker). */
static int fc_set_paused(const BackendOptions *o, const VmmHandle *h, bool paused, char **ret_error) {
        _cleanup_json_ json_t *body = fc_vm_state_json(paused);

        assert(o && h);
        if (!body)
                return -ENOMEM;
        return fc_send(o, h, "PATCH", "/vm", body, ret_error);
}

static int fc_pause(const BackendOptions *o, const VmmHandle *h, char **ret_error) {
        return fc_set_paused(o, h, true, ret_error);
}

static int fc_resume(const BackendOptions *o, const VmmHandle *h, char **ret_error) {
        return fc_set_paused(o, h, false, ret_error);
}

static int fc_request_shutdown(const BackendOptions *o, const VmmHandle *h, char **ret_error) {
        _cleanup_json_ json_t *body = fc_action_json("SendCtrlAltDel");

        assert(o && h);
        if (!body)
                return -ENOMEM;
        return fc_send(o, h, "PUT", "/actions", body, ret_error);
}

/* -ESRCH with *ret_state = VMM_STATE_GONE when the process is gone (the one
 * case where the out-parameter is also written on failure, so callers may
 * test either). */
static int fc_query(const BackendOptions *o, const VmmHandle *h, VmmState *ret_state, char **ret_error) {
        assert(o && h);
        assert(ret_state);

        if (!vmm_is_alive(h->pid, h->start_time, h->socket_path)) {
                set_error(ret_error, "firecracker: process %d is gone", (int) h->pid);
                *ret_state = VMM_STATE_GONE;
                return -ESRCH;
        }
        int r = fc_get_state(o, h, ret_state, ret_error);
        if (r == -ESRCH)
                *ret_state = VMM_STATE_GONE;
        return r;
}

const Backend backend_firecracker = {
        .name = "firecracker",
        .caps = 0,
        .check_available = fc_check_available,
        .spawn = fc_spawn,
        .boot = fc_boot,
        .pause = fc_pause,
        .resume = fc_resume,
        .request_shutdown = fc_request_shutdown,
        .query = fc_query,
};
