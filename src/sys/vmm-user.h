/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The VMM user (--vmm-user): looked up once at start, in the user and group
 * databases (NSS), into a VmmUser the backends use to drop privileges.
 */

#include "hv/hypervisor.h"

/* The user every VMM runs as unless told otherwise. Created by the sysusers.d
 * file units/metald-sysusers.conf (meson install; tools/install-deps). */
#define VMM_USER_DEFAULT "metald-vmm"

/*
 * Resolve name into *ret (ret->name points at name, which must outlive it):
 * uid, primary gid and supplementary groups (e.g. kvm). A missing user is
 * -ESRCH with a message that says how to create it. "root" (uid 0) is
 * accepted: the caller warns. 0 or negative errno with *ret_error.
 */
int vmm_user_resolve(const char *name, VmmUser *ret, char **ret_error);

/*
 * Check that user can reach dir (search permission on every component):
 * VMMs are given absolute paths under it. -EACCES with a message naming the
 * first directory the user cannot pass, and the fix.
 */
int vmm_user_check_path(const VmmUser *user, const char *dir, char **ret_error);
