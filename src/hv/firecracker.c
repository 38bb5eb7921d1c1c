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
#include <stdio.h>

#include "hv/backend-util.h"
#include "hv/firecracker-jail.h"
#include "hv/vmm-process.h"
#include "util/log.h"

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

json_t *fc_network_interface_json(const VmmNic *n) {
        assert(n && n->id && n->tap && n->mac);
        _cleanup_json_ json_t *o = json_pack("{s:s, s:s, s:s}", "iface_id", n->id, "host_dev_name", n->tap,
                                             "guest_mac", n->mac);
        if (!o)
                return NULL;
        if (vm_rate_limit_set(&n->rx) &&
            json_object_set_new(o, "rx_rate_limiter", backend_rate_limiter_json(&n->rx)) < 0)
                return NULL;
        if (vm_rate_limit_set(&n->tx) &&
            json_object_set_new(o, "tx_rate_limiter", backend_rate_limiter_json(&n->tx)) < 0)
                return NULL;
        return TAKE_PTR(o);
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
        if (!msg)
                return strndup(clean, 512);
        /* The decoded message may hold escaped control characters ("\\n"):
         * blank them too, the text goes into one-line logs and API answers. */
        char *text = strndup(msg, 512);
        for (char *p = text; p && *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = ' ';
        return text;
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

/* The VMM's words for a status, Firecracker's way: every API refusal is a 400
 * ("fault_message"), permanent; other statuses are not refusals. */
static int fc_status_errno(long status, const char *text) {
        (void) text;
        return status >= 400 && status <= 499 ? -EBADMSG : -EIO;
}

static const BackendApi fc_api = {
        .name = "firecracker",
        .path_prefix = "",
        .error_text = fc_error_text,
        .status_errno = fc_status_errno,
};

/* The run_dir files whose tails explain a failed start. */
static const char *const fc_tail_files[] = { "vmm.log", "console.log", NULL };

/* backend_call with the configured timeout, for calls whose answer has no
 * body (PUT, PATCH): "firecracker: PUT /boot-source: 400: <fault_message>". */
static int fc_send(const BackendOptions *o, const VmmHandle *h, const char *method, const char *path,
                   const json_t *body, char **ret_error) {
        return backend_call(&fc_api, h, backend_api_timeout_ms(o), method, path, body, NULL, NULL,
                            ret_error);
}

/* GET / and decode the state. -EPROTO if Firecracker's answer makes no sense. */
static int fc_get_state(const BackendOptions *o, const VmmHandle *h, VmmState *ret, char **ret_error) {
        _cleanup_json_ json_t *info = NULL;

        int r = backend_call(&fc_api, h, backend_api_timeout_ms(o), "GET", "/", NULL, &info, NULL,
                             ret_error);
        if (r < 0)
                return r;
        r = fc_instance_state_from_json(info, ret);
        if (r < 0) {
                _cleanup_free_ char *dump = json_dumps(info, JSON_COMPACT);
                backend_set_error(ret_error, "firecracker: GET /: unexpected answer: %s", dump ? dump : "?");
        }
        return r;
}

/* ---- the Backend entry points ---- */

static int fc_check_available(const BackendOptions *o, char **ret_error) {
        _cleanup_free_ char *path = NULL;

        assert(o);
        return backend_resolve_binary(fc_api.name, o->firecracker_binary, &path, ret_error);
}

/*
 * Spawn the jailer for spec (argv: Firecracker's arguments) and find the
 * jailed Firecracker: the jailer's child in a new pid namespace, whose host
 * pid it writes to the jail. Fills h->pid and h->start_time.
 */
static int fc_spawn_jailed(const BackendOptions *o, const VmmSpec *spec, const char *binary,
                           char *const fc_args[], const char *console_path, VmmHandle *h, char **ret_error) {
        _cleanup_(fc_jail_done) FcJail j = { 0 };
        pid_t jailer_pid;
        uint64_t jailer_start;

        int r = fc_jail_paths(o, binary, spec->vm_id, &j, ret_error);
        if (r < 0)
                return r;
        r = fc_jail_prepare(o, spec, &j, ret_error);
        if (r < 0)
                return r;
        char **argv = fc_jailer_argv(o, binary, spec->vm_id, spec->config, fc_args);
        if (!argv)
                return -ENOMEM;
        /* The jailer starts as root (it mknods, chroots, joins cgroups) and
         * drops to --uid/--gid itself before it execs Firecracker. */
        r = vmm_spawn(argv, spec->run_dir, console_path, &jailer_pid, &jailer_start);
        argv = fc_argv_free(argv);
        if (r < 0) {
                backend_set_error(ret_error, "firecracker: cannot start the jailer %s: %s", o->jailer_binary,
                                  strerror(-r));
                return r;
        }
        r = fc_jail_wait_pid(&j, jailer_pid, jailer_start, backend_api_timeout_ms(o), &h->pid,
                             &h->start_time, ret_error);
        if (r < 0) {
                static const char *const console_only[] = { "console.log", NULL };
                VmmHandle none = { .pid = jailer_pid, .start_time = jailer_start };
                memcpy(none.socket_path, h->socket_path, sizeof none.socket_path);
                backend_spawn_failed(&fc_api, &none, spec->run_dir, console_only, backend_api_timeout_ms(o),
                                     ret_error);
                return r;
        }
        log_debug("firecracker: vm %s: jailed in %s, pid %d", spec->vm_id, j.root, (int) h->pid);
        return 0;
}

static int fc_spawn(const BackendOptions *o, const VmmSpec *spec, VmmHandle *ret_handle, char **ret_error) {
        _cleanup_free_ char *binary = NULL, *log_path = NULL, *console_path = NULL, *metrics_path = NULL;
        VmmHandle h = { 0 };
        int r;

        assert(o);
        assert(spec && spec->vm_id && spec->run_dir);
        assert(spec->run_dir[0] == '/');
        assert(ret_handle);

        if (!fc_id_is_valid(spec->vm_id)) {
                backend_set_error(ret_error, "firecracker: invalid --id \"%s\"", spec->vm_id);
                return -EINVAL;
        }
        r = snprintf(h.socket_path, sizeof h.socket_path, "%s/api.sock", spec->run_dir);
        if (r < 0 || (size_t) r >= sizeof h.socket_path) {
                backend_set_error(ret_error, "firecracker: socket path %s/api.sock is longer than %zu bytes",
                                  spec->run_dir, sizeof h.socket_path - 1);
                return -ENAMETOOLONG;
        }
        r = backend_resolve_binary(fc_api.name, o->firecracker_binary, &binary, ret_error);
        if (r < 0)
                return r;
        log_path = strdup_printf("%s/vmm.log", spec->run_dir);
        console_path = strdup_printf("%s/console.log", spec->run_dir);
        metrics_path = strdup_printf("%s/metrics.json", spec->run_dir);
        if (!log_path || !console_path || !metrics_path)
                return -ENOMEM;

        /* Firecracker's bind fails if the file exists. */
        r = backend_clear_socket(fc_api.name, h.socket_path, backend_api_timeout_ms(o), ret_error);
        if (r < 0)
                return r;
        /* Older Firecrackers open --log-path without O_CREAT, and none appends
         * or truncates (writes start at offset 0, over the previous VMM's
         * lines): keep the previous log aside and start an empty one. */
        r = backend_rotate_file(fc_api.name, log_path, ret_error);
        if (r < 0)
                return r;
        /* Firecracker runs as the VMM user: its run dir, log and metrics are
         * its own, the guest's files are granted to it (it opens them at PUT). */
        r = backend_prepare_run_dir(fc_api.name, o, spec->run_dir, ret_error);
        if (r >= 0)
                r = backend_vmm_file(fc_api.name, o, log_path, false, ret_error);
        if (r >= 0)
                r = backend_vmm_file(fc_api.name, o, metrics_path, false, ret_error);
        if (r >= 0 && spec->config)
                r = backend_grant_assets(fc_api.name, o, spec->config, ret_error);
        if (r < 0)
                return r;

        /* Each flag and its value are separate elements (Firecracker's parser).
         * Never --no-seccomp: Firecracker's own filters stay on. */
        char *const argv[] = {
                binary,       "--api-sock", h.socket_path, "--id", (char *) spec->vm_id,
                "--log-path", log_path,     "--level",     "Info", NULL,
        };
        if (o->jailer_binary) {
                if (!spec->config) {
                        backend_set_error(ret_error,
                                          "firecracker: a jailed VMM needs the VM's configuration "
                                          "(its files are linked into the jail)");
                        return -EINVAL;
                }
                /* The jailer passes --id (and its start times) itself. */
                char *const fc_args[] = { "--api-sock", h.socket_path, "--log-path", log_path,
                                          "--level",    "Info",        NULL };
                r = fc_spawn_jailed(o, spec, binary, fc_args, console_path, &h, ret_error);
                if (r < 0)
                        return r;
        } else {
                r = vmm_spawn_as(argv, spec->run_dir, console_path, o->vmm_user, &h.pid, &h.start_time);
                if (r < 0) {
                        backend_set_error(ret_error, "firecracker: cannot start %s: %s", binary,
                                          strerror(-r));
                        return r;
                }
        }

        r = backend_wait_api(&fc_api, &h, "/", backend_api_timeout_ms(o), NULL, ret_error);
        if (r < 0) {
                backend_spawn_failed(&fc_api, &h, spec->run_dir, fc_tail_files, backend_api_timeout_ms(o),
                                     ret_error);
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
                backend_set_error(ret_error, "firecracker: CPU and memory hotplug are not supported");
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
        /* The TAPs exist (the reconciler made them); Firecracker opens them now. */
        for (size_t i = 0; i < spec->n_nics; i++) {
                _cleanup_free_ char *path = strdup_printf("/network-interfaces/%s", spec->nics[i].id);
                _cleanup_json_ json_t *nic = fc_network_interface_json(&spec->nics[i]);
                if (!path || !nic)
                        return -ENOMEM;
                r = fc_send(o, h, "PUT", path, nic, ret_error);
                if (r < 0)
                        return r;
        }

        /* A regular file, not a FIFO: metald reads it incrementally and must not
         * lose deltas while it is down. Firecracker writes it from offset 0, so
         * it starts empty; nothing was flushed yet, the VM has not started. */
        r = backend_vmm_file(fc_api.name, o, metrics_path, true, ret_error);
        if (r < 0)
                return r;
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
                backend_set_error(ret_error, "firecracker: process %d is gone", (int) h->pid);
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
        .remove = fc_jail_remove,
};
