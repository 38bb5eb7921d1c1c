/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the hypervisor backends (backend-util.h). No state. */
#include "hv/backend-util.h"

#include <assert.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <acl/libacl.h>
#include <stdio.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <time.h>

#include "hv/unix-http.h"
#include "hv/vmm-process.h"
#include "util/log.h"
#include "util/strset.h"

#define BACKEND_API_TIMEOUT_DEFAULT_MS 5000u
/* How much of each run_dir file to quote when a VMM fails to start. */
#define BACKEND_LOG_TAIL_BYTES 1024u
/* Bound on the attempts to get rid of processes that hold a socket path. */
#define BACKEND_STALE_KILL_MAX 8u

void backend_set_error(char **ret_error, const char *fmt, ...) {
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

unsigned backend_api_timeout_ms(const BackendOptions *o) {
        assert(o);
        return o->api_timeout_ms > 0 ? o->api_timeout_ms : BACKEND_API_TIMEOUT_DEFAULT_MS;
}

int backend_resolve_binary(const char *backend, const char *name, char **ret, char **ret_error) {
        _cleanup_free_ char *path = NULL;
        struct stat st;

        assert(backend);
        assert(ret);

        if (isempty(name)) {
                backend_set_error(ret_error, "%s: no binary configured", backend);
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
                        backend_set_error(ret_error, "%s: binary %s not found in $PATH", backend, name);
                        return -ENOENT;
                }
        }
        if (!path)
                return -ENOMEM;

        if (stat(path, &st) < 0) {
                int r = -errno;
                backend_set_error(ret_error, "%s: binary %s: %s", backend, path, strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0) {
                backend_set_error(ret_error, "%s: binary %s: not an executable file", backend, path);
                return -EACCES;
        }
        *ret = TAKE_PTR(path);
        return 0;
}

int backend_ensure_regular_file(const char *path, bool truncate) {
        struct stat st;

        assert(path);
        if (lstat(path, &st) >= 0 && !S_ISREG(st.st_mode) && unlink(path) < 0)
                return -errno;
        _cleanup_close_ int fd =
                open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | (truncate ? O_TRUNC : 0),
                     0600);
        return fd < 0 ? -errno : 0;
}

int backend_rotate_file(const char *backend, const char *path, char **ret_error) {
        struct stat st;
        int r;

        assert(backend && path);
        _cleanup_free_ char *old = strdup_printf("%s.old", path);
        if (!old)
                return -ENOMEM;
        if (stat(path, &st) >= 0 && S_ISREG(st.st_mode) && st.st_size > 0 && rename(path, old) < 0) {
                r = -errno;
                backend_set_error(ret_error, "%s: cannot rename %s: %s", backend, path, strerror(-r));
                return r;
        }
        r = backend_ensure_regular_file(path, true);
        if (r < 0)
                backend_set_error(ret_error, "%s: cannot create %s: %s", backend, path, strerror(-r));
        return r;
}

/* Kill every live process whose cmdline names sock. 0 when none is left. */
static int kill_socket_owners(const char *backend, const char *sock, unsigned timeout_ms, char **ret_error) {
        for (unsigned i = 0;; i++) {
                pid_t pid;
                uint64_t st;
                int r = vmm_find_by_cmdline(sock, &pid);
                if (r == -ESRCH)
                        return 0;
                if (r < 0) {
                        backend_set_error(ret_error, "%s: cannot scan /proc: %s", backend, strerror(-r));
                        return r;
                }
                if (i >= BACKEND_STALE_KILL_MAX) {
                        backend_set_error(ret_error, "%s: process %d keeps holding %s", backend, (int) pid,
                                          sock);
                        return -EBUSY;
                }
                if (vmm_pid_start_time(pid, &st) < 0)
                        continue; /* exited meanwhile */
                r = vmm_kill(pid, st, sock, timeout_ms);
                if (r < 0) {
                        backend_set_error(ret_error, "%s: cannot kill process %d holding %s: %s", backend,
                                          (int) pid, sock, strerror(-r));
                        return r;
                }
                log_warning("%s: killed process %d that still held %s", backend, (int) pid, sock);
        }
}

static pthread_mutex_t known_lock = PTHREAD_MUTEX_INITIALIZER;
static StrSet known_sockets; /* see backend_socket_mark_known */

void backend_socket_mark_known(const char *socket_path) {
        pthread_mutex_lock(&known_lock);
        (void) strset_add(&known_sockets, socket_path); /* -ENOMEM: the next step scans, as before */
        pthread_mutex_unlock(&known_lock);
}

bool backend_socket_is_known(const char *socket_path, bool take) {
        pthread_mutex_lock(&known_lock);
        bool k = take ? strset_remove(&known_sockets, socket_path)
                      : strset_contains(&known_sockets, socket_path);
        pthread_mutex_unlock(&known_lock);
        return k;
}

int backend_clear_socket(const char *backend, const char *socket_path, unsigned timeout_ms,
                         char **ret_error) {
        assert(backend && socket_path);

        int r = 0;
        if (!backend_socket_is_known(socket_path, true))
                r = kill_socket_owners(backend, socket_path, timeout_ms, ret_error);
        if (r < 0)
                return r;
        if (unlink(socket_path) < 0 && errno != ENOENT) {
                r = -errno;
                backend_set_error(ret_error, "%s: cannot remove stale socket %s: %s", backend, socket_path,
                                  strerror(-r));
                return r;
        }
        return 0;
}

/* Sleep for ms milliseconds (EINTR ends it early, which is harmless here). */
static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000u, .tv_nsec = (long) (ms % 1000u) * 1000000L };
        (void) nanosleep(&ts, NULL);
}

int backend_wait_api(const BackendApi *api, const VmmHandle *h, const char *endpoint, unsigned timeout_ms,
                     char **ret_body, char **ret_error) {
        uint64_t deadline = now_mono_us() + (uint64_t) timeout_ms * 1000u;
        /* Short pauses: a VMM is usually listening within tens of milliseconds,
         * and a pause that doubles up to 50 ms made each boot wait up to ~50 ms
         * longer than the VMM needed (a connect() per 5 ms costs nothing). */
        unsigned pause_ms = 1;

        assert(api && h && endpoint);
        _cleanup_free_ char *path = strdup_printf("%s%s", api->path_prefix, endpoint);
        if (!path)
                return -ENOMEM;

        for (;;) {
                UnixHttpResponse resp = { 0 };
                _cleanup_free_ char *err = NULL;

                if (!vmm_is_alive(h->pid, h->start_time, NULL)) {
                        backend_set_error(ret_error, "%s: process %d exited during startup", api->name,
                                          (int) h->pid);
                        return -ESRCH;
                }
                uint64_t now = now_mono_us();
                if (now >= deadline)
                        break;
                unsigned left_ms = (unsigned) ((deadline - now + 999u) / 1000u);
                int r = unix_http_request(h->socket_path, "GET", path, NULL, left_ms, &resp, &err);
                if (r == 0) {
                        if (resp.status == 200) {
                                if (ret_body)
                                        *ret_body = TAKE_PTR(resp.body);
                                unix_http_response_done(&resp);
                                return 0;
                        }
                        _cleanup_free_ char *words = api->error_text(resp.body);
                        backend_set_error(ret_error, "%s: GET %s: %ld: %s", api->name, endpoint, resp.status,
                                          words ? words : "?");
                        unix_http_response_done(&resp);
                        return -EPROTO;
                }
                if (r == -ETIMEDOUT)
                        break;
                if (r != -ENOENT && r != -ECONNREFUSED) {
                        backend_set_error(ret_error, "%s: GET %s: %s", api->name, endpoint,
                                          err ? err : strerror(-r));
                        return r;
                }
                /* Not bound or not listening yet. */
                sleep_ms(pause_ms < left_ms ? pause_ms : left_ms);
                if (pause_ms < BACKEND_POLL_MAX_MS)
                        pause_ms = pause_ms * 2 < BACKEND_POLL_MAX_MS ? pause_ms * 2 : BACKEND_POLL_MAX_MS;
        }
        backend_set_error(ret_error, "%s: API socket %s did not answer within %u ms", api->name,
                          h->socket_path, timeout_ms);
        return -ETIMEDOUT;
}

/* The last BACKEND_LOG_TAIL_BYTES of a file, trimmed, or NULL if missing,
 * empty or unreadable (this only decorates an error message). */
static char *file_tail(const char *path) {
        char buf[BACKEND_LOG_TAIL_BYTES + 1];
        struct stat st;

        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return NULL;
        off_t off = st.st_size > (off_t) BACKEND_LOG_TAIL_BYTES ? st.st_size - BACKEND_LOG_TAIL_BYTES : 0;
        ssize_t n = pread(fd, buf, BACKEND_LOG_TAIL_BYTES, off);
        if (n <= 0)
                return NULL;
        buf[n] = 0;
        size_t len = strlen(buf);
        while (len > 0 && strchr(" \t\r\n", buf[len - 1]))
                buf[--len] = 0;
        const char *start = buf + strspn(buf, " \t\r\n");
        return *start ? strdup(start) : NULL;
}

void backend_spawn_failed(const BackendApi *api, const VmmHandle *h, const char *run_dir,
                          const char *const *tail_files, unsigned timeout_ms, char **ret_error) {
        assert(api && h && run_dir && tail_files);

        (void) vmm_kill(h->pid, h->start_time, NULL, timeout_ms);
        (void) kill_socket_owners(api->name, h->socket_path, timeout_ms, NULL);
        (void) unlink(h->socket_path);

        /* The caller has set *ret_error (or left NULL on OOM). */
        if (!ret_error || !*ret_error)
                return;
        for (const char *const *f = tail_files; *f; f++) {
                _cleanup_free_ char *path = strdup_printf("%s/%s", run_dir, *f);
                _cleanup_free_ char *tail = path ? file_tail(path) : NULL;
                if (!tail)
                        continue;
                char *more = strdup_printf("%s; %s: %s", *ret_error, *f, tail);
                if (!more)
                        return;
                free(*ret_error);
                *ret_error = more;
        }
}

int backend_call(const BackendApi *api, const VmmHandle *h, unsigned timeout_ms, const char *method,
                 const char *endpoint, const json_t *body, json_t **ret_answer, long *ret_status,
                 char **ret_error) {
        _cleanup_free_ char *path = NULL, *text = NULL, *err = NULL;
        UnixHttpResponse resp = { 0 };
        int r;

        assert(api && h);
        assert(method && endpoint);

        if (ret_status)
                *ret_status = 0;
        path = strdup_printf("%s%s", api->path_prefix, endpoint);
        if (!path)
                return -ENOMEM;
        if (body) {
                text = json_dumps(body, JSON_COMPACT);
                if (!text)
                        return -ENOMEM;
        }
        r = unix_http_request(h->socket_path, method, path, text, timeout_ms, &resp, &err);
        if (r < 0) {
                if (r != -ENOMEM && h->pid > 0 && !vmm_is_alive(h->pid, h->start_time, h->socket_path)) {
                        backend_set_error(ret_error, "%s: %s %s: process %d is gone", api->name, method,
                                          endpoint, (int) h->pid);
                        return -ESRCH;
                }
                backend_set_error(ret_error, "%s: %s %s: %s", api->name, method, endpoint,
                                  err ? err : strerror(-r));
                return r;
        }

        long status = resp.status;
        if (ret_status)
                *ret_status = status;
        if (status < 200 || status > 299) {
                _cleanup_free_ char *words = api->error_text(resp.body);
                unix_http_response_done(&resp);
                backend_set_error(ret_error, "%s: %s %s: %ld: %s", api->name, method, endpoint, status,
                                  words ? words : "(out of memory)");
                return api->status_errno(status, words);
        }

        if (ret_answer) {
                json_error_t jerr;
                json_t *j = json_loads(resp.body, 0, &jerr);
                if (!j) {
                        backend_set_error(ret_error, "%s: %s %s: %ld: answer is not JSON: %s", api->name,
                                          method, endpoint, status, jerr.text);
                        unix_http_response_done(&resp);
                        return -EPROTO;
                }
                *ret_answer = j;
        }
        unix_http_response_done(&resp);
        return 0;
}

/* ---- the VMM user: its run directory, its files, the guest's files ---- */

const char *backend_vmm_user_name(const BackendOptions *o) {
        return o && o->vmm_user && o->vmm_user->name ? o->vmm_user->name : "root";
}

/* fchown+fchmod the object at path (not following a symlink there) to the
 * VMM user. 0 or negative errno. */
static int give_to_vmm(const BackendOptions *o, const char *path, bool dir, mode_t mode) {
        _cleanup_close_ int fd = open(path, (dir ? O_DIRECTORY | O_RDONLY : O_RDWR) | O_CLOEXEC |
                                                    O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        uid_t uid = o && o->vmm_user ? o->vmm_user->uid : 0;
        gid_t gid = o && o->vmm_user ? o->vmm_user->gid : 0;
        if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0)
                return -errno;
        return 0;
}

int backend_prepare_run_dir(const char *backend, const BackendOptions *o, const char *run_dir,
                            char **ret_error) {
        assert(backend && run_dir);
        int r = give_to_vmm(o, run_dir, true, 0700);
        if (r < 0)
                backend_set_error(ret_error, "%s: cannot hand the run directory %s to the VMM user %s: %s",
                                  backend, run_dir, backend_vmm_user_name(o), strerror(-r));
        return r;
}

int backend_vmm_file(const char *backend, const BackendOptions *o, const char *path, bool truncate,
                     char **ret_error) {
        assert(backend && path);
        int r = backend_ensure_regular_file(path, truncate);
        if (r >= 0)
                r = give_to_vmm(o, path, false, 0600);
        if (r < 0)
                backend_set_error(ret_error, "%s: cannot create %s for the VMM user %s: %s", backend, path,
                                  backend_vmm_user_name(o), strerror(-r));
        return r;
}

/*
 * Add (or widen) the ACL entry "user:<uid>:<perm>" on path, recomputing the
 * mask. 0 or negative errno (-EOPNOTSUPP: the filesystem has no ACLs).
 */
static int acl_grant_user(const char *path, uid_t uid, bool write) {
        acl_t acl = acl_get_file(path, ACL_TYPE_ACCESS);
        acl_entry_t e = NULL;
        acl_permset_t ps;
        int r = 0;

        if (!acl)
                return -errno;
        /* Find our user's entry, or make one. */
        for (int w = ACL_FIRST_ENTRY;; w = ACL_NEXT_ENTRY) {
                acl_entry_t it;
                acl_tag_t tag;
                if (acl_get_entry(acl, w, &it) != 1)
                        break;
                if (acl_get_tag_type(it, &tag) < 0)
                        continue;
                if (tag == ACL_USER) {
                        uid_t *q = acl_get_qualifier(it);
                        bool mine = q && *q == uid;
                        acl_free(q);
                        if (mine) {
                                e = it;
                                break;
                        }
                }
        }
        if (!e && (acl_create_entry(&acl, &e) < 0 || acl_set_tag_type(e, ACL_USER) < 0 ||
                   acl_set_qualifier(e, &uid) < 0))
                goto fail;
        if (acl_get_permset(e, &ps) < 0 || acl_add_perm(ps, ACL_READ) < 0 ||
            (write && acl_add_perm(ps, ACL_WRITE) < 0) || acl_set_permset(e, ps) < 0)
                goto fail;
        if (acl_calc_mask(&acl) < 0 || acl_set_file(path, ACL_TYPE_ACCESS, acl) < 0)
                goto fail;
        acl_free(acl);
        return 0;
fail:
        r = -errno;
        acl_free(acl);
        return r < 0 ? r : -EIO;
}

/* Make one guest file usable by the VMM user (see backend_grant_assets). */
static int grant_one(const char *backend, const BackendOptions *o, const char *what, const char *path,
                     bool write, char **ret_error) {
        const VmmUser *u = o ? o->vmm_user : NULL;
        int amode = R_OK | (write ? W_OK : 0);

        if (isempty(path) || !u || u->uid == 0)
                return 0;
        /* A file that is not there is the VMM's to report, in its own words. */
        if (access(path, F_OK) < 0 && errno == ENOENT)
                return 0;
        int r = vmm_user_access(u, path, amode);
        if (r == 0)
                return 0;
        int g = acl_grant_user(path, u->uid, write);
        if (g >= 0) {
                log_info("%s: granted the VMM user %s %s access to %s (POSIX ACL)", backend, u->name,
                         write ? "read-write" : "read", path);
                r = vmm_user_access(u, path, amode);
                if (r == 0)
                        return 0;
        }
        backend_set_error(ret_error,
                          "%s: %s %s is not %s by the VMM user %s (uid %u): %s%s%s; grant it "
                          "(setfacl -m u:%s:%s %s, and make every directory above it searchable) "
                          "or run metald with --vmm-user root",
                          backend, what, path, write ? "readable and writable" : "readable", u->name,
                          (unsigned) u->uid, strerror(-r), g < 0 ? "; adding an ACL failed: " : "",
                          g < 0 ? strerror(-g) : "", u->name, write ? "rw" : "r", path);
        return -EBADMSG;
}

int backend_grant_assets(const char *backend, const BackendOptions *o, const VmConfig *c, char **ret_error) {
        assert(backend && c);
        int r = grant_one(backend, o, "kernel", c->kernel_path, false, ret_error);
        if (r >= 0)
                r = grant_one(backend, o, "initrd", c->initrd_path, false, ret_error);
        for (size_t i = 0; r >= 0 && i < c->n_disks; i++)
                r = grant_one(backend, o, c->disks[i].readonly ? "read-only disk" : "disk", c->disks[i].path,
                              !c->disks[i].readonly, ret_error);
        /* The VMM attaches to its TAPs (persistent, owned by the VMM user) by
         * opening the clone device: without CAP_NET_ADMIN that only reaches
         * TAPs it owns, so rw on /dev/net/tun (0600 root on some hosts) is
         * all it gains. */
        if (r >= 0 && c->n_nics > 0)
                r = grant_one(backend, o, "TUN clone device", "/dev/net/tun", true, ret_error);
        return r;
}

json_t *backend_rate_limiter_json(const VmRateLimit *l) {
        if (!vm_rate_limit_set(l))
                return NULL;
        json_t *o = json_object();
        if (!o)
                return NULL;
        if (l->bandwidth_bytes_per_second > 0 &&
            json_object_set_new(o, "bandwidth",
                                json_pack("{s:I, s:I}", "size", (json_int_t) l->bandwidth_bytes_per_second,
                                          "refill_time", (json_int_t) 1000)) < 0) {
                json_decref(o);
                return NULL;
        }
        if (l->ops_per_second > 0 &&
            json_object_set_new(o, "ops",
                                json_pack("{s:I, s:I}", "size", (json_int_t) l->ops_per_second,
                                          "refill_time", (json_int_t) 1000)) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}
