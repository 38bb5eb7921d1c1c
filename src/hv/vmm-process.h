/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * VMM processes, independent of which hypervisor they are: spawn detached,
 * identify safely (pid + start time + cmdline), signal, and wait for exit.
 * Used by every backend and by the reconciler. No store, no API.
 */

#include <sys/types.h>

#include "hv/hypervisor.h"

/*
 * Spawn (vfork-style: clone(CLONE_VM | CLONE_VFORK) on a small stack of its
 * own, so the cost does not grow with the daemon's memory) + setsid + exec argv[0] with argv, cwd = dir, stdin from /dev/null,
 * stdout and stderr appended to stdout_path (created 0600). All other fds are
 * closed in the child; default signal dispositions and an empty signal mask
 * are restored. Returns the pid and its start time. The caller's process is a
 * child subreaper (metald sets PR_SET_CHILD_SUBREAPER) and reaps exits.
 * A failure before or at exec (missing binary: -ENOENT, not executable:
 * -EACCES, missing dir) is returned here, the failed child already reaped.
 * ret_start_time may be NULL.
 */
int vmm_spawn(char *const argv[], const char *dir, const char *stdout_path, pid_t *ret_pid,
              uint64_t *ret_start_time);

/*
 * vmm_spawn, but the child drops to user (user->uid 0 or user NULL: stays
 * root) right before exec: no_new_privs, setgroups(user's supplementary
 * groups), setresgid, setresuid, and checks that root cannot be regained. Its stdio and cwd are
 * opened/entered while still root, so console.log may stay root's. A failed
 * drop is reported like a failed exec (-EPERM). stdout_path is opened with
 * O_NOFOLLOW (the run dir belongs to the VMM user).
 */
int vmm_spawn_as(char *const argv[], const char *dir, const char *stdout_path, const VmmUser *user,
                 pid_t *ret_pid, uint64_t *ret_start_time);

/* The step of the child's way to exec that failed (vmm_spawn_full). */
typedef enum VmmSpawnStep {
        VMM_SPAWN_STEP_NONE = 0, /* the child did not fail (or failed in an unknown way) */
        VMM_SPAWN_STEP_SETSID,
        VMM_SPAWN_STEP_SIGNALS,
        VMM_SPAWN_STEP_CHDIR,
        VMM_SPAWN_STEP_STDIO,
        VMM_SPAWN_STEP_CREDENTIALS, /* no_new_privs, setgroups, setresgid, setresuid, the root check */
        VMM_SPAWN_STEP_EXEC,
} VmmSpawnStep;

/* vmm_spawn_as, also telling which step of the child failed (*ret_step, may
 * be NULL; VMM_SPAWN_STEP_NONE when the failure was the parent's or none). */
int vmm_spawn_full(char *const argv[], const char *dir, const char *stdout_path, const VmmUser *user,
                   pid_t *ret_pid, uint64_t *ret_start_time, VmmSpawnStep *ret_step);

/* "chdir", "credentials", "exec", ... */
const char *vmm_spawn_step_to_string(VmmSpawnStep step);

/* Could user open path with amode (access(2) R_OK/W_OK/X_OK) — checked by a
 * vfork-style child (no exit signal) that has dropped to user, so ACLs and every directory on the
 * way count. 0 or the negative errno the user would get. user NULL or root:
 * access(2) as ourselves. */
int vmm_user_access(const VmmUser *user, const char *path, int amode);

/* Field 22 of /proc/<pid>/stat (start time in clock ticks since boot). -ESRCH
 * if the process does not exist or is a zombie. */
int vmm_pid_start_time(pid_t pid, uint64_t *ret);

/* True if pid is alive, not a zombie, started at start_time and its cmdline
 * contains needle (e.g. the VM's socket path).
 * "Contains" means: one NUL-separated argument of /proc/<pid>/cmdline equals
 * needle exactly (so "/run/a/api.sock" does not match "/x/run/a/api.sock"),
 * or is a comma-separated option list with an item "<key>=<needle>" exactly,
 * key of [A-Za-z0-9_-] (Cloud Hypervisor's "path=<socket>").
 * needle may be NULL: then pid + start time only. */
bool vmm_is_alive(pid_t pid, uint64_t start_time, const char *needle);

/* Find a live process (not a zombie, not ourselves) whose cmdline contains
 * needle (same whole-argument rule; scan of /proc); 0 and *ret_pid, or -ESRCH.
 * Used to find a VMM spawned before a crash whose pid was never recorded. */
int vmm_find_by_cmdline(const char *needle, pid_t *ret_pid);

/* SIGKILL the process if it is still the one described, then wait (bounded by
 * timeout_ms) until it is gone. 0 when gone (also when it was not there or
 * not the one described), -ETIMEDOUT, or e.g. -EPERM. needle may be NULL
 * (pid + start time only: for a child we just forked). A zombie is gone. */
int vmm_kill(pid_t pid, uint64_t start_time, const char *needle, unsigned timeout_ms);

/* Wait up to timeout_ms for the process to exit (pidfd + poll). 0 if it exited,
 * -ETIMEDOUT if still alive. A zombie has exited; so has a pid whose start
 * time no longer matches. Returns early with -EINTR if *cancel becomes true
 * (checked every 100 ms; cancel may be NULL). */
int vmm_wait_exit(pid_t pid, uint64_t start_time, unsigned timeout_ms, const volatile bool *cancel);
