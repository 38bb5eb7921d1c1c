/* SPDX-License-Identifier: Apache-2.0 */
#include "manager.h"

#include <curl/curl.h>
#include <grp.h>
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
#include "hv/backend-util.h"
#include "sys/vmm-user.h"
#include "api/network-service.h"
#include "util/log.h"
#include "vm.pb-c.h"

/* Longest socket path a VM can get: <data-dir>/vms/<64-char id>/api.sock. */
#define SOCKET_SUFFIX_MAX (sizeof("/vms/") - 1 + 64 + sizeof("/api.sock") - 1)

/*
 * --jailer-binary: the jailer (an executable file, absolute), its chroot base
 * (created 0700 root; on the data dir's filesystem, as the run dir's vmm.log
 * and metrics.json are hard-linked into each jail) and the cgroup version.
 * Nothing to do without a jailer. Fills m->jailer_*; 0 or negative errno
 * with *ret_error.
 */
static int manager_setup_jailer(Manager *m, const char *data_dir, char **ret_error) {
        const Options *o = m->options;
        struct stat st_data, st_base;

        if (!o->jailer_binary) {
                if (o->jailer_chroot_base || o->jailer_cgroup_version)
                        log_warning("--jailer-chroot-base and --jailer-cgroup-version have no effect "
                                    "without --jailer-binary");
                return 0;
        }
        int r = backend_resolve_binary("jailer", o->jailer_binary, &m->jailer_binary, ret_error);
        if (r < 0)
                return r;
        _cleanup_free_ char *want =
                o->jailer_chroot_base ? strdup(o->jailer_chroot_base) : strdup_printf("%s/jailer", data_dir);
        if (!want)
                return -ENOMEM;
        r = mkdir_p(want, 0700);
        if (r < 0) {
                *ret_error =
                        strdup_printf("cannot create the jailer chroot base %s: %s", want, strerror(-r));
                return r;
        }
        m->jailer_chroot_base = realpath(want, NULL);
        if (!m->jailer_chroot_base)
                return -errno;
        if (stat(data_dir, &st_data) < 0 || stat(m->jailer_chroot_base, &st_base) < 0)
                return -errno;
        if (st_data.st_dev != st_base.st_dev) {
                *ret_error =
                        strdup_printf("--jailer-chroot-base %s is not on the filesystem of --data-dir %s: "
                                      "each VM's vmm.log and metrics.json are hard-linked into its jail",
                                      m->jailer_chroot_base, data_dir);
                return -EXDEV;
        }
        m->jailer_cgroup_version = o->jailer_cgroup_version;
        if (m->jailer_cgroup_version == 0)
                m->jailer_cgroup_version = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? 2 : 1;
        log_info("Firecracker runs through the jailer %s (chroot base %s, cgroup v%u, user %s)",
                 m->jailer_binary, m->jailer_chroot_base, m->jailer_cgroup_version, m->vmm_user.name);
        return 0;
}

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
        if (o->host_capacity) {
                long cpus = sysconf(_SC_NPROCESSORS_ONLN);
                double ratio = o->overcommit > 0 ? o->overcommit : 1.0;
                uint64_t vcpus = o->host_vcpus ? o->host_vcpus : (uint64_t) (cpus > 0 ? cpus : 1);
                uint64_t mem = o->host_memory ? o->host_memory : m->host_memory_bytes;
                m->capacity_vcpus = (uint64_t) ((double) vcpus * ratio);
                m->capacity_memory = (uint64_t) ((double) mem * ratio);
                if (m->capacity_vcpus == 0)
                        m->capacity_vcpus = 1;
        }
        AuthConfig ac = {
                .tokens_path = o->tokens,
                .unix_users = o->unix_users,
                .n_unix_users = o->n_unix_users,
                .cert_rules = o->tls_client_maps,
                .n_cert_rules = o->n_tls_client_maps,
                .client_certs = o->tls_client_ca != NULL,
        };
        int r = auth_new(&ac, &m->auth, ret_error);
        if (r < 0)
                return r;

        /* Before anything is created: no VMM ever runs as an unknown user. */
        r = vmm_user_resolve(o->vmm_user, &m->vmm_user, ret_error);
        if (r < 0)
                return r;
        if (m->vmm_user.uid == 0)
                log_warning("--vmm-user %s: VMMs run as root, with every privilege metald has "
                            "(the documented opt-out; use an unprivileged user)",
                            o->vmm_user);
        /* 0711 when VMMs run as another user: they are given absolute paths
         * into their run dirs (<data-dir>/vms/<id>/, theirs, 0700) and must
         * pass through; nobody else can list the directory, and everything in
         * it is private by its own mode (metald.db* 0600 root). */
        mode_t data_mode = m->vmm_user.uid == 0 ? 0700 : 0711;
        r = mkdir_p(o->data_dir, 0700);
        if (r < 0) {
                *ret_error = strdup_printf("cannot create --data-dir %s: %s", o->data_dir, strerror(-r));
                return r;
        }
        if (chmod(o->data_dir, data_mode) < 0) {
                r = -errno;
                *ret_error = strdup_printf("cannot chmod --data-dir %s: %s", o->data_dir, strerror(-r));
                return r;
        }
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
        if (r >= 0 && chmod(m->vms_dir, data_mode) < 0)
                r = -errno;
        if (r < 0) {
                *ret_error = strdup_printf("cannot create %s: %s", m->vms_dir, strerror(-r));
                return r;
        }
        r = vmm_user_check_path(&m->vmm_user, m->vms_dir, ret_error);
        if (r < 0)
                return r;
        r = manager_setup_jailer(m, data_dir, ret_error);
        if (r < 0)
                return r;
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
                .vmm_user = &m->vmm_user,
                .jailer_binary = m->jailer_binary,
                .jailer_chroot_base = m->jailer_chroot_base,
                .jailer_cgroup_version = m->jailer_cgroup_version,
        };
        r = scope_manager_new(&m->scopes);
        if (r < 0) {
                *ret_error = strdup_printf("cannot set up systemd scopes: %s", strerror(-r));
                return r;
        }
        /* TAPs belong to the VMM user: it opens them without privileges. */
        m->net = (HostNetOptions){ .tap_uid = m->vmm_user.uid,
                                   .tap_gid = m->vmm_user.gid,
                                   .firewall = o->network_firewall };
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
        m->auth = auth_free(m->auth);
        m->event = sd_event_unref(m->event);
        for (size_t i = 0; i < m->n_asset_roots; i++)
                free(m->asset_roots[i]);
        free(m->vms_dir);
        free(m->jailer_binary);
        free(m->jailer_chroot_base);
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

/* SIGHUP: re-read the token file (a bad one keeps the old tokens), and look
 * at every VM again at once, as the periodic check would. */
static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        (void) sd_notify(0, "RELOADING=1");
        if (m->options->tokens) {
                _cleanup_free_ char *err = NULL;
                int t = auth_reload(m->auth, &err);
                if (t < 0)
                        log_error("SIGHUP: keeping the old tokens: %s", err ? err : strerror(-t));
                else
                        log_info("SIGHUP: %d token(s) loaded from %s", t, m->options->tokens);
        }
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

/* The HTTP server's authentication hook: the Auth object decides. */
static int authenticate_caller(void *userdata, const CallerCredentials *cred, RpcCaller *ret,
                               ConnectError *e) {
        return auth_authenticate(userdata, cred, ret, e);
}

const RawRoute manager_raw_routes[] = {
        { "/healthz", healthz, RPC_PUBLIC },
        { "/metrics", metrics_service_prometheus, RPC_HOST_READ },
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
        /* Socket activation: systemd hands over the listening sockets (metald.socket). */
        int fds[HTTP_LISTENERS_MAX];
        int n = sd_listen_fds(1);
        if (n > HTTP_LISTENERS_MAX) {
                *ret_error = strdup_printf("systemd passed %d sockets; metald takes at most %d", n,
                                           HTTP_LISTENERS_MAX);
                return -EINVAL;
        }
        for (int i = 0; i < n; i++) {
                fds[i] = SD_LISTEN_FDS_START + i;
                if (sd_is_socket(fds[i], AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
                        *ret_error = strdup_printf(
                                "socket %d systemd passed is not a listening stream socket", i + 1);
                        return -EINVAL;
                }
        }
        const Options *o = m->options;
        _cleanup_free_ char *cert = NULL, *key = NULL, *trust = NULL;
        const char *files[] = { o->tls_cert, o->tls_key, o->tls_client_ca };
        char **texts[] = { &cert, &key, &trust };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                if (!files[i])
                        continue;
                size_t size;
                r = read_full_file(files[i], 1u << 20, texts[i], &size);
                if (r < 0) {
                        *ret_error = strdup_printf("cannot read %s: %s", files[i], strerror(-r));
                        return r;
                }
        }
        gid_t gid = 0;
        if (o->socket_group) {
                struct group *gr = getgrnam(o->socket_group);
                gid = gr ? gr->gr_gid : (gid_t) strtoul(o->socket_group, NULL, 10);
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
                .listen_address = o->listen,
                .listen_addresses = (char *const *) o->listens,
                .n_listen_addresses = o->n_listens,
                .listen_fd = -EBADF,
                .listen_fds = fds,
                .n_listen_fds = n > 0 ? (size_t) n : 0,
                .socket_gid = gid,
                .set_socket_gid = o->socket_group != NULL,
                .loopback_only = !auth_enabled(m->auth) && !o->insecure,
                .tls_cert_pem = cert,
                .tls_key_pem = key,
                .tls_trust_pem = trust,
                .authenticate = authenticate_caller,
                .auth_userdata = m->auth,
                .prefix = VM_SERVICE_PREFIX,
                .methods = m->methods,
                .n_methods = m->n_methods,
                .service = &vmprovisioner__v1__vm_service__descriptor,
                .raw_routes = manager_raw_routes,
                .n_raw_routes = manager_n_raw_routes,
                .userdata = m,
                .connection_timeout_s = m->options->http_timeout_s,
                .connection_limit = m->options->http_connection_limit,
                .body_deadline_s = m->options->http_body_deadline_s,
                .per_ip_connection_limit =
                        m->options->http_per_ip_limit ? m->options->http_per_ip_limit : UINT_MAX,
        };
        r = http_server_start(&hc, &m->http, ret_error);
        if (r < 0)
                return r;
        r = sampler_start(m->sampler);
        if (r < 0) {
                *ret_error = strdup_printf("cannot start metrics sampling: %s", strerror(-r));
                return r;
        }
        if (n > 0)
                log_info("metald listening on %d socket(s) systemd passed (data dir %s)", n, o->data_dir);
        else
                for (size_t i = 0; i < o->n_listens; i++)
                        log_info("metald listening on %s%s (data dir %s)", o->listens[i],
                                 o->tls_cert && strncmp(o->listens[i], "unix:", 5) != 0 ? " with TLS" : "",
                                 o->data_dir);
        if (!auth_enabled(m->auth))
                log_info("no authentication configured: every caller is an admin%s",
                         o->insecure ? " (--insecure)" : "");
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
