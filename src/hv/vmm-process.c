/* SPDX-License-Identifier: Apache-2.0 */
#include "hv/vmm-process.h"

#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* Processes whose cmdline is larger than this are not ours (a VMM's is short). */
#define CMDLINE_MAX (256u * 1024u)
/* Slice for polling a pidfd, so *cancel and /proc are checked regularly. */
#define WAIT_SLICE_MS 100u

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

/* pidfd_open(2) through syscall(2), as glibc wrappers are recent. The fd is
 * always close-on-exec. Returns the fd or negative errno (-ESRCH: no such
 * process). */
static int pidfd_open_(pid_t pid) {
        long fd = syscall(SYS_pidfd_open, pid, 0u);
        return fd < 0 ? -errno : (int) fd;
}

/* pidfd_send_signal(2); 0 or negative errno (-ESRCH once the process has
 * been reaped; a zombie still accepts signals and ignores them). */
static int pidfd_send_signal_(int pidfd, int sig) {
        return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0u) < 0 ? -errno : 0;
}

/*
 * Parse /proc/<pid>/stat: the state letter (field 3) and the start time
 * (field 22). comm (field 2) may hold spaces and parentheses, so fields are
 * counted from the last ')'. Zombies are reported as they are; the caller
 * decides. -ESRCH if there is no such process, -EIO if the file is garbled.
 * Only open/read/close: no allocation.
 */
static int proc_stat_read(pid_t pid, char *ret_state, uint64_t *ret_start_time) {
        char path[64], buf[4096];
        size_t n = 0;

        assert(pid > 0);

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : -errno;
        while (n < sizeof buf - 1) {
                ssize_t k = read(fd, buf + n, sizeof buf - 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == ESRCH ? -ESRCH : -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = 0;

        const char *p = strrchr(buf, ')');
        if (!p)
                return -EIO;
        p++;
        /* After ')' come fields 3, 4, ... each preceded by one space. */
        char state = 0;
        for (unsigned field = 3; field <= 22; field++) {
                if (*p != ' ')
                        return -EIO;
                p++;
                if (field == 3)
                        state = *p;
                if (field == 22) {
                        char *end;
                        errno = 0;
                        unsigned long long v = strtoull(p, &end, 10);
                        if (errno != 0 || end == p || (*end != ' ' && *end != '\n' && *end))
                                return -EIO;
                        if (ret_state)
                                *ret_state = state;
                        if (ret_start_time)
                                *ret_start_time = (uint64_t) v;
                        return 0;
                }
                p += strcspn(p, " ");
        }
        return -EIO; /* not reached */
}

int vmm_pid_start_time(pid_t pid, uint64_t *ret) {
        char state;
        uint64_t t;

        assert(ret);
        if (pid <= 0)
                return -ESRCH;
        int r = proc_stat_read(pid, &state, &t);
        if (r < 0)
                return r;
        /* Z: exited, waiting for a parent that may never come (pid 1 on some
         * hosts does not reap); X: being torn down. Both are gone for us. */
        if (state == 'Z' || state == 'X' || state == 'x')
                return -ESRCH;
        *ret = t;
        return 0;
}

/*
 * Does the argument arg (len bytes) name needle? It does if it equals needle,
 * or if it is a comma-separated option list with an item "<key>=<needle>",
 * key made of [A-Za-z0-9_-] (Cloud Hypervisor's "--api-socket path=<sock>",
 * QEMU's "-chardev socket,id=m,path=<sock>,server=on"). Items are compared
 * whole: "path=/x/run/a/api.sock" does not name "/run/a/api.sock".
 */
static bool arg_names(const char *arg, size_t len, const char *needle) {
        size_t n = strlen(needle);

        if (len == n && memcmp(arg, needle, n) == 0)
                return true;
        for (size_t i = 0; i < len;) {
                size_t item = i, end = i;
                while (end < len && arg[end] != ',')
                        end++;
                size_t key = item;
                while (key < end &&
                       (arg[key] == '_' || arg[key] == '-' || (arg[key] >= 'a' && arg[key] <= 'z') ||
                        (arg[key] >= 'A' && arg[key] <= 'Z') || (arg[key] >= '0' && arg[key] <= '9')))
                        key++;
                if (key > item && key < end && arg[key] == '=' && end - key - 1 == n &&
                    memcmp(arg + key + 1, needle, n) == 0)
                        return true;
                i = end + 1;
        }
        return false;
}

/*
 * True if one of the NUL-separated arguments in /proc/<pid>/cmdline names
 * needle (arg_names). Whole arguments or option items, not substrings:
 * "/run/a/api.sock" must not match a process started with
 * "/x/run/a/api.sock". False on any read error.
 */
static bool cmdline_has_arg(pid_t pid, const char *needle) {
        char path[64];
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;

        snprintf(path, sizeof path, "/proc/%d/cmdline", (int) pid);
        if (read_full_file(path, CMDLINE_MAX, &buf, &size) < 0)
                return false;
        for (size_t i = 0; i < size;) {
                const char *arg = buf + i;
                size_t len = strnlen(arg, size - i);
                if (arg_names(arg, len, needle))
                        return true;
                i += len + 1;
        }
        return false;
}

bool vmm_is_alive(pid_t pid, uint64_t start_time, const char *needle) {
        uint64_t t;

        if (pid <= 0)
                return false;
        if (vmm_pid_start_time(pid, &t) < 0 || t != start_time)
                return false;
        if (!needle)
                return true;
        if (!cmdline_has_arg(pid, needle))
                return false;
        /* The pid may have been reused while we read cmdline: check again. */
        return vmm_pid_start_time(pid, &t) >= 0 && t == start_time;
}

int vmm_find_by_cmdline(const char *needle, pid_t *ret_pid) {
        _cleanup_(closedirp) DIR *d = NULL;
        pid_t self = getpid();

        assert(!isempty(needle));
        assert(ret_pid);

        d = opendir("/proc");
        if (!d)
                return -errno;
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(d);
                if (!de)
                        return errno != 0 ? -errno : -ESRCH;

                char *end;
                unsigned long v = strtoul(de->d_name, &end, 10);
                if (*de->d_name < '1' || *de->d_name > '9' || *end || v > INT32_MAX)
                        continue;
                pid_t pid = (pid_t) v;
                uint64_t t;
                if (pid == self || !cmdline_has_arg(pid, needle))
                        continue;
                if (vmm_pid_start_time(pid, &t) < 0)
                        continue; /* zombie or gone meanwhile */
                *ret_pid = pid;
                return 0;
        }
}

/*
 * Open a pidfd that provably refers to the process described by (pid,
 * start_time, needle; needle may be NULL). Order matters: open first, verify
 * the pid's identity in /proc, then check that the pidfd's process still has
 * not been reaped. A pid is unique among unreaped processes, so the pidfd's
 * process held the pid throughout and is the one we verified.
 * Returns the fd, -ESRCH if that process is gone (zombies included), or
 * another negative errno.
 */
static int pidfd_open_verified(pid_t pid, uint64_t start_time, const char *needle) {
        _cleanup_close_ int fd = pidfd_open_(pid);
        if (fd < 0)
                return fd;
        if (!vmm_is_alive(pid, start_time, needle))
                return -ESRCH;
        int r = pidfd_send_signal_(fd, 0);
        if (r < 0)
                return r;
        return TAKE_FD(fd);
}

/*
 * Wait until the process behind pidfd has exited (a zombie counts), at most
 * timeout_ms, in slices of WAIT_SLICE_MS: each slice also checks *cancel
 * (may be NULL) and double-checks /proc. 0, -ETIMEDOUT, -EINTR (cancelled) or
 * a poll(2) error.
 */
static int pidfd_wait(int pidfd, pid_t pid, unsigned timeout_ms, const volatile bool *cancel) {
        uint64_t deadline = now_mono_us() + (uint64_t) timeout_ms * 1000u;

        assert(pidfd >= 0);
        for (;;) {
                if (cancel && *cancel)
                        return -EINTR;
                uint64_t now = now_mono_us();
                uint64_t left_ms = now < deadline ? (deadline - now + 999u) / 1000u : 0;
                struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
                int n = poll(&pfd, 1, (int) (left_ms < WAIT_SLICE_MS ? left_ms : WAIT_SLICE_MS));
                if (n < 0 && errno != EINTR)
                        return -errno;
                if (n > 0)
                        return 0; /* POLLIN: exited; POLLHUP/POLLERR: reaped */
                uint64_t t;
                if (vmm_pid_start_time(pid, &t) == -ESRCH)
                        return 0;
                if (now_mono_us() >= deadline)
                        return -ETIMEDOUT;
        }
}

int vmm_kill(pid_t pid, uint64_t start_time, const char *needle, unsigned timeout_ms) {
        assert(pid > 0);

        _cleanup_close_ int fd = pidfd_open_verified(pid, start_time, needle);
        if (fd == -ESRCH)
                return 0;
        if (fd < 0)
                return fd;
        int r = pidfd_send_signal_(fd, SIGKILL);
        if (r == -ESRCH)
                return 0;
        if (r < 0)
                return r;
        return pidfd_wait(fd, pid, timeout_ms, NULL);
}

int vmm_wait_exit(pid_t pid, uint64_t start_time, unsigned timeout_ms, const volatile bool *cancel) {
        assert(pid > 0);

        _cleanup_close_ int fd = pidfd_open_verified(pid, start_time, NULL);
        if (fd == -ESRCH)
                return 0;
        if (fd < 0)
                return fd;
        return pidfd_wait(fd, pid, timeout_ms, cancel);
}

/* Make sure fd is not 0, 1 or 2 (possible when the daemon runs with stdio
 * closed), so the child's dup2() onto 0..2 cannot clobber it. Takes fd. */
static int fd_move_above_stdio(int fd) {
        if (fd < 0 || fd > STDERR_FILENO)
                return fd;
        int n = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
        int e = errno;
        safe_close(fd);
        return n < 0 ? -e : n;
}

/* Close every fd >= 3 except keep. close_range(2) when the kernel has it,
 * else one close(2) per possible fd. Async-signal-safe (runs after fork). */
static void close_all_fds_but(int keep) {
        if (keep > 3 && syscall(SYS_close_range, 3u, (unsigned) keep - 1, 0u) < 0)
                goto fallback;
        if (syscall(SYS_close_range, (unsigned) keep + 1, ~0u, 0u) < 0)
                goto fallback;
        return;
fallback:;
        long max = sysconf(_SC_OPEN_MAX);
        for (long fd = 3; fd < (max > 0 ? max : 65536); fd++)
                if (fd != keep)
                        (void) close((int) fd);
}

/*
 * Become user (when not NULL and not root) for good: supplementary groups,
 * then gid, then uid, real, effective and saved alike. Raw syscalls: they
 * act on the calling thread only, which after fork is the only thread (glibc's
 * wrappers would try to broadcast to threads that are not there). 0 or -1
 * with errno. Async-signal-safe.
 */
static int drop_to_user(const VmmUser *user) {
        if (!user || user->uid == 0)
                return 0;
        /* No exec after this may gain privileges (setuid files, file caps). */
        if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0)
                return -1;
        if (syscall(SYS_setgroups, user->n_groups, user->groups) < 0 ||
            syscall(SYS_setresgid, user->gid, user->gid, user->gid) < 0 ||
            syscall(SYS_setresuid, user->uid, user->uid, user->uid) < 0)
                return -1;
        /* Paranoia: regaining root must now be impossible. */
        if (syscall(SYS_setresuid, 0, 0, 0) == 0) {
                errno = EPERM;
                return -1;
        }
        return 0;
}

/*
 * The forked child, up to exec. Only async-signal-safe calls: the daemon is
 * multi-threaded and another thread may have held a lock (malloc's) at fork.
 * Everything it needs from root (its stdio, its cwd) is taken before it drops
 * to user. On failure writes errno to errfd (close-on-exec, so EOF in the
 * parent means exec succeeded) and exits 127.
 */
_Noreturn static void spawn_child(char *const argv[], const char *dir, const VmmUser *user, int nullfd,
                                  int outfd, int errfd) {
        struct sigaction sa = { .sa_handler = SIG_DFL };
        sigset_t none;

        /* Own session: no controlling terminal, immune to our SIGHUP. */
        if (setsid() < 0)
                goto fail;
        for (int sig = 1; sig < NSIG; sig++)
                (void) sigaction(sig, &sa, NULL); /* EINVAL for KILL/STOP/internal: fine */
        sigemptyset(&none);
        if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
                goto fail;
        if (chdir(dir) < 0)
                goto fail;
        /* dup2 clears close-on-exec on the new fds, so 0..2 survive exec. */
        if (dup2(nullfd, STDIN_FILENO) < 0 || dup2(outfd, STDOUT_FILENO) < 0 ||
            dup2(outfd, STDERR_FILENO) < 0)
                goto fail;
        close_all_fds_but(errfd);
        if (drop_to_user(user) < 0)
                goto fail;
        execv(argv[0], argv);
fail:;
        int e = errno;
        (void) !write(errfd, &e, sizeof e);
        _exit(127);
}

int vmm_user_access(const VmmUser *user, const char *path, int amode) {
        int pipefd[2];

        assert(path);
        if (!user || user->uid == 0)
                return access(path, amode) < 0 ? -errno : 0;

        /* The answer comes through a pipe. The child is cloned without an exit
         * signal: the daemon's SIGCHLD reaper (waitpid(-1) without __WALL)
         * neither sees nor records it, and we reap it with __WALL. Only raw
         * syscalls, access, write and _exit run in it. */
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        _cleanup_close_ int rfd = pipefd[0], wfd = pipefd[1];
        pid_t pid = (pid_t) syscall(SYS_clone, 0L, NULL, NULL, NULL, 0L);
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int e = 0;
                if (drop_to_user(user) < 0 || syscall(SYS_faccessat, AT_FDCWD, path, amode) < 0)
                        e = errno;
                (void) syscall(SYS_write, wfd, &e, sizeof e);
                _exit(0);
        }
        wfd = safe_close(wfd);
        int e = 0;
        ssize_t n;
        do
                n = read(rfd, &e, sizeof e);
        while (n < 0 && errno == EINTR);
        while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
                ;
        if (n != (ssize_t) sizeof e)
                return -EIO;
        return -e;
}

int vmm_spawn(char *const argv[], const char *dir, const char *stdout_path, pid_t *ret_pid,
              uint64_t *ret_start_time) {
        return vmm_spawn_as(argv, dir, stdout_path, NULL, ret_pid, ret_start_time);
}

int vmm_spawn_as(char *const argv[], const char *dir, const char *stdout_path, const VmmUser *user,
                 pid_t *ret_pid, uint64_t *ret_start_time) {
        _cleanup_close_ int nullfd = -EBADF, outfd = -EBADF, err_r = -EBADF, err_w = -EBADF;
        int pipefd[2];
        uint64_t start_time = 0;
        char state;

        assert(argv && argv[0]);
        assert(dir);
        assert(stdout_path);
        assert(ret_pid);

        /* Open everything the child needs here, where errors are easy to report. */
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        nullfd = fd_move_above_stdio(fd);
        if (nullfd < 0)
                return nullfd;
        /* O_NOFOLLOW: the run dir belongs to the VMM user, who must not be able
         * to point our root-opened console file elsewhere. */
        fd = open(stdout_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        outfd = fd_move_above_stdio(fd);
        if (outfd < 0)
                return outfd;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        err_w = fd_move_above_stdio(pipefd[1]);
        err_r = fd_move_above_stdio(pipefd[0]);
        if (err_r < 0)
                return err_r;
        if (err_w < 0)
                return err_w;

        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                spawn_child(argv, dir, user, nullfd, outfd, err_w);

        err_w = safe_close(err_w);
        /* Start time now, while the child cannot have been reaped by anyone
         * (it is fixed at fork, so reading it before exec is fine). */
        int r_stat = proc_stat_read(pid, &state, &start_time);

        int child_errno = 0;
        ssize_t n;
        do
                n = read(err_r, &child_errno, sizeof child_errno);
        while (n < 0 && errno == EINTR);
        if (n != 0) {
                /* The child failed before or at exec and exits 127: reap it here,
                 * the daemon's reaper has no use for it (ECHILD if it was faster). */
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                if (n == (ssize_t) sizeof child_errno && child_errno > 0)
                        return -child_errno;
                return -EIO;
        }
        if (r_stat < 0)
                return r_stat;

        *ret_pid = pid;
        if (ret_start_time)
                *ret_start_time = start_time;
        return 0;
}
