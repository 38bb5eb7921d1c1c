/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Notices VMM exits within milliseconds, for VMMs that are our children and
 * for those reattached after a restart (which are not): one pidfd per VMM in
 * an epoll set, served by one thread. On an exit it calls the callback with
 * the VM id; the callback must be quick (it queues work).
 *
 * Exit statuses are only knowable for our own children; the daemon's SIGCHLD
 * reaper hands them in with exit_watch_child_exited, and exit_watch_status
 * looks them up.
 */

#include <sys/types.h>

#include "util/util.h"

typedef struct ExitWatch ExitWatch;
typedef void (*ExitWatchFn)(void *userdata, const char *vm_id, pid_t pid);

int exit_watch_new(ExitWatchFn fn, void *userdata, ExitWatch **ret);
ExitWatch *exit_watch_free(ExitWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(ExitWatch *, exit_watch_free);

/* Watch pid (which must still be the process that started at start_time) for
 * vm_id, replacing an earlier watch of that VM. If it is already gone the
 * callback fires at once. */
int exit_watch_add(ExitWatch *w, const char *vm_id, pid_t pid, uint64_t start_time);
/* Stop watching vm_id (no callback). */
void exit_watch_remove(ExitWatch *w, const char *vm_id);

/* A child of ours exited with wait status `status` (from waitpid). */
void exit_watch_child_exited(ExitWatch *w, pid_t pid, int status);
/*
 * The wait status of pid if known: reaps it now if it is an unreaped child,
 * or finds what the reaper recorded (and forgets it). 0 and *ret_status, or
 * -ENOENT when the status cannot be known (not our child).
 */
int exit_watch_status(ExitWatch *w, pid_t pid, int *ret_status);

/* "exited with status 0", "killed by signal 9 (Killed)", "exited (status unknown)". */
void exit_status_describe(bool known, int status, char *buf, size_t size);
