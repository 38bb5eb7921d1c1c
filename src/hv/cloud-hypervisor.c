/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Cloud Hypervisor backend: one cloud-hypervisor process per VM, started
 * with only its API socket and logger, then configured and booted over the
 * API (specs/cloud-hypervisor.yaml, specs/VMM-BEHAVIOUR.md "Cloud Hypervisor"):
 * vm.create, vm.boot, vm.pause / vm.resume, vm.power-button, vm.info, and
 * vmm.ping, whose pid is checked against the one we spawned.
 *
 * Files in the VM's run_dir:
 *   api.sock (+ api.sock.lock, Cloud Hypervisor's own flock; left alone),
 *   vmm.log (--log-file; each VMM truncates it: the previous one's is kept
 *     as vmm.log.old),
 *   console.log: the VMM's stdout+stderr, appended (O_APPEND, vmm_spawn),
 *     which is also the guest's serial console: serial mode "Tty" writes
 *     ttyS0 to the VMM's stdout. Not mode "File" on console.log: Cloud
 *     Hypervisor opens that itself with O_TRUNC and no O_APPEND, at every
 *     vm.create, boot after vm.shutdown and reboot, so each boot would wipe
 *     the previous one's console, and its private offset would punch holes
 *     into the file when metald caps it (vm/console.h: copy-and-truncate,
 *     which relies on the writer's O_APPEND) and race with the VMM's own
 *     stderr lines. As Tty, console.log behaves exactly as Firecracker's
 *     (append-only across boots and VMMs, panics in order with the guest's
 *     lines). stdin is /dev/null, not a terminal, so Cloud Hypervisor
 *     neither reads input nor touches terminal modes.
 *
 * No global state; calls for one VM are serialised by the caller.
 */
#include "hv/cloud-hypervisor.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>

#include "hv/backend-util.h"
#include "hv/vmm-process.h"

/* Longest error text quoted from Cloud Hypervisor. */
#define CH_ERROR_TEXT_MAX 1024u

/* ---- pure builders and decoders (cloud-hypervisor.h) ---- */

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

char *ch_cmdline(const VmConfig *c) {
        const char *args = c->kernel_args ? c->kernel_args : "";
        const VmDisk *root;
        const char *p;
        size_t pos = 0, n;
        bool has_root = false;

        assert(c);

        /* Does the caller name a root= of its own (before "--")? */
        while ((n = next_param(args, &pos, &p)) > 0) {
                if (n == 2 && memcmp(p, "--", 2) == 0)
                        break;
                if (n >= 5 && memcmp(p, "root=", 5) == 0)
                        has_root = true;
        }

        /* Room for "root=/dev/vda rw " and every parameter with one blank. */
        char *out = malloc(strlen(args) + 32);
        if (!out)
                return NULL;
        size_t len = 0;
        root = root_disk(c);
        if (root && !has_root)
                len += (size_t) sprintf(out, "root=/dev/vda %s", root->readonly ? "ro" : "rw");

        bool init_args = false;
        pos = 0;
        while ((n = next_param(args, &pos, &p)) > 0) {
                if (!init_args && n == 2 && memcmp(p, "--", 2) == 0)
                        init_args = true;
                else if (!init_args && n == 7 && memcmp(p, "pci=off", 7) == 0)
                        continue;
                if (len > 0)
                        out[len++] = ' ';
                memcpy(out + len, p, n);
                len += n;
        }
        out[len] = 0;
        return out;
}

/* Append {"path", "readonly", "id"} for d to disks. 0 or -ENOMEM. */
static int disk_append(json_t *disks, const VmDisk *d) {
        assert(d->id && d->path);
        return json_array_append_new(disks, json_pack("{s:s, s:b, s:s}", "path", d->path, "readonly",
                                                      (int) d->readonly, "id", d->id)) < 0
                       ? -ENOMEM
                       : 0;
}

json_t *ch_vm_config_json(const VmConfig *c) {
        assert(c && c->kernel_path);

        unsigned max_vcpus = c->max_vcpu_count > c->vcpu_count ? c->max_vcpu_count : c->vcpu_count;
        _cleanup_free_ char *cmdline = ch_cmdline(c);
        _cleanup_json_ json_t *cfg = json_object();
        if (!cmdline || !cfg)
                return NULL;

        /* json_object_set_new takes the value's reference even when it fails
         * (and fails on a NULL value), so nothing below can leak. */
        if (json_object_set_new(cfg, "cpus",
                                json_pack("{s:I, s:I}", "boot_vcpus", (json_int_t) c->vcpu_count,
                                          "max_vcpus", (json_int_t) max_vcpus)) < 0)
                return NULL;

        json_t *memory = json_pack("{s:I}", "size", (json_int_t) c->memory_bytes);
        if (json_object_set_new(cfg, "memory", memory) < 0)
                return NULL;
        if (c->hotplug_bytes > 0 &&
            json_object_set_new(memory, "hotplug_size", json_integer((json_int_t) c->hotplug_bytes)) < 0)
                return NULL;

        json_t *payload = json_pack("{s:s}", "kernel", c->kernel_path);
        if (json_object_set_new(cfg, "payload", payload) < 0)
                return NULL;
        if (*cmdline && json_object_set_new(payload, "cmdline", json_string(cmdline)) < 0)
                return NULL;
        if (!isempty(c->initrd_path) &&
            json_object_set_new(payload, "initramfs", json_string(c->initrd_path)) < 0)
                return NULL;

        if (c->n_disks > 0) {
                json_t *disks = json_array();
                if (json_object_set_new(cfg, "disks", disks) < 0)
                        return NULL;
                /* The root disk first: the first virtio-blk device is /dev/vda. */
                const VmDisk *root = root_disk(c);
                if (root && disk_append(disks, root) < 0)
                        return NULL;
                for (size_t i = 0; i < c->n_disks; i++)
                        if (&c->disks[i] != root && disk_append(disks, &c->disks[i]) < 0)
                                return NULL;
        }

        if (json_object_set_new(cfg, "serial", json_pack("{s:s}", "mode", "Tty")) < 0 ||
            json_object_set_new(cfg, "console", json_pack("{s:s}", "mode", "Off")) < 0)
                return NULL;
        return TAKE_PTR(cfg);
}

static uint64_t min_set(uint64_t a, uint64_t b) {
        return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

int ch_vm_config_add_net(json_t *cfg, const VmmNic *nics, size_t n) {
        if (n == 0)
                return 0;
        json_t *net = json_array();
        if (json_object_set_new(cfg, "net", net) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_t *o = json_pack("{s:s, s:s, s:s}", "tap", nics[i].tap, "mac", nics[i].mac, "id",
                                      nics[i].id);
                if (json_array_append_new(net, o) < 0)
                        return -ENOMEM;
                VmRateLimit l = {
                        .bandwidth_bytes_per_second = min_set(nics[i].rx.bandwidth_bytes_per_second,
                                                              nics[i].tx.bandwidth_bytes_per_second),
                        .ops_per_second = min_set(nics[i].rx.ops_per_second, nics[i].tx.ops_per_second),
                };
                if (vm_rate_limit_set(&l) &&
                    json_object_set_new(o, "rate_limiter_config", backend_rate_limiter_json(&l)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static const struct {
        const char *name;
        ChVmState state;
} ch_states[] = {
        { "Created", CH_VM_CREATED },
        { "Running", CH_VM_RUNNING },
        { "Paused", CH_VM_PAUSED },
        { "Shutdown", CH_VM_SHUTDOWN },
};

int ch_vm_state_from_json(const json_t *info, ChVmState *ret) {
        assert(ret);
        const char *s = json_string_value(json_object_get(info, "state"));
        if (!s)
                return -EPROTO;
        for (size_t i = 0; i < ELEMENTSOF(ch_states); i++)
                if (streq(s, ch_states[i].name)) {
                        *ret = ch_states[i].state;
                        return 0;
                }
        return -EPROTO;
}

VmmState ch_vmm_state(ChVmState s) {
        static const VmmState table[] = {
                [CH_VM_NONE] = VMM_STATE_NOT_STARTED,     [CH_VM_CREATED] = VMM_STATE_NOT_STARTED,
                [CH_VM_RUNNING] = VMM_STATE_RUNNING,      [CH_VM_PAUSED] = VMM_STATE_PAUSED,
                [CH_VM_SHUTDOWN] = VMM_STATE_NOT_STARTED,
        };
        assert((size_t) s < ELEMENTSOF(table));
        return table[s];
}

int ch_ping_pid_from_json(const json_t *ping, pid_t *ret) {
        assert(ret);
        if (!json_is_object(ping))
                return -EPROTO;
        const json_t *pid = json_object_get(ping, "pid");
        if (!pid)
                return -ENODATA;
        json_int_t v = json_integer_value(pid);
        if (!json_is_integer(pid) || v <= 0 || v > INT_MAX)
                return -EPROTO;
        *ret = (pid_t) v;
        return 0;
}

/* Replace control characters (newlines from Rust's Debug output, say) with
 * blanks: the text goes into one-line logs and API answers. */
static char *blank_controls(char *s) {
        for (char *p = s; p && *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = ' ';
        return s;
}

char *ch_error_text(const char *body) {
        if (isempty(body))
                return strdup("(no body)");

        _cleanup_json_ json_t *j = json_loads(body, JSON_DECODE_ANY, NULL);
        if (!json_is_array(j) || json_array_size(j) == 0)
                return blank_controls(strndup(body, CH_ERROR_TEXT_MAX));

        char buf[CH_ERROR_TEXT_MAX + 1];
        size_t len = 0, i;
        json_t *item;
        buf[0] = 0;
        json_array_foreach (j, i, item) {
                _cleanup_free_ char *dumped = NULL;
                const char *s = json_string_value(item);
                if (!s) {
                        dumped = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY);
                        if (!dumped)
                                return NULL;
                        s = dumped;
                }
                int k = snprintf(buf + len, sizeof buf - len, "%s%s", i > 0 ? ": " : "", s);
                if (k < 0)
                        return NULL;
                len += (size_t) k;
                if (len >= sizeof buf - 1) /* truncated: keep what fits */
                        break;
        }
        return blank_controls(strdup(buf));
}

int ch_status_errno(long status, const char *text) {
        /* Host shortages that may pass, in Rust's io::Error words. A disk
         * image locked by another VMM ("Error locking disk images: Another
         * instance likely holds a lock") is not one: metald waits for its
         * own previous VMM to be gone before starting the next, so the
         * holder is another VM, and it stays until someone stops it. */
        static const char *const transient[] = {
                "(os error 4)", "(os error 11)", "(os error 12)", "(os error 23)", "(os error 24)",
        };

        if (status == 429)
                return -EAGAIN;
        if (status >= 400 && status <= 499)
                return -EBADMSG;
        if (status != 500)
                return -EIO;
        for (size_t i = 0; text && i < ELEMENTSOF(transient); i++)
                if (strstr(text, transient[i]))
                        return -EIO;
        return -EBADMSG;
}

/* ---- helpers ---- */

static const BackendApi ch_api = {
        .name = "cloud-hypervisor",
        .path_prefix = "/api/v1/",
        .error_text = ch_error_text,
        .status_errno = ch_status_errno,
};

/* The run_dir files whose tails explain a failed start. */
static const char *const ch_tail_files[] = { "vmm.log", "console.log", NULL };

/* PUT endpoint with body (NULL for the actions, which refuse one) and the
 * configured timeout; the answer's body, if any, is not wanted. */
static int ch_put(const BackendOptions *o, const VmmHandle *h, const char *endpoint, const json_t *body,
                  char **ret_error) {
        return backend_call(&ch_api, h, backend_api_timeout_ms(o), "PUT", endpoint, body, NULL, NULL,
                            ret_error);
}

/* Is ping (a vmm.ping answer) from pid? 0; -EPROTO with a message if it is
 * from another process or makes no sense. An answer without a pid (older
 * releases) is accepted: the caller's cmdline check vouched for the process. */
static int ch_ping_check(const json_t *ping, pid_t pid, char **ret_error) {
        pid_t got;

        int r = ch_ping_pid_from_json(ping, &got);
        if (r == -ENODATA)
                return 0;
        if (r < 0) {
                _cleanup_free_ char *dump = json_dumps(ping, JSON_COMPACT | JSON_ENCODE_ANY);
                backend_set_error(ret_error, "cloud-hypervisor: GET vmm.ping: unexpected answer: %s",
                                  dump ? dump : "?");
                return r;
        }
        if (got != pid) {
                backend_set_error(ret_error,
                                  "cloud-hypervisor: GET vmm.ping: the API socket is served by pid %d, "
                                  "not by pid %d",
                                  (int) got, (int) pid);
                return -EPROTO;
        }
        return 0;
}

/* GET vmm.ping on a known VMM and check that h's process is the one answering. */
static int ch_ping(const BackendOptions *o, const VmmHandle *h, char **ret_error) {
        _cleanup_json_ json_t *ping = NULL;

        int r = backend_call(&ch_api, h, backend_api_timeout_ms(o), "GET", "vmm.ping", NULL, &ping, NULL,
                             ret_error);
        if (r < 0)
                return r;
        return ch_ping_check(ping, h->pid, ret_error);
}

/*
 * GET vm.info and decode the state. No VM created is CH_VM_NONE: a 404 (this
 * spec) or, from releases up to v53, a 500 saying "VM is not created".
 * -EPROTO if the answer makes no sense.
 */
static int ch_get_state(const BackendOptions *o, const VmmHandle *h, ChVmState *ret, char **ret_error) {
        _cleanup_json_ json_t *info = NULL;
        _cleanup_free_ char *err = NULL;
        long status;

        int r = backend_call(&ch_api, h, backend_api_timeout_ms(o), "GET", "vm.info", NULL, &info, &status,
                             &err);
        if (r < 0 && (status == 404 || (status == 500 && err && strstr(err, "VM is not created")))) {
                *ret = CH_VM_NONE;
                return 0;
        }
        if (r < 0) {
                if (ret_error)
                        *ret_error = TAKE_PTR(err);
                return r;
        }
        r = ch_vm_state_from_json(info, ret);
        if (r < 0) {
                _cleanup_free_ char *dump = json_dumps(json_object_get(info, "state"), JSON_ENCODE_ANY);
                backend_set_error(ret_error, "cloud-hypervisor: GET vm.info: unexpected state %s",
                                  dump ? dump : "(none)");
        }
        return r;
}

/* ---- the Backend entry points ---- */

static int ch_check_available(const BackendOptions *o, char **ret_error) {
        _cleanup_free_ char *path = NULL;

        assert(o);
        return backend_resolve_binary(ch_api.name, o->cloud_hypervisor_binary, &path, ret_error);
}

static int ch_spawn(const BackendOptions *o, const VmmSpec *spec, VmmHandle *ret_handle, char **ret_error) {
        _cleanup_free_ char *binary = NULL, *api_arg = NULL, *log_path = NULL, *console_path = NULL,
                            *ping_body = NULL;
        _cleanup_json_ json_t *ping = NULL;
        VmmHandle h = { 0 };
        int r;

        assert(o);
        assert(spec && spec->run_dir);
        assert(spec->run_dir[0] == '/');
        assert(ret_handle);

        r = snprintf(h.socket_path, sizeof h.socket_path, "%s/api.sock", spec->run_dir);
        if (r < 0 || (size_t) r >= sizeof h.socket_path) {
                backend_set_error(ret_error,
                                  "cloud-hypervisor: socket path %s/api.sock is longer than %zu bytes",
                                  spec->run_dir, sizeof h.socket_path - 1);
                return -ENAMETOOLONG;
        }
        r = backend_resolve_binary(ch_api.name, o->cloud_hypervisor_binary, &binary, ret_error);
        if (r < 0)
                return r;
        api_arg = strdup_printf("path=%s", h.socket_path);
        log_path = strdup_printf("%s/vmm.log", spec->run_dir);
        console_path = strdup_printf("%s/console.log", spec->run_dir);
        if (!api_arg || !log_path || !console_path)
                return -ENOMEM;

        /* Releases before v53 cannot bind over a stale socket; later ones would
         * refuse to start next to a live VMM (flock on api.sock.lock). */
        r = backend_clear_socket(ch_api.name, h.socket_path, backend_api_timeout_ms(o), ret_error);
        if (r < 0)
                return r;
        /* --log-file is truncated by the new VMM: keep the previous one's. */
        r = backend_rotate_file(ch_api.name, log_path, ret_error);
        if (r < 0)
                return r;
        /* The VMM runs as the VMM user: its run dir and log are its own; the
         * guest's files are granted to it (vm.boot opens them). */
        r = backend_prepare_run_dir(ch_api.name, o, spec->run_dir, ret_error);
        if (r >= 0)
                r = backend_vmm_file(ch_api.name, o, log_path, false, ret_error);
        if (r >= 0 && spec->config)
                r = backend_grant_assets(ch_api.name, o, spec->config, ret_error);
        if (r < 0)
                return r;

        /* Only these: VM options without --kernel make Cloud Hypervisor exit 2.
         * The socket is "path=<sock>", one argument, which vmm_is_alive()
         * recognises as naming the socket. */
        /* --seccomp true is Cloud Hypervisor's default; said explicitly so that
         * no configuration can turn its syscall filter off behind our back. */
        char *const argv[] = {
                binary, "--api-socket", api_arg, "--log-file", log_path, "-v", "--seccomp", "true", NULL,
        };
        r = vmm_spawn_as(argv, spec->run_dir, console_path, o->vmm_user, &h.pid, &h.start_time);
        if (r < 0) {
                backend_set_error(ret_error, "cloud-hypervisor: cannot start %s: %s", binary, strerror(-r));
                return r;
        }

        r = backend_wait_api(&ch_api, &h, "vmm.ping", backend_api_timeout_ms(o), &ping_body, ret_error);
        if (r >= 0) {
                json_error_t jerr;
                ping = json_loads(ping_body, 0, &jerr);
                if (ping)
                        r = ch_ping_check(ping, h.pid, ret_error);
                else {
                        backend_set_error(ret_error,
                                          "cloud-hypervisor: GET vmm.ping: answer is not JSON: %s",
                                          jerr.text);
                        r = -EPROTO;
                }
        }
        if (r < 0) {
                backend_spawn_failed(&ch_api, &h, spec->run_dir, ch_tail_files, backend_api_timeout_ms(o),
                                     ret_error);
                return r;
        }

        *ret_handle = h;
        return 0;
}

/*
 * Idempotent: Running or Paused is booted already. Otherwise vm.create with
 * spec's config, then vm.boot. A config Cloud Hypervisor still holds from an
 * earlier attempt (Created: a vm.boot that failed, or after vm.shutdown) is
 * vm.delete'd and created again rather than booted: it may be an older
 * VmConfig, and comparing it with what vm.info echoes (every default filled
 * in) would be fragile, while a delete is one cheap call on a rare path.
 * Shutdown (a guest stopped with the VM object kept) is booted as it is:
 * Cloud Hypervisor refuses to delete from there, and it is the config that
 * booted before.
 */
static int ch_boot(const BackendOptions *o, const VmmSpec *spec, const VmmHandle *h, char **ret_error) {
        _cleanup_json_ json_t *cfg = NULL;
        ChVmState state;
        int r;

        assert(o && spec && h);
        assert(spec->config && spec->run_dir);

        r = ch_get_state(o, h, &state, ret_error);
        if (r < 0)
                return r;
        if (state == CH_VM_RUNNING || state == CH_VM_PAUSED)
                return 0;

        cfg = ch_vm_config_json(spec->config);
        if (!cfg || ch_vm_config_add_net(cfg, spec->nics, spec->n_nics) < 0)
                return -ENOMEM;

        if (state != CH_VM_SHUTDOWN) {
                if (state == CH_VM_CREATED) {
                        r = ch_put(o, h, "vm.delete", NULL, ret_error);
                        if (r < 0)
                                return r;
                }
                r = ch_put(o, h, "vm.create", cfg, ret_error);
                if (r < 0)
                        return r;
        }
        return ch_put(o, h, "vm.boot", NULL, ret_error);
}

/*
 * vm.pause or vm.resume. Cloud Hypervisor refuses Paused->Paused and
 * Running->Running (500, "invalid VM state transition"), but a step re-run
 * after a crash must succeed when its target is already reached: on a
 * refusal, a VM found in the target state is a success.
 */
static int ch_set_paused(const BackendOptions *o, const VmmHandle *h, bool paused, char **ret_error) {
        _cleanup_free_ char *err = NULL;
        ChVmState state;

        assert(o && h);
        int r = ch_put(o, h, paused ? "vm.pause" : "vm.resume", NULL, &err);
        if (r == -EBADMSG && ch_get_state(o, h, &state, NULL) >= 0 &&
            state == (paused ? CH_VM_PAUSED : CH_VM_RUNNING))
                return 0;
        if (r < 0 && ret_error)
                *ret_error = TAKE_PTR(err);
        return r;
}

static int ch_pause(const BackendOptions *o, const VmmHandle *h, char **ret_error) {
        return ch_set_paused(o, h, true, ret_error);
}

static int ch_resume(const BackendOptions *o, const VmmHandle *h, char **ret_error) {
        return ch_set_paused(o, h, false, ret_error);
}

/* The ACPI power button: the guest powers off and, as metald never passes
 * --no-shutdown, the process exits. Refused (-EBADMSG) before boot. */
static int ch_request_shutdown(const BackendOptions *o, const VmmHandle *h, char **ret_error) {
        assert(o && h);
        return ch_put(o, h, "vm.power-button", NULL, ret_error);
}

/* -ESRCH with *ret_state = VMM_STATE_GONE when the process is gone (the one
 * case where the out-parameter is also written on failure, as for
 * Firecracker). A live process must answer vmm.ping with its own pid. */
static int ch_query(const BackendOptions *o, const VmmHandle *h, VmmState *ret_state, char **ret_error) {
        ChVmState state;

        assert(o && h);
        assert(ret_state);

        if (!vmm_is_alive(h->pid, h->start_time, h->socket_path)) {
                backend_set_error(ret_error, "cloud-hypervisor: process %d is gone", (int) h->pid);
                *ret_state = VMM_STATE_GONE;
                return -ESRCH;
        }
        int r = ch_ping(o, h, ret_error);
        if (r >= 0)
                r = ch_get_state(o, h, &state, ret_error);
        if (r == -ESRCH)
                *ret_state = VMM_STATE_GONE;
        if (r < 0)
                return r;
        *ret_state = ch_vmm_state(state);
        return 0;
}

const Backend backend_cloud_hypervisor = {
        .name = "cloud-hypervisor",
        .caps = BACKEND_CAP_CPU_HOTPLUG | BACKEND_CAP_MEMORY_HOTPLUG,
        .check_available = ch_check_available,
        .spawn = ch_spawn,
        .boot = ch_boot,
        .pause = ch_pause,
        .resume = ch_resume,
        .request_shutdown = ch_request_shutdown,
        .query = ch_query,
};
