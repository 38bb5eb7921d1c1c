/* SPDX-License-Identifier: Apache-2.0 */
/* The VMM user: lookup and path checks (vmm-user.h). */
#include "sys/vmm-user.h"

#include <assert.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "hv/vmm-process.h"

int vmm_user_resolve(const char *name, VmmUser *ret, char **ret_error) {
        struct passwd pw, *res = NULL;
        char buf[16384];

        assert(name && ret && ret_error);
        int e = getpwnam_r(name, &pw, buf, sizeof buf, &res);
        if (e != 0 || !res) {
                if (streq(name, VMM_USER_DEFAULT))
                        *ret_error = strdup_printf(
                                "the VMM user \"%s\" does not exist%s%s. Create it with "
                                "\"systemd-sysusers /usr/lib/sysusers.d/metald.conf\" (installed by meson "
                                "install; tools/install-deps does this), or \"useradd --system "
                                "--no-create-home --shell /usr/sbin/nologin %s\"; or name another user with "
                                "--vmm-user (\"--vmm-user root\" runs VMMs as root: not recommended)",
                                name, e ? ": " : "", e ? strerror(e) : "", name);
                else
                        *ret_error =
                                strdup_printf("--vmm-user: the user \"%s\" does not exist%s%s (create it "
                                              "with \"useradd --system --no-create-home --shell "
                                              "/usr/sbin/nologin %s\")",
                                              name, e ? ": " : "", e ? strerror(e) : "", name);
                return e ? -e : -ESRCH;
        }

        VmmUser u = { .name = name, .uid = res->pw_uid, .gid = res->pw_gid };
        gid_t groups[VMM_USER_GROUPS_MAX];
        int n = VMM_USER_GROUPS_MAX;
        if (u.uid != 0 && getgrouplist(name, u.gid, groups, &n) < 0) {
                *ret_error = strdup_printf("--vmm-user: \"%s\" is in more than %d groups", name,
                                           VMM_USER_GROUPS_MAX);
                return -E2BIG;
        }
        if (u.uid != 0) {
                u.n_groups = (size_t) n;
                memcpy(u.groups, groups, sizeof(gid_t) * (size_t) n);
        }
        *ret = u;
        return 0;
}

int vmm_user_check_path(const VmmUser *user, const char *dir, char **ret_error) {
        assert(user && dir && dir[0] == '/');
        if (user->uid == 0)
                return 0;
        _cleanup_free_ char *p = strdup(dir);
        if (!p)
                return -ENOMEM;
        /* Each prefix in turn, so that the message names the first blocker. */
        for (char *s = p + 1;; s++) {
                bool last = *s == 0;
                if (*s != '/' && !last)
                        continue;
                char saved = *s;
                *s = 0;
                int r = vmm_user_access(user, p, X_OK);
                if (r < 0) {
                        *ret_error = strdup_printf(
                                "the VMM user %s (uid %u) cannot pass the directory %s on the way to %s: "
                                "%s; "
                                "VMMs are given paths under it (chmod o+x or setfacl -m u:%s:x %s)",
                                user->name, (unsigned) user->uid, p, dir, strerror(-r), user->name, p);
                        return -EACCES;
                }
                *s = saved;
                if (last)
                        break;
        }
        return 0;
}
