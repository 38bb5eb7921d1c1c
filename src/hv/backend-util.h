/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * What every backend does the same way, factored once: error messages, the
 * binary lookup, the files in run_dir, "never two VMMs on one socket", waiting
 * for a fresh VMM's API, and one API call whose errors carry the VMM's own
 * words. No state; any thread may call any of these. Messages start with the
 * backend's name ("firecracker: ...", "cloud-hypervisor: ...").
 *
 * May use: hv/vmm-process.h, hv/unix-http.h, util, jansson.
 */

#include <jansson.h>

#include "hv/hypervisor.h"

/* A jansson reference held by a cleanup-guarded local. */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* How the VMMs of one backend answer over HTTP. Static, one per backend. */
typedef struct BackendApi {
        const char *name; /* "cloud-hypervisor": prefixes every message */
        /* Prepended to an endpoint to make the request path ("" or "/api/v1/");
         * messages name the endpoint as the backend wrote it ("PUT vm.boot"). */
        const char *path_prefix;
        /* The VMM's own words from an error answer's body (may be NULL or "");
         * a malloc'ed string, NULL on OOM. */
        char *(*error_text)(const char *body);
        /* The negative errno for a non-2xx status given those words:
         * -EBADMSG when the VMM refused for good (hypervisor.h). */
        int (*status_errno)(long status, const char *text);
} BackendApi;

/* Put a formatted message in *ret_error if ret_error is not NULL. Assigns,
 * never reads or frees (the caller's variable need not be initialised); OOM
 * leaves NULL: the errno still tells what happened. */
_printf_(2, 3) void backend_set_error(char **ret_error, const char *fmt, ...);

/* The per-call API timeout: o->api_timeout_ms, or 5000 ms when 0. */
unsigned backend_api_timeout_ms(const BackendOptions *o);

/*
 * The absolute path of the VMM binary to run: name as configured, made
 * absolute against our cwd if relative (the child runs in run_dir), or looked
 * up in $PATH if it has no '/'. -ENOENT / -EACCES with "<backend>: binary ..."
 * if it is not an executable regular file.
 */
int backend_resolve_binary(const char *backend, const char *name, char **ret, char **ret_error);

/* Create path as a regular file (0600), emptied if truncate. Something else
 * there (a FIFO, a symlink) is replaced. 0 or negative errno. */
int backend_ensure_regular_file(const char *path, bool truncate);

/* Keep what a previous VMM wrote to path as "<path>.old" (when non-empty) and
 * start an empty regular file: for files a VMM truncates or overwrites from
 * offset 0. Negative errno with "<backend>: cannot ..." on failure. */
int backend_rotate_file(const char *backend, const char *path, char **ret_error);

/*
 * Make socket_path free for a new VMM: kill every live process whose cmdline
 * names it (vmm_find_by_cmdline: there must never be two VMMs for one VM),
 * then remove the file left behind (no VMM unlinks its socket on SIGKILL,
 * and a bind over an existing file fails). 0, or negative errno with a message.
 */
int backend_clear_socket(const char *backend, const char *socket_path, unsigned timeout_ms,
                         char **ret_error);

/*
 * The /proc scan above reads the command line of every process on the host:
 * with thousands of VMMs running it costs tens of milliseconds, on every
 * boot. It is only needed where a VMM this process does not know of can
 * exist: one spawned by an earlier metald that crashed before recording it.
 * So metald remembers the API socket paths for which that cannot be: a VM it
 * created itself (a fresh id, never used by an earlier run), one whose scan
 * found nobody, one whose VMM it spawned and recorded. backend_clear_socket
 * takes the path out of the set (a new VMM is about to exist for it) and
 * skips the scan when it was there; the reconciler puts it back once the new
 * VMM is recorded. After a restart the set is empty: each VM's first step
 * scans, as before.
 */
void backend_socket_mark_known(const char *socket_path);
/* Is socket_path in the set; with take, remove it too. */
bool backend_socket_is_known(const char *socket_path, bool take);

/*
 * Poll `GET endpoint` on a freshly spawned VMM (h) until it answers 200,
 * within timeout_ms. 0 and, if ret_body is not NULL, the answer's body
 * (malloc'ed). -ESRCH if the process exits first, -ETIMEDOUT if the socket
 * never answers, -EPROTO for another status (with the VMM's words).
 */
/* The longest pause between two attempts to reach a starting VMM's socket. */
#define BACKEND_POLL_MAX_MS 5u

int backend_wait_api(const BackendApi *api, const VmmHandle *h, const char *endpoint, unsigned timeout_ms,
                     char **ret_body, char **ret_error);

/*
 * Clean up after a spawn that failed once the process existed: kill it (by pid
 * and start time: it may have exec'ed something else), kill anything else
 * that holds its socket (a child it forked), remove the socket, and append
 * the tails of the named run_dir files (NULL-terminated list, e.g. "vmm.log")
 * to *ret_error: "...; vmm.log: <last lines>". The VMM's own last words are
 * usually the reason.
 */
void backend_spawn_failed(const BackendApi *api, const VmmHandle *h, const char *run_dir,
                          const char *const *tail_files, unsigned timeout_ms, char **ret_error);

/*
 * One API call: `method path_prefix+endpoint` with body (may be NULL) to the
 * VMM of h within timeout_ms. 2xx: 0 and, if ret_answer is not NULL, the
 * decoded JSON answer (-EPROTO if there is none or it is not JSON). Other
 * statuses: api->status_errno, with the VMM's words:
 *   "cloud-hypervisor: PUT vm.boot: 500: Error from API: The VM could not boot: ..."
 * *ret_status (may be NULL) gets the HTTP status whenever one came back
 * (else 0), so a caller can tell expected refusals apart. Transport errors
 * as unix_http_request, except that a failure to reach a VMM whose process
 * is gone is -ESRCH ("<backend>: PUT vm.boot: process 123 is gone").
 */
int backend_call(const BackendApi *api, const VmmHandle *h, unsigned timeout_ms, const char *method,
                 const char *endpoint, const json_t *body, json_t **ret_answer, long *ret_status,
                 char **ret_error);

/* The VMM user's name for messages ("root" when VMMs run as root). */
const char *backend_vmm_user_name(const BackendOptions *o);

/* Hand run_dir to the VMM user: owner uid:gid, mode 0700 (it binds its API
 * socket and writes its files there; nobody else may enter). Not followed if
 * it is a symlink. Negative errno with "<backend>: ..." on failure. */
int backend_prepare_run_dir(const char *backend, const BackendOptions *o, const char *run_dir,
                            char **ret_error);

/* backend_ensure_regular_file, then owned by the VMM user, mode 0600: for the
 * files the VMM opens itself (its log, Firecracker's metrics). */
int backend_vmm_file(const char *backend, const BackendOptions *o, const char *path, bool truncate,
                     char **ret_error);

/*
 * Make the guest's files usable by the VMM user: kernel and initrd readable,
 * read-only disks readable, other disks readable and writable. A file the
 * user can already use is left alone; otherwise metald adds a POSIX ACL entry
 * "user:<vmm-user>:r" or ":rw" (logged; kept, as every VMM runs as that user)
 * and checks again as that user. If it still cannot (no ACL support, a
 * directory on the way not searchable): -EBADMSG (failed_precondition) with a
 * message naming the file and the fix. Nothing to do when VMMs run as root.
 */
int backend_grant_assets(const char *backend, const BackendOptions *o, const VmConfig *c, char **ret_error);

/*
 * A Firecracker RateLimiter / Cloud Hypervisor RateLimiterConfig for l:
 * {"bandwidth":{"size":B,"refill_time":1000}, "ops":{"size":O,"refill_time":1000}},
 * each bucket only when its rate is set (one second's worth, refilled every
 * second). NULL when l limits nothing (or on OOM: check l first).
 */
json_t *backend_rate_limiter_json(const VmRateLimit *l);
static inline bool vm_rate_limit_set(const VmRateLimit *l) {
        return l->bandwidth_bytes_per_second > 0 || l->ops_per_second > 0;
}
