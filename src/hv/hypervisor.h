/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The backend table: one static Backend per hypervisor (firecracker.c,
 * later cloud-hypervisor.c and qemu.c). The reconciler drives every
 * backend through these entry points only; adding a backend is adding a
 * file and a line in backend_table[].
 *
 * Backends never touch the store or the API. Every call that talks to a VMM
 * has a timeout. Calls for one VM are serialised by the caller (one
 * reconcile worker per VM at a time); different VMs may be driven from
 * different threads concurrently, so backends keep no mutable global state.
 *
 * Errors: negative errno, plus a malloc'ed human message in *ret_error
 * (which the caller frees) that carries the hypervisor's own words, e.g.
 * "firecracker: PUT /boot-source: 400: Kernel image path is invalid".
 *   -EBADMSG      the VMM rejected the request (4xx): permanent, retrying
 *                 the same request will not help.
 *   -ETIMEDOUT    the VMM did not answer in time.
 *   -ECONNREFUSED / -ENOENT  the API socket is not there / not accepting.
 *   -ESRCH        the VMM process is gone.
 *   other         local failures (spawn, files, OOM).
 */

#include <sys/types.h>

#include "util/util.h"
#include "vm/vm-config.h"

enum {
        BACKEND_CAP_CPU_HOTPLUG = 1u << 0,
        BACKEND_CAP_MEMORY_HOTPLUG = 1u << 1,
};

#define VMM_USER_GROUPS_MAX 32

/*
 * The unprivileged user every VMM runs as (--vmm-user), resolved once at
 * start: the child drops to it (setgroups, setgid, setuid) before exec, and
 * metald grants it what it needs (its run directory, the guest's files).
 * uid 0 means the documented opt-out "--vmm-user root": no drop at all.
 * The net helper's TAPs are owned by uid/gid.
 */
typedef struct VmmUser {
        const char *name;
        uid_t uid;
        gid_t gid;
        size_t n_groups; /* supplementary groups (e.g. kvm), from the group database */
        gid_t groups[VMM_USER_GROUPS_MAX];
} VmmUser;

/* Process-wide settings for backends, from the daemon's options. */
typedef struct BackendOptions {
        const char *firecracker_binary;
        const char *cloud_hypervisor_binary;
        const char *qemu_binary;
        unsigned api_timeout_ms; /* per VMM API call; default 5000 */
        /* Who VMMs run as; NULL: as root (only tests of the old paths). */
        const VmmUser *vmm_user;
        /* Firecracker through its jailer when set (absolute path). */
        const char *jailer_binary;
        const char *jailer_chroot_base; /* absolute, exists, root-owned */
        unsigned jailer_cgroup_version; /* 1 or 2 */
} BackendOptions;

/*
 * What the reconciler persists to find a VMM again (reattach data). The
 * socket path is absolute; start_time is field 22 of /proc/<pid>/stat.
 */
typedef struct VmmHandle {
        pid_t pid;
        uint64_t start_time;
        char socket_path[108];
} VmmHandle;

/* What a VMM reports about its VM. */
typedef enum VmmState {
        VMM_STATE_NOT_STARTED, /* VMM up, guest not booted yet */
        VMM_STATE_RUNNING,
        VMM_STATE_PAUSED,
        VMM_STATE_GONE, /* the process is not there (or is not ours) */
} VmmState;

/* One network interface as the VMM sees it: config.network[i] with the host
 * side resolved (the TAP exists, attached and up, before the VMM starts). */
typedef struct VmmNic {
        const char *id; /* config.network[i].id */
        const char *tap; /* host TAP name */
        const char *mac; /* guest MAC, canonical */
        VmRateLimit rx, tx; /* 0 = unlimited */
} VmmNic;

/* Everything a backend needs to run one VM. run_dir exists (mode 0700). */
typedef struct VmmSpec {
        const char *vm_id;
        const char *run_dir; /* absolute; holds api.sock, console.log, vmm.log, metrics.json */
        const VmConfig *config;
        const VmmNic *nics; /* n_nics == config->n_nics, in the same order */
        size_t n_nics;
} VmmSpec;

typedef struct Backend {
        const char *name; /* "firecracker" */
        unsigned caps; /* BACKEND_CAP_* */

        /* Is the VMM binary configured and executable? 0, or -ENOENT with a message. */
        int (*check_available)(const BackendOptions *o, char **ret_error);

        /*
         * Spawn the VMM for spec in its own session (setsid), stdio on files in
         * run_dir (stdin /dev/null, stdout+stderr appended to console.log),
         * close-on-exec everywhere, cwd = run_dir. Removes a stale socket first.
         * Returns as soon as the pid is known and the API socket answers (or
         * fails with -ETIMEDOUT after api_timeout_ms, killing what it started).
         * Fills *ret_handle. The guest is not booted.
         */
        int (*spawn)(const BackendOptions *o, const VmmSpec *spec, VmmHandle *ret_handle, char **ret_error);

        /* Configure the VM from spec->config and boot it (Firecracker:
         * machine-config, boot-source, drives, metrics, InstanceStart; Cloud
         * Hypervisor: vm.create, vm.boot). Booted already is a success. */
        int (*boot)(const BackendOptions *o, const VmmSpec *spec, const VmmHandle *h, char **ret_error);

        /* Pause / resume the guest. A guest already paused (running) is a
         * success: a step re-run after a crash must not fail. */
        int (*pause)(const BackendOptions *o, const VmmHandle *h, char **ret_error);
        int (*resume)(const BackendOptions *o, const VmmHandle *h, char **ret_error);

        /* Ask the guest to power off (Firecracker: SendCtrlAltDel; Cloud
         * Hypervisor: vm.power-button). Does not wait. */
        int (*request_shutdown)(const BackendOptions *o, const VmmHandle *h, char **ret_error);

        /* Ask the VMM what state the guest is in; -ESRCH / VMM_STATE_GONE if the
         * process is gone, an API error if the process is there but the API is not. */
        int (*query)(const BackendOptions *o, const VmmHandle *h, VmmState *ret_state, char **ret_error);

        /* Optional: remove what the backend made outside run_dir for this VM
         * (Firecracker's jail and cgroups), once its VMM is gone. Idempotent. */
        int (*remove)(const BackendOptions *o, const char *vm_id, char **ret_error);
} Backend;

/* NULL-terminated table of all compiled-in backends. */
extern const Backend *const backend_table[];
const Backend *backend_find(const char *name);

extern const Backend backend_firecracker;
extern const Backend backend_cloud_hypervisor;
extern const Backend backend_qemu;
