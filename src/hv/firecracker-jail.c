/* SPDX-License-Identifier: Apache-2.0 */
/* Firecracker through its jailer (firecracker-jail.h). No state. */
#include "hv/firecracker-jail.h"

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hv/backend-util.h"
#include "hv/vmm-process.h"
#include "util/log.h"

void fc_jail_done(FcJail *j) {
        if (!j)
                return;
        j->exec_name = mfree(j->exec_name);
        j->dir = mfree(j->dir);
        j->root = mfree(j->root);
        j->pid_file = mfree(j->pid_file);
}

int fc_jail_paths(const BackendOptions *o, const char *binary, const char *vm_id, FcJail *ret,
                  char **ret_error) {
        FcJail j = { 0 };

        assert(o && o->jailer_chroot_base && binary && vm_id && ret);
        _cleanup_free_ char *real = realpath(binary, NULL);
        if (!real) {
                int r = -errno;
                backend_set_error(ret_error, "firecracker: jailer --exec-file %s: %s", binary, strerror(-r));
                return r;
        }
        const char *name = strrchr(real, '/') + 1;
        if (!strstr(name, "firecracker")) {
                backend_set_error(ret_error,
                                  "firecracker: the jailer runs only an exec file whose name contains "
                                  "\"firecracker\", and %s is named \"%s\"",
                                  real, name);
                return -EINVAL;
        }
        j.exec_name = strdup(name);
        j.dir = strdup_printf("%s/%s/%s", o->jailer_chroot_base, name, vm_id);
        j.root = strdup_printf("%s/%s/%s/root", o->jailer_chroot_base, name, vm_id);
        j.pid_file = strdup_printf("%s/%s/%s/root/%s.pid", o->jailer_chroot_base, name, vm_id, name);
        if (!j.exec_name || !j.dir || !j.root || !j.pid_file) {
                fc_jail_done(&j);
                return -ENOMEM;
        }
        *ret = j;
        return 0;
}

char **fc_argv_free(char **argv) {
        if (argv)
                for (char **p = argv; *p; p++)
                        free(*p);
        free(argv);
        return NULL;
}

char **fc_jailer_argv(const BackendOptions *o, const char *exec_file, const char *vm_id, const VmConfig *c,
                      char *const fc_args[]) {
        size_t n_fc = 0, n = 0;

        assert(o && o->jailer_binary && exec_file && vm_id && c && fc_args);
        while (fc_args[n_fc])
                n_fc++;
        unsigned v = o->jailer_cgroup_version == 1 ? 1 : 2;
        uint64_t mem = c->memory_bytes + FC_JAIL_MEMORY_OVERHEAD;
        uint64_t period = 100000, quota = (uint64_t) c->vcpu_count * period;
        uid_t uid = o->vmm_user ? o->vmm_user->uid : 0;
        gid_t gid = o->vmm_user ? o->vmm_user->gid : 0;

        char **a = calloc(24 + n_fc, sizeof *a);
        if (!a)
                return NULL;
        a[n++] = strdup(o->jailer_binary);
        a[n++] = strdup("--id");
        a[n++] = strdup(vm_id);
        a[n++] = strdup("--exec-file");
        a[n++] = strdup(exec_file);
        a[n++] = strdup("--uid");
        a[n++] = strdup_printf("%u", (unsigned) uid);
        a[n++] = strdup("--gid");
        a[n++] = strdup_printf("%u", (unsigned) gid);
        a[n++] = strdup("--chroot-base-dir");
        a[n++] = strdup(o->jailer_chroot_base);
        a[n++] = strdup("--cgroup-version");
        a[n++] = strdup_printf("%u", v);
        a[n++] = strdup("--cgroup");
        a[n++] = v == 2 ? strdup_printf("memory.max=%" PRIu64, mem)
                        : strdup_printf("memory.limit_in_bytes=%" PRIu64, mem);
        a[n++] = strdup("--cgroup");
        a[n++] = v == 2 ? strdup_printf("cpu.max=%" PRIu64 " %" PRIu64, quota, period)
                        : strdup_printf("cpu.cfs_quota_us=%" PRIu64, quota);
        a[n++] = strdup("--new-pid-ns");
        a[n++] = strdup("--");
        for (size_t i = 0; i < n_fc; i++)
                a[n++] = strdup(fc_args[i]);
        for (size_t i = 0; i < n; i++)
                if (!a[i])
                        return fc_argv_free(a);
        return a;
}

/* The path of host_path inside the jail: <root><host_path>. */
static char *in_jail(const FcJail *j, const char *host_path) {
        assert(host_path[0] == '/');
        return strdup_printf("%s%s", j->root, host_path);
}

/* Create the directories above dst (root's, 0755: the VMM user passes). */
static int mkdir_parent(const char *dst) {
        _cleanup_free_ char *d = strdup(dst);
        if (!d)
                return -ENOMEM;
        return mkdir_p(dirname(d), 0755);
}

/* Copy src to a new dst (for a read-only file on another filesystem), owned
 * by the VMM user, read-only. 0 or negative errno. */
static int copy_file(const BackendOptions *o, const char *src, const char *dst) {
        char buf[65536];
        _cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (in < 0)
                return -errno;
        _cleanup_close_ int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
        if (out < 0)
                return -errno;
        for (;;) {
                ssize_t k = read(in, buf, sizeof buf);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                for (ssize_t off = 0; off < k;) {
                        ssize_t w = write(out, buf + off, (size_t) (k - off));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0)
                                return -errno;
                        off += w;
                }
        }
        if (o->vmm_user && fchown(out, o->vmm_user->uid, o->vmm_user->gid) < 0)
                return -errno;
        return 0;
}

/*
 * Put the guest file path into the jail at the same path: a hard link (the
 * same inode, so the VMM user's ACL and every write are shared), or for a
 * read-only file on another filesystem a copy. A writable disk cannot be
 * copied: its writes would be lost.
 */
static int link_asset(const BackendOptions *o, const FcJail *j, const char *what, const char *path,
                      bool write, char **ret_error) {
        if (isempty(path))
                return 0;
        _cleanup_free_ char *dst = in_jail(j, path);
        if (!dst)
                return -ENOMEM;
        int r = mkdir_parent(dst);
        if (r >= 0 && link(path, dst) < 0) {
                r = -errno;
                if (r == -EEXIST)
                        r = 0; /* the same file named twice (two drives on one image is refused earlier) */
                else if (r == -EXDEV && !write)
                        r = copy_file(o, path, dst);
                else if (r == -EXDEV) {
                        backend_set_error(ret_error,
                                          "firecracker: %s %s is on another filesystem than the jailer's "
                                          "chroot base %s: it cannot be hard-linked into the jail, and a "
                                          "copy would lose the guest's writes; move it, or set "
                                          "--jailer-chroot-base on its filesystem",
                                          what, path, o->jailer_chroot_base);
                        return -EBADMSG;
                }
        }
        if (r < 0)
                backend_set_error(ret_error, "firecracker: cannot put %s %s into the jail %s: %s", what,
                                  path, j->root, strerror(-r));
        return r;
}

/* Hard-link the run_dir file name (which exists, the VMM user's) into the
 * jail's copy of run_dir. */
static int link_run_file(const FcJail *j, const char *run_dir, const char *name, char **ret_error) {
        _cleanup_free_ char *src = strdup_printf("%s/%s", run_dir, name);
        _cleanup_free_ char *dst = strdup_printf("%s%s/%s", j->root, run_dir, name);
        if (!src || !dst)
                return -ENOMEM;
        if (link(src, dst) < 0) {
                int r = -errno;
                backend_set_error(ret_error, "firecracker: cannot link %s into the jail as %s: %s", src, dst,
                                  strerror(-r));
                return r;
        }
        return 0;
}

int fc_jail_prepare(const BackendOptions *o, const VmmSpec *spec, const FcJail *j, char **ret_error) {
        const VmConfig *c = spec->config;
        int r;

        assert(o && spec && spec->run_dir && c && j);

        /* A jail left by the previous VMM of this VM (its process is gone:
         * backend_clear_socket saw to it). The jailer refuses to reuse one. */
        r = rm_rf(j->dir);
        if (r < 0) {
                backend_set_error(ret_error, "firecracker: cannot remove the old jail %s: %s", j->dir,
                                  strerror(-r));
                return r;
        }
        _cleanup_free_ char *jail_run = in_jail(j, spec->run_dir);
        if (!jail_run)
                return -ENOMEM;
        r = mkdir_p(jail_run, 0755);
        if (r < 0) {
                backend_set_error(ret_error, "firecracker: cannot create %s: %s", jail_run, strerror(-r));
                return r;
        }
        r = backend_prepare_run_dir("firecracker", o, jail_run, ret_error);
        if (r < 0)
                return r;
        r = link_run_file(j, spec->run_dir, "vmm.log", ret_error);
        if (r >= 0)
                r = link_run_file(j, spec->run_dir, "metrics.json", ret_error);
        if (r >= 0)
                r = link_asset(o, j, "kernel", c->kernel_path, false, ret_error);
        if (r >= 0)
                r = link_asset(o, j, "initrd", c->initrd_path, false, ret_error);
        for (size_t i = 0; r >= 0 && i < c->n_disks; i++)
                r = link_asset(o, j, "disk", c->disks[i].path, !c->disks[i].readonly, ret_error);
        if (r < 0)
                return r;

        /* metald reaches the API through the usual path. */
        _cleanup_free_ char *sock = strdup_printf("%s/api.sock", spec->run_dir);
        _cleanup_free_ char *target = strdup_printf("%s/api.sock", jail_run);
        if (!sock || !target)
                return -ENOMEM;
        if (symlink(target, sock) < 0) {
                r = -errno;
                backend_set_error(ret_error, "firecracker: cannot link %s to the jail's socket: %s", sock,
                                  strerror(-r));
                return r;
        }
        return 0;
}

int fc_jail_wait_pid(const FcJail *j, pid_t jailer_pid, uint64_t jailer_start, unsigned timeout_ms,
                     pid_t *ret_pid, uint64_t *ret_start_time, char **ret_error) {
        _cleanup_free_ char *buf = NULL;
        int status = 0;
        bool have_status = false;

        assert(j && ret_pid && ret_start_time);
        int r = vmm_wait_exit(jailer_pid, jailer_start, timeout_ms, NULL);
        if (r < 0) {
                (void) vmm_kill(jailer_pid, jailer_start, NULL, timeout_ms);
                backend_set_error(ret_error,
                                  "firecracker: the jailer (pid %d) did not hand over within %u ms",
                                  (int) jailer_pid, timeout_ms);
                return r == -ETIMEDOUT ? -ETIMEDOUT : r;
        }
        /* Our child: reap it for its status (the daemon's reaper may be first). */
        if (waitpid(jailer_pid, &status, WNOHANG) == jailer_pid)
                have_status = true;
        r = read_full_file(j->pid_file, 64, &buf, NULL);
        if (r < 0) {
                if (have_status && WIFEXITED(status))
                        backend_set_error(ret_error, "firecracker: the jailer exited with status %d",
                                          WEXITSTATUS(status));
                else if (have_status && WIFSIGNALED(status))
                        backend_set_error(ret_error, "firecracker: the jailer was killed by signal %d (%s)",
                                          WTERMSIG(status), strsignal(WTERMSIG(status)));
                else
                        backend_set_error(ret_error, "firecracker: the jailer wrote no pid file %s: %s",
                                          j->pid_file, strerror(-r));
                return -ESRCH;
        }
        char *end;
        errno = 0;
        long pid = strtol(buf, &end, 10);
        if (errno || end == buf || (*end && *end != '\n') || pid <= 1 || pid > INT_MAX) {
                backend_set_error(ret_error, "firecracker: the jailer's pid file %s holds \"%.32s\"",
                                  j->pid_file, buf);
                return -EPROTO;
        }
        uint64_t st;
        r = vmm_pid_start_time((pid_t) pid, &st);
        if (r < 0) {
                backend_set_error(ret_error, "firecracker: process %ld (from %s) is gone", pid, j->pid_file);
                return -ESRCH;
        }
        *ret_pid = (pid_t) pid;
        *ret_start_time = st;
        return 0;
}

/* rmdir <mount>/<exec_name>/<id> in every cgroup hierarchy the jailer may
 * have used (v1: the memory and cpu controllers' mounts; v2: the unified
 * one). Missing ones are fine. */
static void remove_cgroups(const char *exec_name, const char *vm_id) {
        _cleanup_free_ char *mounts = NULL;
        if (read_full_file("/proc/mounts", 1u << 20, &mounts, NULL) < 0)
                return;
        for (char *line = mounts, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                char dev[64], dir[PATH_MAX], type[32], opts[512];
                if (sscanf(line, "%63s %4095s %31s %511s", dev, dir, type, opts) != 4)
                        continue;
                bool v2 = streq(type, "cgroup2");
                bool v1 = streq(type, "cgroup") && (strstr(opts, "memory") || strstr(opts, "cpu"));
                if (!v1 && !v2)
                        continue;
                _cleanup_free_ char *cg = strdup_printf("%s/%s/%s", dir, exec_name, vm_id);
                if (cg && rmdir(cg) < 0 && errno != ENOENT)
                        log_warning("firecracker: cannot remove cgroup %s: %s", cg, strerror(errno));
        }
}

int fc_jail_remove(const BackendOptions *o, const char *vm_id, char **ret_error) {
        _cleanup_free_ char *binary = NULL;
        _cleanup_(fc_jail_done) FcJail j = { 0 };

        assert(o && vm_id);
        if (!o->jailer_binary || !o->jailer_chroot_base)
                return 0;
        /* Without the binary its name is unknown, and so is the jail: nothing to do. */
        if (backend_resolve_binary("firecracker", o->firecracker_binary, &binary, NULL) < 0 ||
            fc_jail_paths(o, binary, vm_id, &j, NULL) < 0)
                return 0;
        int r = rm_rf(j.dir);
        if (r < 0) {
                backend_set_error(ret_error, "firecracker: cannot remove the jail %s: %s", j.dir,
                                  strerror(-r));
                return r;
        }
        remove_cgroups(j.exec_name, vm_id);
        return 0;
}
