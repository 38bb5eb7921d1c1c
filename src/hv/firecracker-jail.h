/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Firecracker through its jailer (--jailer-binary): the jail's paths, the
 * jailer's command line, filling the jail, spawning, removing it.
 *
 * The real jailer (specs/VMM-BEHAVIOUR.md "Jailer"; tools/jailersim does the
 * same): chroot <base>/<exec_file_name>/<id>/root, a copy of the exec file
 * in it, /dev/{kvm,net/tun,urandom,userfaultfd} made by mknod, cgroups
 * <controller mount>/<exec_file_name>/<id>, a new pid namespace whose first
 * process's host pid it writes to <root>/<exec_file_name>.pid, then the drop
 * to --uid/--gid and exec. It refuses a jail left over (mknod / pid file:
 * "File exists"); cleaning up is the caller's job.
 *
 * How metald lays out the jail: every path Firecracker is given is the same
 * absolute path inside the jail as outside, so the API bodies do not change
 * and a jailed VMM is found again like any other (its cmdline names
 * <run_dir>/api.sock):
 *   <root><run_dir>/           the VMM user's (0700): api.sock, vmm.log, metrics.json
 *   <root><asset path>         the kernel, initrd and disks, hard-linked
 *                              (read-only ones copied across filesystems)
 *   <run_dir>/api.sock         a symlink to <root><run_dir>/api.sock
 *   <run_dir>/vmm.log, metrics.json   the same inodes as in the jail
 * console.log is the jailer's (then Firecracker's) stdout, as without a jail.
 */

#include "hv/hypervisor.h"

typedef struct FcJail {
        char *exec_name; /* basename of the canonical exec file ("firecracker") */
        char *dir; /* <base>/<exec_name>/<id> */
        char *root; /* <dir>/root */
        char *pid_file; /* <root>/<exec_name>.pid */
} FcJail;

void fc_jail_done(FcJail *j);

/* The jail of vm_id for the Firecracker binary binary (canonicalised here,
 * as the jailer does). -EINVAL with a message if its name lacks
 * "firecracker" (the jailer would refuse it). */
int fc_jail_paths(const BackendOptions *o, const char *binary, const char *vm_id, FcJail *ret,
                  char **ret_error);

/*
 * The jailer's argv (free with strv_free-like fc_argv_free):
 *   <jailer> --id <id> --exec-file <exec> --uid <uid> --gid <gid>
 *   --chroot-base-dir <base> --cgroup-version <v>
 *   --cgroup <memory limit> --cgroup <cpu quota> --new-pid-ns
 *   -- <fc_args...>
 * Limits: memory = guest memory + FC_JAIL_MEMORY_OVERHEAD; CPU = vcpus
 * whole CPUs (v2 memory.max, cpu.max; v1 memory.limit_in_bytes,
 * cpu.cfs_quota_us). No --daemonize: metald already detaches the jailer
 * (own session), and --daemonize would send the guest console to /dev/null.
 */
#define FC_JAIL_MEMORY_OVERHEAD (128ull << 20)
char **fc_jailer_argv(const BackendOptions *o, const char *exec_file, const char *vm_id, const VmConfig *c,
                      char *const fc_args[]);
char **fc_argv_free(char **argv);

/* Remove what a previous VMM left, then lay out the jail (see above). */
int fc_jail_prepare(const BackendOptions *o, const VmmSpec *spec, const FcJail *j, char **ret_error);

/* After the jailer was spawned (pid, start_time): wait for it to hand over
 * (it exits 0 once its child, pid 1 of the new namespace, is started) and
 * read that child's host pid from the pid file. */
int fc_jail_wait_pid(const FcJail *j, pid_t jailer_pid, uint64_t jailer_start, unsigned timeout_ms,
                     pid_t *ret_pid, uint64_t *ret_start_time, char **ret_error);

/* Remove vm_id's jail and its cgroups (the VMM is gone). Idempotent. */
int fc_jail_remove(const BackendOptions *o, const char *vm_id, char **ret_error);
