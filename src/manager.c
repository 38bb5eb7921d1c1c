/* SPDX-License-Identifier: Apache-2.0 */
#include "manager.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>

#include "api/metrics-service.h"
#include "api/network-service.h"
#include "util/log.h"

/* Longest socket path a VM can get: <data-dir>/vms/<64-char id>/api.sock. */
#define SOCKET_SUFFIX_MAX (sizeof("/vms/") - 1 + 64 + sizeof("/api.sock") - 1)

int manager_new(const Options *o, Manager **ret, char **ret_error) {
        _cleanup_(manager_freep) Manager *m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->options = o;

        if (strlen(o->data_dir) + SOCKET_SUFFIX_MAX >= sizeof(((VmmHandle *) 0)->socket_path)) {
                *ret_error = strdup_printf("--data-dir \"%s\" is too long: VMM API socket paths under it "
                                           "would exceed the %zu bytes a Unix socket path may have "
                                           "(use at most %zu characters)",
                                           o->data_dir, sizeof(((VmmHandle *) 0)->socket_path) - 1,
                                           sizeof(((VmmHandle *) 0)->socket_path) - 1 - SOCKET_SUFFIX_MAX);
                return -ENAMETOOLONG;
        }
        for (size_t i = 0; i < o->n_asset_roots; i++) {
                char *real = realpath(o->asset_roots[i], NULL);
                if (!real) {
                        /* A root that does not exist yet admits nothing; keep it as given. */
                        real = strdup(o->asset_roots[i]);
                        if (!real)
                                return -ENOMEM;
                }
                m->asset_roots[m->n_asset_roots++] = real;
        }
        long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
        m->host_memory_bytes = pages > 0 && psize > 0 ? (uint64_t) pages * (uint64_t) psize : 0;

        int r = mkdir_p(o->data_dir, 0700);
        if (r < 0) {
                *ret_error = strdup_printf("cannot create --data-dir %s: %s", o->data_dir, strerror(-r));
                return r;
        }
        (void) chmod(o->data_dir, 0700);
        /* One canonical spelling of every path under it: VMM processes are found
         * again by their socket path, compared as a whole string. */
        _cleanup_free_ char *data_dir = realpath(o->data_dir, NULL);
        if (!data_dir)
                return -errno;
        if (strlen(data_dir) + SOCKET_SUFFIX_MAX >= sizeof(((VmmHandle *) 0)->socket_path)) {
                *ret_error = strdup_printf("--data-dir \"%s\" resolves to \"%s\", too long for socket paths",
                                           o->data_dir, data_dir);
                return -ENAMETOOLONG;
        }
        m->vms_dir = strdup_printf("%s/vms", data_dir);
        if (!m->vms_dir)
                return -ENOMEM;
        r = mkdir_p(m->vms_dir, 0700);
        if (r < 0) {
                *ret_error = strdup_printf("cannot create %s: %s", m->vms_dir, strerror(-r));
                return r;
        }
        _cleanup_free_ char *db = strdup_printf("%s/metald.db", data_dir);
        if (!db)
                return -ENOMEM;
        r = store_open(db, &m->store, ret_error);
        if (r < 0)
                return r;

        m->backend_options = (BackendOptions){
                .firecracker_binary = o->firecracker_binary,
                .cloud_hypervisor_binary = o->cloud_hypervisor_binary,
                .qemu_binary = o->qemu_binary,
                .api_timeout_ms = o->vmm_api_timeout_ms,
        };
        r = scope_manager_new(&m->scopes);
        if (r < 0) {
                *ret_error = strdup_printf("cannot set up systemd scopes: %s", strerror(-r));
                return r;
        }
        m->net = (HostNetOptions){ .tap_uid = 0, .tap_gid = 0, .firewall = o->network_firewall };
        ReconcilerOptions ro = {
                .net = &m->net,
                .store = m->store,
                .backend_options = &m->backend_options,
                .n_workers = o->workers,
                .asset_roots = m->asset_roots,
                .n_asset_roots = m->n_asset_roots,
                .host_memory_bytes = m->host_memory_bytes,
                .scopes = m->scopes,
                .console_max_bytes = o->console_max_bytes,
        };
        r = reconciler_new(&ro, &m->reconciler);
        if (r < 0) {
                *ret_error = strdup_printf("cannot start the reconciler: %s", strerror(-r));
                return r;
        }
        SamplerOptions so = {
                .store = m->store,
                .interval_ms = o->metrics_interval_ms,
                .retention_ms = o->metrics_retention_ms,
                .rollup_retention_ms = o->rollup_retention_ms,
                .api_timeout_ms = o->vmm_api_timeout_ms < 1000 ? o->vmm_api_timeout_ms : 1000,
        };
        r = sampler_new(&so, &m->sampler);
        if (r < 0) {
                *ret_error = strdup_printf("cannot set up metrics sampling: %s", strerror(-r));
                return r;
        }
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        m->http = http_server_stop(m->http);
        m->sampler = sampler_free(m->sampler);
        m->reconciler = reconciler_free(m->reconciler);
        m->scopes = scope_manager_free(m->scopes);
        m->store = store_free(m->store);
        m->event = sd_event_unref(m->event);
        for (size_t i = 0; i < m->n_asset_roots; i++)
                free(m->asset_roots[i]);
        free(m->vms_dir);
        free(m->methods);
        return mfree(m);
}

static int on_stop_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        log_info("received %s: stopping (VMs keep running)", strsignal((int) si->ssi_signo));
        (void) sd_notify(0, "STOPPING=1");
        http_server_quiesce(m->http);
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* VMMs are our children while we run: reap them so they do not linger as zombies. */
static int on_sigchld(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        int status;
        pid_t pid;
        Manager *m = userdata;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
                log_debug("child %d exited (status 0x%x)", (int) pid, status);
                reconciler_child_exited(m->reconciler, pid, status);
        }
        return 0;
}

/* SIGHUP: re-read nothing yet (no reloadable files), but look at every VM
 * again at once, as the periodic check would. */
static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        (void) sd_notify(0, "RELOADING=1");
        int n = reconciler_enqueue_all(m->reconciler);
        log_info("SIGHUP: re-checking %d VM(s)", n);
        (void) sd_notify(0, "READY=1");
        return 0;
}

static int on_resync(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int n = reconciler_enqueue_all(m->reconciler);
        if (n >= 0)
                (void) sd_notifyf(0, "STATUS=serving; %d active VM(s)", n);
        return sd_event_source_set_time_relative(s, (uint64_t) m->options->resync_interval_ms * 1000);
}

/* GET /healthz: 200 "ok" while serving (the event loop and database answer). */
static int healthz(void *userdata, char **ret_body, const char **ret_content_type) {
        *ret_body = strdup("ok\n");
        *ret_content_type = "text/plain; charset=utf-8";
        return *ret_body ? 0 : -ENOMEM;
}

const RawRoute manager_raw_routes[] = {
        { "/healthz", healthz },
        { "/metrics", metrics_service_prometheus },
};
const size_t manager_n_raw_routes = ELEMENTSOF(manager_raw_routes);

int manager_startup(Manager *m, char **ret_error) {
        int r = sd_event_default(&m->event);
        if (r < 0) {
                *ret_error = strdup_printf("cannot create the event loop: %s", strerror(-r));
                return r;
        }
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_stop_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_stop_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGCHLD, on_sigchld, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, on_reload, m);
        if (r >= 0)
                r = sd_event_set_watchdog(m->event, true);
        if (r < 0) {
                *ret_error = strdup_printf("cannot set up the event loop: %s", strerror(-r));
                return r;
        }
        /* Enabled (not one-shot): on_resync moves its time forward each round. */
        sd_event_source *src = NULL;
        r = sd_event_add_time_relative(m->event, &src, CLOCK_MONOTONIC,
                                       (uint64_t) m->options->resync_interval_ms * 1000, 0, on_resync, m);
        if (r >= 0) {
                r = sd_event_source_set_enabled(src, SD_EVENT_ON);
                (void) sd_event_source_set_floating(src, true);
                sd_event_source_unref(src);
        }
        if (r < 0) {
                *ret_error = strdup_printf("cannot arm the resync timer: %s", strerror(-r));
                return r;
        }

        /* Networks (bridges, firewall) before any VM is looked at. */
        r = network_service_startup(m, ret_error);
        if (r < 0)
                return r;
        ReattachStats rs;
        r = reconciler_reattach_all(m->reconciler, &rs);
        if (r < 0) {
                *ret_error = strdup_printf("reattach failed: %s", strerror(-r));
                return r;
        }
        log_info("reattach: %zu VM(s) looked at in %" PRIu64 " ms%s%s", rs.vms, rs.usec / 1000,
                 rs.host_rebooted ? " (the host rebooted since the last run)" : "",
                 rs.unprobed ? " (some not yet: their VMMs are slow to answer)" : "");
        /* Socket activation: systemd hands over the listening socket (metald.socket). */
        int fd = -EBADF;
        int n = sd_listen_fds(1);
        if (n > 1) {
                *ret_error = strdup_printf("systemd passed %d sockets; metald takes exactly one", n);
                return -EINVAL;
        }
        if (n == 1) {
                fd = SD_LISTEN_FDS_START;
                if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
                        *ret_error = strdup("the socket systemd passed is not a listening stream socket");
                        return -EINVAL;
                }
        }
        /* One table for the server: the VM RPCs, then the network RPCs. */
        m->n_methods = vm_service_n_methods + network_service_n_methods;
        m->methods = calloc(m->n_methods, sizeof *m->methods);
        if (!m->methods)
                return -ENOMEM;
        memcpy(m->methods, vm_service_methods, vm_service_n_methods * sizeof *m->methods);
        memcpy(m->methods + vm_service_n_methods, network_service_methods,
               network_service_n_methods * sizeof *m->methods);
        HttpServerConfig hc = {
                .listen_address = m->options->listen,
                .listen_fd = fd,
                .prefix = VM_SERVICE_PREFIX,
                .methods = m->methods,
                .n_methods = m->n_methods,
                .raw_routes = manager_raw_routes,
                .n_raw_routes = manager_n_raw_routes,
                .userdata = m,
        };
        r = http_server_start(&hc, &m->http, ret_error);
        if (r < 0)
                return r;
        r = sampler_start(m->sampler);
        if (r < 0) {
                *ret_error = strdup_printf("cannot start metrics sampling: %s", strerror(-r));
                return r;
        }
        log_info("metald listening on %s (data dir %s)",
                 fd >= 0 ? "the socket systemd passed" : m->options->listen, m->options->data_dir);
        (void) sd_notifyf(0, "READY=1\nSTATUS=serving; reattached %zu VM(s) in %" PRIu64 " ms%s", rs.vms,
                          rs.usec / 1000, rs.host_rebooted ? " after a host reboot" : "");
        return 0;
}

int manager_run(Manager *m) {
        int r = sd_event_loop(m->event);
        /* No new connections (quiesced in on_stop_signal). Stop the workers: waiting
         * requests are then answered at once (their desired state is already
         * committed and is carried out after the next start), and the server can
         * finish every request in flight before it stops. */
        sampler_stop(m->sampler);
        reconciler_stop(m->reconciler);
        m->http = http_server_stop(m->http);
        return r;
}
